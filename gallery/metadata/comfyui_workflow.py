"""Turn a ComfyUI UI workflow (nodes + links arrays) into a rough API graph."""

import re

# Widget order of the core nodes we can name; other nodes get their first string widget.
WIDGETS = {
    "CLIPTextEncode": ("text",),
    "CLIPTextEncodeSDXL": ("width", "height", "crop_w", "crop_h", "target_width",
                           "target_height", "text_g", "text_l"),
    "CLIPTextEncodeSDXLRefiner": ("ascore", "width", "height", "text"),
    "CLIPTextEncodeFlux": ("clip_l", "t5xxl", "guidance"),
    "CheckpointLoaderSimple": ("ckpt_name",),
    "CheckpointLoader": ("config_name", "ckpt_name"),
    "UNETLoader": ("unet_name", "weight_dtype"),
    "UnetLoaderGGUF": ("unet_name",),
}  # fmt: skip
# The frontend drops /* */ and // comments from text widgets before it queues the prompt.
COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.DOTALL)
MODEL_FILE = (".safetensors", ".ckpt", ".pt", ".pth", ".gguf", ".sft", ".bin")


def workflow_to_graph(workflow: dict) -> dict:
    """Best-effort API graph from a UI workflow: links by input name, widgets by position."""
    sources = {}
    for link in workflow.get("links") or []:
        if isinstance(link, list) and len(link) >= 5:
            sources[link[0]] = [str(link[1]), link[2] if isinstance(link[2], int) else 0]
        elif isinstance(link, dict) and "id" in link:
            sources[link["id"]] = [str(link.get("origin_id")), link.get("origin_slot") or 0]
    graph = {}
    for node in workflow.get("nodes") or []:
        if not isinstance(node, dict) or node.get("mode") in (2, 4):  # muted or bypassed
            continue
        kind = str(node.get("type", ""))
        inputs = _widgets(kind, node.get("widgets_values"))
        for slot in node.get("inputs") or []:
            if isinstance(slot, dict) and slot.get("link") in sources:
                inputs[str(slot.get("name", ""))] = sources[slot["link"]]
        graph[str(node.get("id"))] = {"class_type": kind, "inputs": inputs}
    return graph


def _widgets(kind: str, values) -> dict:
    if isinstance(values, list):
        values = [COMMENT.sub("", v) if isinstance(v, str) else v for v in values]
    if isinstance(values, dict):
        return {str(k): v for k, v in values.items()}
    if not isinstance(values, list):
        return {}
    names = WIDGETS.get(kind)
    if names:
        return dict(zip(names, values, strict=False))
    strings = [v for v in values if isinstance(v, str)]
    inputs = {}
    models = [v for v in strings if v.lower().endswith(MODEL_FILE)]
    if models:
        inputs["ckpt_name"] = models[0]
    texts = [v for v in strings if v not in models]
    if texts:
        # Primitive and text nodes: the longest string is the text, not a combo choice.
        inputs["value"] = max(texts, key=len)
    return inputs

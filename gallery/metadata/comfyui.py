"""ComfyUI: walk the API graph from the main sampler to its prompt text and checkpoint."""

import re

from .comfyui_workflow import workflow_to_graph
from .common import Generation, clean, load_dict, text_or_none

MAX_STEPS = 2000  # nodes visited per walk: a hostile graph cannot make us spin
# Inputs that carry prompt text, best first (Flux puts the real prompt in t5xxl).
TEXT_KEYS = (
    "text", "text_g", "t5xxl", "prompt", "populated_text", "wildcard_text", "text_l", "clip_l",
    "string", "value", "string_field", "positive_prompt", "text_positive",
)  # fmt: skip
MODEL_KEYS = ("ckpt_name", "unet_name", "base_ckpt_name", "model_name", "ckpt", "model_path")
# Links that never lead to conditioning or text.
NOT_CONDITIONING = {
    "clip", "model", "vae", "image", "images", "pixels", "mask", "control_net", "latent",
    "latent_image", "samples", "upscale_model", "noise", "sigmas", "sampler", "style_model",
    "clip_vision", "clip_vision_output", "ipadapter", "guider",
}  # fmt: skip
# Numbered string inputs of text-concatenation nodes: text_a, text2, string_b...
CONCAT_KEY = re.compile(r"^(text|string)[_ ]?([0-9]{1,2}|[a-h])$", re.IGNORECASE)
GRAPH_PREFIX = re.compile(r"^\s*(prompt|workflow)\s*:\s*", re.IGNORECASE)


def read_comfyui(raw: dict[str, str]) -> Generation | None:
    """Prompt, negative and model of a ComfyUI image (API graph, else the UI workflow)."""
    graphs = []
    for key in ("prompt", "exif.Make", "exif.UserComment", "exif.Model", "exif.ImageDescription"):
        graph = _graph(raw.get(key))
        if graph is not None:
            graphs.append(graph)
    for key in ("workflow", "exif.ImageDescription", "exif.Make"):
        workflow = _workflow(raw.get(key))
        if workflow is not None:
            graphs.append(workflow_to_graph(workflow))
    if not graphs:
        return None
    found = None
    for graph in graphs:
        found = read_graph(graph)
        if found is not None and found.prompt is not None:
            return found
    return found or Generation(generator="ComfyUI")


def read_graph(graph: dict) -> Generation | None:
    """Read one API-format graph {node_id: {class_type, inputs}}."""
    nodes = {str(k): v for k, v in graph.items() if isinstance(v, dict) and _inputs(v) is not None}
    walker = _Walker(nodes)
    for sampler in walker.main_samplers():
        positive, negative, model = walker.sampler_parts(sampler)
        texts = walker.texts(positive, "positive")
        if texts:
            negatives = walker.texts(negative, "negative") if negative else []
            return Generation(
                prompt=text_or_none(texts[0]),
                negative_prompt=clean(negatives[0]) if negatives else None,
                model=walker.model(model) if model else None,
                generator="ComfyUI",
            )
    return _extra_metadata(graph)


def _extra_metadata(graph: dict) -> Generation | None:
    # Civitai's generator keeps the form it was given as a JSON string beside the nodes.
    extra = load_dict(graph.get("extraMetadata"))
    if not extra or not isinstance(extra.get("prompt"), str):
        return None
    return Generation(
        prompt=text_or_none(extra.get("prompt")),
        negative_prompt=clean(extra.get("negativePrompt")),
        generator="ComfyUI",
    )


def _graph(text) -> dict | None:
    if not isinstance(text, str):
        return None
    graph = load_dict(GRAPH_PREFIX.sub("", text, count=1))
    if graph and isinstance(graph.get("prompt"), dict) and "class_type" not in graph["prompt"]:
        graph = graph["prompt"]  # some savers wrap the graph: {"prompt": {...}}
    if not graph or "nodes" in graph:
        return None
    if any(isinstance(v, dict) and "class_type" in v for v in graph.values()):
        return graph
    return None


def _workflow(text) -> dict | None:
    graph = load_dict(GRAPH_PREFIX.sub("", text, count=1)) if isinstance(text, str) else None
    if graph and isinstance(graph.get("nodes"), list):
        return graph
    return None


def _inputs(node: dict) -> dict | None:
    inputs = node.get("inputs")
    return inputs if isinstance(inputs, dict) else None


def _id_order(node_id: str):
    return (0, int(node_id), "") if node_id.isdigit() else (1, 0, node_id)


class _Walker:
    """Bounded walks over one graph's links ([node_id, output_index] pairs)."""

    def __init__(self, nodes: dict[str, dict]):
        self.nodes = nodes

    def link(self, value) -> str | None:
        if isinstance(value, list) and len(value) == 2 and isinstance(value[1], int):
            target = str(value[0])
            if target in self.nodes:
                return target
        return None

    def links(self, node_id: str) -> list[tuple[str, str]]:
        pairs = []
        for key, value in _inputs(self.nodes[node_id]).items():
            target = self.link(value)
            if target is not None:
                pairs.append((str(key), target))
        return pairs

    def kind(self, node_id: str) -> str:
        return str(self.nodes[node_id].get("class_type", "")).lower()

    def is_sampler(self, node_id: str) -> bool:
        inputs = _inputs(self.nodes[node_id])
        kind = self.kind(node_id)
        if self.link(inputs.get("guider")) is not None:
            return True
        if self.link(inputs.get("positive")) is None:
            return False
        return "sampler" in kind or any(k in inputs for k in ("latent_image", "latent"))

    def ancestors(self, start: str) -> set[str]:
        seen, stack = set(), [start]
        while stack and len(seen) < MAX_STEPS:
            for _key, target in self.links(stack.pop()):
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        return seen

    def main_samplers(self) -> list[str]:
        """Samplers feeding a save node, the first pass (the one others build on) first."""
        samplers = sorted((n for n in self.nodes if self.is_sampler(n)), key=_id_order)
        saves = [n for n in self.nodes if "save" in self.kind(n)] or [
            n for n in self.nodes if "images" in _inputs(self.nodes[n])
        ]
        feeding = set()
        for save in saves:
            feeding |= self.ancestors(save)
        chosen = [s for s in samplers if s in feeding] or samplers
        first = [s for s in chosen if not (self.ancestors(s) & set(chosen))]
        rest = [s for s in chosen if s not in first]
        return first + rest + [s for s in samplers if s not in chosen]

    def sampler_parts(self, node_id: str) -> tuple[str | None, str | None, str | None]:
        """Where a sampler's positive, negative and model inputs come from."""
        inputs = _inputs(self.nodes[node_id])
        guider = self.link(inputs.get("guider"))
        if guider is not None:
            inputs = _inputs(self.nodes[guider])
        positive = inputs.get("positive", inputs.get("conditioning", inputs.get("cond1")))
        return (
            self.link(positive),
            self.link(inputs.get("negative")),
            self.link(inputs.get("model")),
        )

    def texts(self, start: str | None, side: str) -> list[str]:
        """Prompt texts reached from a conditioning link, in walk order (non-empty first)."""
        found, seen, stack = [], set(), [start] if start else []
        while stack and len(seen) < MAX_STEPS:
            node_id = stack.pop()
            if node_id in seen:
                continue
            seen.add(node_id)
            text = self.own_text(node_id, side)
            if text is not None:
                found.append(text)
                continue
            nexts = [t for k, t in self.links(node_id) if self.follow(k, side)]
            stack.extend(reversed(nexts))
        return [t for t in found if t.strip()] + [t for t in found if not t.strip()]

    def follow(self, key: str, side: str) -> bool:
        key = key.lower()
        other = "negative" if side == "positive" else "positive"
        return key not in NOT_CONDITIONING and other not in key

    def own_text(self, node_id: str, side: str) -> str | None:
        inputs = _inputs(self.nodes[node_id])
        for key in (side, f"text_{side}", f"{side}_prompt", f"{side}_text"):
            if isinstance(inputs.get(key), str):
                return inputs[key]
        return self.string(node_id, set(), follow_single=False)

    def string(self, node_id: str, seen: set[str], follow_single: bool = True) -> str | None:
        """The string a text node holds or outputs (literals, primitives, concatenations)."""
        if node_id in seen or len(seen) > MAX_STEPS:
            return None
        seen.add(node_id)
        inputs = _inputs(self.nodes[node_id])
        for key in TEXT_KEYS:
            value = inputs.get(key)
            target = self.link(value)
            value = self.string(target, seen) if target is not None else value
            if isinstance(value, str):
                return value
        parts = []
        for key in sorted(inputs):
            if CONCAT_KEY.match(key):
                target = self.link(inputs[key])
                value = self.string(target, seen) if target is not None else inputs[key]
                if isinstance(value, str) and value:
                    parts.append(value)
        if parts:
            delimiter = inputs.get("delimiter", inputs.get("separator", ""))
            return (delimiter if isinstance(delimiter, str) else "").join(parts)
        links = self.links(node_id)
        if follow_single and len(links) == 1:
            # Reroutes and pass-through nodes: follow their single link.
            return self.string(links[0][1], seen)
        return None

    def model(self, start: str) -> str | None:
        """The checkpoint/UNet name behind a model link, through LoRA and patch nodes."""
        node_id, seen = start, set()
        while node_id is not None and node_id not in seen and len(seen) < MAX_STEPS:
            seen.add(node_id)
            inputs = _inputs(self.nodes[node_id])
            for key in MODEL_KEYS:
                value = inputs.get(key)
                if isinstance(value, dict):
                    value = value.get("content")
                if isinstance(value, str) and value.strip():
                    return value.strip()
            links = self.links(node_id)
            node_id = next((t for k, t in links if k == "model"), None) or next(
                (t for k, t in links if "model" in k.lower()), None
            )
        return None

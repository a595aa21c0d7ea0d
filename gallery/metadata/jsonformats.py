"""Generators that store a flat JSON object: Fooocus, SwarmUI, Tensor.Art, Stability Matrix..."""

from .common import Generation, clean, load_dict, model_name, parse_date, pick, text_or_none

JSON_SOURCES = ("parameters", "exif.UserComment", "Comment", "comment", "Description")
PROMPT_KEYS = ("prompt", "positive_prompt", "positivePrompt", "PositivePrompt", "Prompt", "c")
NEGATIVE_KEYS = (
    "negative_prompt", "negativePrompt", "NegativePrompt", "negativeprompt", "Negative",
    "Negative Prompt", "uc",
)  # fmt: skip
MODEL_KEYS = (
    "base_model", "base_model_name", "baseModel", "model", "Model", "ModelName", "model_name",
    "sd_model_name", "use_stable_diffusion_model", "Stable Diffusion model", "checkpoint",
)  # fmt: skip
ED_KEYS = (
    "use_stable_diffusion_model", "negative_prompt", "num_inference_steps", "Negative Prompt",
)  # fmt: skip
DATE_KEYS = ("created", "created_at", "date", "creation_time", "timestamp")


def read_tensorart(raw: dict[str, str]) -> Generation | None:
    """Tensor.Art's generation_data chunk (it also writes a ComfyUI graph we do not need)."""
    data = load_dict(raw.get("generation_data"))
    return _flat(data, "Tensor.Art") if data else None


def read_stability_matrix(raw: dict[str, str]) -> Generation | None:
    """Stability Matrix's parameters-json (its A1111-style parameters is read elsewhere)."""
    data = load_dict(raw.get("parameters-json"))
    if data is None:
        project = load_dict(raw.get("smproj"))
        data = project.get("generationParameters") if project else None
    return _flat(data, "Stability Matrix") if isinstance(data, dict) else None


def read_swarmui(raw: dict[str, str]) -> Generation | None:
    """SwarmUI's {"sui_image_params": {...}} in the parameters chunk or EXIF UserComment."""
    for key in JSON_SOURCES:
        data = load_dict(raw.get(key))
        params = data.get("sui_image_params") if data else None
        if isinstance(params, dict):
            return _flat(params, "SwarmUI")
    return None


def read_fooocus(raw: dict[str, str]) -> Generation | None:
    """Fooocus and RuinedFooocus JSON parameters (the a1111 scheme is read as A1111)."""
    for key in ("parameters", "exif.UserComment"):
        data = load_dict(raw.get(key))
        if not data:
            continue
        if str(data.get("software", "")).startswith("RuinedFooocus"):
            return _flat(data, "RuinedFooocus")
        scheme = raw.get("fooocus_scheme") or raw.get("exif.MakerNote")
        if scheme == "fooocus" or "Fooocus" in str(data.get("version", "")):
            return _flat(data, "Fooocus")
    return None


def read_easy_diffusion(raw: dict[str, str]) -> Generation | None:
    """Easy Diffusion: one chunk per setting (prompt, negative_prompt, ...) or the same as JSON."""
    if any(k in raw for k in ED_KEYS) and load_dict(raw.get("prompt") or raw.get("Prompt")) is None:
        return _flat(raw, "Easy Diffusion")
    data = load_dict(raw.get("exif.UserComment"))
    if data and "use_stable_diffusion_model" in data:
        return _flat(data, "Easy Diffusion")
    return None


def read_generic_json(raw: dict[str, str]) -> Generation | None:
    """Any other JSON object with a recognisable prompt key (HF Spaces, small tools)."""
    for key in JSON_SOURCES:
        data = load_dict(raw.get(key))
        if data and isinstance(pick(data, *PROMPT_KEYS), str):
            return _flat(data, "JSON")
    return None


def _flat(data: dict, generator: str) -> Generation:
    prompt = pick(data, *PROMPT_KEYS)
    negative = pick(data, *NEGATIVE_KEYS)
    return Generation(
        prompt=text_or_none(prompt) if isinstance(prompt, str) else None,
        negative_prompt=clean(negative) if isinstance(negative, str) else None,
        model=model_name(pick(data, *MODEL_KEYS)),
        generated_at=parse_date(pick(data, *DATE_KEYS)),
        generator=generator,
    )

"""InvokeAI: invokeai_metadata JSON (v3+), and the older sd-metadata JSON and Dream chunks."""

import re

from .common import Generation, clean, load_dict, model_name, parse_date, pick, text_or_none

BRACKETED = re.compile(r"\[([^\[\]]*)\]")
DREAM = re.compile(r'^\s*"(.*)"(?:\s+-.*)?\s*$', re.DOTALL)


def read_invokeai(raw: dict[str, str]) -> Generation | None:
    """The newest InvokeAI format present in raw."""
    meta = load_dict(raw.get("invokeai_metadata"))
    if meta is not None:
        return Generation(
            prompt=text_or_none(pick(meta, "positive_prompt", "prompt")),
            negative_prompt=clean(meta.get("negative_prompt")),
            model=model_name(meta.get("model")),
            generated_at=parse_date(pick(meta, "created_at", "created")),
            generator="InvokeAI",
        )
    return _sd_metadata(raw) or _dream(raw)


def _sd_metadata(raw: dict[str, str]) -> Generation | None:
    # InvokeAI 2.x: {"model_weights": ..., "image": {"prompt": [{"prompt": ..., "weight": ...}]}}
    meta = load_dict(raw.get("sd-metadata"))
    image = meta.get("image") if meta else None
    if not isinstance(image, dict):
        return None
    prompt = image.get("prompt")
    if isinstance(prompt, list):
        parts = [p.get("prompt") for p in prompt if isinstance(p, dict)]
        prompt = " ".join(p for p in parts if isinstance(p, str)) if parts else None
    if not isinstance(prompt, str):
        return None
    positive, negative = split_brackets(prompt)
    return Generation(
        prompt=positive,
        negative_prompt=negative,
        model=text_or_none(pick(meta, "model_weights", "model")),
        generator="InvokeAI",
    )


def _dream(raw: dict[str, str]) -> Generation | None:
    # InvokeAI 1.x: the command line that made the image, e.g. '"a cat [dog]" -s 50 -S 42'.
    text = raw.get("Dream") or raw.get("dream")
    match = DREAM.match(text) if isinstance(text, str) else None
    if match is None:
        return None
    positive, negative = split_brackets(match.group(1))
    return Generation(prompt=positive, negative_prompt=negative, generator="InvokeAI")


def split_brackets(prompt: str) -> tuple[str | None, str | None]:
    """InvokeAI before v3 wrote negative words in [brackets] inside the prompt."""
    negatives = [n.strip() for n in BRACKETED.findall(prompt) if n.strip()]
    positive = BRACKETED.sub("", prompt) if negatives else prompt
    positive = re.sub(r"[ \t]{2,}", " ", positive) if negatives else positive
    return text_or_none(positive), ", ".join(negatives) if negatives else None

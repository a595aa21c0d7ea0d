"""NovelAI: "Comment" JSON (prompt, uc) with Description and Source beside it."""

from .common import Generation, clean, load_dict, text_or_none


def read_novelai(raw: dict[str, str]) -> Generation | None:
    """NovelAI PNG chunks, or the WebP/JPEG variant whose UserComment holds them as JSON."""
    fields = raw
    wrapped = load_dict(raw.get("exif.UserComment"))
    if wrapped and "Comment" in wrapped:
        fields = {**raw, **{k: v for k, v in wrapped.items() if isinstance(v, str)}}
    comment = load_dict(fields.get("Comment"))
    software = str(fields.get("Software", "")) + str(fields.get("exif.Software", ""))
    if comment is None or not ("uc" in comment or "NovelAI" in software):
        return None
    source = fields.get("Source") or (
        fields.get("exif.Software") if "NovelAI" in software and software != "NovelAI" else None
    )
    prompt = comment.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        prompt = _caption(comment.get("v4_prompt")) or fields.get("Description")
    negative = comment.get("uc")
    if not isinstance(negative, str):
        negative = _caption(comment.get("v4_negative_prompt"))
    return Generation(
        prompt=text_or_none(prompt),
        negative_prompt=clean(negative),
        model=text_or_none(source),
        generator="NovelAI",
    )


def _caption(value) -> str | None:
    # V4 prompts: {"caption": {"base_caption": "...", "char_captions": [...]}}
    caption = value.get("caption") if isinstance(value, dict) else None
    base = caption.get("base_caption") if isinstance(caption, dict) else None
    return base if isinstance(base, str) else None

"""Vendored assets match their recorded hashes, and pages load nothing from elsewhere."""

import hashlib
import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[1] / "static"
TEMPLATES = STATIC.parent / "templates"


def test_htmx_matches_its_note():
    note = (STATIC / "vendor" / "README.md").read_text()
    name, version, sha = re.search(
        r"\| (htmx-([\d.]+)\.min\.js) \| \2 \| .*? \| ([0-9a-f]{64}) \|", note
    ).groups()
    assert version == "2.0.11"
    assert hashlib.sha256((STATIC / "vendor" / name).read_bytes()).hexdigest() == sha


def test_no_asset_from_another_host():
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert not re.search(r"(src|href)=\"(https?:)?//", text), template.name


def test_no_inline_script_or_handler():
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template.name
        assert not re.search(r"\son[a-z]+=", text), template.name
        assert "hx-on" not in text, template.name

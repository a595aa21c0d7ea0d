import pytest

from gallery.errors import InvalidPrompt
from gallery.normalize import clean_prompt, normalize, prompt_hash


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("A Sunset", "a sunset"),
        ("Straße", "STRASSE"),  # casefold, not lower
        ("a\tsunset\n\nover  hills", "a sunset over hills"),
        ("a\u00a0sunset\u3000now", "a sunset now"),  # NBSP, ideographic space
        ("ﬁne ｃａｔ ①", "fine cat 1"),  # NFKC compatibility characters
        ("  padded  ", "padded"),
        ("e\u0301", "\u00e9"),  # combining accent composes
    ],
)
def test_same_prompt_same_hash(a, b):
    assert normalize(a) == normalize(b)
    assert prompt_hash(a) == prompt_hash(b)


def test_different_prompts_differ():
    assert prompt_hash("a red fox") != prompt_hash("a red box")
    assert prompt_hash("cat, dog") != prompt_hash("cat dog")


def test_hash_is_sha256_hex_of_normalized():
    import hashlib

    assert prompt_hash("  Hello\tWorld ") == hashlib.sha256(b"hello world").hexdigest()


def test_clean_prompt_keeps_original_text_trimmed():
    assert clean_prompt("  A Sunset,\tGolden Hour \n") == "A Sunset,\tGolden Hour"


@pytest.mark.parametrize("bad", ["", "   ", "\t\n\u00a0\u3000", None, 42, b"bytes", "a\x00b"])
def test_clean_prompt_refuses_empty_and_non_text(bad):
    with pytest.raises(InvalidPrompt) as info:
        clean_prompt(bad)
    assert isinstance(info.value, ValueError)
    assert info.value.message


def test_clean_prompt_refuses_too_long():
    clean_prompt("x" * 10_000)
    with pytest.raises(InvalidPrompt, match="10001 characters.*limit is 10000"):
        clean_prompt("x" * 10_001)
    with pytest.raises(InvalidPrompt, match="limit is 5"):
        clean_prompt("abcdef", max_length=5)


INVISIBLE = [
    "\u200b",  # zero-width space
    "\u200b\u200c\u200d\u2060\ufeff",  # zero-width (non-)joiners, word joiner, BOM
    "\u3000\u200b\u3000",  # ideographic spaces around a zero-width space
    "\u2028\u2029",  # line and paragraph separators
    "\u00ad\u200e\u200f\u202e\u2066",  # soft hyphen, direction marks and overrides
    "\u180e\u2062\U000e0041",  # Mongolian vowel separator, invisible times, a tag
    "\ufe0f\u034f",  # a variation selector, the combining grapheme joiner
    "\u3164\uffa0\u115f\u2800",  # Hangul fillers, the blank Braille pattern
]


@pytest.mark.parametrize("text", INVISIBLE)
def test_clean_prompt_refuses_only_invisible_characters(text):
    with pytest.raises(InvalidPrompt, match="empty") as info:
        clean_prompt(text)
    assert "invisible" in info.value.message or text.isspace()


@pytest.mark.parametrize("text", ["a\u200b", "。", "🙂", "\ue000", "١", "e\u0301", "\u4e00"])
def test_clean_prompt_keeps_a_prompt_with_something_to_see(text):
    assert clean_prompt(text) == text

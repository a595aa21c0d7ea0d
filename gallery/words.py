"""What a word is, stated once: search terms and highlighting use it, and both engines'
index tokenizers are tested against it (tests/test_words.py, with their differences)."""

import functools
import re
import unicodedata

# A word is a run of letters and digits: Python's "\w" without "_", as the FTS5 unicode61
# tokenizer sees it (it splits on "_"). Every other character separates words.
WORD_CHARACTER = r"[^\W_]"
_WORD = re.compile(WORD_CHARACTER + "+")

# The tokenizer of prompts_fts, as migration 2 spells it: case folded, accents removed.
FTS5_TOKENIZER = "unicode61 remove_diacritics 2"
# The characters PostgreSQL's gallery_search_text (migration 2) turns into space before
# to_tsvector('simple') splits words: the ASCII ones that are not word characters, else
# its parser would keep "<script>" as a tag, or "a/b" and "x@y.z" whole.
POSTGRES_SEPARATORS = "[!-/:-@[-`{-~]+"


def fold(text):
    """`text` in the case search compares words in.

    Neither casefold() nor NFKC: the index only lowercases, so "straße" must stay
    "straße", and "ŉ" must not become "ʼn".
    """
    return text.lower()


def words(text):
    """The words of `text` in order, case folded."""
    return _WORD.findall(fold(text))


def index_form(word):
    """`word` as both engines' indexes store it: Latin letters lose their accents
    ("Café" -> "cafe"); other scripts keep theirs. The engines do this themselves
    (FTS5's remove_diacritics, PostgreSQL's unaccent); this is what they are held to."""
    return "".join(_without_accent(char) for char in fold(word))


@functools.lru_cache(maxsize=4096)
def _without_accent(char):
    base, *marks = unicodedata.normalize("NFD", char)
    return base if marks and unicodedata.name(base, "").startswith("LATIN") else char


@functools.lru_cache(maxsize=256)
def starting_with(terms):
    """A pattern of the whole words starting with any of `terms` (a tuple), any case;
    compiled once per search, not once per card."""
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<!{WORD_CHARACTER})(?:{alternatives}){WORD_CHARACTER}*", re.IGNORECASE)

"""What a word is, stated once: search terms and highlighting use it, and both engines'
index tokenizers are tested against it (tests/test_words.py, with their differences)."""

import functools
import re

# A word is a run of letters and digits: Python's "\w" without "_", as the FTS5 unicode61
# tokenizer sees it (it splits on "_"). Every other character separates words.
WORD_CHARACTER = r"[^\W_]"
_WORD = re.compile(WORD_CHARACTER + "+")

# The tokenizer of prompts_fts, as migration 2 spells it: case folded, accents removed.
FTS5_TOKENIZER = "unicode61 remove_diacritics 2"


def fold(text):
    """`text` in the case search compares words in.

    Neither casefold() nor NFKC: the index only lowercases, so "straße" must stay
    "straße", and "ŉ" must not become "ʼn".
    """
    return text.lower()


def words(text):
    """The words of `text` in order, case folded."""
    return _WORD.findall(fold(text))


@functools.lru_cache(maxsize=256)
def starting_with(terms):
    """A pattern of the whole words starting with any of `terms` (a tuple), any case;
    compiled once per search, not once per card."""
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<!{WORD_CHARACTER})(?:{alternatives}){WORD_CHARACTER}*", re.IGNORECASE)

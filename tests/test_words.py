"""Words: the engines' index tokenizers find the words gallery.words defines, except where
listed here; the highlighter marks the words it defines."""

import re
import sqlite3
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gallery.db import ready
from gallery.migrations import PG_PROMPTS_FTS, PROMPTS_FTS
from gallery.templating import highlight
from gallery.words import (
    FTS5_TOKENIZER,
    POSTGRES_SEPARATORS,
    WORD_CHARACTER,
    fold,
    index_form,
    words,
)

# Modifier letters that unaccent turns into an apostrophe (ŉ into "'n").
APOSTROPHES = "\u02bc\u02bb\u02b9\u02bd\u02c8\u0149"
ALPHABET = (
    string.printable
    + "".join(map(chr, range(0xA0, 0x180)))  # Latin-1 and Latin Extended-A
    + "ΑΒΓΔΣαβγδσςάέήίόύώΐ"  # Greek
    + "АБВГДЁЙабвгдёй"  # Cyrillic
    + "あいうかがアイウカガー漢字中文日本語가나다한국어"  # kana, CJK, Hangul
    + "\u3000\u2028\u2010\u2013\u2014\u2018\u2019\u201c\u201d\u2026"  # spaces, punctuation
    + "🌅🐱😀"  # emoji as old as SQLite's Unicode tables (6.1)
    + APOSTROPHES
    + "\u0301\u0308"  # combining accents
    + "ẞ"
)
# What people write in prompts.
SYNTAX = [
    "(masterpiece:1.2)",
    "((best quality))",
    "<lora:detail_tweaker:0.8>",
    "[cat|dog]",
    "{red|blue}",
    "BREAK",
    "score_9, score_8_up",
    "embedding:easynegative",
    "don't",
    "don\u02bct",
    "Café crème",
    "cafe\u0301",
    "テスト, masterpiece",
    "a/b x@y.z <script>",
]

# The characters where an engine's index differs from gallery.words, and what the index
# makes of "x{character}y" instead. Kept as the engines behave; a search for such a word
# finds what the engine finds, and the highlight follows gallery.words.
FTS5_DIFFERS = {
    # FTS5 folds these further than lower() does.
    "µ": ["xμy"],
    "ſ": ["xsy"],
    "ς": ["xσy"],
    # lower() makes "i" and a combining dot, which separates words in Python.
    "İ": ["xiy"],
    # A combining accent on its own: FTS5 drops it inside the word, Python separates there.
    "\u0301": ["xy"],
    "\u0308": ["xy"],
}
POSTGRES_DIFFERS = {
    # unaccent spells symbols, fractions and superscripts out, or drops them.
    "©": ["x", "c", "y"],
    "®": ["x", "r", "y"],
    "²": ["x", "y"],
    "³": ["x", "y"],
    "¹": ["x", "y"],
    "¼": ["x1", "4y"],
    "½": ["x1", "2y"],
    "¾": ["x3", "4y"],
    # unaccent folds Latin letters that have no accent to remove, and ligatures.
    "Æ": ["xaey"],
    "æ": ["xaey"],
    "Ð": ["xdy"],
    "ð": ["xdy"],
    "Ø": ["xoy"],
    "ø": ["xoy"],
    "Þ": ["xthy"],
    "þ": ["xthy"],
    "ß": ["xssy"],
    "ẞ": ["xssy"],
    "Đ": ["xdy"],
    "đ": ["xdy"],
    "Ħ": ["xhy"],
    "ħ": ["xhy"],
    "ı": ["xiy"],
    "Ĳ": ["xijy"],
    "ĳ": ["xijy"],
    "ĸ": ["xqy"],
    "Ŀ": ["xly"],
    "ŀ": ["xly"],
    "Ł": ["xly"],
    "ł": ["xly"],
    "Ŋ": ["xny"],
    "ŋ": ["xny"],
    "Œ": ["xoey"],
    "œ": ["xoey"],
    "Ŧ": ["xty"],
    "ŧ": ["xty"],
    "ſ": ["xsy"],
    # unaccent removes accents outside Latin too.
    "ά": ["xαy"],
    "έ": ["xεy"],
    "ή": ["xηy"],
    "ί": ["xιy"],
    "ό": ["xοy"],
    "ύ": ["xυy"],
    "ώ": ["xωy"],
    "ΐ": ["xιy"],
    "Ё": ["xеy"],
    "ё": ["xеy"],
    # unaccent makes these modifier letters an apostrophe, which separates words.
    "\u02bc": ["x", "y"],
    "\u02bb": ["x", "y"],
    "\u02b9": ["x", "y"],
    "\u02bd": ["x", "y"],
    "\u02c8": ["x", "y"],
    "\u0149": ["x", "ny"],
    # As on FTS5: the dotted capital I, and combining accents dropped inside the word.
    "İ": ["xiy"],
    "\u0301": ["xy"],
    "\u0308": ["xy"],
}
# Highlighting ignores case as re.IGNORECASE does, which takes these letters for the term
# one, though lower() keeps them apart: "ı" is marked for "i" (FTS5 folds "ſ" and "ς" too).
HIGHLIGHT_DIFFERS = {"ı": "i", "ſ": "s", "ς": "σ"}


def prompt_texts(differs):
    """Texts of prompt syntax and characters, none of them one the engine differs on."""
    alphabet = "".join(char for char in ALPHABET if char not in differs)
    syntax = [text for text in SYNTAX if not set(text) & set(differs)]
    piece = st.text(alphabet=alphabet, max_size=12) | st.sampled_from(syntax)
    return st.lists(piece, max_size=10).map("".join)


def expected(text):
    """The words of `text` as gallery.words says both indexes store them, in order."""
    return [index_form(word) for word in words(text)]


@pytest.fixture(scope="module")
def fts5():
    """The words prompts_fts finds in a text, through migration 2's tokenizer."""
    tokenizer = re.search(r"tokenize='([^']*)'", PROMPTS_FTS[0]).group(1)
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.execute(f"CREATE VIRTUAL TABLE t USING fts5(x, tokenize='{tokenizer}')")
    connection.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")

    def tokens(text):
        connection.execute("BEGIN")
        try:
            connection.execute("INSERT INTO t (rowid, x) VALUES (1, ?)", (text,))
            return [row[0] for row in connection.execute("SELECT term FROM v ORDER BY offset")]
        finally:
            connection.execute("ROLLBACK")

    yield tokens
    connection.close()


@pytest.fixture
def postgres(ctx):
    """The lexemes of a text's search document (migrations 2 and 10), in order."""

    def lexemes(text):
        rows = (
            ready()
            .execute_sql(
                "SELECT lexeme FROM unnest(gallery_search_document(%s)) AS d, "
                "unnest(d.positions) AS position ORDER BY position",
                (text,),
            )
            .fetchall()
        )
        return [row[0] for row in rows]

    return lexemes


def test_migration_2_tokenizes_with_the_fts5_setting():
    assert f"tokenize='{FTS5_TOKENIZER}'" in PROMPTS_FTS[0]


def test_migration_2_separates_exactly_the_ascii_separators():
    assert f"'{POSTGRES_SEPARATORS}'" in PG_PROMPTS_FTS[1]
    separators = re.compile(POSTGRES_SEPARATORS)
    word = re.compile(WORD_CHARACTER)
    for char in map(chr, range(0x21, 0x7F)):  # printable ASCII, space aside
        assert bool(separators.fullmatch(char)) == (not word.fullmatch(char)), char


@settings(max_examples=300, deadline=None)
@given(text=prompt_texts(FTS5_DIFFERS))
def test_fts5_finds_the_words(fts5, text):
    assert fts5(text) == expected(text)


@pytest.mark.postgres
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=prompt_texts(POSTGRES_DIFFERS))
def test_postgres_finds_the_words(postgres, text):
    assert postgres(text) == expected(text)


@pytest.mark.parametrize("char", FTS5_DIFFERS)
def test_where_fts5_differs(fts5, char):
    text = f"x{char}y"
    assert fts5(text) == FTS5_DIFFERS[char] != expected(text)


@pytest.mark.postgres
@pytest.mark.parametrize("char", POSTGRES_DIFFERS)
def test_where_postgres_differs(postgres, char):
    text = f"x{char}y"
    assert postgres(text) == POSTGRES_DIFFERS[char] != expected(text)


@settings(max_examples=300, deadline=None)
@given(text=prompt_texts(HIGHLIGHT_DIFFERS), data=st.data())
def test_highlight_marks_the_words_starting_with_a_term(text, data):
    typed = re.findall(WORD_CHARACTER + "+", text)
    terms = data.draw(st.lists(st.sampled_from(words(text)), max_size=3) if typed else st.just([]))
    terms = [term[: data.draw(st.integers(1, len(term)))] for term in terms]
    html = str(highlight(text, terms))
    marked = re.findall("<mark>(.*?)</mark>", html)
    escaped = [str(highlight(word, [])) for word in typed]
    wanted = [
        e for w, e in zip(typed, escaped, strict=True) if any(fold(w).startswith(t) for t in terms)
    ]
    assert marked == wanted


@pytest.mark.parametrize("char", HIGHLIGHT_DIFFERS)
def test_where_highlighting_differs(char):
    term = HIGHLIGHT_DIFFERS[char]
    assert str(highlight(char, [term])) == f"<mark>{char}</mark>"
    assert not fold(char).startswith(term)

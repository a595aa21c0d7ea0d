"""Words: the engines' index tokenizers find the words gallery.words defines, except where
listed here; the highlighter marks the words it defines."""

import re
import sqlite3
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gallery import store
from gallery.db import migrated_database
from gallery.migrations import PROMPTS_FTS
from gallery.search import search_prompts
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

# Where an engine's index differs from gallery.words: an example, and the words the index
# makes of it. Kept as the engines behave (a search for such a word finds what the engine
# finds, and the highlight follows gallery.words); generated texts leave out the
# examples' characters that are not ASCII.
FTS5_DIFFERS = {
    # FTS5 folds these further than lower() does.
    "xµy": ["xμy"],
    "xſy": ["xsy"],
    "xςy": ["xσy"],
    # lower() makes a final sigma "ς", FTS5 "σ".
    "xΣ": ["xσ"],
    # lower() makes "i" and a combining dot, which separates words in Python.
    "xİy": ["xiy"],
    # A combining accent on its own: FTS5 drops it inside the word, Python separates there.
    "x\u0301y": ["xy"],
    "x\u0308y": ["xy"],
}
POSTGRES_DIFFERS = {
    # unaccent spells symbols, fractions and superscripts out, or drops them.
    "x©y": ["x", "c", "y"],
    "x®y": ["x", "r", "y"],
    "x²y": ["x", "y"],
    "x³y": ["x", "y"],
    "x¹y": ["x", "y"],
    "x¼y": ["x1", "4y"],
    "x½y": ["x1", "2y"],
    "x¾y": ["x3", "4y"],
    # unaccent folds Latin letters that have no accent to remove, and ligatures.
    "xÆy": ["xaey"],
    "xæy": ["xaey"],
    "xÐy": ["xdy"],
    "xðy": ["xdy"],
    "xØy": ["xoy"],
    "xøy": ["xoy"],
    "xÞy": ["xthy"],
    "xþy": ["xthy"],
    "xßy": ["xssy"],
    "xẞy": ["xssy"],
    "xĐy": ["xdy"],
    "xđy": ["xdy"],
    "xĦy": ["xhy"],
    "xħy": ["xhy"],
    "xıy": ["xiy"],
    "xĲy": ["xijy"],
    "xĳy": ["xijy"],
    "xĸy": ["xqy"],
    "xĿy": ["xly"],
    "xŀy": ["xly"],
    "xŁy": ["xly"],
    "xły": ["xly"],
    "xŊy": ["xny"],
    "xŋy": ["xny"],
    "xŒy": ["xoey"],
    "xœy": ["xoey"],
    "xŦy": ["xty"],
    "xŧy": ["xty"],
    "xſy": ["xsy"],
    # unaccent removes accents outside Latin too.
    "xάy": ["xαy"],
    "xέy": ["xεy"],
    "xήy": ["xηy"],
    "xίy": ["xιy"],
    "xόy": ["xοy"],
    "xύy": ["xυy"],
    "xώy": ["xωy"],
    "xΐy": ["xιy"],
    "xЁy": ["xеy"],
    "xёy": ["xеy"],
    # unaccent makes these modifier letters an apostrophe, which separates words.
    "x\u02bcy": ["x", "y"],
    "x\u02bby": ["x", "y"],
    "x\u02b9y": ["x", "y"],
    "x\u02bdy": ["x", "y"],
    "x\u02c8y": ["x", "y"],
    "x\u0149y": ["x", "ny"],
    # The parser reads a word that starts as a number in scientific notation as that
    # number and a word (POSTGRES_NUMBER_THEN_WORD).
    "0e0a": ["0e0", "a"],
    "x 12E34abc": ["x", "12e34", "abc"],
    # As on FTS5: the final sigma, the dotted capital I, combining accents inside a word.
    "xΣ": ["xσ"],
    "xİy": ["xiy"],
    "x\u0301y": ["xy"],
    "x\u0308y": ["xy"],
}
POSTGRES_NUMBER_THEN_WORD = re.compile(r"(?<![^\W_])[0-9]+[eE][0-9]+[^\W\d_]")
# Highlighting ignores case as re.IGNORECASE does, which takes these letters for the term
# one, though lower() keeps them apart: "ı" is marked for "i" (FTS5 folds "ſ" and "ς" too).
HIGHLIGHT_DIFFERS = {"ı": "i", "ſ": "s", "ς": "σ"}


def prompt_texts(differs, avoid=None):
    """Texts of prompt syntax and characters, none of them one the engine differs on,
    nor matching `avoid`."""
    left_out = {char for char in "".join(differs) if not char.isascii()}
    alphabet = "".join(char for char in ALPHABET if char not in left_out)
    syntax = [text for text in SYNTAX if not set(text) & left_out]
    piece = st.text(alphabet=alphabet, max_size=12) | st.sampled_from(syntax)
    texts = st.lists(piece, max_size=10).map("".join)
    return texts.filter(lambda text: not avoid.search(text)) if avoid else texts


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
    if (
        not migrated_database()
        .execute_sql("SELECT 1 FROM pg_extension WHERE extname = 'unaccent'")
        .fetchone()
    ):
        pytest.skip("the server has no unaccent extension: search keeps accents")

    def lexemes(text):
        rows = (
            migrated_database()
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
    # Kept as text: migrations are frozen, so the setting is written twice; query words
    # looked up in another spelling would change the plan, not what a search finds.
    assert f"tokenize='{FTS5_TOKENIZER}'" in PROMPTS_FTS[0]


def test_the_ascii_separators_are_the_characters_that_are_not_word_characters():
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
@given(text=prompt_texts(POSTGRES_DIFFERS, POSTGRES_NUMBER_THEN_WORD))
def test_postgres_finds_the_words(postgres, text):
    assert postgres(text) == expected(text)


@pytest.mark.parametrize("text", FTS5_DIFFERS)
def test_where_fts5_differs(fts5, text):
    assert fts5(text) == FTS5_DIFFERS[text] != expected(text)


@pytest.mark.postgres
@pytest.mark.parametrize("text", POSTGRES_DIFFERS)
def test_where_postgres_differs(postgres, text):
    assert postgres(text) == POSTGRES_DIFFERS[text] != expected(text)
    # The ASCII examples are the numbers, which generated texts avoid by their pattern.
    assert bool(POSTGRES_NUMBER_THEN_WORD.search(text)) == text.isascii()


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


def test_every_ascii_character_but_letters_and_digits_separates_words(ctx):
    # Both engines' indexes (migration 2): "<b>", "a/b" and "x@y.z" are words apart.
    others = [chr(c) for c in range(0x21, 0x7F) if not chr(c).isalnum()]
    for char in others + ["5", "x"]:
        store.record_use(f"left{char}right {ord(char)}")

    def texts(page):
        return [p.prompt_text for p in page.items]

    for char in others:
        for query in [f"left {ord(char)}", f"{ord(char)} right", f"{ord(char)} rig"]:
            assert texts(search_prompts(query)) == [f"left{char}right {ord(char)}"], query
    assert texts(search_prompts("right 53")) == texts(search_prompts("left 120")) == []

"""Full-text search: ranking, prefixes, model filter, paging, and any input being safe."""

import unicodedata
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gallery import store
from gallery.errors import InvalidInput
from gallery.search import query_terms, search_prompts

# Modifier letters that unaccent turns into an apostrophe (ŉ into "'n").
APOSTROPHES = "\u02bc\u02bb\u02b9\u02bd\u02c8\u0149"

LIBRARY = {
    "a lighthouse on a cliff at dusk": "sdxl",
    "lighthouse lighthouse lighthouse, stormy sea": "flux",
    "a red fox in the snow": "sdxl",
    "Café crème on a rainy morning": "flux",
    "hatsune miku, テスト, masterpiece": "flux",
}


@pytest.fixture
def library(ctx):
    for prompt, model in LIBRARY.items():
        store.record_use(prompt, model=model)
    return ctx


def texts(page):
    return [p.prompt_text for p in page.items]


def unaccented(word):
    """word with the accents of Latin letters removed, as both engines' indexes do."""
    bases = (unicodedata.normalize("NFKD", c)[0] for c in word)
    return "".join(b if b.isascii() else c for b, c in zip(bases, word, strict=True))


def matching(query):
    """The library's prompts with every word of query, the last as a prefix, sorted."""
    terms = [unaccented(t) for t in query_terms(query)]
    found = []
    for prompt in LIBRARY:
        words = [unaccented(w) for w in query_terms(prompt)]
        has_last = terms and any(w.startswith(terms[-1]) for w in words)
        if has_last and all(t in words for t in terms[:-1]):
            found.append(prompt)
    return sorted(found)


def test_ranked_best_match_first(library):
    assert texts(search_prompts("lighthouse")) == [
        "lighthouse lighthouse lighthouse, stormy sea",
        "a lighthouse on a cliff at dusk",
    ]


def test_prefix_match_on_the_last_word(library):
    assert texts(search_prompts("lighth")) != []
    assert texts(search_prompts("red fo")) == ["a red fox in the snow"]
    assert texts(search_prompts("fo red")) == []  # only the last word is a prefix


def test_all_words_must_match(library):
    assert texts(search_prompts("lighthouse stormy")) == [
        "lighthouse lighthouse lighthouse, stormy sea"
    ]


def test_case_accents_and_other_scripts(library):
    assert texts(search_prompts("CAFE CREME")) == ["Café crème on a rainy morning"]
    assert texts(search_prompts("テスト")) == ["hatsune miku, テスト, masterpiece"]


def test_model_filter(library):
    assert texts(search_prompts("lighthouse", model="sdxl")) == ["a lighthouse on a cliff at dusk"]
    assert texts(search_prompts("fox", model="flux")) == []


CLIFF = "a lighthouse on a cliff at dusk"
STORMY = "lighthouse lighthouse lighthouse, stormy sea"


@pytest.mark.parametrize(
    ("sort", "expected"),
    [("recent", [STORMY, CLIFF]), ("popular", [CLIFF, STORMY]), ("oldest", [CLIFF, STORMY])],
)
def test_other_orders(library, sort, expected):
    # The cliff (recorded first) gets two more uses at once, the stormy sea one an hour
    # later: the cliff is the most used and the oldest, the stormy sea the most recent.
    cliff = store.record_use(CLIFF)
    used_at = store.get_prompt(cliff.id).last_used_at
    store.record_use(CLIFF, used_at=used_at)
    store.record_use(STORMY, used_at=used_at + timedelta(hours=1))
    assert texts(search_prompts("lighthouse", sort=sort)) == expected


def test_paging_through_results(ctx):
    for i in range(30):
        store.record_use(f"mountain view number {i}")
    seen, cursor = [], None
    while True:
        page = search_prompts("mountain", limit=8, cursor=cursor)
        seen += [p.id for p in page.items]
        if not (cursor := page.next_cursor):
            break
    assert len(seen) == 30 == len(set(seen))


def test_index_follows_deletes_and_repeated_uses(library):
    fox = search_prompts("fox").items[0]
    for _ in range(3):
        store.record_use("a red fox in the snow")
    assert texts(search_prompts("fox")) == ["a red fox in the snow"]  # not duplicated
    store.delete_prompt(fox.id)
    assert texts(search_prompts("fox")) == []


def test_blank_query_is_an_empty_result(library):
    assert texts(search_prompts("")) == []
    assert texts(search_prompts("  ,;  ")) == []


@pytest.mark.parametrize("cursor", ["abc", "-1", "99999999"])
def test_bad_cursor(library, cursor):
    with pytest.raises(InvalidInput):
        search_prompts("lighthouse", cursor=cursor)


def test_operators_are_words_not_syntax(library):
    for query in ['"', 'lighthouse"', "NEAR(", "-fox", "fox*", "a OR b", "(((", "col:fox", "^fox"]:
        search_prompts(query)
    assert texts(search_prompts("-fox")) == ["a red fox in the snow"]


def test_terms():
    assert query_terms("Red-Fox_in, the SNOW!") == ["red", "fox", "in", "the", "snow"]


@pytest.mark.sqlite
def test_the_last_word_is_spelled_out_when_it_stands_for_few_words(library):
    from gallery.search import SqliteSearch

    assert SqliteSearch.plan(["red", "fo"])[0] == '"red" AND ("fox")'
    assert SqliteSearch.plan(["lighthouse"])[0] == '("lighthouse")'
    assert SqliteSearch.plan(["zebr"])[0] == '"zebr"*'  # no such word: nothing to spell out
    assert SqliteSearch.plan(SqliteSearch.terms("CAFÉ"))[0] == '("cafe")'


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    query=st.text(max_size=300)
    | st.text(alphabet="\"*()-+^:NEAROT '\\", max_size=60)
    | st.text(alphabet=f"{APOSTROPHES}ab '", max_size=40)
)
def test_any_string_is_safe(library, query):
    found = texts(search_prompts(query, limit=5))
    assert len(set(found)) == len(found) and set(found) <= set(LIBRARY)
    if all(term.isascii() for term in query_terms(query)):
        assert sorted(found) == matching(query)


VOCABULARY = sorted({w for p in LIBRARY for w in query_terms(p)} | {"cafe", "creme", "zebra"})
word_or_prefix = st.sampled_from(VOCABULARY).flatmap(
    lambda w: st.integers(1, len(w)).map(lambda n: w[:n])
)
separator = st.sampled_from([" ", ", ", ' "', '" ', " OR ", " -", "* ", " NEAR(", ") ", "^"])


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(parts=st.lists(st.tuples(word_or_prefix, separator), min_size=1, max_size=4))
def test_words_and_prefixes_find_exactly_the_prompts_that_have_them(library, parts):
    query = "".join(word + between for word, between in parts)
    assert sorted(texts(search_prompts(query, limit=5))) == matching(query)


def test_five_thousand_characters_of_noise(library):
    noise = ('"*(NEAR -fox) ^ OR AND ' * 250)[:5000]
    assert texts(search_prompts(noise)) == matching(noise) == []


@pytest.mark.sqlite
@pytest.mark.parametrize("query", ["lighthouse", "lighth", "a", "red fo", "fox snow", "zzz"])
@pytest.mark.parametrize("sort", ["recent", "popular", "oldest"])
def test_both_plans_find_the_same(library, monkeypatch, query, sort):
    from gallery.search import SqliteSearch

    for i in range(20):
        store.record_use(f"a lighthouse study {i}", model="sdxl" if i % 2 else "flux")
    monkeypatch.setattr(SqliteSearch, "WALK_ABOVE", 2.0)  # always collect the matches
    collected = [texts(search_prompts(query, sort=sort, limit=100))]
    collected.append(texts(search_prompts(query, model="sdxl", sort=sort, limit=100)))
    monkeypatch.setattr(SqliteSearch, "WALK_ABOVE", -1.0)  # always walk the sort index
    walked = [texts(search_prompts(query, sort=sort, limit=100))]
    walked.append(texts(search_prompts(query, model="sdxl", sort=sort, limit=100)))
    assert walked == collected


@pytest.mark.sqlite
def test_relevance_ranks_a_bounded_set_of_the_newest_matches(ctx, monkeypatch):
    from gallery.search import SqliteSearch, document_frequency

    for i in range(10):
        store.record_use(f"castle number {i}" + " castle" * (10 - i))  # older ones match better
    assert document_frequency("castle", prefix=False) == 10
    assert document_frequency("cas", prefix=True) == 10
    assert texts(search_prompts("castle"))[0].startswith("castle number 0")
    monkeypatch.setattr(SqliteSearch, "RANK_AT_MOST", 3)
    assert [t.split()[2] for t in texts(search_prompts("castle"))] == ["7", "8", "9"]


def test_a_model_filter_bounds_the_newest_matches_of_that_model(ctx, monkeypatch):
    from gallery.search import PostgresSearch, SqliteSearch

    for i in range(10):
        store.record_use(
            f"castle number {i}" + " castle" * (10 - i), model="rare" if i < 2 else "m"
        )
    for engine in (SqliteSearch, PostgresSearch):
        monkeypatch.setattr(engine, "RANK_AT_MOST", 3)
    # The 3 newest castles are all model "m"; the bound must not hide the "rare" ones.
    assert [t.split()[2] for t in texts(search_prompts("castle", model="rare"))] == ["0", "1"]
    assert [t.split()[2] for t in texts(search_prompts("castle", model="m"))] == ["7", "8", "9"]
    assert texts(search_prompts("castle", model="none of these")) == []


@pytest.mark.sqlite
def test_a_new_word_is_found_at_once(library):
    assert texts(search_prompts("lighth")) != []  # the prefix's words are now known
    store.record_use("lighthearted robots dancing")
    assert "lighthearted robots dancing" in texts(search_prompts("lighth"))
    store.delete_prompt(search_prompts("lighthearted").items[0].id)
    assert "lighthearted robots dancing" not in texts(search_prompts("lighth"))


def test_an_unknown_sort_is_refused_even_without_words(library):
    for query in ["lighthouse", "!!!"]:
        with pytest.raises(InvalidInput, match="choose one of: relevance, recent") as info:
            search_prompts(query, sort="name")
        assert info.value.field == "sort"


@pytest.mark.parametrize(
    ("text", "queries"),
    [
        ("Hawai\u02bbi at sunset", ["Hawai\u02bbi", "hawai\u02bbi sunset", "sunset Hawai\u02bb"]),
        ("don\u02bct panic, a towel", ["don\u02bct", "towel don\u02bct", "don\u02bc"]),
        (
            "\u043f\u02bc\u044f\u0442\u044c \u043a\u043e\u0442\u0456\u0432",
            ["\u043f\u02bc\u044f\u0442\u044c", "\u043f\u02bc\u044f\u0442\u044c \u043a\u043e\u0442"],
        ),
        (
            "the \u02b9prime\u02b9 \u02bdrough\u02bd \u02c8stress",
            ["\u02b9prime\u02b9 \u02bdrough\u02bd \u02c8stress"],
        ),
        ("\u0149 is a letter", ["\u0149 letter", "letter \u0149"]),
    ],
)
def test_modifier_letter_apostrophes_are_found(ctx, text, queries):
    store.record_use(text)
    store.record_use("something else entirely")
    for query in queries:
        assert texts(search_prompts(query)) == [text], query
        assert texts(search_prompts(query, sort="recent")) == [text], query


def test_apostrophes_alone_are_safe(ctx):
    store.record_use("don\u02bct panic")
    for query in [APOSTROPHES, "\u02bc", "\u02bc\u02bc \u02bc", "panic \u02bc"]:
        search_prompts(query)
        search_prompts(query, sort="popular")


def test_a_prefix_finds_a_restored_prompt(ctx):
    kept = store.record_use("lighthouse keeper")
    gone = store.record_use("lighthearted robots dancing")
    other = store.record_use("a red fox")
    store.record_use("the newest prompt")
    assert "lighthearted robots dancing" in texts(search_prompts("lighth"))
    store.delete_prompt(gone.id)
    assert texts(search_prompts("lighth")) == ["lighthouse keeper"]
    # Another delete and the undo leave as many prompts and the same newest one.
    store.delete_prompt(other.id)
    store.restore_prompt(gone.id)
    assert sorted(texts(search_prompts("lighth"))) == [
        "lighthearted robots dancing",
        kept.prompt_text,
    ]


@pytest.mark.parametrize(
    "query", ["Straße", "straße", "STRAẞE", "Stra", "straß", "Straße Berlin", "berlin straß"]
)
def test_sharp_s_is_found_on_every_engine(ctx, query):
    store.record_use("Eine Straße in Berlin")
    store.record_use("a street in Paris")
    assert texts(search_prompts(query)) == ["Eine Straße in Berlin"]
    assert texts(search_prompts(query, sort="recent")) == ["Eine Straße in Berlin"]


@pytest.mark.sqlite
def test_words_are_looked_up_as_the_index_spells_them(ctx):
    # Python folds these unlike the index's tokenizer, which keeps these accents: a
    # lookup of the Python spelling found other words ("ab..." for "ǡb").
    store.record_use("Ǣ ǡb Καλημέρα ΣΟΦΟΣ")
    store.record_use("abacus and aeon, καλημερα")
    for query in ["ǣ", "Ǡb", "ǡ", "ΚΑΛΗΜΈΡΑ", "καλημέ", "ΣΟΦΟΣ καλημέ"]:
        assert texts(search_prompts(query)) == ["Ǣ ǡb Καλημέρα ΣΟΦΟΣ"], query

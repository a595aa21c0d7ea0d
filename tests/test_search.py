"""Full-text search: ranking, prefixes, model filter, paging, and any input being safe."""

import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gallery import db as gallery_db
from gallery import store
from gallery.errors import InvalidInput
from gallery.models import Prompt
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
    used_at = Prompt.card(cliff.id).last_used_at
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


# Words that share a beginning, by how many words each beginning stands for: one, as
# many as a search spells out (8), one more than that, and many.
FAMILIES = {"mist": ["misty"], "glo": [f"glo{c}" for c in "abcdefgh"]}
FAMILIES["bri"] = [f"bri{c}" for c in "abcdefghi"]
FAMILIES["sha"] = [f"sha{c}{d}" for c in "abcde" for d in "abcde"]
START = datetime(2026, 1, 1, tzinfo=UTC)


def varied_store(count=60):
    """Record `count` prompts whose words range from in every prompt to in one, and
    return what a user knows of each: its text, id, model, uses, first and last use."""
    known = []
    for i in range(count):
        words = ["every"] + ["half"] * (i % 2 == 0) + ["tenth"] * (i % 10 == 3)
        words += ["rare"] * (i in (17, 41)) + ["single"] * (i == 29)
        words += [family[i % len(family)] for family in FAMILIES.values()]
        text, model = " ".join(words), "small" if i % 20 == 5 else "big"
        first = START + timedelta(hours=i)
        recorded = store.record_use(text, model=model, used_at=first)
        last, more = START + timedelta(hours=100 + i * 13 % count), i * 7 % 4
        for _ in range(more):
            store.record_use(text, used_at=last)
        known.append(
            {"text": text, "id": recorded.id, "model": model, "uses": 1 + more}
            | {"first": first, "last": last if more else first}
        )
    return known


def scanned(known, query, sort, model):
    """What a search should return, found by reading every prompt: each word of the
    query a word of the prompt, the last the beginning of one; in the sort's order."""
    terms = query.split()
    found = [
        p
        for p in known
        if (model is None or p["model"] == model)
        and all(t in p["text"].split() for t in terms[:-1])
        and any(w.startswith(terms[-1]) for w in p["text"].split())
    ]
    orders = {
        "recent": lambda p: (-p["last"].timestamp(), p["id"]),
        "popular": lambda p: (-p["uses"], p["id"]),
        "oldest": lambda p: (p["first"], p["id"]),
        None: lambda p: p["text"],  # best match: compared as a set
    }
    return [p["text"] for p in sorted(found, key=orders[sort])]


QUERIES = ["every", "half", "tenth", "rare", "single", "ever", "sin", "half tenth"]
QUERIES += ["every rare", "tenth single", "zebra", "half zebr", "every half tenth"]
QUERIES += [prefix for prefix in FAMILIES] + ["every glo", "half bri", "gloa", "sh", "mis"]
QUERIES += ["tenth sha", "rare bri", "single glo", "half mist"]


@pytest.mark.parametrize("sort", [None, "recent", "popular", "oldest"])
def test_common_and_rare_words_find_what_reading_every_prompt_finds(ctx, sort):
    # Words in all, half, a tenth, two and one of 60 prompts, and beginnings that stand
    # for 1 to 25 words: each engine plans a common word unlike a rare one.
    known = varied_store()
    for query in QUERIES:
        for model in [None, "small", "big"]:
            found = texts(search_prompts(query, model=model, sort=sort, limit=100))
            if sort is None:
                found = sorted(found)
            assert found == scanned(known, query, sort, model), (query, model)


def test_best_match_ranks_the_2000_newest_matches_of_the_model_filtered_on(ctx):
    # README: "best match" ranks the 2,000 most recently added matches (of the model
    # filtered on, if any). The two best matches are the oldest two of 2,001.
    oldest = "castle castle castle castle castle, the oldest keep"
    second = "castle castle castle castle, a second keep"
    with gallery_db.migrated_database().atomic():
        store.record_use(oldest, model="rare")
        store.record_use(second, model="rare")
        for i in range(1999):
            store.record_use(f"castle number {i}", model="common")
    best = texts(search_prompts("castle"))
    assert best[0] == second and oldest not in best  # the oldest is the 2,001st newest
    assert texts(search_prompts("castle oldest")) == [oldest]  # still found by its words
    # The bound counts the model's own matches: the common model's newer ones don't
    # crowd out the rare model's.
    assert texts(search_prompts("castle", model="rare")) == [oldest, second]
    assert len(texts(search_prompts("castle", model="common", limit=100))) == 100
    assert texts(search_prompts("castle", model="none of these")) == []


@pytest.mark.parametrize(
    "query", ["Café", "café crè", "CRÈME café", "crème", "phở", "PHỞ bò", "pho", "phở bo"]
)
def test_accented_words_find_prompts_written_with_or_without_accents(ctx, query):
    # "ở" carries two accents: only the index's own tokenizer settings remove both.
    store.record_use("Café crème, phở bò")
    store.record_use("cafe creme, pho bo")
    store.record_use("a red fox")
    assert sorted(texts(search_prompts(query))) == ["Café crème, phở bò", "cafe creme, pho bo"]
    assert len(texts(search_prompts(query, sort="recent"))) == 2

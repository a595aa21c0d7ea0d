"""The OpenAPI document: in step with the routes, and the API conforms to it under fuzzing."""

import re
from datetime import UTC, datetime, timedelta

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from gallery import store, tokens
from gallery.models import Prompt


def test_document_lists_every_api_route(app, client):
    document = client.get("/api/openapi.json").json
    assert document["openapi"].startswith("3.1")
    documented = {
        (path, method.upper()) for path, ops in document["paths"].items() for method in ops
    }
    registered = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            registered |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == registered


def operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def test_api_conforms_to_its_document(app):
    """Schema-driven fuzzing, in-process: no 5xx, every answer as documented; and a
    fuzzer holding a recording token (the default scope) cannot empty the store."""
    with app.app_context():
        headers = {"Authorization": f"Bearer {tokens.create_token('schemathesis')}"}
        kept = [store.record_use(f"kept prompt {i}").id for i in range(1, 6)]
    for operation in operations(app):

        @given(case=operation.as_strategy())
        @settings(
            max_examples=30,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def conforms(case):
            # Schema-valid is not always valid: an opaque cursor that was never issued, a
            # used_at in the future. Those are a documented 400, so that check stays off.
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        conforms()
    with app.app_context():
        assert [Prompt.card(i).prompt_text for i in kept] == [
            f"kept prompt {i}" for i in range(1, 6)
        ]


def test_document_names_the_token_scope_each_write_needs(client):
    document = client.get("/api/openapi.json").json
    paths = document["paths"]
    assert paths["/api/prompts/"]["post"]["security"] == [{"bearer": ["record"]}]
    assert paths["/api/prompts/{prompt_id}"]["delete"]["security"] == [{"bearer": ["admin"]}]
    assert paths["/api/prompts/cleanup"]["post"]["security"] == [{"bearer": ["admin"]}]
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert all(f"`{scope}`" in scheme["description"] for scope in ("read", "record", "admin"))


def sort_menu(html):
    """[(value, label)] of the gallery's sort menu, and the selected value."""
    menu = re.search(r'<select id="sort".*?</select>', html, re.DOTALL).group()
    options = re.findall(r'<option value="([^"]*)"\s*(selected)?>([^<]*)</option>', menu)
    return [(value, label) for value, _, label in options], [v for v, s, _ in options if s]


def test_each_listing_offers_the_table_s_orders_in_the_document_the_menu_and_the_api(client, ctx):
    """The API document, the gallery's sort menu and the API offer exactly the keys of
    Prompt.SORTS each listing offers (its default first); any other key is a 400 naming
    them in the API, and the first page in the usual order in the gallery."""
    start = datetime(2026, 3, 1, tzinfo=UTC)
    # Uses and times differ, so the orders do.
    for text, hours in [("fox", [0]), ("a red fox in snow", [1, 2, 3]), ("a grey fox", [4, 5])]:
        for hour in hours:
            store.record_use(text, used_at=start + timedelta(hours=hour))
    paths = client.get("/api/openapi.json").json["paths"]
    listings = [
        ("list", "/api/prompts/?", "/?", paths["/api/prompts/"]["get"]),
        ("search", "/api/prompts/search?q=fox&", "/?q=fox&", paths["/api/prompts/search"]["get"]),
    ]
    for listing, api, gallery, operation in listings:
        offered = Prompt.sorts(listing)
        keys = [sort.key for sort in offered]
        (parameter,) = [p for p in operation["parameters"] if p["name"] == "sort"]
        assert parameter["schema"]["enum"] == keys
        assert parameter["schema"]["default"] == keys[0]
        for sort in offered:
            assert client.get(f"{api}sort={sort.key}").status_code == 200, sort.key
            html = client.get(f"{gallery}sort={sort.key}").get_data(as_text=True)
            assert sort_menu(html) == ([(s.key, s.label) for s in offered], [sort.key])
            assert "first page" not in html
        default = client.get(f"{api}sort={keys[0]}").json
        assert client.get(api).json == default
        assert sort_menu(client.get(gallery).get_data(as_text=True))[1] == [keys[0]]

        refused = client.get(f"{api}sort=name")
        assert refused.status_code == 400
        assert refused.json["error"]["field"] == "sort"
        choices = ", ".join(keys)
        assert refused.json["error"]["message"] == f"unknown sort 'name'; choose one of: {choices}"
        html = client.get(f"{gallery}sort=name").get_data(as_text=True)
        assert "There is no order “name”" in html and sort_menu(html)[1] == [keys[0]]
    # An order only a search offers means nothing without words: the usual order, quietly.
    listed = [sort.key for sort in Prompt.sorts("list")]
    for sort in Prompt.sorts("search"):
        if sort.key not in listed:
            html = client.get(f"/?sort={sort.key}").get_data(as_text=True)
            assert sort_menu(html)[1] == [listed[0]] and "first page" not in html
            assert client.get(f"/api/prompts/?sort={sort.key}").status_code == 400

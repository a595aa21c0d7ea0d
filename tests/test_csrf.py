"""CSRF tokens: a wrong token of any shape is refused with the same clear 403."""

import pytest

from tests.conftest import csrf_token_from, sign_in


@pytest.mark.parametrize("sent", ["é" * 43, "令牌", "\x7f\x80\xff", "ａｂｃ"])
def test_a_non_ascii_token_is_refused_like_any_wrong_one(admin_app, ctx, sent):
    client = admin_app.test_client()
    sign_in(client)
    csrf_token_from(client, "/admin/")  # signing in cleared the session: a page makes a token
    as_field = client.post("/admin/sign-out", data={"csrf_token": sent})
    # A server hands on a header's UTF-8 bytes as Latin-1 text, as WSGI says.
    as_header = client.post(
        "/admin/sign-out", headers={"X-CSRF-Token": sent.encode().decode("latin-1")}
    )
    for response in (as_field, as_header):
        assert response.status_code == 403
        assert "security token is missing or out of date" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 200  # still signed in: nothing happened

from datetime import UTC, datetime, timedelta

from gallery.templating import ago, exact, highlight, number, plural


def test_highlight_escapes_and_marks_whole_words():
    html = str(highlight("<b>Lighthouse</b> & light_house, alight", ["lighth"]))
    assert html == "&lt;b&gt;<mark>Lighthouse</mark>&lt;/b&gt; &amp; light_house, alight"


def test_highlight_cannot_inject_through_terms():
    html = str(highlight("a <script> tag", ["script", "<"]))
    assert html == "a <mark>&lt;script</mark>&gt; tag"


def test_highlight_without_terms_escapes():
    assert str(highlight("<i>x</i>", [])) == "&lt;i&gt;x&lt;/i&gt;"


def test_relative_and_exact_times():
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    assert ago(now - timedelta(seconds=5), now) == "just now"
    assert ago(now - timedelta(minutes=1), now) == "1 minute ago"
    assert ago(now - timedelta(hours=5), now) == "5 hours ago"
    assert ago(now - timedelta(days=40), now) == "1 month ago"
    assert ago(now - timedelta(days=800), now) == "2 years ago"
    assert ago(None) == "never"
    assert exact(now) == "2026-06-01 12:00:00 UTC"


def test_sizes_counts_and_plurals(app):
    size = app.jinja_env.from_string("{{ size|filesizeformat(true) }}")
    assert size.render(size=512) == "512 Bytes"
    assert size.render(size=1536) == "1.5 KiB"
    assert number(1234567) == "1,234,567" and number(None) == "0"
    assert plural(1, "use") == "1 use" and plural(3, "use") == "3 uses"
    assert plural(1200, "prompt") == "1,200 prompts"


def test_plain_drops_bidirectional_controls():
    from gallery.templating import plain

    assert plain("abc\u202edef\u2066x\u2069") == "abcdefx"
    assert plain(None) == ""

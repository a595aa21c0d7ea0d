"""Server-time benchmark of the gallery on a store made by make_store.py (in-process).

    python bench/run.py bench/stores/100000.db [--repeat 30]
    python bench/run.py postgresql://postgres@127.0.0.1:5432/bench100k   (a copy-db of a store)

Each case runs `repeat` times through the Flask test client (server time, no network);
the table gives median and p95 in milliseconds. Page 2,000 is reached with the cursor of
the row 2,000 pages down, as a visitor scrolling that far would hold.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from gallery import create_app, store
from gallery import db as gallery_db
from gallery.models import Prompt, Stats
from gallery.paging import encode_cursor

WORDS = {
    "very common": "detailed",
    "common": "portrait",
    "rare": "zeppelin",
    "prefix": "lighth",
    "two words": "portrait woman",
}


def timed(call, repeat):
    """(median ms, p95 ms) of `repeat` calls after one warm-up."""
    call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.95 * len(times)))]


def get(client, url, headers=None, status=200):
    def call():
        response = client.get(url, headers=headers or {})
        assert response.status_code == status, (url, response.status_code)

    return call


def cases(client, app):
    """(name, callable) for every measured case."""
    with app.app_context():
        gallery_db.migrated_database()
        models = Prompt.models()
        top_model, small_model = models[0][0], models[-1][0]
        deep = (
            Prompt.select(Prompt.last_used_at, Prompt.id)
            .order_by(Prompt.last_used_at.desc(), Prompt.id)
            .offset(2000 * 24)
            .first()
        )
        thumb = Prompt.cards().where(Prompt.thumbnail_mime.is_null(False)).first()
    cursor = encode_cursor("recent", deep.last_used_at, deep.id)
    fragment = {"HX-Request": "true"}
    yield "first page, recent", get(client, "/?sort=recent", fragment)
    yield "first page, popular", get(client, "/?sort=popular", fragment)
    yield "first page, oldest", get(client, "/?sort=oldest", fragment)
    yield (
        f"first page, recent, model {top_model}",
        get(client, f"/?sort=recent&model={top_model}", fragment),
    )
    yield "page 2,000 by cursor", get(client, f"/?sort=recent&cursor={cursor}", fragment)
    for label, word in WORDS.items():
        for order in ("relevance", "recent"):
            yield (
                f"search {label} ({word!r}), {order}",
                get(client, f"/?q={word}&sort={order}", fragment),
            )
        yield (
            f"search {label}, model filter",
            get(client, f"/?q={word}&model={top_model}", fragment),
        )
        yield (
            f"search {label}, smallest model ({small_model})",
            get(client, f"/?q={word}&model={small_model}", fragment),
        )
    yield "model facets", lambda: Prompt.models()
    yield "full page (facets included)", get(client, "/")
    yield "/stats", get(client, "/stats")
    url = f"/prompts/{thumb.id}/thumbnail?v={thumb.thumbnail_version}"
    yield "thumbnail 200", get(client, url)
    yield "thumbnail 304", get(client, url, {"If-None-Match": f'"{thumb.thumbnail_version}"'}, 304)


def recording_rates(count=300):
    """record_use calls per second into a fresh store, without and with a 768 px image."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.effect_noise((768, 768), 60).convert("RGB").save(buffer, "PNG")
    image = buffer.getvalue()
    folder = Path(tempfile.mkdtemp())
    app = create_app({"DATABASE_URL": f"sqlite:///{folder / 'r.db'}"}, instance_path=folder)
    rates = {}
    with app.app_context():
        for label, data in (("record_use, no image", None), ("record_use, with image", image)):
            started = time.perf_counter()
            for n in range(count):
                store.record_use(f"throughput {label} {n % 50}", model="m", image_data=data)
            rates[label] = count / (time.perf_counter() - started)
    return rates


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", help="a store file, or a PostgreSQL URL")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    if args.store.startswith(("postgresql://", "postgres://")):
        url, instance = args.store, Path(tempfile.mkdtemp())
    else:
        url, instance = f"sqlite:///{Path(args.store).resolve()}", Path(args.store).parent
    app = create_app({"DATABASE_URL": url}, instance_path=instance)
    client = app.test_client()
    with app.app_context():
        prompts = Stats.current().total_prompts
    print(f"store: {args.store} ({prompts:,} prompts), {args.repeat} runs per case\n")
    print("| case | median ms | p95 ms |\n|---|---|---|")
    for name, call in cases(client, app):
        with app.app_context():
            median, p95 = timed(call, args.repeat)
        print(f"| {name} | {median:.1f} | {p95:.1f} |")
    print("\n| writes (fresh store) | calls/s |\n|---|---|")
    for label, rate in recording_rates().items():
        print(f"| {label} | {rate:.0f} |")


if __name__ == "__main__":
    main()

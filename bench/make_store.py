"""Build a benchmark store of N prompts: realistic text, long-tail use counts, real thumbnails.

    python bench/make_store.py N [--out bench/stores/N.db] [--seed 1] [--thumbnails 50000]

Text is sampled and recombined from the real prompt datasets in ../shared/samples/prompts;
total_uses follows a long tail; last use spreads over two years; 20 models with a skewed
(Zipf) share; `--thumbnails` rows carry one of 64 real WebP thumbnails (~25 KB, crops of the
sample photos). Rows go in with plain INSERTs in large transactions (the triggers keep the
full-text index in step). The same N and seed give the same store.
"""

import argparse
import csv
import hashlib
import io
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image

from gallery import create_app
from gallery import db as gallery_db
from gallery.normalize import normalize
from gallery.thumbnails import make_thumbnail

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
MODELS = [
    f"model-{name}"
    for name in (
        "sdxl-base",
        "flux-dev",
        "sd-1.5",
        "dall-e-3",
        "midjourney-v6",
        "sd-2.1",
        "playground-v2",
        "kandinsky-3",
        "pixart-sigma",
        "sd3-medium",
        "juggernaut-xl",
        "dreamshaper-8",
        "realistic-vision",
        "animagine-xl",
        "pony-diffusion",
        "deliberate-v2",
        "openjourney",
        "waifu-diffusion",
        "protogen",
        "analog-diffusion",
    )
]
STYLE = [
    "highly detailed",
    "trending on artstation",
    "4k",
    "octane render",
    "digital art",
    "cinematic lighting",
    "oil painting",
    "concept art",
    "sharp focus",
    "volumetric light",
]
COLUMNS = (
    "prompt_text, prompt_hash, total_uses, first_used_at, last_used_at, model, "
    "thumbnail_data, thumbnail_mime, thumbnail_width, thumbnail_height"
)


def base_prompts():
    """The real prompts of both sample datasets."""
    prompts = []
    for name in (
        "sd-discord-dream-5.sample-2000.prompts.csv",
        "krea-open-prompts-1k.rows-0751-1000.csv",
    ):
        with open(SAMPLES / "prompts" / name, newline="") as file:
            prompts += [
                row["prompt"].strip() for row in csv.DictReader(file) if row["prompt"].strip()
            ]
    return prompts


def thumbnails(rng, count=64):
    """Real WebP thumbnails: 512 px crops of the sample photos."""
    photos = [
        Image.open(SAMPLES / "photos" / n).convert("RGB")
        for n in ("Landscape_8.jpg", "Portrait_5.jpg", "chelsea.png", "flower.webp")
    ]
    made = []
    for _ in range(count):
        photo = rng.choice(photos)
        side = rng.randrange(min(photo.size) // 2, min(photo.size) + 1)
        x, y = rng.randrange(photo.width - side + 1), rng.randrange(photo.height - side + 1)
        buffer = io.BytesIO()
        photo.crop((x, y, x + side, y + side)).resize((768, 768)).save(buffer, "PNG")
        made.append(make_thumbnail(buffer.getvalue()))
    return made


def prompt_text(rng, bases, fragments):
    """A prompt like people write them: a real one, recombined and decorated."""
    parts = [rng.choice(bases)]
    parts += rng.sample(fragments, rng.randrange(0, 3))
    if rng.random() < 0.78:  # the very common word of the benchmark: "detailed"
        parts.append(rng.choice(["highly detailed", "detailed", "intricate detailed"]))
    parts += rng.sample(STYLE, rng.randrange(0, 3))
    return ", ".join(parts)


def rows(n, seed, thumbnail_rows):
    """Yield n distinct prompt rows."""
    rng = random.Random(seed)
    bases = base_prompts()
    fragments = sorted({f.strip() for p in bases for f in p.split(",") if 2 < len(f.strip()) < 40})
    weights = [1 / (rank + 1) ** 1.1 for rank in range(len(MODELS))]
    pictures = thumbnails(rng)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    seen = set()
    while len(seen) < n:
        text = prompt_text(rng, bases, fragments)
        key = hashlib.sha256(normalize(text).encode()).hexdigest()
        if key in seen:
            continue
        seen.add(key)
        last = now - timedelta(seconds=rng.uniform(0, 730 * 86400))
        first = last - timedelta(seconds=rng.uniform(0, 200 * 86400))
        uses = min(10_000, int(rng.paretovariate(1.3)))
        picture = rng.choice(pictures) if len(seen) <= thumbnail_rows else None
        yield (
            text,
            key,
            uses,
            first.replace(tzinfo=None).isoformat(" "),
            last.replace(tzinfo=None).isoformat(" "),
            rng.choices(MODELS, weights)[0],
            picture and picture.data,
            picture and picture.mime,
            picture and picture.width,
            picture and picture.height,
        )


def build(n, out, seed, thumbnail_rows):
    """Create the store file and fill it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.unlink()
    app = create_app({"DATABASE_URL": f"sqlite:///{out.resolve()}"}, instance_path=out.parent)
    with app.app_context():
        database = gallery_db.migrated_database()
        batch, started = [], time.monotonic()
        sql = f"INSERT INTO prompts ({COLUMNS}) VALUES ({', '.join('?' * 10)})"
        for row in rows(n, seed, thumbnail_rows):
            batch.append(row)
            if len(batch) == 20_000:
                with database.atomic():
                    database.cursor().executemany(sql, batch)
                batch = []
        with database.atomic():
            database.cursor().executemany(sql, batch)
            # Every write path of the gallery stores each thumbnail's digest (its URL
            # version); these plain INSERTs bypass it, so add them as the migration would.
            database.execute_sql(
                "INSERT INTO thumbnail_digests (id, digest) SELECT id, gallery_sha256("
                "thumbnail_data) FROM prompts WHERE thumbnail_data IS NOT NULL"
            )
        database.execute_sql("PRAGMA optimize")
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    size, seconds = out.stat().st_size / 1e6, time.monotonic() - started
    print(f"{n} prompts in {out} ({size:.0f} MB) in {seconds:.0f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--thumbnails", type=int, default=50_000)
    args = parser.parse_args()
    out = args.out or Path(__file__).parent / "stores" / f"{args.n}.db"
    build(args.n, out, args.seed, min(args.thumbnails, args.n))


if __name__ == "__main__":
    main()

"""The per-model totals the triggers keep always equal a fresh count of the prompts."""

import io
import random

from peewee import fn
from PIL import Image

from gallery import copying, create_app, store
from gallery.models import ModelTotals, Prompt, Stats


def png(seed):
    buffer = io.BytesIO()
    Image.new("RGB", (20 + seed % 30, 20), (seed % 256, 0, 0)).save(buffer, "PNG")
    return buffer.getvalue()


def truth():
    """(model, prompts, uses, with_thumbnail, thumbnail_bytes) counted from scratch."""
    query = Prompt.select(
        Prompt.model,
        fn.COUNT(Prompt.id),
        fn.SUM(Prompt.total_uses),
        fn.COUNT(Prompt.thumbnail_data),
        fn.COALESCE(fn.SUM(fn.LENGTH(Prompt.thumbnail_data)), 0),
    ).group_by(Prompt.model)
    return sorted((model or "", *rest) for model, *rest in query.tuples())


def kept():
    return sorted(
        (m.model_key, m.prompts, m.uses, m.with_thumbnail, m.thumbnail_bytes)
        for m in ModelTotals.select().where(ModelTotals.prompts > 0)
    )


def test_totals_follow_every_kind_of_change(ctx, app, tmp_path):
    rng = random.Random(8)
    for step in range(300):
        roll = rng.random()
        text = f"prompt {rng.randrange(60)}"
        if roll < 0.6:
            model = rng.choice(["a", "b", None, "c"])
            image = png(step) if rng.random() < 0.3 else None
            store.record_use(text, model=model, image_data=image)
        elif roll < 0.75:
            ids = [p.id for p in Prompt.page(limit=100).items]
            if ids:
                store.delete_prompt(rng.choice(ids))
        elif roll < 0.85:
            deleted = store.recently_deleted()
            if deleted:
                store.restore_prompt(rng.choice(deleted)[0])
        elif roll < 0.9:
            store.cleanup(without_thumbnail=True)
    assert kept() == truth()
    stats = Stats.current()
    assert stats.total_prompts == sum(row[1] for row in truth())
    assert stats.thumbnail_bytes == sum(row[4] for row in truth())

    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    copying.copy_store(app.config["DATABASE_URL"], copy)
    other = create_app({"DATABASE_URL": copy}, instance_path=tmp_path / "copy")
    with other.app_context():
        assert kept() == truth()

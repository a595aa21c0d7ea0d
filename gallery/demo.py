"""Demo data: a few dozen prompts with pictures drawn on the spot (no network, no files)."""

import io
import random
from datetime import timedelta

from PIL import Image, ImageDraw

from . import store
from .models import utcnow

MODELS = ["sdxl-base-1.0", "flux-dev", "dall-e-3", "midjourney-v6", "stable-diffusion-1.5"]
SUBJECTS = [
    "a lighthouse on a cliff at dusk, crashing waves, volumetric light",
    "a beautiful sunset over snowy mountains, golden hour, 35mm photo",
    "a cozy reading nook with a cat, warm lamp light, watercolor",
    "cyberpunk street market in the rain, neon signs, reflections",
    "an astronaut riding a horse on the moon, cinematic, 8k",
    "a tiny dragon sleeping in a teacup, studio ghibli style",
    "portrait of an old fisherman, dramatic chiaroscuro lighting",
    "isometric floating island village, pastel colors, low poly",
    "a red fox in a snowy birch forest, morning mist",
    "art deco poster of a zeppelin over a city skyline",
    "bioluminescent jellyfish in the deep ocean, long exposure",
    "a bowl of ramen, food photography, shallow depth of field",
    "ancient library with endless shelves, dust in sunbeams",
    "a koi pond in autumn, maple leaves floating, top-down view",
    "steampunk owl made of brass gears, intricate detail",
    "desert caravan under the milky way, long exposure",
    "minimalist japanese garden, raked sand, stone lantern",
    "a sunflower field during a thunderstorm, dramatic sky",
    "macro photo of a dewdrop on a spider web at sunrise",
    "a cathedral made of ice, aurora borealis above",
    "retro 80s synthwave car on an endless highway, sunset grid",
    "an enchanted forest path with glowing mushrooms",
    "a lighthouse keeper's cottage, oil painting, impressionism",
    "hot air balloons over cappadocia at sunrise",
    "a robot watering plants in a greenhouse, soft light",
    "underwater city with coral towers, fantasy concept art",
    "a mountain lake reflecting the stars, ultra wide angle",
    "vintage botanical illustration of a fern",
    "a samurai in a bamboo forest, ink wash painting",
    "a snowy cabin with smoke from the chimney, night, cozy",
    "origami cranes flying over a paper city",
    "a waterfall in a lush jungle, tropical birds, 4k",
    "still life of lemons and a blue vase, dutch golden age",
    "a city of floating lanterns over a river, festival night",
    "a sailboat in a storm, dramatic waves, oil on canvas",
    "a cat astronaut floating in a space station, digital art",
]


def draw(rng, size=(640, 480)):
    """A small abstract landscape: a sky gradient, a sun and layered hills."""
    width, height = size
    top = tuple(rng.randrange(40, 256) for _ in range(3))
    bottom = tuple(rng.randrange(0, 200) for _ in range(3))
    image = Image.new("RGB", size)
    pen = ImageDraw.Draw(image)
    for y in range(height):
        t = y / (height - 1)
        colour = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        pen.line([(0, y), (width, y)], fill=colour)
    x, y, r = rng.randrange(width), rng.randrange(height // 2), rng.randrange(20, 80)
    pen.ellipse([x - r, y - r, x + r, y + r], fill=(255, rng.randrange(180, 256), 120))
    for layer in range(3):
        base = height * (0.55 + 0.15 * layer)
        points = [(0, height)]
        points += [(px, base - rng.randrange(0, 120)) for px in range(0, width + 80, 80)]
        points.append((width, height))
        shade = tuple(max(0, c - 60 * (layer + 1)) for c in bottom)
        pen.polygon(points, fill=shade)
    return image


def png_bytes(image):
    """The image as PNG bytes, as a generator would hand it over."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def load(seed=7):
    """Record the demo prompts with images and varied use counts; return how many."""
    rng = random.Random(seed)
    now = utcnow()
    for index, prompt in enumerate(SUBJECTS):
        model = MODELS[index % len(MODELS)]
        uses = 1 + int(rng.paretovariate(1.2)) % 40
        first = now - timedelta(days=rng.randrange(1, 120), minutes=rng.randrange(1440))
        image = png_bytes(draw(rng)) if index % 9 != 8 else None  # a few without a picture
        store.record_use(prompt, model=model, image_data=image, used_at=first)
        for _ in range(uses - 1):
            used_at = first + (now - first) * rng.random()
            store.record_use(prompt, model=model, used_at=used_at)
    return len(SUBJECTS)

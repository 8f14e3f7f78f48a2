"""The bundled offline folder dataset: procedurally drawn kinoko (mushrooms) and takenoko
(bamboo shoots), the two classes of tutorial 000, as a zip of class folders.

Drawn here from shapes and noise (no photos, nothing with an unclear licence),
deterministic for a seed, and laid out like tutorial 003's data folder:
`kinoko_takenoko/{train,test}/{kinoko,takenoko}/NNNN.png`. Objects vary in
position, size, angle, colour and background clutter, so a small CNN overfits
the training folder and augmentation has something to teach.

Example:
    >>> zip_bytes = kinoko_takenoko_zip(per_class=(20, 10))
    >>> len(zipfile.ZipFile(io.BytesIO(zip_bytes)).namelist())
    60
"""

from __future__ import annotations

import io
import zipfile
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from core.images import png_bytes

WIDTH, HEIGHT, SCALE = 90, 60, 2  # drawn at 2x, then reduced for smooth edges


def _background(rng: np.random.Generator, w: int, h: int):

    base = tuple(int(v) for v in rng.integers(150, 235, 3))
    img = Image.new("RGB", (w, h), base)
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(10, 30))):  # leaves, pebbles and grass: clutter
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        r = int(rng.integers(3, 18))
        shade = tuple(int(v) for v in np.clip(np.array(base) + rng.integers(-70, 40, 3), 0, 255))
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r // 2, x + r, y + r // 2), fill=shade)
        else:
            end = (x + int(rng.integers(-25, 25)), y - int(rng.integers(5, 40)))
            draw.line((x, y, *end), fill=shade, width=int(rng.integers(2, 5)))
    return img.filter(ImageFilter.GaussianBlur(1.0))


def _kinoko(draw, cx: float, cy: float, s: float, rng: np.random.Generator) -> None:
    """A mushroom: a stem and a dome-shaped cap, sometimes spotted."""
    stem = tuple(int(v) for v in rng.integers(200, 250, 3))
    cap = (int(rng.integers(120, 220)), int(rng.integers(40, 110)), int(rng.integers(20, 70)))
    draw.rounded_rectangle((cx - 0.18 * s, cy - 0.1 * s, cx + 0.18 * s, cy + 0.55 * s), radius=0.08 * s, fill=stem)
    draw.chord((cx - 0.55 * s, cy - 0.5 * s, cx + 0.55 * s, cy + 0.3 * s), 180, 360, fill=cap)
    if rng.random() < 0.5:
        for _ in range(int(rng.integers(2, 6))):
            dx, dy, r = rng.uniform(-0.35, 0.35) * s, rng.uniform(-0.3, -0.05) * s, 0.05 * s
            draw.ellipse((cx + dx - r, cy + dy - r, cx + dx + r, cy + dy + r), fill=(250, 245, 235))


def _takenoko(draw, cx: float, cy: float, s: float, rng: np.random.Generator) -> None:
    """A bamboo shoot: a pointed cone wrapped in striped sheaths."""
    body = (int(rng.integers(110, 190)), int(rng.integers(70, 130)), int(rng.integers(30, 80)))
    tip = (cx + rng.uniform(-0.1, 0.1) * s, cy - 0.6 * s)
    draw.polygon([tip, (cx - 0.35 * s, cy + 0.5 * s), (cx + 0.35 * s, cy + 0.5 * s)], fill=body)
    dark = tuple(max(0, c - 60) for c in body)
    for k in range(1, 5):
        t = k / 5
        y = tip[1] + t * (1.1 * s)
        half = 0.35 * s * t
        draw.line((cx - half, y, cx + half, y - 0.08 * s), fill=dark, width=max(1, int(0.05 * s)))


def draw(kind: str, rng: np.random.Generator, wide: bool = True, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """One (height, width, 3) uint8 picture of a kinoko or a takenoko.

    `wide=False` is how the training folder was "photographed": upright, a little left
    of centre. Test pictures (`wide=True`) are shifted, tilted and sometimes upside
    down, as new photos are: what augmentation (shifts, rotations, flips) prepares for.
    """

    img = _background(rng, width * SCALE, height * SCALE)
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    size = rng.uniform(0.45, 0.85) * height * SCALE
    cx = rng.uniform(0.25, 0.75 if wide else 0.5) * width * SCALE
    cy = rng.uniform(0.35, 0.65) * height * SCALE
    (_kinoko if kind == "kinoko" else _takenoko)(ImageDraw.Draw(layer), cx, cy, size, rng)
    angle = rng.uniform(-30, 30) if wide else rng.uniform(-10, 10)
    if wide and rng.random() < 0.15:
        angle += 180
    layer = layer.rotate(float(angle), center=(cx, cy), resample=Image.Resampling.BICUBIC)
    img.paste(layer, (0, 0), layer)
    img = img.resize((width, height), Image.Resampling.LANCZOS)
    arr = np.asarray(img, "float64") + rng.normal(0, 6, (height, width, 3))  # sensor noise
    return np.clip(arr, 0, 255).astype("uint8")


@lru_cache(maxsize=2)
def kinoko_takenoko_zip(per_class: tuple[int, int] = (100, 60), seed: int = 2025) -> bytes:
    """The demo dataset as zip bytes: (train, test) images per class."""

    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        for subset, count in zip(("train", "test"), per_class, strict=False):
            for kind in ("kinoko", "takenoko"):
                for i in range(count):
                    picture = draw(kind, rng, wide=subset == "test")
                    zf.writestr(f"kinoko_takenoko/{subset}/{kind}/{i:04d}.png", png_bytes(picture))
    return buffer.getvalue()


def preview(seed: int = 7) -> list[np.ndarray]:
    """A few drawings of each class (for tests and docs)."""
    rng = np.random.default_rng(seed)
    return [draw(kind, rng, wide) for kind in ("kinoko", "takenoko") for wide in (False, True, True)]

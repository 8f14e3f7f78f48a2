"""Image helpers shared by previews, uploads, the augmentation studio and classification.

`decode` turns whatever a learner uploads into an upright 8-bit RGB or grayscale
picture, or refuses it with a reason: zero bytes, not an image, truncated or
corrupt, more pixels than allowed (Pillow's decompression-bomb guard included).
Grayscale, RGBA, palette, CMYK and 16-bit images are converted; EXIF-rotated
photos are turned upright; animated images give their first frame.

Example:
    >>> for_display(np.zeros((8, 8, 1), "uint8")).shape
    (64, 64)
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from core.i18n import LocalizedError

#: Pillow refuses images above this many pixels (its decompression-bomb guard); settings may lower it.
DEFAULT_MAX_PIXELS = 40_000_000


class ImageRejected(LocalizedError):
    """An upload that is not a usable image; `reason` is a short code (also the catalogue key's tail)."""

    def __init__(self, reason: str, **fields):
        super().__init__(f"upload.reason.{reason}", **fields)
        self.reason = reason


@dataclass
class Decoded:
    image: Any  # PIL.Image.Image in mode "RGB" or "L"
    notes: list[str] = field(default_factory=list)  # what was done: "converted:CMYK", "exif_rotated", "first_frame"


def decode(data: bytes, color_mode: str = "rgb", max_pixels: int = DEFAULT_MAX_PIXELS) -> Decoded:
    """Bytes -> an upright 8-bit image in `color_mode` ('rgb' or 'grayscale'), or ImageRejected."""

    if not data:
        raise ImageRejected("empty")
    notes: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img: Any = Image.open(io.BytesIO(data))
            width, height = img.size
            if width * height > max_pixels:
                raise ImageRejected("too_many_pixels", width=width, height=height, limit=f"{max_pixels:,}")
            if getattr(img, "n_frames", 1) > 1:
                img.seek(0)
                notes.append("first_frame")
            img.load()
        except ImageRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageRejected("bomb", limit=f"{max_pixels:,}") from exc
        except UnidentifiedImageError as exc:
            raise ImageRejected("not_image") from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise ImageRejected("corrupt", error=str(exc)[:120]) from exc
    orientation = img.getexif().get(0x0112, 1) if hasattr(img, "getexif") else 1
    if orientation not in (None, 1):
        img = ImageOps.exif_transpose(img)
        notes.append("exif_rotated")
    img = _to_8bit(img, notes)
    target = "RGB" if color_mode == "rgb" else "L"
    if img.mode != target:
        img = img.convert(target)
    return Decoded(img, notes)


def _to_8bit(img, notes: list[str]):
    """Any Pillow mode -> 'RGB' or 'L' (transparency composited on white)."""

    mode = img.mode
    if mode in ("RGB", "L"):
        return img
    notes.append(f"converted:{mode}")
    if mode.startswith("I") or mode == "F":
        # 16/32-bit integer or float greyscale: stretch to 0..255.
        arr = np.asarray(img, dtype="float64")
        lo, hi = float(arr.min()), float(arr.max())
        scaled = np.zeros_like(arr) if hi <= lo else (arr - lo) * (255.0 / (hi - lo))
        return Image.fromarray(scaled.round().astype("uint8"), "L")
    if mode == "P":
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode == "1":
        return img.convert("L")
    return img.convert("RGB")  # CMYK, YCbCr, LAB, HSV, ...


MAX_ASPECT = 16  # the studio's grids cannot show a picture thinner than this


def check_proportions(img, max_ratio: float = MAX_ASPECT) -> None:
    """Refuse a picture so wide or so tall (10000 x 1) that a grid of it would be lines, not pictures."""
    width, height = img.size
    if max(width, height) > max_ratio * max(1, min(width, height)):
        raise ImageRejected("too_thin", width=width, height=height, ratio=int(max_ratio))


def to_array(img, size: tuple[int, int] | None = None, resample: str = "bilinear") -> np.ndarray:
    """A decoded image as uint8 (height, width, channels), resized to (height, width) if given.

    `resample="nearest"` matches `keras.utils.load_img(target_size=...)`, as the tutorials load photos.
    """

    if size is not None and (img.height, img.width) != tuple(size):
        method = Image.Resampling.NEAREST if resample == "nearest" else Image.Resampling.BILINEAR
        img = img.resize((size[1], size[0]), method)
    arr = np.asarray(img, dtype="uint8")
    return arr[..., None] if arr.ndim == 2 else arr


def for_display(image: np.ndarray, min_size: int = 56) -> np.ndarray:
    """A uint8 image a browser shows crisply: channel axis dropped for grayscale,
    tiny images (8x8 digits) enlarged by whole-pixel repetition instead of blurry scaling."""
    img = np.asarray(image)
    if img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    factor = max(1, int(np.ceil(min_size / max(img.shape[0], 1))))
    if factor > 1:
        img = img.repeat(factor, axis=0).repeat(factor, axis=1)
    return img


def stretch_for_display(image: np.ndarray) -> np.ndarray:
    """Float images after normalisation (mean 0, std 1) mapped back to 0..255 for viewing."""
    arr = np.asarray(image, dtype="float64")
    lo, hi = float(arr.min()), float(arr.max())
    if hi <= lo:
        return np.zeros(arr.shape, "uint8")
    return ((arr - lo) * (255.0 / (hi - lo))).round().astype("uint8")


def png_bytes(image: np.ndarray) -> bytes:
    """A uint8 (H, W[, C]) array as PNG bytes."""

    arr = np.asarray(image, dtype="uint8")
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    buffer = io.BytesIO()
    Image.fromarray(arr).save(buffer, format="PNG")
    return buffer.getvalue()


# A perceptual blue -> cyan -> yellow -> red ramp for heatmaps (no matplotlib needed).
_HEAT_STOPS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
_HEAT_RGB = np.array([[48, 18, 59], [40, 160, 230], [120, 250, 100], [250, 185, 40], [180, 15, 5]], "float64")


def heat_colors(heat: np.ndarray) -> np.ndarray:
    """A (H, W) map in [0, 1] -> (H, W, 3) uint8 colours."""
    h = np.clip(np.asarray(heat, "float64"), 0, 1)
    return np.stack([np.interp(h, _HEAT_STOPS, _HEAT_RGB[:, c]) for c in range(3)], axis=-1).round().astype("uint8")


def heat_overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """Blend a heatmap (any size, values in [0, 1]) over a uint8 image, as Grad-CAM pictures are shown.

    >>> heat_overlay(np.zeros((4, 4, 3), "uint8"), np.ones((2, 2))).shape
    (4, 4, 3)
    """

    base = np.asarray(image, "uint8")
    if base.ndim == 2 or base.shape[-1] == 1:
        base = np.repeat(base.reshape(base.shape[0], base.shape[1], 1), 3, axis=-1)
    heat_img = Image.fromarray((np.clip(heat, 0, 1) * 255).astype("uint8")).resize(
        (base.shape[1], base.shape[0]), Image.Resampling.BILINEAR
    )
    colors = heat_colors(np.asarray(heat_img, "float64") / 255.0)
    return (base * (1 - alpha) + colors * alpha).round().astype("uint8")

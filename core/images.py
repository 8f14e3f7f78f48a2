"""Small image helpers shared by previews and galleries (no Keras here).

Example:
    >>> for_display(np.zeros((8, 8, 1), "uint8")).shape
    (64, 64)
"""

from __future__ import annotations

import numpy as np


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

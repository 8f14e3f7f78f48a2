"""Zip and image fixtures for the upload tests, generated in memory: good folders and every bad case."""

from __future__ import annotations

import io
import stat
import struct
import zipfile
import zlib

import numpy as np
from PIL import Image


def image_bytes(mode: str = "RGB", size=(40, 30), fmt: str = "PNG", color=None, **save) -> bytes:
    rng = np.random.default_rng(sum(map(ord, mode)) + size[0])
    if mode == "I;16":
        img = Image.fromarray((rng.integers(0, 65535, size[::-1])).astype("uint16"))
    elif color is not None:
        img = Image.new(mode, size, color)
    else:
        img = Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).convert(mode)
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def exif_rotated_jpeg(size=(40, 20)) -> bytes:
    img = Image.new("RGB", size, (200, 30, 30))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def huge_png(width: int, height: int) -> bytes:
    """A valid PNG header claiming a huge size, with a tiny compressed body (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    body = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


class _LegacyNameInfo(zipfile.ZipInfo):
    """A zip entry whose name is stored in a legacy code page without the UTF-8 flag (old Windows tools)."""

    encoding = "cp932"

    def _encodeFilenameFlags(self):
        return self.filename.encode(self.encoding), self.flag_bits & ~0x800


def make_zip(files: dict[str, bytes], links: dict[str, str] | None = None, legacy_names: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in files.items():
            zf.writestr(_LegacyNameInfo(name) if legacy_names else zipfile.ZipInfo(name), data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return buffer.getvalue()


def class_folders(classes=("apple", "banana"), per_class: int = 6, root: str = "fruit", size=(40, 30)) -> dict[str, bytes]:
    files = {}
    for c, name in enumerate(classes):
        for i in range(per_class):
            color = (40 + 150 * c, 80, 200 - 150 * c)
            files[f"{root}/{name}/{i:03d}.png" if root else f"{name}/{i:03d}.png"] = image_bytes(size=size, color=color)
    return files

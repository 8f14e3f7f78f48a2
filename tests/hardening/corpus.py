"""A generated corpus of bad (and awkward but usable) uploads for every upload point of the app.

Everything is built in memory, small and fast: the 30000x30000 PNG is a valid header with a
tiny compressed body, the zip bombs reuse one compressed block many times (about 1 MB on disk,
more than 1 GB inflated), the 10,000-file zip is stored uncompressed. Models are tiny Keras
models serialised into bytes.

Upload points (what the pages call with the bytes):

| point      | page         | call                                                        |
|------------|--------------|-------------------------------------------------------------|
| "zip"      | Data         | `uploads.read_image_zip(data, size, color_mode)`            |
| "csv"      | Data         | `uploads.read_csv_columns(data)`, `uploads.read_csv_table`  |
| "augment"  | Augmentation | `images.decode(data, "rgb", settings.max_image_pixels())`   |
| "classify" | Classify     | `images.decode(data, "rgb", max_pixels=...)`                |
| "model"    | Classify     | `own_models.from_upload(data, filename)`                    |

Picture cases also go to the "zip_entry" point: one extra entry in an otherwise good zip of class folders,
which must still load, with the picture either used (converted) or skipped with its reason.

Names that must never appear on disk carry `TOKEN` (unique per test process), so a test can
look for them anywhere without false alarms.
"""

from __future__ import annotations

import io
import struct
import uuid
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image

from tests.core import zips

TOKEN = uuid.uuid4().hex[:10]
EVIL_NAME = f"kp_evil_{TOKEN}.txt"  # `../` entries
ABS_PATH = f"/tmp/kp_abs_{TOKEN}.txt"  # absolute entries
LINK_NAME = f"kp_link_{TOKEN}.png"  # a symlink entry ...
LINK_TARGET = f"/tmp/kp_link_target_{TOKEN}"  # ... pointing here
MODEL_EVIL_NAME = f"kp_evil_model_{TOKEN}.keras"  # a model upload's own (hostile) filename
MODEL_EVIL_ENTRY = f"kp_evil_entry_{TOKEN}.txt"  # `../` entry inside a .keras archive
NAMES_THAT_MUST_NOT_EXIST = (
    EVIL_NAME,
    LINK_NAME,
    f"kp_link_target_{TOKEN}",
    f"kp_abs_{TOKEN}.txt",
    MODEL_EVIL_NAME,
    MODEL_EVIL_ENTRY,
)

POINTS = ("zip", "csv", "augment", "classify", "model")
ENTRY = "zip_entry"  # a picture case as one extra entry of an otherwise good folder zip (Data page)
IMAGE_POINTS = ("augment", "classify", ENTRY)
MiB = 1 << 20


@dataclass(frozen=True)
class Case:
    """One upload: its bytes (built on demand), the name the learner's file had, and what must happen.

    `expect` is per upload point: "ok" (a usable result), "refused" (a LocalizedError), or
    "clean" (either; never another exception). `key` is the catalogue key a refusal should carry
    (for images: `upload.reason.<x>`, also the reason an image is skipped with inside a zip).
    """

    name: str
    points: tuple[str, ...]
    make: Callable[[], bytes]
    filename: str
    expect: str | dict = "refused"
    key: str = ""
    label: str = "label"  # CSV: the label column the learner picked
    why: str = ""

    def expected(self, point: str) -> str:
        return self.expect.get(point, "clean") if isinstance(self.expect, dict) else self.expect

    def filename_for(self, point: str) -> str:
        if point == "model" and not self.filename.endswith((".keras", ".h5", ".hdf5", ".pkl")):
            return self.name + ".keras"
        return self.filename

    def data(self) -> bytes:
        return _data(self.name)


# --------------------------------------------------------------------------- images


def _save(img, fmt: str, **kw) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **kw)
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def truncated_jpeg() -> bytes:
    data = zips.image_bytes(fmt="JPEG", size=(64, 48))
    return data[: len(data) // 2]


def truncated_png() -> bytes:
    data = zips.image_bytes(size=(64, 48))
    return data[: len(data) // 2]


def png_header_only() -> bytes:
    return zips.image_bytes()[:33]  # signature + IHDR, no pixel data at all


def text_renamed_png() -> bytes:
    return b"Hello! I am a text file that somebody renamed to picture.png\n" * 3


def svg_renamed_png() -> bytes:
    return b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'><rect width='10' height='10'/></svg>"


def png_30000x30000() -> bytes:
    return zips.huge_png(30000, 30000)  # 900 megapixels claimed, 74 bytes on disk


def png_over_the_pixel_setting() -> bytes:
    return zips.huge_png(7000, 6000)  # 42 Mpx: under Pillow's guard, over PLAYGROUND_MAX_IMAGE_PIXELS (40 M)


def png_16bit() -> bytes:
    ramp = (np.arange(32 * 32, dtype="uint32") * 64).reshape(32, 32).astype("uint16")  # 0 .. 65472
    return _save(Image.fromarray(ramp), "PNG")


def cmyk_jpeg() -> bytes:
    return _save(Image.new("CMYK", (24, 16), (255, 0, 0, 0)), "JPEG", quality=95)  # pure cyan


def rgba_png() -> bytes:
    img = Image.new("RGBA", (16, 16), (0, 0, 0, 0))  # fully transparent black ...
    img.paste((200, 0, 0, 255), (0, 0, 8, 16))  # ... with an opaque red left half
    return _save(img, "PNG")


def palette_png() -> bytes:
    img = Image.new("P", (16, 16), 0)
    img.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    img.paste(1, (8, 0, 16, 16))
    return _save(img, "PNG", transparency=1)  # the green half is transparent


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (12, 12), c) for c in ((255, 0, 0), (0, 0, 255), (0, 255, 0))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    return buffer.getvalue()


def exif_rotated_jpeg() -> bytes:
    """Stored 40 wide x 20 high, left half red, right half blue, EXIF orientation 6 (turn 90 degrees clockwise):
    upright it is 20 wide x 40 high with red on top and blue below."""
    img = Image.new("RGB", (40, 20), (220, 0, 0))
    img.paste((0, 0, 220), (20, 0, 40, 20))
    exif = img.getexif()
    exif[0x0112] = 6
    return _save(img, "JPEG", exif=exif.tobytes(), quality=95)


def grey_alpha_png() -> bytes:
    return _save(Image.new("LA", (10, 10), (10, 128)), "PNG")


def float_tiff() -> bytes:
    return _save(Image.fromarray(np.linspace(-5, 5, 64, dtype="float32").reshape(8, 8)), "TIFF")


def one_bit_bmp() -> bytes:
    return zips.image_bytes("1", fmt="BMP")


def png_text_chunk_bomb() -> bytes:
    """A 4x4 PNG with a zTXt chunk that inflates to 20 MB (Pillow's text-chunk guard)."""
    header = struct.pack(">IIBBBBB", 4, 4, 8, 0, 0, 0, 0)
    ztxt = b"comment\x00\x00" + zlib.compress(b"a" * (20 * MiB), 9)
    body = zlib.compress(b"\x00" * 5 * 4)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"zTXt", ztxt)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


def sliver_png() -> bytes:
    return _save(Image.new("RGB", (1, 20000), (9, 99, 199)), "PNG")  # 1 x 20000: an extreme aspect ratio


def jpeg_corrupt_exif() -> bytes:
    jpeg = _save(Image.new("RGB", (16, 8), (200, 30, 30)), "JPEG")
    payload = b"Exif\x00\x00MM\x00\x2a\xff\xff\xff\xff"  # an IFD offset far past the end
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


# --------------------------------------------------------------------------- zips


def _raw_zip(entries: list[dict]) -> bytes:
    """A zip written by hand, so entries can lie (CRC, flags, method) or share one compressed body.

    Each entry: name (bytes), payload (bytes as stored), crc, size (inflated), method (0 stored,
    8 deflated, other: unsupported), flags (bit 0: encrypted, bit 11: UTF-8 name), mode (unix mode bits).
    """
    out, central = io.BytesIO(), io.BytesIO()
    for e in entries:
        offset = out.tell()
        name, payload = e["name"], e["payload"]
        method, flags, crc, size = e.get("method", 0), e.get("flags", 0), e["crc"], e["size"]
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, method, 0, 33, crc, len(payload), size, len(name), 0))
        out.write(name)
        out.write(payload)
        central.write(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                (3 << 8) | 20,
                20,
                flags,
                method,
                0,
                33,
                crc,
                len(payload),
                size,
                len(name),
                0,
                0,
                0,
                0,
                e.get("mode", 0o100644) << 16,
                offset,
            )
        )
        central.write(name)
    cd = central.getvalue()
    start = out.tell()
    out.write(cd)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(cd), start, 0))
    return out.getvalue()


def _stored(name: str | bytes, data: bytes, **extra) -> dict:
    raw_name = name.encode("utf-8") if isinstance(name, str) else name
    return {"name": raw_name, "payload": data, "crc": zlib.crc32(data) & 0xFFFFFFFF, "size": len(data), **extra}


def _good_entries(per_class: int = 3) -> list[dict]:
    return [_stored(name, data) for name, data in zips.class_folders(per_class=per_class).items()]


@cache
def _zero_block(megabytes: int) -> tuple[bytes, int, int]:
    """(raw deflate stream, crc32, size) of `megabytes` MiB of zeros, built by repeating one fully flushed block."""
    block_mb = 4 if megabytes % 4 == 0 else 1
    chunk = bytes(block_mb * MiB)
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = co.compress(chunk) + co.flush(zlib.Z_FULL_FLUSH)
    again = co.compress(chunk) + co.flush(zlib.Z_FULL_FLUSH)
    assert first == again  # a full flush resets the compressor: every block is the same bytes
    stream = first * (megabytes // block_mb) + co.flush()
    crc = 0
    for _ in range(megabytes // block_mb):
        crc = zlib.crc32(chunk, crc)
    return stream, crc & 0xFFFFFFFF, megabytes * MiB


def zip_with_image(name: str, data: bytes) -> bytes:
    """A good zip of two class folders plus one extra picture in `apple/`."""
    files = zips.class_folders(per_class=3)
    files[f"fruit/apple/{name}"] = data
    return zips.make_zip(files)


def zip_traversal() -> bytes:
    files = zips.class_folders(per_class=3)
    files.update(
        {
            f"../{EVIL_NAME}": b"escaped!",
            f"fruit/../../{EVIL_NAME}": b"escaped!",
            f"fruit/apple/../../../{EVIL_NAME}": zips.image_bytes(),
            f"..\\..\\{EVIL_NAME}": b"escaped!",
        }
    )
    return zips.make_zip(files)


def zip_absolute() -> bytes:
    files = zips.class_folders(per_class=3)
    files.update(
        {ABS_PATH: b"absolute!", f"C:\\Windows\\Temp\\{EVIL_NAME}": b"drive!", f"\\\\server\\share\\{EVIL_NAME}": b"unc!"}
    )
    return zips.make_zip(files)


def zip_symlink() -> bytes:
    files = zips.class_folders(per_class=3)
    # a link to a file outside, a link to a folder outside, then an entry "through" that folder link
    links = {f"fruit/apple/{LINK_NAME}": LINK_TARGET, "fruit/banana/etc": "/etc", "fruit/zlink": "../../.."}
    files["fruit/banana/etc/passwd.png"] = zips.image_bytes()
    return zips.make_zip(files, links=links)


def zip_only_unsafe_entries() -> bytes:
    files = {f"../{EVIL_NAME}": zips.image_bytes(), f"../other/{EVIL_NAME}.png": zips.image_bytes(), ABS_PATH: zips.image_bytes()}
    return zips.make_zip(files, links={f"a/{LINK_NAME}": LINK_TARGET, f"b/{LINK_NAME}": "/etc/passwd"})


def zip_bomb_total() -> bytes:
    """22 entries of 48 MiB of zeros (each under the 50 MB per-entry cap): 1056 MiB inflated, about 1 MB stored."""
    stream, crc, size = _zero_block(48)
    entries = [
        {"name": f"bomb/{'ab'[i % 2]}/{i:02d}.png".encode(), "payload": stream, "crc": crc, "size": size, "method": 8}
        for i in range(22)
    ]
    return _raw_zip(entries)


def zip_bomb_entry() -> bytes:
    """One entry that inflates to 1 GiB (about 1 MB stored) among good class folders."""
    stream, crc, size = _zero_block(1024)
    return _raw_zip(
        _good_entries() + [{"name": b"fruit/apple/bomb.png", "payload": stream, "crc": crc, "size": size, "method": 8}]
    )


def zip_10000_files() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        for i in range(10_000):
            zf.writestr(f"many/{'ab'[i % 2]}/{i:05d}.png", b"x")
    return buffer.getvalue()


def zip_nested() -> bytes:
    inner = zips.make_zip(zips.class_folders(per_class=2))
    files = zips.class_folders(per_class=3)
    files.update(
        {
            "fruit/apple/more.zip": inner,
            "fruit/banana/inner.zip": zips.make_zip({"deeper.zip": inner}),
            "fruit/banana/photos.tar.gz": b"\x1f\x8b" + b"\x00" * 20,
        }
    )
    return zips.make_zip(files)


def zip_nested_only() -> bytes:
    inner = zips.make_zip(zips.class_folders(per_class=2))
    return zips.make_zip({"a/one.zip": inner, "b/two.zip": zips.make_zip({"three.zip": inner})})


def zip_cp932_names() -> bytes:
    files = {f"きのこ/{i}.png": zips.image_bytes() for i in range(4)}
    files.update({f"たけのこ/{i}.png": zips.image_bytes() for i in range(4)})
    return zips.make_zip(files, legacy_names=True)


def zip_undecodable_names() -> bytes:
    """Names that are neither UTF-8 nor cp932 (no UTF-8 flag): bytes 0xFD-0xFF and a latin-1 'café'."""
    png = zips.image_bytes()
    names = [folder + b"/%d.png" % i for folder in (b"caf\xe9", b"\xfd\xfe\xff") for i in range(4)]
    return _raw_zip([_stored(n, png) for n in names])


def zip_two_pictures_per_class() -> bytes:
    """A perfectly good, just very small, folder zip: two classes of two pictures."""
    return zips.make_zip(zips.class_folders(per_class=2))


def zip_text_renamed() -> bytes:
    return b"This is a plain text file with a .zip extension.\n"


def zip_truncated() -> bytes:
    data = zips.make_zip(zips.class_folders(per_class=3))
    return data[: len(data) // 2]


def zip_bad_crc() -> bytes:
    png = zips.image_bytes()
    return _raw_zip(_good_entries() + [_stored("fruit/apple/bad_crc.png", png, crc=(zlib.crc32(png) ^ 0xDEADBEEF) & 0xFFFFFFFF)])


def zip_encrypted_entry() -> bytes:
    png = zips.image_bytes()
    return _raw_zip(_good_entries() + [_stored("fruit/apple/secret.png", b"\x00" * 12 + png, flags=0x1, size=len(png))])


def zip_unsupported_method() -> bytes:
    png = zips.image_bytes()
    return _raw_zip(_good_entries() + [_stored("fruit/apple/strange.png", png, method=99)])  # 99: AES (WinZip)


def zip_one_class() -> bytes:
    return zips.make_zip(zips.class_folders(classes=("only",), per_class=3))


def zip_empty_archive() -> bytes:
    return zips.make_zip({})


# --------------------------------------------------------------------------- CSV


def csv_text_in_numeric() -> bytes:
    rows = [
        b"1.0,2.0,a",
        b"1.1,two,a",
        b"3.0,5.0,b",
        b"3.1,n/a,b",
        b"2.9,4.9,a",
        b"3.3,5.5,b",
        b"1.2,2.2,a",
        b"3.2,5.1,b",
        b"1.3,2.4,a",
        b"3.4,5.3,b",
    ]
    return b"height,weight,label\n" + b"\n".join(rows) + b"\n"  # 2 of 10 rows have text in a number column


def csv_four_rows() -> bytes:
    """A good, just very small, table: two classes of two rows."""
    return b"a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n"


def csv_all_text() -> bytes:
    return b"colour,shape,label\nred,round,a\nblue,square,b\ngreen,round,a\n"


def csv_missing_label_column() -> bytes:
    return b"height,weight,species\n1.0,2.0,a\n3.0,5.0,b\n"


def csv_ragged() -> bytes:
    return b"a,b,label\n1,2,x\n3,4,y,extra,more\n5,6,x\n"


def csv_unterminated_quote() -> bytes:
    return b'a,b,label\n1,2,"x\n3,4,y\n'


def csv_binary() -> bytes:
    return zips.image_bytes()  # a PNG picture renamed data.csv


def csv_header_only() -> bytes:
    return b"a,b,label\n"


def csv_one_column() -> bytes:
    return b"label\nx\ny\nx\n"


def csv_too_many_rows() -> bytes:
    return b"a,label\n" + b"1,x\n2,y\n" * 50_001  # 100,002 rows: over PLAYGROUND_MAX_CSV_ROWS


def csv_too_many_classes() -> bytes:
    return b"a,label\n" + b"".join(f"{i},c{i}\n".encode() for i in range(60))


def csv_shift_jis() -> bytes:
    """What Excel on a Japanese Windows saves: Shift_JIS (cp932), Japanese header and labels."""
    rows = "".join(f"{1 + i / 10},{2 + i / 10},きのこ\n{3 + i / 10},{5 + i / 10},たけのこ\n" for i in range(4))
    return ("身長,体重,ラベル\n" + rows).encode("cp932")


def png_10000x1() -> bytes:
    """A 10000 x 1 line: decodes fine, but the studio's grid would draw 150 x 0 pictures."""
    return _save(Image.new("RGB", (10000, 1), (200, 30, 30)), "PNG")


def png_1x3000() -> bytes:
    return _save(Image.new("RGB", (1, 3000), (30, 30, 200)), "PNG")


def csv_duplicate_trimmed_header() -> bytes:
    """`label,label `: two columns pandas keeps apart, one name once trimmed."""
    return b"label,label ,x\n" + b"".join(f"{'ab'[i % 2]},{'cd'[i % 2]},{i}\n".encode() for i in range(12))


def csv_utf16_no_bom() -> bytes:
    return "a,b,label\n1,2,x\n3,4,y\n".encode("utf-16-le")


def csv_markdown_header() -> bytes:
    """A text column whose name is a Markdown link: the warning that it is left out must show it as text."""
    rows = "".join(f"{i},{i % 3},note {i},{'xy'[i % 2]}\n" for i in range(20))
    return ("a,b,[docs](https://example.com),label\n" + rows).encode()


def csv_utf16() -> bytes:
    """What Excel's "Unicode text" saves: UTF-16 with a BOM, tab-separated."""
    return "a\tb\tlabel\n1\t2\tx\n3\t4\ty\n5\t6\tx\n".encode("utf-16")


def csv_non_finite() -> bytes:
    rows = b"".join(b"%d,%d,x\n%d,%d,y\n" % (i, i + 1, i + 10, i + 11) for i in range(5))
    return b"a,b,label\n" + rows + b"inf,3,y\n4,-inf,x\n1e999,5,y\n"  # 10 good rows, 3 with infinities


# --------------------------------------------------------------------------- models


def _keras_bytes(model) -> bytes:
    from keras.src.saving import saving_lib

    buffer = io.BytesIO()
    saving_lib.save_model(model, buffer)
    return buffer.getvalue()


def _h5_bytes(model) -> bytes:
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        legacy_h5_format.save_model_to_hdf5(model, f)
    return buffer.getvalue()


def good_model():
    """A tiny image classifier: 8x8 RGB in, 3 classes out, with a convolution (for Grad-CAM)."""
    import keras

    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(2, 3, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))


@cache
def good_keras() -> bytes:
    return _keras_bytes(good_model())


@cache
def good_h5() -> bytes:
    return _h5_bytes(good_model())


def _lambda_model():
    import keras

    return keras.Sequential(
        [keras.Input((8, 8, 3)), keras.layers.Lambda(lambda z: z * 2.0), keras.layers.Flatten(), keras.layers.Dense(2)]
    )


def _custom_model():
    import keras

    class HardeningTwice(keras.layers.Layer):  # defined here, registered nowhere: the app cannot know it
        def call(self, x):
            return x * 2.0

    return keras.Sequential([keras.Input((16,)), HardeningTwice(), keras.layers.Dense(2, activation="softmax")])


def keras_lambda() -> bytes:
    return _keras_bytes(_lambda_model())


def h5_lambda() -> bytes:
    return _h5_bytes(_lambda_model())


def h5_custom_object() -> bytes:
    return _h5_bytes(_custom_model())


def keras_custom_object() -> bytes:
    return _keras_bytes(_custom_model())


def _functional(input_shape, head):
    import keras

    inputs = keras.Input(input_shape)
    return _keras_bytes(keras.Model(inputs, head(inputs)))


def model_input_not_square() -> bytes:
    import keras

    return _functional((10,), lambda x: keras.layers.Dense(2, activation="softmax")(x))  # 10 features: no picture


def model_input_two_channels() -> bytes:
    import keras

    return _functional((8, 8, 2), lambda x: keras.layers.Dense(2)(keras.layers.Flatten()(x)))


def model_input_any_size() -> bytes:
    import keras

    return _functional((None, None, 3), lambda x: keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(x)))


def model_input_sequence() -> bytes:
    import keras

    return _functional((12, 5, 7, 3), lambda x: keras.layers.Dense(2)(keras.layers.Flatten()(x)))  # 3-D "video" input


def model_two_inputs() -> bytes:
    import keras

    a, b = keras.Input((8, 8, 3)), keras.Input((8, 8, 3))
    x = keras.layers.Concatenate()([keras.layers.Flatten()(a), keras.layers.Flatten()(b)])
    return _keras_bytes(keras.Model([a, b], keras.layers.Dense(2)(x)))


def model_sequence_output() -> bytes:
    import keras

    return _functional((8, 8, 3), lambda x: keras.layers.Conv2D(4, 1)(x))  # a map per pixel, not one score per class


def model_oversized_input() -> bytes:
    """An image model asking for 8000x8000 pictures (64 Mpx): each classification would build a picture over
    PLAYGROUND_MAX_IMAGE_PIXELS (40 M); 100000x100000 would ask for 30 GB. The file itself is tiny."""
    import keras

    return _functional(
        (8000, 8000, 1), lambda x: keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(1, 3)(x)))
    )


def model_text_renamed() -> bytes:
    return b"this is not a model, just text with a .keras name\n"


def model_png_renamed() -> bytes:
    return zips.image_bytes()


def model_truncated() -> bytes:
    data = good_keras()
    return data[: len(data) // 2]


def model_h5_weights_only() -> bytes:
    import h5py

    model = good_model()
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        from keras.src.legacy.saving import legacy_h5_format

        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return buffer.getvalue()


def _keras_with(extra: dict[str, bytes], corrupt: str | None = None) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(good_keras()))
    entries = [_stored(n, src.read(n)) for n in src.namelist()]
    for name, data in extra.items():
        entry = _stored(name, data)
        if name == corrupt:
            entry["crc"] ^= 0xDEADBEEF
        entries.append(entry)
    return _raw_zip(entries)


def keras_extra_entry_bad_crc() -> bytes:
    """A good .keras plus one more (corrupt) entry: Keras extracts such archives to a temp folder to read assets."""
    return _keras_with({"assets/readme.txt": b"hello " * 50}, corrupt="assets/readme.txt")


def keras_traversal_entries() -> bytes:
    return _keras_with({f"../{MODEL_EVIL_ENTRY}": b"escaped!", ABS_PATH: b"absolute!", "assets/ok.txt": b"fine"})


# --------------------------------------------------------------------------- the corpus

_R = "refused"


def _image(name, make, filename, expect="refused", key="", why="") -> Case:
    """A picture: refused or converted by the picture pages; inside a folder zip the zip loads either way
    (the picture skipped with its reason, or used)."""
    return Case(name, IMAGE_POINTS, make, filename, {"augment": expect, "classify": expect, ENTRY: "ok"}, key, why=why)


CASES: list[Case] = [
    Case(
        "zero_byte",
        POINTS + (ENTRY,),
        lambda: b"",
        "empty.png",
        {**{p: "refused" for p in POINTS}, ENTRY: "ok"},
        why="a 0-byte file at every upload point",
    ),
    # pictures: refused with a reason, or converted to upright 8-bit RGB
    _image("truncated_jpeg", truncated_jpeg, "cut.jpg", key="upload.reason.corrupt"),
    _image("truncated_png", truncated_png, "cut.png", key="upload.reason.corrupt"),
    _image("png_header_only", png_header_only, "header.png"),
    _image("text_renamed_png", text_renamed_png, "notes.png", key="upload.reason.not_image"),
    _image("svg_renamed_png", svg_renamed_png, "drawing.png", key="upload.reason.not_image"),
    _image("png_30000x30000", png_30000x30000, "huge.png", key="upload.reason.bomb"),
    _image("png_over_pixel_setting", png_over_the_pixel_setting, "big.png", key="upload.reason.too_many_pixels"),
    _image("png_text_chunk_bomb", png_text_chunk_bomb, "comment.png"),
    _image("png_16bit", png_16bit, "deep.png", "ok"),
    _image("cmyk_jpeg", cmyk_jpeg, "print.jpg", "ok"),
    _image("rgba_png", rgba_png, "alpha.png", "ok"),
    _image("palette_png", palette_png, "palette.png", "ok"),
    _image("animated_gif", animated_gif, "anim.gif", "ok"),
    _image("exif_rotated_jpeg", exif_rotated_jpeg, "phone.jpg", "ok"),
    _image("grey_alpha_png", grey_alpha_png, "la.png", "ok"),
    _image("float_tiff", float_tiff, "float.tif", "ok"),
    _image("one_bit_bmp", one_bit_bmp, "mono.bmp", "ok"),
    Case(
        "sliver_png",
        ("augment", "classify"),
        sliver_png,
        "sliver.png",
        {"augment": _R, "classify": "ok"},
        "upload.reason.too_thin",
        why="1 x 20000: too thin for the studio's grid; Classify resizes it",
    ),
    Case("sliver_png_in_zip", (ENTRY,), sliver_png, "sliver.png", {ENTRY: "ok"}, why="inside a folder zip it is resized"),
    _image("jpeg_corrupt_exif", jpeg_corrupt_exif, "exif.jpg", "ok"),
    Case(
        "png_10000x1",
        ("augment", "classify"),
        png_10000x1,
        "line.png",
        {"augment": _R, "classify": "ok"},
        "upload.reason.too_thin",
        why="a picture too thin for the studio's grid; Classify resizes it",
    ),
    Case(
        "png_1x3000",
        ("augment", "classify"),
        png_1x3000,
        "column.png",
        {"augment": _R, "classify": "ok"},
        "upload.reason.too_thin",
    ),
    # folder zips (Data page)
    Case("zip_traversal", ("zip",), zip_traversal, "traversal.zip", "ok", why="`../` entries skipped, the rest loads"),
    Case("zip_absolute", ("zip",), zip_absolute, "absolute.zip", "ok", why="absolute, drive and UNC entries skipped"),
    Case("zip_symlink", ("zip",), zip_symlink, "links.zip", "ok", why="symlink entries skipped"),
    Case("zip_only_unsafe_entries", ("zip",), zip_only_unsafe_entries, "evil.zip", _R, "upload.refused.need_two_classes"),
    Case("zip_bomb_total", ("zip",), zip_bomb_total, "bomb.zip", _R, "upload.refused.zip_bomb"),
    Case("zip_bomb_entry", ("zip",), zip_bomb_entry, "bomb1.zip", "ok", why="the 1 GiB entry is skipped as too large"),
    Case("zip_10000_files", ("zip",), zip_10000_files, "many.zip", _R, "upload.refused.too_many_files"),
    Case("zip_nested", ("zip",), zip_nested, "nested.zip", "ok", why="inner archives skipped"),
    Case("zip_nested_only", ("zip",), zip_nested_only, "nested_only.zip", _R, "upload.refused.need_two_classes"),
    Case("zip_cp932_names", ("zip",), zip_cp932_names, "japanese.zip", "ok"),
    Case("zip_undecodable_names", ("zip",), zip_undecodable_names, "latin.zip", "ok"),
    Case(
        "zip_two_pictures_per_class",
        ("zip",),
        zip_two_pictures_per_class,
        "small.zip",
        "clean",
        why="a good but tiny zip: loads, or a plain refusal",
    ),
    Case("zip_text_renamed", ("zip",), zip_text_renamed, "notes.zip", _R, "upload.refused.not_zip"),
    Case("zip_truncated", ("zip",), zip_truncated, "cut.zip", _R, "upload.refused.not_zip"),
    Case("zip_bad_crc", ("zip",), zip_bad_crc, "crc.zip", "clean", why="one corrupt entry: skip it or refuse the zip"),
    Case("zip_encrypted_entry", ("zip",), zip_encrypted_entry, "secret.zip", "clean", why="a password-protected entry"),
    Case(
        "zip_unsupported_method", ("zip",), zip_unsupported_method, "aes.zip", "clean", why="an entry compressed with method 99"
    ),
    Case("zip_one_class", ("zip",), zip_one_class, "one.zip", _R, "upload.refused.need_two_classes"),
    Case("zip_empty_archive", ("zip",), zip_empty_archive, "empty.zip", _R, "upload.refused.need_two_classes"),
    # CSV tables (Data page, dataset "csv")
    Case("csv_text_in_numeric", ("csv",), csv_text_in_numeric, "text.csv", "ok", why="rows with text in numbers dropped, warned"),
    Case("csv_four_rows", ("csv",), csv_four_rows, "small.csv", "clean", why="a good but tiny table: loads, or a plain refusal"),
    Case("csv_all_text", ("csv",), csv_all_text, "all_text.csv", _R, "upload.refused.no_numeric_columns"),
    Case("csv_missing_label_column", ("csv",), csv_missing_label_column, "nolabel.csv", _R, "upload.refused.no_label_column"),
    Case("csv_ragged", ("csv",), csv_ragged, "ragged.csv", _R, "upload.refused.not_csv"),
    Case("csv_unterminated_quote", ("csv",), csv_unterminated_quote, "quote.csv", _R, "upload.refused.not_csv"),
    Case("csv_binary", ("csv",), csv_binary, "picture.csv", _R),
    Case("csv_header_only", ("csv",), csv_header_only, "header.csv", _R, "upload.refused.need_two_classes_rows"),
    Case("csv_one_column", ("csv",), csv_one_column, "one.csv", _R, "upload.refused.csv_columns"),
    Case("csv_too_many_rows", ("csv",), csv_too_many_rows, "long.csv", _R, "upload.refused.too_many_rows"),
    Case("csv_too_many_classes", ("csv",), csv_too_many_classes, "classes.csv", _R, "upload.refused.too_many_classes"),
    Case("csv_shift_jis", ("csv",), csv_shift_jis, "japanese.csv", "ok", label="ラベル", why="Japanese Excel's CSV"),
    Case("csv_utf16", ("csv",), csv_utf16, "unicode.txt", "ok", why="Excel's Unicode text: UTF-16 with a BOM"),
    Case("csv_utf16_no_bom", ("csv",), csv_utf16_no_bom, "nobom.csv", _R, "upload.refused.encoding"),
    Case(
        "csv_duplicate_trimmed_header",
        ("csv",),
        csv_duplicate_trimmed_header,
        "twice.csv",
        _R,
        "upload.refused.duplicate_columns",
    ),
    Case(
        "csv_markdown_header",
        ("csv",),
        csv_markdown_header,
        "[docs](https://example.com).csv",
        "ok",
        why="a column and a file named like a Markdown link",
    ),
    Case(
        "csv_non_finite",
        ("csv",),
        csv_non_finite,
        "inf.csv",
        "clean",
        why="inf / 1e999 in numeric columns: those rows dropped (or the file refused), never infinite features",
    ),
    # model files (Classify page, "your own model")
    Case("keras_lambda", ("model",), keras_lambda, "lambda.keras", _R, "own_model.lambda"),
    Case("h5_lambda", ("model",), h5_lambda, "lambda.h5", _R, "own_model.lambda"),
    Case("h5_custom_object", ("model",), h5_custom_object, "custom.h5", _R, "own_model.custom_object"),
    Case("keras_custom_object", ("model",), keras_custom_object, "custom.keras", _R, "own_model.custom_object"),
    Case("model_input_not_square", ("model",), model_input_not_square, "tabular.keras", _R, "own_model.input_shape"),
    Case("model_input_two_channels", ("model",), model_input_two_channels, "twochan.keras", _R, "own_model.input_shape"),
    Case("model_input_any_size", ("model",), model_input_any_size, "anysize.keras", _R, "own_model.input_shape"),
    Case("model_input_sequence", ("model",), model_input_sequence, "video.keras", _R, "own_model.input_shape"),
    Case("model_two_inputs", ("model",), model_two_inputs, "two.keras", _R, "own_model.inputs"),
    Case("model_sequence_output", ("model",), model_sequence_output, "dense_map.keras", _R, "own_model.output_shape"),
    Case(
        "model_oversized_input",
        ("model",),
        model_oversized_input,
        "huge_input.keras",
        _R,
        why="its input needs 64 Mpx pictures, over PLAYGROUND_MAX_IMAGE_PIXELS",
    ),
    Case("model_text_renamed", ("model",), model_text_renamed, "notes.keras", _R, "own_model.unreadable"),
    Case("model_png_renamed", ("model",), model_png_renamed, "picture.h5", _R, "own_model.unreadable"),
    Case("model_truncated", ("model",), model_truncated, "cut.keras", _R, "own_model.unreadable"),
    Case("model_wrong_extension", ("model",), good_keras, "model.pkl", _R, "own_model.not_a_model"),
    Case("model_h5_weights_only", ("model",), model_h5_weights_only, "weights.h5", _R),
    Case(
        "model_hostile_filename", ("model",), good_keras, f"../../{MODEL_EVIL_NAME}", "ok", why="the upload's name is never used"
    ),
    # Anything beyond config.json, metadata.json and model.weights.h5 is refused before Keras unpacks it.
    Case("keras_extra_entry_bad_crc", ("model",), keras_extra_entry_bad_crc, "assets.keras", _R, "own_model.unexpected_entries"),
    Case("keras_traversal_entries", ("model",), keras_traversal_entries, "traversal.keras", _R, "own_model.unexpected_entries"),
]

BY_NAME = {case.name: case for case in CASES}
assert len(BY_NAME) == len(CASES), "case names must be unique"


@cache
def _data(name: str) -> bytes:
    return BY_NAME[name].make()


def pairs() -> list[tuple[Case, str]]:
    """Every (case, upload point) the corpus drives."""
    return [(case, point) for case in CASES for point in case.points]

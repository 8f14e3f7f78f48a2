"""Learners' own data: a zip of class folders (flow_from_directory style) or a CSV table.

Zip entries are read in memory, never extracted, so no name in an archive can
write anywhere. What cannot be used is skipped with a reason and training goes
on with the rest; what cannot be handled at all (not a zip, too many files or
pixels, fewer than two classes) is refused with the limit named.

Layouts accepted (class names are the sorted folder names, as Keras does):

    CLASS/img.jpg            root/CLASS/img.jpg          root/{train,test}/CLASS/img.jpg

Example:
    >>> folder = read_image_zip(zip_bytes, size=(60, 90), color_mode="rgb")  # doctest: +SKIP
    >>> folder.class_names, folder.x.shape  # doctest: +SKIP
    (('apple', 'banana'), (240, 60, 90, 3))

pandas is imported inside the functions that use it, on purpose:
importing this module (the web server does) loads no TensorFlow.
"""

from __future__ import annotations

import csv
import io
import time
import uuid
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import sqlalchemy as sa

from core import db, settings
from core.i18n import LocalizedError, Msg, Plain
from core.images import ImageRejected, decode, to_array

SPLIT_FOLDERS = {"train": "train", "test": "test", "validation": "test", "val": "test", "valid": "test"}
IGNORED = {".ds_store", "thumbs.db", "desktop.ini"}
ARCHIVES = (".zip", ".tar", ".gz", ".tgz", ".7z", ".rar")
IMBALANCE_RATIO = 3.0


class UploadRefused(LocalizedError):
    """The whole upload cannot be used; the message names the limit or the problem."""


@dataclass
class Skipped:
    name: str
    reason: Msg


@dataclass
class FolderImages:
    x: np.ndarray  # uint8 (N, height, width, channels)
    y: np.ndarray  # int64 class index, sorted class names
    class_names: tuple[str, ...]
    subset: np.ndarray | None  # "train"/"test" per image when the zip had train/ and test/ folders
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[Msg] = field(default_factory=list)
    converted: int = 0  # images converted from another mode (grayscale, RGBA, palette, CMYK, 16-bit)
    rotated: int = 0  # photos turned upright from their EXIF orientation
    resized: int = 0

    def counts(self) -> dict[str, int]:
        return {name: int((self.y == i).sum()) for i, name in enumerate(self.class_names)}


def _fix_name(info: zipfile.ZipInfo) -> str:
    """Zip names without the UTF-8 flag are cp437 to Python; Japanese tools often wrote cp932."""
    name = info.filename
    if info.flag_bits & 0x800:
        return name
    raw = name.encode("cp437", errors="replace")
    for encoding in ("utf-8", "cp932"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return name


def _unsafe(parts: list[str], name: str) -> bool:
    return name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or any(p in ("..", "") for p in parts)


def _is_link(info: zipfile.ZipInfo) -> bool:
    return (info.external_attr >> 16) & 0o170000 == 0o120000


class _Unreadable(Exception):
    """A zip entry that cannot be read: corrupt (CRC), encrypted, or an unsupported compression."""


def _read_capped(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes | None:
    """The entry's bytes, or None if it inflates past `cap` (the header's size may lie); _Unreadable if broken."""
    try:
        with zf.open(info) as f:
            data = f.read(cap + 1)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, zlib.error, OSError, EOFError, ValueError) as exc:
        raise _Unreadable(str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__) from exc
    return None if len(data) > cap else data


def _layout(entries: list[tuple[zipfile.ZipInfo, list[str]]]) -> tuple[int, bool]:
    """(how many leading folders to drop, whether the next level is train/test)."""
    paths = [parts for _, parts in entries]
    strip = 0
    if paths and len({p[0] for p in paths}) == 1 and any(len(p) >= 3 for p in paths):
        strip = 1  # one wrapping folder: root/CLASS/img.jpg (files loose in root are then skipped)
    tops = {p[strip] for p in paths if len(p) > strip + 2}
    split = bool(tops) and tops <= set(SPLIT_FOLDERS)
    return strip, split


def _open_zip(data: bytes) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """The archive and its file entries, or UploadRefused (too large, not a zip, too many files)."""
    if len(data) > settings.max_upload_bytes():
        raise UploadRefused("upload.refused.too_large", limit=f"{settings.max_upload_bytes() // 2**20} MB")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise UploadRefused("upload.refused.not_zip") from exc
    if len(infos) > settings.max_files():
        raise UploadRefused("upload.refused.too_many_files", count=f"{len(infos):,}", limit=f"{settings.max_files():,}")
    return zf, infos


def _usable_entries(infos: list[zipfile.ZipInfo], skipped: list[Skipped]) -> list[tuple[zipfile.ZipInfo, list[str]]]:
    """Entries that may be pictures: system clutter dropped, links, unsafe paths and archives skipped with a reason."""
    entries = []
    for info in infos:
        name = _fix_name(info)
        parts = name.replace("\\", "/").split("/")
        base = parts[-1].lower()
        if base in IGNORED or base.startswith(".") or parts[0] == "__MACOSX":
            continue  # system clutter, not the learner's data
        if _is_link(info):
            skipped.append(Skipped(name, Msg("upload.reason.link")))
        elif _unsafe(parts, name):
            skipped.append(Skipped(name, Msg("upload.reason.unsafe_path")))
        elif base.endswith(ARCHIVES):
            skipped.append(Skipped(name, Msg("upload.reason.archive")))
        else:
            entries.append((info, parts))
    return entries


@dataclass
class _Tally:
    """What reading the pictures has found so far, and the totals the limits watch."""

    images: list = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    subsets: list[str | None] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    folders: set[str] = field(default_factory=set)
    converted: int = 0
    rotated: int = 0
    resized: int = 0
    total_bytes: int = 0
    total_pixels: int = 0


def _read_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, tally: _Tally) -> bytes | None:
    """The entry's bytes, or None (skipped with its reason); UploadRefused when the zip inflates past its bound."""
    try:
        raw = _read_capped(zf, info, settings.max_upload_bytes())
    except _Unreadable as exc:
        tally.skipped.append(Skipped(name, Msg("upload.reason.corrupt", {"error": str(exc)})))
        return None
    if raw is None:
        tally.skipped.append(Skipped(name, Msg("upload.reason.too_large")))
        return None
    tally.total_bytes += len(raw)
    total_cap = settings.max_upload_bytes() * 20
    if tally.total_bytes > total_cap:
        raise UploadRefused("upload.refused.zip_bomb", limit=f"{total_cap // 2**20} MB")
    return raw


def _add_picture(raw: bytes, name: str, where: tuple[str, str | None], size, color_mode: str, tally: _Tally) -> None:
    """Decode one picture into the tally (or skip it with the reason); `where` is (class folder, train/test)."""
    try:
        decoded = decode(raw, color_mode, settings.max_image_pixels())
    except ImageRejected as exc:
        tally.skipped.append(Skipped(name, exc.msg))
        return
    img = decoded.image
    tally.total_pixels += img.width * img.height
    if tally.total_pixels > settings.max_total_pixels():
        raise UploadRefused("upload.refused.too_many_pixels", limit=f"{settings.max_total_pixels():,}")
    tally.converted += any(n.startswith("converted") for n in decoded.notes)
    tally.rotated += "exif_rotated" in decoded.notes
    tally.resized += (img.height, img.width) != tuple(size)
    tally.images.append(to_array(img, size))
    tally.labels.append(where[0])
    tally.subsets.append(where[1])


def _warnings(tally: _Tally, classes: tuple[str, ...]) -> list[Msg]:
    warnings = [Msg("upload.warn.empty_class", {"name": Plain(f)}) for f in sorted(tally.folders - set(classes))]
    counts = Counter(tally.labels)
    if max(counts.values()) >= IMBALANCE_RATIO * min(counts.values()):
        most, least = max(counts, key=counts.__getitem__), min(counts, key=counts.__getitem__)
        ratio = f"{max(counts.values()) / min(counts.values()):.1f}"
        warnings.append(Msg("upload.warn.imbalance", {"most": Plain(most), "least": Plain(least), "ratio": ratio}))
    return warnings


def read_image_zip(data: bytes, size: tuple[int, int] = (60, 90), color_mode: str = "rgb") -> FolderImages:
    """Decode a zip of class folders into arrays of `size` (height, width). Raises UploadRefused."""
    zf, infos = _open_zip(data)
    tally = _Tally()
    entries = _usable_entries(infos, tally.skipped)
    strip, split = _layout(entries)
    for info, parts in entries:
        name, rest = "/".join(parts), parts[strip:]
        subset = None
        if split:
            subset, rest = SPLIT_FOLDERS[rest[0]], rest[1:]
        if len(rest) < 2:
            tally.skipped.append(Skipped(name, Msg("upload.reason.no_class_folder")))
            continue
        tally.folders.add(rest[0])
        raw = _read_entry(zf, info, name, tally)
        if raw is not None:
            _add_picture(raw, name, (rest[0], subset), size, color_mode, tally)
    classes = tuple(sorted(set(tally.labels)))
    if len(classes) < 2:
        raise UploadRefused("upload.refused.need_two_classes", found=len(classes), skipped=len(tally.skipped))
    index = {name: i for i, name in enumerate(classes)}
    subset_array = np.array(tally.subsets) if split and {"train", "test"} <= set(tally.subsets) else None
    return FolderImages(
        np.stack(tally.images),
        np.array([index[label] for label in tally.labels], "int64"),
        classes,
        subset_array,
        tally.skipped,
        _warnings(tally, classes),
        tally.converted,
        tally.rotated,
        tally.resized,
    )


# --------------------------------------------------------------------------- CSV tables


@dataclass
class CsvTable:
    x: np.ndarray  # float32 features
    y: np.ndarray  # int64 class index
    class_names: tuple[str, ...]
    feature_names: tuple[str, ...]
    warnings: list[Msg] = field(default_factory=list)


def read_csv_columns(data: bytes) -> list[str]:
    """The column names of an uploaded CSV (for the label picker). Raises UploadRefused."""
    return list(_read_frame(data, nrows=5).columns)


def _csv_encoding(data: bytes) -> str:
    """UTF-16 by its BOM (Excel's "Unicode text"), UTF-8 (with or without BOM), else Shift_JIS/cp932 (Excel on
    Japanese Windows), else UTF-8 with replacements. Raises UploadRefused for UTF-16/32 without a BOM (NUL bytes)."""
    if data[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        return "utf-32"
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    sample = data[:200_000]
    if b"\x00" in sample[:4096]:  # UTF-16 without its BOM, or a binary file: not text we can split into columns
        raise UploadRefused("upload.refused.encoding")
    for encoding in ("utf-8-sig", "cp932"):
        try:
            sample.decode(encoding)
            return encoding
        except UnicodeDecodeError as exc:
            if exc.start >= len(sample) - 4 and len(data) > len(sample):  # cut in the middle of a character
                return encoding
    return "utf-8"


def _read_frame(data: bytes, nrows: int | None = None):
    import pandas as pd

    if len(data) > settings.max_upload_bytes():
        raise UploadRefused("upload.refused.too_large", limit=f"{settings.max_upload_bytes() // 2**20} MB")
    if not data.strip():
        raise UploadRefused("upload.refused.empty_csv")
    limit = settings.max_csv_rows()
    encoding = _csv_encoding(data)
    try:
        rows = nrows if nrows is not None else limit + 1
        frame = pd.read_csv(io.BytesIO(data), nrows=rows, encoding=encoding, encoding_errors="replace")
        if frame.shape[1] == 1:  # maybe not comma-separated: semicolons (European Excel), tabs or bars
            sample = data[:20000].decode(encoding, errors="replace")
            try:
                sep = csv.Sniffer().sniff(sample, delimiters=";\t|").delimiter
                frame = pd.read_csv(io.BytesIO(data), nrows=rows, sep=sep, encoding=encoding, encoding_errors="replace")
            except csv.Error:
                pass  # really one column
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise UploadRefused("upload.refused.not_csv", error=str(exc).splitlines()[0][:150]) from exc
    if nrows is None and len(frame) > limit:
        raise UploadRefused("upload.refused.too_many_rows", limit=f"{limit:,}")
    if frame.shape[1] < 2:
        raise UploadRefused("upload.refused.csv_columns")
    names = [str(c).strip() for c in frame.columns]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:  # 'label' and 'label ': pandas keeps both, then nobody can tell which one was meant
        raise UploadRefused("upload.refused.duplicate_columns", columns=Plain(", ".join(twice)[:200]))
    frame.columns = names
    return frame


def read_csv_table(data: bytes, label_column: str) -> CsvTable:
    """Numeric columns become features, `label_column` the classes. Raises UploadRefused."""
    import pandas as pd

    frame = _read_frame(data)
    if label_column not in frame.columns:
        raise UploadRefused(
            "upload.refused.no_label_column", column=Plain(label_column), columns=Plain(", ".join(map(str, frame.columns[:20])))
        )
    warnings: list[Msg] = []
    labels = frame.pop(label_column)
    numeric = frame.apply(pd.to_numeric, errors="coerce")
    dropped_columns = [c for c in frame.columns if numeric[c].isna().mean() > 0.5]
    if dropped_columns:
        warnings.append(Msg("upload.warn.text_columns", {"columns": Plain(", ".join(map(str, dropped_columns[:10])))}))
    numeric = numeric.drop(columns=dropped_columns)
    if numeric.shape[1] == 0:
        raise UploadRefused("upload.refused.no_numeric_columns")
    keep = np.isfinite(numeric.to_numpy("float64")).all(axis=1) & labels.notna().to_numpy()  # NaN, inf and 1e999 rows go
    if (~keep).sum():
        warnings.append(Msg("upload.warn.rows_dropped", {"count": int((~keep).sum())}))
    numeric, labels = numeric[keep], labels[keep].astype(str).str.strip()
    classes = tuple(sorted(labels.unique()))
    if len(classes) < 2:
        raise UploadRefused("upload.refused.need_two_classes_rows", found=len(classes), skipped=int((~keep).sum()))
    if len(classes) > 50:
        raise UploadRefused("upload.refused.too_many_classes", count=len(classes), column=Plain(label_column))
    index = {c: i for i, c in enumerate(classes)}
    return CsvTable(numeric.to_numpy("float32"), labels.map(index).to_numpy("int64"), classes, tuple(numeric.columns), warnings)


# --------------------------------------------------------------------------- the upload store


@dataclass
class Upload:
    id: str
    owner: str
    kind: str  # "images" | "csv"
    filename: str
    data: bytes
    created: float


class UploadStore:
    """Uploaded files, in the run store (every web server and training worker reads the same), per owner.

    Two bounds keep the uploaded files' bytes in check in a full room: `per_owner` uploads per
    learner (the one used longest ago goes first), and `max_total_bytes` over everybody
    (`PLAYGROUND_UPLOADS_MB`, never below one upload of `PLAYGROUND_MAX_UPLOAD_MB`): past it the
    uploads used longest ago go first, whoever made them (a tab closed long ago is the usual
    case). A learner whose upload went is told to upload it again (errors.upload_missing).
    Decoded datasets are cached per process separately (core.datasets keeps at most 8).

        >>> store = UploadStore(per_owner=2, max_total_bytes=10)  # doctest: +SKIP
        >>> a = store.put("ann", "csv", "a.csv", b"123456")  # doctest: +SKIP
        >>> b = store.put("bob", "csv", "b.csv", b"123456")  # 12 bytes > 10: ann's goes  # doctest: +SKIP
        >>> store.get("ann", a.id) is None, store.get("bob", b.id).id == b.id  # doctest: +SKIP
        (True, True)
    """

    def __init__(self, per_owner: int = 3, max_total_bytes: int | None = None):
        self.per_owner = per_owner
        self.max_total_bytes = max_total_bytes

    def _limit(self) -> int:
        if self.max_total_bytes is None:  # one upload of the largest allowed size always fits
            return max(settings.max_uploads_total_bytes(), settings.max_upload_bytes())
        return self.max_total_bytes

    def put(self, owner: str, kind: str, filename: str, data: bytes) -> Upload:
        now = time.time()
        upload = Upload(uuid.uuid4().hex[:12], owner, kind, filename[:120], data, now)
        U = db.uploads.c
        with db.transaction() as conn:
            conn.execute(
                db.uploads.insert().values(
                    id=upload.id,
                    owner=owner,
                    kind=kind,
                    filename=upload.filename,
                    size=len(data),
                    data=data,
                    created=now,
                    used=now,
                )
            )
            mine = conn.execute(sa.select(U.id).where(U.owner == owner).order_by(U.used.desc(), U.created.desc())).scalars().all()
            for old in mine[self.per_owner :]:
                conn.execute(db.uploads.delete().where(U.id == old))
            rows = conn.execute(sa.select(U.id, U.size).order_by(U.used, U.created)).all()
            total = sum(r.size for r in rows)
            for row in rows[:-1]:  # the newest always stays
                if total <= self._limit():
                    break
                conn.execute(db.uploads.delete().where(U.id == row.id))
                total -= row.size
        return upload

    def get(self, owner: str | None, upload_id: str) -> Upload | None:
        U = db.uploads.c
        with db.read() as conn:
            row = conn.execute(sa.select(db.uploads).where(U.id == upload_id, U.owner == owner)).first()
        if row is None:
            return None
        with db.transaction() as conn:  # in use: the last to go
            conn.execute(db.uploads.update().where(U.id == upload_id).values(used=time.time()))
        return Upload(row.id, row.owner, row.kind, row.filename, bytes(row.data), row.created)

    def list(self, owner: str) -> list[Upload]:
        """The owner's uploads, oldest first (without their bytes: `get` one to read it)."""
        U = db.uploads.c
        with db.read() as conn:
            rows = conn.execute(
                sa.select(U.id, U.owner, U.kind, U.filename, U.created).where(U.owner == owner).order_by(U.created)
            ).all()
        return [Upload(r.id, r.owner, r.kind, r.filename, b"", r.created) for r in rows]

    def total_bytes(self) -> int:
        with db.read() as conn:
            return int(conn.execute(sa.select(sa.func.coalesce(sa.func.sum(db.uploads.c.size), 0))).scalar() or 0)


_STORE = UploadStore()


def store() -> UploadStore:
    return _STORE

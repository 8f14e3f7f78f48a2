"""Downloads of a run: history as CSV or JSON, the model as a `.keras` file or TensorFlow Lite, TensorBoard logs as a zip.

TensorFlow is imported inside the functions that use it (the TFLite conversion), on purpose: the web
server imports this module for the CSV and zip downloads.

Example:
    >>> history_csv({"loss": [0.5, 0.4], "val_loss": [0.6, 0.5]}).splitlines()[0]
    'epoch,loss,val_loss'
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import uuid
import zipfile
from pathlib import Path

from core import settings
from core.images import png_bytes


def history_rows(history: dict[str, list[float]]) -> list[dict[str, float]]:
    """One dict per epoch: {'epoch': 1, 'loss': ..., 'val_loss': ...}."""
    epochs = max((len(v) for v in history.values()), default=0)
    keys = sorted(history)
    return [{"epoch": i + 1, **{k: history[k][i] for k in keys if i < len(history[k])}} for i in range(epochs)]


def history_csv(history: dict[str, list[float]]) -> str:
    rows = history_rows(history)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["epoch", *sorted(history)], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def model_bytes(model) -> bytes:
    """The model in Keras's native `.keras` format, written through the app's own temp dir."""
    path = settings.temp_dir() / f"model-{uuid.uuid4().hex}.keras"
    try:
        model.save(path)
        return path.read_bytes()
    finally:
        path.unlink(missing_ok=True)


def history_json(history: dict[str, list[float]]) -> str:
    return json.dumps(history_rows(history), indent=1)


def folder_zip(folder: Path) -> bytes | None:
    """A folder (TensorBoard logs) as zip bytes, paths relative to it; None if it is missing."""
    if not folder.is_dir():
        return None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def images_zip(images: list, prefix: str = "image") -> bytes:
    """uint8 images as PNG files in a zip (the augmentation grid download)."""

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, image in enumerate(images):
            zf.writestr(f"{prefix}_{i + 1:02d}.png", png_bytes(image))
    return buffer.getvalue()


def tflite_bytes(model) -> bytes:
    """The model as a TensorFlow Lite flatbuffer (`tf.lite.TFLiteConverter`): float32, for LiteRT on a phone or a board."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    with contextlib.redirect_stdout(io.StringIO()):  # the converter prints the traced signature: not for the server log
        return converter.convert()


def run_tflite(model_path: Path) -> bytes:
    """A run's saved `.keras` model converted to TensorFlow Lite (on the download's click, not before)."""
    import keras

    return tflite_bytes(keras.saving.load_model(str(model_path), compile=False))

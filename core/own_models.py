"""The learner's own models: one trained here (a run), or a `.keras` / `.h5` file they upload.

Uploaded files are written under the app's temp folder with a name we choose (never the
upload's), loaded with `keras.saving.load_model(..., safe_mode=True, compile=False)` and
deleted at once. A Lambda layer or an unknown custom object is refused with a plain
message; so is a model whose input is not an image (or a flattened one) or whose output
is not one score per class.

Example:
    >>> own = from_run(store, owner, run_id)  # doctest: +SKIP
    >>> own.classify(decoded_image, invert=False).top[0]  # doctest: +SKIP
    ('7', 0.98, 7)
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from dataclasses import dataclass, field

import numpy as np

from core import images, settings
from core.i18n import LocalizedError
from core.pretrained import Prediction

MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")


class ModelRefused(LocalizedError):
    """An uploaded or stored model we will not use; the key's tail says why."""

    def __init__(self, reason: str, **fields):
        super().__init__(f"own_model.{reason}", **fields)
        self.reason = reason


@dataclass
class OwnModel:
    """A Keras classifier of images plus what it takes to feed it."""

    model: object
    height: int
    width: int
    channels: int
    flat: bool  # the model takes a flattened vector (an MLP saved without a Flatten layer)
    class_names: list[str]
    scaled_inside: bool  # our own models divide by 255 inside ('rescale' layer); uploads may not
    lock: threading.Lock = field(default_factory=threading.Lock)

    def prepare(self, picture, invert: bool = False, divide_by_255: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """A decoded PIL image -> (the model's input batch of one, the uint8 image it saw)."""
        img = picture.convert("L" if self.channels == 1 else "RGB")
        arr = images.to_array(img, (self.height, self.width))
        if invert:  # MNIST digits are light on dark; a pen drawing is dark on light
            arr = 255 - arr
        x = arr.astype("float32")[None, ...]
        if divide_by_255 and not self.scaled_inside:
            x = x / 255.0
        if self.flat:
            x = x.reshape(1, -1)
        return x, arr

    def predict(self, batch: np.ndarray) -> np.ndarray:
        with self.lock:
            return np.asarray(self.model.predict_on_batch(batch))

    def classify(self, picture, invert: bool = False, divide_by_255: bool = False, top: int = 5) -> tuple[Prediction, np.ndarray]:
        started = time.perf_counter()
        batch, seen = self.prepare(picture, invert, divide_by_255)
        scores = self.predict(batch)[0]
        if scores.shape[-1] == 1:  # one sigmoid unit: P(class 1)
            p1 = float(scores[0])
            probs = np.array([1.0 - p1, p1])
        else:
            probs = scores
        order = np.argsort(probs)[::-1][:top]
        names = self.class_names if len(self.class_names) == len(probs) else [str(i) for i in range(len(probs))]
        rows = [(names[i], float(probs[i]), int(i)) for i in order]
        return Prediction(rows, time.perf_counter() - started, batch), seen


    def heatmap(self, batch: np.ndarray, class_index: int) -> np.ndarray:
        """Grad-CAM of `class_index`; ValueError when the model has no convolutional layer."""
        from core.gradcam import gradcam

        with self.lock:
            return gradcam(self.model, batch, class_index)[0]  # one sigmoid unit: class 0 explains 1 - score


def describe(model, class_names: list[str] | None = None, scaled_inside: bool = False) -> OwnModel:
    """Check that a model classifies images and work out how to feed it, or ModelRefused."""
    inputs = getattr(model, "inputs", None) or []
    if len(inputs) != 1:
        raise ModelRefused("inputs", count=len(inputs))
    shape = tuple(inputs[0].shape)
    out = tuple(model.outputs[0].shape) if getattr(model, "outputs", None) else ()
    if len(out) != 2 or not out[-1]:
        raise ModelRefused("output_shape", shape=str(out))
    if len(shape) == 4 and shape[-1] in (1, 3) and shape[1] and shape[2]:
        height, width, channels, flat = int(shape[1]), int(shape[2]), int(shape[3]), False
    elif len(shape) == 3 and shape[1] and shape[2]:  # (None, H, W): grayscale without a channel axis
        height, width, channels, flat = int(shape[1]), int(shape[2]), 1, False
    elif len(shape) == 2 and shape[1] and math.isqrt(int(shape[1])) ** 2 == int(shape[1]):
        side = math.isqrt(int(shape[1]))
        height, width, channels, flat = side, side, 1, True
    else:
        raise ModelRefused("input_shape", shape=str(shape))
    if len(shape) == 3:
        flat = False
    if height * width > settings.max_image_pixels():
        raise ModelRefused("input_too_big", height=height, width=width, limit=f"{settings.max_image_pixels():,}")
    units = int(out[-1])
    names = list(class_names or [])
    n_classes = 2 if units == 1 else units
    if len(names) != n_classes:
        names = [str(i) for i in range(n_classes)]
    own = OwnModel(model, height, width, channels, flat, names, scaled_inside)
    if len(shape) == 3:
        own.prepare = _squeeze_channel(own.prepare)
    return own


def _squeeze_channel(prepare):
    def wrapped(picture, invert=False, divide_by_255=False):
        x, seen = prepare(picture, invert, divide_by_255)
        return x[..., 0], seen

    return wrapped


def load_file(path, safe_mode: bool = True):
    """`keras.saving.load_model(path, safe_mode=True, compile=False)` with plain refusals."""
    import keras

    try:
        return keras.saving.load_model(str(path), safe_mode=safe_mode, compile=False)
    except Exception as exc:  # noqa: BLE001 - every way a file can fail becomes one plain message
        text = f"{type(exc).__name__}: {exc}"
        if "Lambda" in text or "lambda" in text or "safe_mode" in text:
            raise ModelRefused("lambda") from exc
        if "Could not locate" in text or "Unknown layer" in text or "custom" in text.lower():
            raise ModelRefused("custom_object", error=str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__) from exc
        raise ModelRefused("unreadable", error=text.splitlines()[0][:200]) from exc


def from_upload(data: bytes, filename: str) -> OwnModel:
    """An uploaded model file -> OwnModel, or ModelRefused (size, type, unsafe content, shapes)."""
    limit = settings.max_upload_bytes()
    if len(data) > limit:
        raise ModelRefused("too_big", size=f"{len(data) / 1e6:.1f}", limit=f"{limit / 1e6:.0f}")
    suffix = next((s for s in MODEL_SUFFIXES if filename.lower().endswith(s)), None)
    if suffix is None or not data:
        raise ModelRefused("not_a_model", name=filename[:80])
    if suffix == ".keras":
        _check_keras_archive(data)
    path = settings.temp_dir() / f"upload-{uuid.uuid4().hex}{'.h5' if suffix == '.hdf5' else suffix}"
    try:
        path.write_bytes(data)
        model = load_file(path)
    finally:
        path.unlink(missing_ok=True)
    return describe(model)


#: What a `.keras` file holds. With more entries Keras unpacks the archive into the system temp dir.
_KERAS_ENTRIES = {"config.json", "metadata.json", "model.weights.h5"}


def _check_keras_archive(data: bytes) -> None:
    """A `.keras` file is a zip of exactly three entries: refuse anything else before Keras unpacks it."""
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            if not names <= _KERAS_ENTRIES or "config.json" not in names:
                raise ModelRefused("unexpected_entries", entries=", ".join(sorted(names - _KERAS_ENTRIES))[:200] or "-")
            if sum(info.file_size for info in zf.infolist()) > 4 * settings.max_upload_bytes():
                raise ModelRefused("too_big", size=f"{len(data) / 1e6:.1f}", limit=f"{settings.max_upload_bytes() / 1e6:.0f}")
            broken = zf.testzip()
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError, ValueError) as exc:
        raise ModelRefused("unreadable", error=str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__) from exc
    if broken is not None:
        raise ModelRefused("unreadable", error=f"corrupt entry {broken}")


def from_run(run, owner: str | None) -> OwnModel:
    """The model a finished run saved, with its dataset's class names."""
    from core import datasets, runs

    info = datasets.DATASETS.get(run.spec.data.name)
    if info is None or info.kind != "image":
        raise ModelRefused("not_images")
    if run.spec.transfer.base and run.spec.transfer.mode == "features":
        raise ModelRefused("features_head")
    path = runs.run_dir(run.id) / "model.keras"
    if not path.exists():
        raise ModelRefused("no_model_file")
    model = load_file(path)
    try:
        names = list(datasets.load(run.spec.data, owner).class_names)
    except LocalizedError:
        names = []
    return describe(model, names, scaled_inside=True)

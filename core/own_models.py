"""The learner's own models: one trained here (a run), or a `.keras` / `.h5` file they upload.

Uploaded files are written under the app's temp folder with a name we choose (never the
upload's), loaded with `keras.saving.load_model(..., safe_mode=True, compile=False)` and
deleted at once. A Lambda layer or an unknown custom object is refused with a plain
message (naming the upload, never the temp file); so is a model whose input is not an
image (or a flattened one), or whose output is not one score per class (two outputs, say).

Any model Keras loads this way classifies: functional, Sequential (with or without an
`Input` layer), nested. Pixels are fed the way the model expects (`PREPROCESSING`): 0..1,
-1..1 (`tf`), `caffe` (BGR minus the ImageNet mean), `torch`, or raw 0..255. A model with
1000 outputs and no names of its own is read as an ImageNet classifier: ImageNet's names.

Example:
    >>> own = from_run(store, owner, run_id)  # doctest: +SKIP
    >>> own.classify(decoded_image, invert=False, preprocess="unit")[0].top[0]  # doctest: +SKIP
    ('7', 0.98, 7)

Keras is imported inside the functions that use it, on purpose:
importing this module (the web server does) loads no TensorFlow.
"""

from __future__ import annotations

import io
import math
import re
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core import datasets, images, pretrained, runs, settings
from core.gradcam import gradcam
from core.i18n import LocalizedError
from core.pretrained import Prediction

MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")

#: How pixels reach an uploaded model: the `preprocess_input` modes of `keras.applications`, and two plain ones.
PREPROCESSING = ("unit", "tf", "caffe", "torch", "none")
_CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], "float32")
_TORCH_MEAN, _TORCH_STD = np.array([0.485, 0.456, 0.406], "float32"), np.array([0.229, 0.224, 0.225], "float32")


def preprocess_pixels(x: np.ndarray, mode: str) -> np.ndarray:
    """A float32 batch of 0..255 pixels (channels last, 1 or 3) the way `mode` feeds a model.

    'unit' 0..1 (x / 255); 'tf' -1..1 (x / 127.5 - 1); 'caffe' RGB -> BGR minus the ImageNet
    mean per channel; 'torch' 0..1 minus the ImageNet mean, over its spread; 'none' 0..255 as is.
    One grey channel gets the average of the three channels' constants.
    """
    if mode == "unit":
        return x / 255.0
    if mode == "tf":
        return x / 127.5 - 1.0
    grey = x.shape[-1] == 1
    if mode == "caffe":
        return (x - _CAFFE_MEAN_BGR.mean()) if grey else (x[..., ::-1] - _CAFFE_MEAN_BGR)
    if mode == "torch":
        mean, std = (_TORCH_MEAN.mean(), _TORCH_STD.mean()) if grey else (_TORCH_MEAN, _TORCH_STD)
        return (x / 255.0 - mean) / std
    if mode == "none":
        return x
    raise ValueError(f"unknown preprocessing {mode!r}; known: {', '.join(PREPROCESSING)}")


class ModelRefused(LocalizedError):
    """An uploaded or stored model we will not use; the key's tail says why."""

    def __init__(self, reason: str, **fields):
        super().__init__(f"own_model.{reason}", **fields)
        self.reason = reason


@dataclass
class OwnModel:
    """A Keras classifier of images plus what it takes to feed it."""

    model: Any  # keras.Model
    height: int
    width: int
    channels: int
    flat: bool  # the model takes a flattened vector (an MLP saved without a Flatten layer)
    class_names: list[str]
    scaled_inside: bool  # our own models divide by 255 inside ('rescale' layer); uploads may not
    lock: threading.Lock = field(default_factory=threading.Lock)
    squeeze_channel: bool = False  # the model takes (H, W) grey pictures without a channel axis

    @property
    def default_preprocess(self) -> str:
        """'none' when the model scales pixels itself (a Rescaling layer near its input), else 'unit' (0..1)."""
        return "none" if self.scaled_inside or _scales_inside(self.model) else "unit"

    def prepare(self, picture, invert: bool = False, preprocess: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """A decoded PIL image -> (the model's input batch of one, the uint8 image it saw).

        `preprocess`: one of PREPROCESSING (None: `default_preprocess`); models trained here always get 'none'.
        """
        img = picture.convert("L" if self.channels == 1 else "RGB")
        arr = images.to_array(img, (self.height, self.width))
        if invert:  # MNIST digits are light on dark; a pen drawing is dark on light
            arr = 255 - arr
        mode = "none" if self.scaled_inside else (preprocess or self.default_preprocess)
        x = preprocess_pixels(arr.astype("float32")[None, ...], mode).astype("float32")
        if self.flat:
            x = x.reshape(1, -1)
        elif self.squeeze_channel:
            x = x[..., 0]
        return x, arr

    def predict(self, batch: np.ndarray) -> np.ndarray:
        with self.lock:
            return np.asarray(self.model.predict_on_batch(batch))

    def classify(
        self, picture, invert: bool = False, preprocess: str | None = None, top: int = 5
    ) -> tuple[Prediction, np.ndarray]:
        started = time.perf_counter()
        batch, seen = self.prepare(picture, invert, preprocess)
        probs = as_probabilities(self.predict(batch)[0])
        order = np.argsort(probs)[::-1][:top]
        names = self.class_names if len(self.class_names) == len(probs) else [str(i) for i in range(len(probs))]
        rows = [(names[i], float(probs[i]), int(i)) for i in order]
        return Prediction(rows, time.perf_counter() - started, batch), seen

    def heatmap(self, batch: np.ndarray, class_index: int) -> np.ndarray:
        """Grad-CAM of `class_index`; ValueError when the model has no convolutional layer."""

        with self.lock:
            return gradcam(self.model, batch, class_index)[0]  # one sigmoid unit: class 0 explains 1 - score


def as_probabilities(scores: np.ndarray) -> np.ndarray:
    """One picture's outputs as class probabilities: one sigmoid unit -> [1 - p, p]; logits -> softmax / sigmoid."""
    scores = np.asarray(scores, "float64").reshape(-1)
    if not np.isfinite(scores).all():
        scores = np.nan_to_num(scores, nan=0.0, posinf=1e6, neginf=-1e6)
    if len(scores) == 1:
        p1 = float(scores[0]) if 0.0 <= scores[0] <= 1.0 else float(1.0 / (1.0 + np.exp(-np.clip(scores[0], -60, 60))))
        return np.array([1.0 - p1, p1])
    if scores.min() < 0.0 or scores.max() > 1.0:  # logits (a Dense layer without softmax)
        exp = np.exp(scores - scores.max())
        return exp / exp.sum()
    return scores


def _scales_inside(model) -> bool:
    """A Rescaling layer among the model's first layers: it takes raw 0..255 pixels."""
    for layer in list(getattr(model, "layers", []))[:3]:
        if type(layer).__name__ == "Rescaling" or (hasattr(layer, "layers") and _scales_inside(layer)):
            return True
    return False


def _picture_input(shape: tuple) -> tuple[int, int, int, bool]:
    """(height, width, channels, flat) of a model input shape, or ModelRefused."""
    if len(shape) == 4 and shape[-1] in (1, 3) and shape[1] and shape[2]:
        return int(shape[1]), int(shape[2]), int(shape[3]), False
    if len(shape) == 3 and shape[1] and shape[2]:  # (None, H, W): grayscale without a channel axis
        return int(shape[1]), int(shape[2]), 1, False
    if len(shape) == 2 and shape[1] and math.isqrt(int(shape[1])) ** 2 == int(shape[1]):
        side = math.isqrt(int(shape[1]))
        return side, side, 1, True
    raise ModelRefused("input_shape", shape=str(shape))


def _class_names(units: int, given: list[str] | None) -> list[str]:
    """The given names if they fit, ImageNet's for 1000 outputs, else the class numbers."""
    n_classes = 2 if units == 1 else units
    names = list(given or [])
    if len(names) == n_classes:
        return names
    if n_classes == 1000:
        index = pretrained.class_index()
        return [index[str(i)][1] for i in range(1000)]
    return [str(i) for i in range(n_classes)]


def describe(model, class_names: list[str] | None = None, scaled_inside: bool = False) -> OwnModel:
    """Check that a model classifies images and work out how to feed it, or ModelRefused."""
    inputs = getattr(model, "inputs", None) or []
    if len(inputs) != 1:
        raise ModelRefused("inputs", count=len(inputs))
    outputs = getattr(model, "outputs", None) or []
    if len(outputs) != 1:
        raise ModelRefused("outputs", count=len(outputs))
    shape, out = tuple(inputs[0].shape), tuple(outputs[0].shape)
    if len(out) != 2 or not out[-1]:
        raise ModelRefused("output_shape", shape=str(out))
    height, width, channels, flat = _picture_input(shape)
    if height * width > settings.max_image_pixels():
        raise ModelRefused("input_too_big", height=height, width=width, limit=f"{settings.max_image_pixels():,}")
    names = _class_names(int(out[-1]), class_names)
    return OwnModel(model, height, width, channels, flat, names, scaled_inside, squeeze_channel=len(shape) == 3)


_TEMP_NAME = re.compile(r"upload-[0-9a-f]{32}(\.[A-Za-z0-9]+)?")


def _scrub(text: str, path, name: str) -> str:
    """An error text with our temp file (its path or its name) replaced by the upload's own name."""
    for form in (str(path), str(getattr(path, "name", path))):
        text = text.replace(form, name)
    return _TEMP_NAME.sub(name, text)


def load_file(path, safe_mode: bool = True, name: str | None = None):
    """`keras.saving.load_model(path, safe_mode=True, compile=False)` with plain refusals.

    `name`: what to call the file in a refusal (an upload's own name) instead of its path.
    """
    import keras

    try:
        return keras.saving.load_model(str(path), safe_mode=safe_mode, compile=False)
    except Exception as exc:  # noqa: BLE001 - every way a file can fail becomes one plain message
        text = f"{type(exc).__name__}: {exc}"
        if name is not None:
            text = _scrub(text, path, name)
        if "Lambda" in text or "lambda" in text or "safe_mode" in text:
            raise ModelRefused("lambda") from exc
        first = text.split(": ", 1)[1] if str(exc) else text
        if "Could not locate" in text or "Unknown layer" in text or "custom" in text.lower():
            raise ModelRefused("custom_object", error=(first.splitlines() or [type(exc).__name__])[0][:200]) from exc
        raise ModelRefused("unreadable", error=(text.splitlines() or [type(exc).__name__])[0][:200]) from exc


def display_name(filename: str) -> str:
    """An upload's own name as a refusal shows it: on one line, at most 80 characters (never used as a path)."""
    return " ".join(str(filename).split())[:80]


def from_upload(data: bytes, filename: str) -> OwnModel:
    """An uploaded model file -> OwnModel, or ModelRefused (size, type, unsafe content, shapes)."""
    limit = settings.max_upload_bytes()
    if len(data) > limit:
        raise ModelRefused("too_big", size=f"{len(data) / 1e6:.1f}", limit=f"{limit / 1e6:.0f}")
    suffix = next((s for s in MODEL_SUFFIXES if filename.lower().endswith(s)), None)
    if suffix is None or not data:
        raise ModelRefused("not_a_model", name=display_name(filename))
    if suffix == ".keras":
        _check_keras_archive(data)
    path = settings.temp_dir() / f"upload-{uuid.uuid4().hex}{'.h5' if suffix == '.hdf5' else suffix}"
    try:
        path.write_bytes(data)
        model = load_file(path, name=display_name(filename))
    finally:
        path.unlink(missing_ok=True)
    return describe(model)


#: What a `.keras` file holds. With more entries Keras unpacks the archive into the system temp dir.
_KERAS_ENTRIES = {"config.json", "metadata.json", "model.weights.h5"}


def _check_keras_archive(data: bytes) -> None:
    """A `.keras` file is a zip of exactly three entries: refuse anything else before Keras unpacks it."""

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

    info = datasets.DATASETS.get(run.spec.data.name)
    if info is None or info.kind != "image":
        raise ModelRefused("not_images")
    if run.spec.transfer.base and run.spec.transfer.mode == "features":
        raise ModelRefused("features_head")
    path = runs.run_dir(run.id) / "model.keras"
    if not path.exists():
        raise ModelRefused("no_model_file")
    model = load_file(path)
    names = run.class_names
    if not names:  # a run recorded before its class names were kept
        try:
            names = list(datasets.load(run.spec.data, owner).class_names)
        except LocalizedError:
            names = []
    return describe(model, names, scaled_inside=True)

"""The model zoo: ImageNet networks from `keras.applications`, their weights, and classifying with them.

Weights resolve like datasets do: `PLAYGROUND_DATA_DIR/models/<Keras's own file name>`
(read-only, e.g. `mobilenet_7_5_224_tf.h5`), then the Keras cache (`~/.keras/models/`),
then a download into the Keras cache with progress, when `core.network` says downloads
can work. Offline (the switch, or found out) and missing: a plain message naming the
file and the folder to put it in; a download that cannot connect marks the app offline.

Class names come from the ImageNet class index shipped in `assets/`, handed to Keras's
own `decode_predictions` (which would otherwise download it).

Example:
    >>> m = ZOO["mobilenet_0.75"]
    >>> weights_file(m, include_top=True)
    'mobilenet_7_5_224_tf.h5'

Keras is imported inside the functions that use it, on purpose:
importing this module (the web server does) loads no TensorFlow.
"""

from __future__ import annotations

import importlib
import json
import os
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from core import images, network, settings
from core.datasets import find_file
from core.gradcam import gradcam
from core.i18n import LocalizedError, Msg

CLASS_INDEX = Path(__file__).resolve().parents[1] / "assets" / "imagenet_class_index.json"
_KERAS_APPS = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclass(frozen=True)
class ZooModel:
    """One `keras.applications` network and what a learner wants to know before loading it."""

    key: str
    label: str
    module: str  # keras.applications.<module>: constructor and preprocess_input live there
    constructor: str
    size: int  # input side in pixels
    params_m: float  # millions of parameters, with the ImageNet top
    weights_mb: float  # size of the weights file with the top
    top1: float  # published ImageNet top-1 accuracy
    file: str  # Keras's file name with the top ...
    file_notop: str  # ... and without it (include_top=False)
    url: str  # folder the files download from
    alpha: float | None = None  # MobileNet's width multiplier

    @property
    def kwargs(self) -> dict:
        return {"alpha": self.alpha} if self.alpha is not None else {}


def _mobilenet(alpha: float, params: float, mb: float, top1: float) -> ZooModel:
    text = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}[alpha]
    return ZooModel(
        f"mobilenet_{alpha}",
        f"MobileNet (alpha {alpha})",
        "mobilenet",
        "MobileNet",
        224,
        params,
        mb,
        top1,
        f"mobilenet_{text}_224_tf.h5",
        f"mobilenet_{text}_224_tf_no_top.h5",
        _KERAS_APPS + "mobilenet/",
        alpha,
    )


def _tf_kernels(
    key: str, label: str, module: str, constructor: str, size: int, params: float, mb: float, top1: float, stem: str, folder: str
) -> ZooModel:
    return ZooModel(
        key,
        label,
        module,
        constructor,
        size,
        params,
        mb,
        top1,
        f"{stem}_weights_tf_dim_ordering_tf_kernels.h5",
        f"{stem}_weights_tf_dim_ordering_tf_kernels_notop.h5",
        _KERAS_APPS + folder,
    )


#: Published figures: the Keras applications table and the MobileNet paper (alpha < 1).
ZOO: dict[str, ZooModel] = {
    m.key: m
    for m in [
        _mobilenet(0.25, 0.47, 1.9, 0.506),
        _mobilenet(0.5, 1.3, 5.3, 0.637),
        _mobilenet(0.75, 2.6, 10.6, 0.684),
        _mobilenet(1.0, 4.3, 16.9, 0.706),
        ZooModel(
            "mobilenet_v2",
            "MobileNetV2",
            "mobilenet_v2",
            "MobileNetV2",
            224,
            3.5,
            14.0,
            0.713,
            "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5",
            "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5",
            _KERAS_APPS + "mobilenet_v2/",
        ),
        ZooModel(
            "efficientnet_b0",
            "EfficientNetB0",
            "efficientnet",
            "EfficientNetB0",
            224,
            5.3,
            29.0,
            0.771,
            "efficientnetb0.h5",
            "efficientnetb0_notop.h5",
            "https://storage.googleapis.com/keras-applications/",
        ),
        _tf_kernels("resnet50", "ResNet50", "resnet", "ResNet50", 224, 25.6, 98.0, 0.749, "resnet50", "resnet/"),
        _tf_kernels("vgg16", "VGG16", "vgg16", "VGG16", 224, 138.4, 528.0, 0.713, "vgg16", "vgg16/"),
        _tf_kernels("vgg19", "VGG19", "vgg19", "VGG19", 224, 143.7, 549.0, 0.713, "vgg19", "vgg19/"),
        _tf_kernels(
            "inception_v3", "InceptionV3", "inception_v3", "InceptionV3", 299, 23.9, 92.0, 0.779, "inception_v3", "inception_v3/"
        ),
        _tf_kernels("xception", "Xception", "xception", "Xception", 299, 22.9, 88.0, 0.790, "xception", "xception/"),
        _tf_kernels("densenet121", "DenseNet121", "densenet", "DenseNet121", 224, 8.1, 33.0, 0.750, "densenet121", "densenet/"),
    ]
}

#: How each family's `preprocess_input` maps pixels (for building the same step as layers).
PREPROCESS_MODE = {
    "mobilenet": "tf",
    "mobilenet_v2": "tf",
    "inception_v3": "tf",
    "xception": "tf",
    "resnet": "caffe",
    "vgg16": "caffe",
    "vgg19": "caffe",
    "densenet": "torch",
    "efficientnet": "none",
}


def weights_folder() -> Path:
    """Where a learner should put weights files: `PLAYGROUND_DATA_DIR/models` if set, else the Keras cache's."""
    seeded = settings.data_dir()
    return seeded / "models" if seeded is not None else settings.keras_cache_dir() / "models"


class WeightsUnavailable(LocalizedError):
    """The weights are not here: they could not be downloaded (`reason`), or cannot be now (`why`)."""

    def __init__(self, m: ZooModel, file: str, reason: str | Msg = "", why: Msg | None = None):
        fields = dict(model=m.label, file=file, folder=str(weights_folder()))
        if reason:
            super().__init__("classify.weights_download_failed", reason=reason, **fields)
        else:
            super().__init__("classify.weights_not_here", why=why or Msg("network.switch"), **fields)
        self.file, self.failed = file, bool(reason)


def get(key: str) -> ZooModel:
    try:
        return ZOO[key]
    except KeyError:
        raise LocalizedError("classify.unknown_model", model=key) from None


def weights_file(m: ZooModel, include_top: bool = True) -> str:
    return m.file if include_top else m.file_notop


def find_weights(m: ZooModel, include_top: bool = True) -> Path | None:
    """The local weights file (data dir, then Keras cache), or None."""
    return find_file(f"models/{weights_file(m, include_top)}")


def availability(m: ZooModel, include_top: bool = True) -> str:
    """'local' (on disk now), 'download' (not here, downloads can work now) or 'missing' (not here, offline).

    Offline is `PLAYGROUND_OFFLINE=1` or found out by `core.network` (a quick probe, remembered).
    """
    if find_weights(m, include_top) is not None:
        return "local"
    return "download" if network.can_download() else "missing"


def download(m: ZooModel, include_top: bool = True, progress: Callable[[int, int], None] | None = None) -> Path:
    """Fetch the weights into the Keras cache (where `keras.applications` would put them), reporting bytes.

    A failure raises WeightsUnavailable with the reason in plain words; one that could not
    connect also marks downloads unavailable for a while (`core.network`).
    """
    name = weights_file(m, include_top)
    target = settings.keras_cache_dir() / "models" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{name}.{os.getpid()}.{threading.get_ident()}.part")
    url = m.url + name
    try:
        done, total = _fetch(url, partial, progress)
        if total and done != total:
            partial.unlink(missing_ok=True)
            raise WeightsUnavailable(m, name, Msg("classify.download_incomplete", {"done": f"{done:,}", "total": f"{total:,}"}))
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        why = network.failed_download(exc, url)
        raise WeightsUnavailable(m, name, why or (str(exc).splitlines() or [type(exc).__name__])[0][:200]) from exc
    except BaseException:  # a stopped page run, say: no half file left behind
        partial.unlink(missing_ok=True)
        raise
    network.mark_online()
    return target


def _fetch(url: str, path: Path, progress: Callable[[int, int], None] | None) -> tuple[int, int]:
    """Stream `url` into `path`: (bytes received, bytes announced or 0)."""
    with urllib.request.urlopen(url, timeout=30) as response, open(path, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0)
        done = 0
        while chunk := response.read(1 << 20):
            out.write(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    return done, total


def resolve_weights(m: ZooModel, include_top: bool = True, progress: Callable[[int, int], None] | None = None) -> Path:
    """Local weights, or downloaded ones; missing and offline raises WeightsUnavailable naming the file and folder."""
    path = find_weights(m, include_top)
    if path is not None:
        return path
    answer = network.status()
    if not answer.online:
        raise WeightsUnavailable(m, weights_file(m, include_top), why=answer.why)
    return download(m, include_top, progress)


def application(m: ZooModel):
    """The `keras.applications` module of a zoo model (its constructor and `preprocess_input`)."""
    return importlib.import_module(f"keras.applications.{m.module}")


def build(m: ZooModel, include_top: bool = True, weights: str | Path | None = None, input_shape=None, input_tensor=None):
    """The network itself: `keras.applications.<Constructor>(weights=<path or None>, ...)`."""
    keras_app = application(m)
    kwargs = dict(m.kwargs, include_top=include_top, weights=str(weights) if weights else None)
    if input_tensor is not None:
        kwargs["input_tensor"] = input_tensor
    elif input_shape is not None:
        kwargs["input_shape"] = tuple(input_shape)
    return getattr(keras_app, m.constructor)(**kwargs)


# --------------------------------------------------------------------------- class names


@lru_cache(maxsize=1)
def class_index() -> dict[str, list[str]]:
    """ImageNet's {"0": ["n01440764", "tench"], ...}, from assets/ (no download)."""
    with open(CLASS_INDEX, encoding="utf-8") as f:
        index = json.load(f)
    try:  # Keras's decode_predictions reads this module global before trying to download the file
        from keras.src.applications import imagenet_utils

        imagenet_utils.CLASS_INDEX = index
    except ImportError:  # a Keras without that module: our own decoding below still works
        pass
    return index


@lru_cache(maxsize=1)
def _index_of() -> dict[str, int]:
    """wnid -> class number."""
    return {wnid: int(i) for i, (wnid, _name) in class_index().items()}


def decode(probs: np.ndarray, top: int = 5) -> list[tuple[str, str, float]]:
    """[(wnid, class name, probability)] best first, as `decode_predictions` returns for one image."""
    index = class_index()
    from keras.applications.imagenet_utils import decode_predictions

    try:
        return [tuple(row) for row in decode_predictions(np.asarray(probs)[None, :], top=top)[0]]
    except Exception:  # noqa: BLE001 - Keras could not use the primed index: decode it ourselves
        order = np.argsort(probs)[::-1][:top]
        return [(index[str(i)][0], index[str(i)][1], float(probs[i])) for i in order]


# --------------------------------------------------------------------------- loaded models


@dataclass
class Prediction:
    top: list[tuple[str, float, int]]  # (label, probability, class index), best first
    seconds: float  # preprocessing + inference
    input: np.ndarray  # the preprocessed batch of one, for Grad-CAM


class LoadedZooModel:
    """A zoo network ready to classify, safe to share between sessions (calls are serialised)."""

    def __init__(self, m: ZooModel, model, load_seconds: float):
        self.info, self.model, self.load_seconds = m, model, load_seconds
        self.lock = threading.Lock()
        self._preprocess = application(m).preprocess_input

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """An (H, W, 3) uint8 image at the model's input size -> the model's input batch of one."""
        return self._preprocess(np.asarray(image, "float32")[None, ...].copy())

    def predict(self, batch: np.ndarray) -> np.ndarray:
        with self.lock:  # one Keras call at a time per model: sessions share it
            return np.asarray(self.model.predict_on_batch(batch))

    def classify(self, image: np.ndarray, top: int = 5) -> Prediction:
        started = time.perf_counter()
        batch = self.prepare(image)
        seconds = time.perf_counter() - started
        with self.lock:  # the time waiting for other sessions' calls is not this picture's cost
            started = time.perf_counter()
            probs = np.asarray(self.model.predict_on_batch(batch))[0]
            seconds += time.perf_counter() - started
        started = time.perf_counter()
        rows = decode(probs, top)
        top_rows = [(name, float(p), _index_of().get(wnid, -1)) for wnid, name, p in rows]
        return Prediction(top_rows, seconds + time.perf_counter() - started, batch)

    def classify_picture(self, picture, top: int = 5) -> tuple[Prediction, np.ndarray]:
        """A decoded PIL image -> (prediction, the uint8 image at the model's input size)."""
        # Nearest-neighbour resizing, as keras.utils.load_img(target_size=...) in the tutorials.
        seen = images.to_array(picture.convert("RGB"), (self.info.size, self.info.size), resample="nearest")
        return self.classify(seen, top), seen

    def heatmap(self, batch: np.ndarray, class_index: int) -> np.ndarray:
        """Grad-CAM of `class_index` for the prepared batch of one."""

        with self.lock:
            return gradcam(self.model, batch, class_index)[0]


def load(key: str, progress: Callable[[int, int], None] | None = None) -> LoadedZooModel:
    """Resolve the weights and build the classifier (with its ImageNet top)."""
    m = get(key)
    path = resolve_weights(m, include_top=True, progress=progress)
    started = time.perf_counter()
    try:
        model = build(m, include_top=True, weights=path)
    except (OSError, ValueError) as exc:
        raise WeightsUnavailable(m, path.name, f"{type(exc).__name__}: {str(exc)[:200]}") from exc
    loaded = LoadedZooModel(m, model, 0.0)
    loaded.predict(np.zeros((1, m.size, m.size, 3), "float32"))  # warm: the first call traces the graph
    loaded.load_seconds = time.perf_counter() - started
    return loaded


def code(m: ZooModel, top: int = 5) -> str:
    """The plain Keras a learner would write to classify one photo with this model."""
    args = "".join(f"{k}={v}, " for k, v in m.kwargs.items())
    return "\n".join(
        [
            "import numpy as np",
            "import keras",
            f"from keras.applications import {m.module}",
            "",
            f'model = {m.module}.{m.constructor}({args}weights="imagenet")',
            f'img = keras.utils.load_img("photo.jpg", target_size=({m.size}, {m.size}))',
            f'x = {m.module}.preprocess_input(np.array(img, dtype="float32")[None])',
            "# predict_on_batch: no per-call setup, ~100 ms faster than predict for one image",
            f"print({m.module}.decode_predictions(model.predict_on_batch(x), top={top})[0])",
        ]
    )

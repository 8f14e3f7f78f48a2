"""Transfer learning (tutorial 003, section 4.4): a pretrained ImageNet base under a small head.

Two ways, as the tutorial teaches them:

* **features** (bottleneck features): the base, frozen, runs once over every image;
  its outputs are cached and only the head (the spec's layer stack) trains on them,
  which is fast on a CPU, like Teachable Machine.
* **finetune**: base and head form one flat Keras model; the first `frozen` layers of
  the base (its input layer counts as the first, as in `base_model.layers[:15]`) stay
  frozen, the rest train with the head, augmentation included.

Preprocessing is built from layers, not a Lambda, so the saved `.keras` model loads
with `safe_mode=True`: each family's `preprocess_input` (scale to [-1, 1]; BGR minus the
ImageNet mean; or torch-style mean/std), or the tutorial's `rescale=1/255`.

Example:
    >>> feature_shape(spec, data)  # doctest: +SKIP
    (1, 2, 768)

Keras is imported inside the functions that use it, on purpose:
importing this module (the web server does) loads no TensorFlow.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from core import pretrained
from core.datasets import Dataset
from core.i18n import LocalizedError
from core.layer_wiring import BUILD_LOCK, Graph, LayerRow, Work, keras_work
from core.spec import LayerSpec, TransferSpec

#: Smallest input side each family accepts (Keras checks it when the weights are loaded).
MIN_SIDE = {"inception_v3": 75, "xception": 71}
_CAFFE_MEAN = [103.939, 116.779, 123.68]  # BGR
_TORCH_MEAN, _TORCH_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


class TransferError(LocalizedError):
    pass


def check(tr: TransferSpec, data: Dataset) -> pretrained.ZooModel:
    """The base of a transfer spec, or a plain message why it cannot be used on this data."""
    if data.kind != "image":
        raise TransferError("transfer.needs_images")
    return pretrained.get(tr.base)


def _preprocess_layers(keras, m: pretrained.ZooModel, how: str) -> list:
    """Layers equal to the family's `preprocess_input` on 0..255 RGB (or the tutorial's rescale)."""
    L = keras.layers
    if how == "rescale":
        return [L.Rescaling(1 / 255, name="rescale")]
    mode = pretrained.PREPROCESS_MODE[m.module]
    if mode == "tf":
        return [L.Rescaling(1 / 127.5, offset=-1.0, name="preprocess")]
    if mode == "caffe":
        to_bgr = L.Conv2D(3, 1, use_bias=False, trainable=False, name="to_bgr")
        return [to_bgr, L.Normalization(mean=_CAFFE_MEAN, variance=[1.0, 1.0, 1.0], name="imagenet_mean")]
    if mode == "torch":
        return [
            L.Rescaling(1 / 255, name="rescale"),
            L.Normalization(mean=_TORCH_MEAN, variance=[s * s for s in _TORCH_STD], name="imagenet_mean"),
        ]
    return []  # EfficientNet rescales inside the model


def add_base(g, x, tr: TransferSpec, data: Dataset, load_weights: bool = True):
    """Wire preprocessing and the base into a builder graph `g` after tensor `x`; returns the base's output.

    `g` is core.builder's `_Graph` (its `keras`, `add`, `rows`). The base is added as
    one summary row; its layers become part of the flat model (so Grad-CAM sees them).
    """
    keras = g.keras
    m = check(tr, data)
    if x.shape[-1] == 1:
        x = g.add(keras.layers.Concatenate(axis=-1, name="to_rgb"), [x, x, x])
    height, width = int(x.shape[1]), int(x.shape[2])
    least = MIN_SIDE.get(m.module, 32)
    if min(height, width) < least:
        x = g.add(keras.layers.Resizing(max(height, least), max(width, least), name="resize"), x)
    for layer in _preprocess_layers(keras, m, tr.preprocess):
        x = g.add(layer, x)
        if layer.name == "to_bgr":  # a fixed permutation RGB -> BGR, as preprocess_input's x[..., ::-1]
            layer.set_weights([np.eye(3, dtype="float32")[::-1].reshape(1, 1, 3, 3)])
    before = g.names()
    weights = pretrained.resolve_weights(m, include_top=False) if load_weights else None
    try:
        base = pretrained.build(m, include_top=False, weights=weights, input_tensor=x)
    except ValueError as exc:  # e.g. an input Keras's application refuses
        raise TransferError("transfer.base_refused", model=m.label, error=str(exc).splitlines()[0][:300]) from exc
    own = [layer for layer in base.layers if layer.name not in before and not isinstance(layer, keras.layers.InputLayer)]
    frozen = own if tr.mode == "features" else own[: max(0, tr.frozen - 1)]
    for layer in frozen:
        layer.trainable = False
    row = LayerRow(
        "base",
        f"{m.constructor} (ImageNet, include_top=False)",
        tuple(base.output.shape),
        params=int(sum(layer.count_params() for layer in own)),
        inputs=[g.rows[-1].name],
        block="base",
    )
    g.add_row(row, base.output)
    return base.output


def base_layer_count(tr: TransferSpec) -> int:
    """How many layers the base has as Keras lists them (input included): the fine-tuning slider's range."""
    return _layer_count(tr.base)


_COUNT_LOCK = threading.Lock()
_COUNTS: dict[str, int] = {}


def _layer_count(key: str) -> int:
    with _COUNT_LOCK:
        if key not in _COUNTS:
            m = pretrained.get(key)
            model = pretrained.build(m, include_top=False, weights=None, input_shape=(m.size, m.size, 3))
            _COUNTS[key] = len(model.layers)
            del model
        return _COUNTS[key]


# --------------------------------------------------------------------------- bottleneck features

_FEATURES: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
_FEATURES_LOCK = threading.Lock()
FEATURE_CACHE_ENTRIES = 3


def feature_extractor(tr: TransferSpec, data: Dataset, load_weights: bool = True):
    """A Keras model: images (as the dataset holds them) -> the frozen base's output."""
    import keras

    with BUILD_LOCK:
        inputs = keras.Input(shape=data.input_shape, name="input")
        g = Graph(keras, inputs)
        out = add_base(g, inputs, replace(tr, mode="features"), data, load_weights)
        return keras.Model(inputs, out, name="feature_extractor")


def _run(model, x: np.ndarray, batch_size: int, on_batch: Callable[[int, int], None] | None) -> np.ndarray:
    chunks, steps = [], (len(x) + batch_size - 1) // batch_size
    for step in range(steps):
        chunks.append(np.asarray(model.predict_on_batch(x[step * batch_size : (step + 1) * batch_size].astype("float32"))))
        if on_batch is not None:
            on_batch(step + 1, steps)  # may raise to stop (the engine's stop event)
    return np.concatenate(chunks) if chunks else np.zeros((0,), "float32")


def features_dataset(
    tr: TransferSpec, data: Dataset, cache_key: str, on_batch: Callable[[int, int], None] | None = None, batch_size: int = 32
) -> Dataset:
    """The dataset with every image replaced by the base's output, computed once per (base, data).

    `cache_key` identifies the data (the data spec's JSON and owner): the next run of the
    head, with other units or epochs, reuses the features at once.
    """
    key = (tr.base, tr.preprocess, cache_key)
    with _FEATURES_LOCK:
        cached = _FEATURES.get(key)
        if cached is not None:
            _FEATURES.move_to_end(key)
    if cached is None:
        extractor = feature_extractor(tr, data)
        total = len(data.x_train) + len(data.x_test)
        done = [0]

        def progress(step: int, steps: int) -> None:
            if on_batch is not None:
                on_batch(min(total, done[0] + step * batch_size), total)

        f_train = _run(extractor, data.x_train, batch_size, progress)
        done[0] = len(data.x_train)
        f_test = _run(extractor, data.x_test, batch_size, progress)
        cached = (f_train, f_test)
        with _FEATURES_LOCK:
            _FEATURES[key] = cached
            while len(_FEATURES) > FEATURE_CACHE_ENTRIES:
                _FEATURES.popitem(last=False)
    f_train, f_test = cached
    info = replace(data.info, kind="features")
    return Dataset(
        info, f_train, data.y_train, f_test, data.y_test, class_names=data.class_names, notes=list(data.notes), report=data.report
    )


def feature_stub(tr: TransferSpec, data: Dataset) -> tuple[Dataset, Work]:
    """A dataset shaped like the features (zeros), for describing the head without running the base; and the
    base's work per picture, done once before training."""
    extractor = feature_extractor(tr, data, load_weights=False)
    shape = tuple(int(d) for d in extractor.output.shape[1:])
    work = keras_work(extractor)
    del extractor
    info = replace(data.info, kind="features")
    zeros = np.zeros((1, *shape), "float32")
    return Dataset(info, zeros, data.y_train[:1], zeros, data.y_test[:1], class_names=data.class_names), work


def clear_features() -> None:
    with _FEATURES_LOCK:
        _FEATURES.clear()


# --------------------------------------------------------------------------- the head


def head_layers(pooling: str, units: int, dropout: float) -> list:
    """The tutorial's head as layer specs: Flatten (or GlobalAveragePooling2D) - Dense(units, relu) - Dropout."""

    layers = [
        LayerSpec.make("GlobalAveragePooling2D" if pooling == "gap" else "Flatten"),
        LayerSpec.make("Dense", units=int(units), activation="relu"),
    ]
    if dropout > 0:
        layers.append(LayerSpec.make("Dropout", rate=float(dropout)))
    return layers


def read_head(layers) -> tuple[str, int, float] | None:
    """(pooling, units, dropout) when the layer stack is such a head, else None (edited on the Model page)."""
    types = [layer.type for layer in layers]
    if (
        types[:2] not in (["Flatten", "Dense"], ["GlobalAveragePooling2D", "Dense"])
        or len(types) > 3
        or (len(types) == 3 and types[2] != "Dropout")
    ):
        return None
    return (
        "gap" if types[0] != "Flatten" else "flatten",
        int(layers[1].params["units"]),
        float(layers[2].params["rate"]) if len(types) == 3 else 0.0,
    )

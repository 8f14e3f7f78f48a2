"""Looking inside a network: weight histograms per epoch, feature maps, first-layer filters.

Like TensorBoard's histograms: after each epoch every Dense/Conv2D layer's kernel and bias
are summarised as a histogram (`weight_histograms`), so a page can show how the weights
spread as training goes on. For image models, `feature_maps` runs one picture through the
network and returns what each convolutional layer sees, and `first_filters` turns the first
convolution's kernels into small images.

Example:
    >>> hist = weight_histograms(model)  # doctest: +SKIP
    >>> hist["dense_1"]["kernel"].counts.sum() == model.get_layer("dense_1").kernel.shape.num_elements()  # doctest: +SKIP
    True

Keras is imported inside the functions that use it, on purpose:
importing this module (the web server does) loads no TensorFlow.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import numpy as np

BINS = 30
VIEW_IMAGES = 8  # test pictures whose feature maps a finished run keeps
VIEW_LAYERS = 12  # at most this many layers' maps (evenly spread over a deep network)
MAX_VALUES = 200_000  # larger tensors are sampled (evenly): the shape of the histogram is what matters


@dataclass(frozen=True)
class Histogram:
    counts: np.ndarray  # (BINS,)
    edges: np.ndarray  # (BINS + 1,)

    @property
    def centers(self) -> np.ndarray:
        return (self.edges[:-1] + self.edges[1:]) / 2


def _histogram(values: np.ndarray) -> Histogram:
    flat = np.asarray(values, "float64").ravel()
    if flat.size > MAX_VALUES:
        flat = flat[:: flat.size // MAX_VALUES + 1]
    flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return Histogram(np.zeros(BINS, "int64"), np.linspace(-1, 1, BINS + 1))
    lo, hi = float(flat.min()), float(flat.max())
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(flat, bins=BINS, range=(lo, hi))
    return Histogram(counts, edges)


def weight_histograms(model) -> dict[str, dict[str, Histogram]]:
    """{layer name: {"kernel": Histogram, "bias": Histogram}} for every layer with a kernel (Dense, Conv2D)."""
    out: dict[str, dict[str, Histogram]] = {}
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is None or not getattr(layer, "trainable", True):
            continue
        entry = {"kernel": _histogram(np.asarray(kernel))}
        bias = getattr(layer, "bias", None)
        if bias is not None:
            entry["bias"] = _histogram(np.asarray(bias))
        out[layer.name] = entry
    return out


def histograms_to_blob(histograms: dict[str, dict[str, Histogram]]) -> bytes:
    """One epoch's histograms as compact JSON (the run store keeps a row per epoch)."""
    plain = {
        layer: {part: [h.counts.tolist(), h.edges.tolist()] for part, h in parts.items()} for layer, parts in histograms.items()
    }
    return json.dumps(plain).encode("utf-8")


def histograms_from_blob(blob: bytes) -> dict[str, dict[str, Histogram]]:
    plain = json.loads(bytes(blob).decode("utf-8"))
    return {
        layer: {part: Histogram(np.asarray(c, "int64"), np.asarray(e, "float64")) for part, (c, e) in parts.items()}
        for layer, parts in plain.items()
    }


@dataclass
class InsideViews:
    """What a finished image model saw: feature maps of a few test pictures, and its first filters."""

    images: np.ndarray  # (k, H, W, C) uint8, the test pictures
    maps: list[tuple[str, np.ndarray]]  # (layer, (k, h, w, c) uint8) per layer
    filters: tuple[str, np.ndarray] | None

    def to_blob(self) -> bytes:
        arrays = {"images": self.images, **{f"map_{i}": m for i, (_, m) in enumerate(self.maps)}}
        if self.filters is not None:
            arrays["filters"] = self.filters[1]
        meta = {"layers": [name for name, _ in self.maps], "filters": self.filters[0] if self.filters else None}
        buffer = io.BytesIO()
        header = np.frombuffer(json.dumps(meta).encode("utf-8"), np.uint8)
        np.savez_compressed(buffer, __meta__=header, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as bool
        return buffer.getvalue()

    @classmethod
    def from_blob(cls, blob: bytes) -> InsideViews:
        with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
            meta = json.loads(bytes(npz["__meta__"]).decode("utf-8"))
            maps = [(name, npz[f"map_{i}"]) for i, name in enumerate(meta["layers"])]
            filters = (meta["filters"], npz["filters"]) if meta.get("filters") else None
            return cls(npz["images"], maps, filters)


def inside_views(model, pictures: np.ndarray) -> InsideViews | None:
    """Feature maps of `pictures` (uint8, as the dataset holds them) at up to VIEW_LAYERS layers; None for an MLP."""
    names = conv_layers(model)
    if not names:
        return None
    if len(names) > VIEW_LAYERS:
        names = [names[round(i * (len(names) - 1) / (VIEW_LAYERS - 1))] for i in range(VIEW_LAYERS)]
    maps = _maps_of_batch(model, np.asarray(pictures), names)
    return InsideViews(np.asarray(pictures, "uint8"), maps, first_filters(model))


def _maps_of_batch(model, batch: np.ndarray, names: list[str], max_maps: int = 16) -> list[tuple[str, np.ndarray]]:
    """[(layer, maps (k, h, w, c) scaled to 0..255 per picture and channel)] in one forward pass."""
    import keras

    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in names])
    outputs = probe.predict_on_batch(np.asarray(batch, "float32"))
    if len(names) == 1:
        outputs = [outputs]
    result = []
    for name, out in zip(names, outputs, strict=False):
        maps = np.asarray(out)[..., :max_maps]
        lo, hi = maps.min(axis=(1, 2), keepdims=True), maps.max(axis=(1, 2), keepdims=True)
        scaled = np.where(hi > lo, (maps - lo) / np.where(hi > lo, hi - lo, 1), 0.0)
        result.append((name, (scaled * 255).round().astype("uint8")))
    return result


def conv_layers(model) -> list[str]:
    """Names of the layers whose output is a stack of feature maps (Conv2D, pooling, blocks)."""
    names = []
    for layer in model.layers:
        shape = getattr(getattr(layer, "output", None), "shape", None)
        if shape is not None and len(shape) == 4 and type(layer).__name__ not in ("InputLayer", "Rescaling", "Resizing"):
            names.append(layer.name)
    return names


def feature_maps(model, image: np.ndarray, layers: list[str] | None = None, max_maps: int = 16) -> list[tuple[str, np.ndarray]]:
    """[(layer name, maps (h, w, k) scaled to 0..255 uint8)] for one (H, W, C) picture, first `max_maps` channels."""
    names = layers or conv_layers(model)
    if not names:
        return []
    return [(name, maps[0]) for name, maps in _maps_of_batch(model, np.asarray(image)[None, ...], names, max_maps)]


def first_filters(model) -> tuple[str, np.ndarray] | None:
    """(layer name, filters as uint8 images (n, kh, kw) or (n, kh, kw, 3)) of the first Conv2D, or None."""
    for layer in model.layers:
        if type(layer).__name__ == "Conv2D" and getattr(layer, "kernel", None) is not None:
            k = np.asarray(layer.kernel)  # (kh, kw, in, out)
            k = np.moveaxis(k, -1, 0)  # (out, kh, kw, in)
            k = k if k.shape[-1] == 3 else k.mean(axis=-1)
            lo, hi = k.min(), k.max()
            images = ((k - lo) / (hi - lo) * 255).round().astype("uint8") if hi > lo else np.zeros(k.shape, "uint8")
            return layer.name, images
    return None

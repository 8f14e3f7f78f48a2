"""The model's summary without building it: output shapes, parameters and FLOPs, layer by layer, in plain Python.

Editing a layer on the Model page must not wait for TensorFlow, and the web server must not
import it at all for a learner who only builds and trains models. For the layer types of
the spec (and their blocks) the shapes and parameter counts Keras would give are simple
arithmetic, the same Keras does; tests/core/test_shapes.py checks them against real Keras
models. Transfer learning (a whole pretrained base) is described by Keras itself
(core/summary.py).

Example:
    >>> spec = ExperimentSpec.default_for("mnist")
    >>> s = describe(spec, (28, 28, 1), n_classes=10)
    >>> s.total_params, [r.name for r in s.rows][:3]
    (101770, ['input', 'rescale', 'flatten_1'])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.i18n import Msg
from core.layer_wiring import LayerRow, shape_text
from core.model_rules import RESERVED_NAMES, LossPlan, ModelBuildError, plan_loss
from core.spec import SPATIAL_TYPES, ExperimentSpec, LayerSpec

Shape = tuple  # (None, ...) as Keras writes it


@dataclass(frozen=True)
class Described:
    rows: tuple[LayerRow, ...]
    total_params: int
    trainable_params: int
    flops: int  # forward-pass floating point operations per sample (a multiply-add counts 2)
    conv_flops: int  # of which in convolutions
    plan: LossPlan


class _Wiring:
    """Rows in the order Keras would add them, with parameters and FLOPs."""

    def __init__(self, input_shape: Shape):
        self.rows = [LayerRow("input", "InputLayer", input_shape)]
        self.trainable = self.frozen = self.flops = self.conv_flops = 0

    def add(
        self,
        name: str,
        kind: str,
        shape: Shape,
        inputs: list[str],
        params: int = 0,
        flops: int = 0,
        frozen: int = 0,
        block: str = "",
    ) -> str:
        self.rows.append(LayerRow(name, kind, shape, params=params + frozen, inputs=inputs, block=block))
        self.trainable += params
        self.frozen += frozen
        self.flops += flops
        if kind == "Conv2D":
            self.conv_flops += flops
        return name


def _size(shape: Shape) -> int:
    return math.prod(d for d in shape[1:] if d)


def _out(size: int, kernel: int, stride: int, padding: str) -> int:
    return -(-size // stride) if padding == "same" else (size - kernel) // stride + 1


def _conv(
    w: _Wiring, name: str, x: str, shape: Shape, filters: int, k: int, stride: int = 1, padding: str = "valid", block: str = ""
) -> tuple[str, Shape]:
    out = (None, _out(shape[1], k, stride, padding), _out(shape[2], k, stride, padding), filters)
    params = k * k * shape[3] * filters + filters
    return w.add(name, "Conv2D", out, [x], params, 2 * k * k * shape[3] * filters * out[1] * out[2], block=block), out


def _pool(
    w: _Wiring, name: str, kind: str, x: str, shape: Shape, size: int, stride: int, padding: str, block: str = ""
) -> tuple[str, Shape]:
    out = (None, _out(shape[1], size, stride, padding), _out(shape[2], size, stride, padding), shape[3])
    return w.add(name, kind, out, [x], flops=size * size * _size(out), block=block), out


def _check_spatial(layer: LayerSpec, shape: Shape, after_flat: str | None) -> None:
    if layer.type in SPATIAL_TYPES and len(shape) != 4:
        if after_flat:
            raise ModelBuildError(
                "build.needs_image",
                layer.name,
                type=layer.type,
                size=shape_text(shape),
                where=Msg("build.after_flat", {"flat": after_flat}),
            )
        raise ModelBuildError("build.needs_image_data", layer.name, type=layer.type, size=shape_text(shape))


def _too_small(layer: LayerSpec, before: Shape, after: Shape) -> None:
    if any(d is not None and d < 1 for d in after[1:3]):
        raise ModelBuildError(
            "build.too_small", layer.name, type=layer.type, before=shape_text(before[1:3]), after=shape_text(after[1:3])
        )


def _block(w: _Wiring, layer: LayerSpec, x: str, shape: Shape) -> tuple[str, Shape]:
    """The tutorial's inception and residual blocks, as core/builder.py wires them."""
    p, n = layer.params, layer.name
    f = p["filters"]
    if layer.type == "InceptionBlock":
        a, sa = _conv(w, f"{n}_1x1_a", x, shape, f, 1, padding="same", block=n)
        t1, _ = _conv(w, f"{n}_3x3", a, sa, f, 3, padding="same", block=n)
        b, sb = _conv(w, f"{n}_1x1_b", x, shape, f, 1, padding="same", block=n)
        t2, _ = _conv(w, f"{n}_5x5", b, sb, f, 5, padding="same", block=n)
        pool, sp = _pool(w, f"{n}_pool", "MaxPooling2D", x, shape, 3, 1, "same", block=n)
        t3, _ = _conv(w, f"{n}_pool_1x1", pool, sp, f, 1, padding="same", block=n)
        out = (None, shape[1], shape[2], 3 * f)
        return w.add(n, "Concatenate", out, [t1, t2, t3], block=n), out
    y, sy = _conv(w, f"{n}_conv", x, shape, f, p["kernel_size"], padding="same", block=n)
    shortcut = x if shape[-1] == f else _conv(w, f"{n}_projection", x, shape, f, 1, block=n)[0]
    return w.add(n, "Add", sy, [shortcut, y], flops=_size(sy), block=n), sy


def _layer(w: _Wiring, layer: LayerSpec, x: str, shape: Shape) -> tuple[str, Shape]:
    """One spec layer: its rows, and the name and shape of its output."""
    p, n, t = layer.params, layer.name, layer.type
    if t == "Dense":
        out = (*shape[:-1], p["units"])
        return w.add(n, t, out, [x], shape[-1] * p["units"] + p["units"], 2 * shape[-1] * _size(out)), out
    if t in ("Dropout", "Activation"):
        return w.add(n, t, shape, [x], flops=_size(shape) if t == "Activation" else 0), shape
    if t == "BatchNormalization":
        c = shape[-1]
        return w.add(n, t, shape, [x], 2 * c, 4 * _size(shape), frozen=2 * c), shape
    if t == "Flatten":
        out = (None, _size(shape))
        return w.add(n, t, out, [x]), out
    if t == "GlobalAveragePooling2D":
        out = (None, shape[-1])
        return w.add(n, t, out, [x], flops=_size(shape)), out
    if t == "Conv2D":
        k = p["kernel_size"]
        if p["padding"] == "valid" and (shape[1] < k or shape[2] < k):
            raise ModelBuildError("build.kernel_too_big", n, size=k, input=shape_text(shape[1:3]))
        name, out = _conv(w, n, x, shape, p["filters"], k, p["strides"], p["padding"])
        _too_small(layer, shape, out)
        return name, out
    if t in ("MaxPooling2D", "AveragePooling2D"):
        size = p["pool_size"]
        if p["padding"] == "valid" and (shape[1] < size or shape[2] < size):
            raise ModelBuildError("build.pool_too_big", n, type=t, size=size, input=shape_text(shape[1:3]))
        name, out = _pool(w, n, t, x, shape, size, p["strides"] or size, p["padding"])
        _too_small(layer, shape, out)
        return name, out
    if t in ("InceptionBlock", "ResidualBlock"):
        return _block(w, layer, x, shape)
    raise ModelBuildError("build.unknown_type", n, type=t)


def check_names(layers: list[LayerSpec]) -> None:
    for layer in layers:
        if layer.name in RESERVED_NAMES:
            raise ModelBuildError("build.reserved_name", layer.name)


def check_layer(layer: LayerSpec, shape: Shape, after_flat: str | None) -> Shape:
    """The output shape of one spec layer on `shape`, or the ModelBuildError that names it (the builder asks too)."""
    _check_spatial(layer, shape, after_flat)
    return _layer(_Wiring(shape), layer, "input", shape)[1]


def check_flat_output(layers: list[LayerSpec], shape: Shape) -> None:
    if len(shape) != 2:
        last = layers[-1].name if layers else "input"
        raise ModelBuildError("build.needs_flat_output", last, shape=shape_text(shape))


def describe(
    spec: ExperimentSpec, input_shape: tuple[int, ...], n_classes: int, kind: str = "image", task: str = ""
) -> Described:
    """Rows, parameters and FLOPs of the spec's model on inputs of `input_shape` (no batch axis).

    `n_classes` is the output's size: classes, or for `task="regression"` the values predicted.
    Raises ModelBuildError naming the layer, as building the model would. Not for transfer learning.
    """
    if spec.transfer.base:
        raise ValueError("a pretrained base is described by Keras (core.summary)")
    task = task or ("binary" if n_classes == 2 else "multiclass")
    plan = plan_loss(task, n_classes, spec.compile.loss)
    check_names(spec.layers)
    shape: Shape = (None, *input_shape)
    w = _Wiring(shape)
    x = "input"
    if kind == "image":
        x = w.add("rescale", "Rescaling", shape, [x], flops=_size(shape))
    elif spec.data.standardize:
        x = w.add("normalize", "Normalization", shape, [x], flops=2 * _size(shape))
    after_flat = None
    for layer in spec.layers:
        _check_spatial(layer, shape, after_flat)
        x, shape = _layer(w, layer, x, shape)
        if layer.type in ("Flatten", "GlobalAveragePooling2D"):
            after_flat = f"'{layer.name}' ({layer.type})"
    check_flat_output(spec.layers, shape)
    _layer(w, LayerSpec("Dense", {"units": plan.units}, "output"), x, shape)
    return Described(tuple(w.rows), w.trainable + w.frozen, w.trainable, w.flops, w.conv_flops, plan)

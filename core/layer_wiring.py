"""Wiring Keras layers while recording what the summary table and diagram show.

Shared by the builder (the spec's layer stack) and transfer learning (a pretrained
base wired under it). Keras seeds and builds through process-wide state, so models are
built one at a time under `BUILD_LOCK`.

Example:
    >>> g = Graph(keras, inputs)  # doctest: +SKIP
    >>> x = g.add(keras.layers.Dense(4, name="dense_1"), inputs)  # doctest: +SKIP
    >>> [r.name for r in g.rows]  # doctest: +SKIP
    ['input', 'dense_1']
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

BUILD_LOCK = threading.RLock()


@dataclass
class LayerRow:
    """One Keras layer (or a whole pretrained base) of the built model, for the summary table and the diagram."""

    name: str
    type: str
    output_shape: tuple
    params: int = 0
    inputs: list[str] = field(default_factory=list)
    block: str = ""  # the spec layer this Keras layer belongs to (blocks expand to several)


class Graph:
    """Wires Keras layers one after another, recording rows as it goes."""

    def __init__(self, keras, inputs):
        self.keras = keras
        self.rows: list[LayerRow] = [LayerRow("input", "InputLayer", tuple(inputs.shape))]
        self._producer = {id(inputs): "input"}

    def add(self, layer, tensors, block: str = ""):
        sources = tensors if isinstance(tensors, list) else [tensors]
        out = layer(tensors)
        self._producer[id(out)] = layer.name
        self.rows.append(
            LayerRow(
                layer.name, type(layer).__name__, tuple(out.shape), inputs=[self._producer[id(t)] for t in sources], block=block
            )
        )
        return out

    def add_row(self, row: LayerRow, output) -> None:
        """Record a part wired by someone else (a pretrained base) as one row producing `output`."""
        self.rows.append(row)
        self._producer[id(output)] = row.name

    def names(self) -> set[str]:
        return {row.name for row in self.rows}


def diagram(rows: list[LayerRow] | tuple[LayerRow, ...], params_label: str = "{params} params") -> str:
    """A Graphviz DOT diagram (blocks drawn as clusters), for `st.graphviz_chart`.

    `params_label` is the parameter count's text in the reader's language, e.g. "{params} パラメータ".
    """
    lines = [
        "digraph model {",
        "  rankdir=TB;",
        # Square boxes: the browser redraws rounded ones (SVG paths) about 100 ms slower on every Model page edit.
        '  node [shape=box, style=filled, fillcolor="#eef3fb", fontname="Helvetica", fontsize=10];',
    ]
    blocks: dict[str, list[LayerRow]] = {}
    for row in rows:
        blocks.setdefault(row.block, []).append(row)
    for block, members in blocks.items():
        if block and len(members) > 1:
            lines.append(f'  subgraph "cluster_{block}" {{ label="{block}"; style=dashed; color="#8899aa";')
        for r in members:
            params = "\\n" + params_label.format(params=f"{r.params:,}") if r.params else ""
            lines.append(f'  "{r.name}" [label="{r.name} ({r.type})\\n{shape_text(r.output_shape)}{params}"];')
        if block and len(members) > 1:
            lines.append("  }")
    for r in rows:
        for src in r.inputs:
            lines.append(f'  "{src}" -> "{r.name}";')
    lines.append("}")
    return "\n".join(lines)


def shape_text(shape: tuple) -> str:
    """(None, 28, 28, 1) -> '28 x 28 x 1'."""
    dims = [d for d in shape if d is not None]
    return " x ".join(str(d) for d in dims) if dims else "scalar"


def activations(rows) -> int:
    """Values every sample leaves in memory on its way through the model: the sum of the layers' output sizes
    (the preflight's memory estimate).

    >>> activations([LayerRow("in", "InputLayer", (None, 28, 28, 1)), LayerRow("d", "Dense", (None, 10))])
    794
    """
    return sum(math.prod(d for d in r.output_shape[1:] if d) for r in rows)


def map_values(rows) -> int:
    """Values per sample in the layers' feature maps (outputs with a height and a width, the input stage left out).

    What memory-bound layers (few-channel convolutions, pooling, activations over maps) cost is proportional
    to this, not to their FLOPs; flat vectors (Dense, Flatten) stay in cache and their cost is in the FLOP
    rate. The preflight's time estimate reads it.

    >>> map_values([LayerRow("in", "InputLayer", (None, 28, 28, 1)), LayerRow("c", "Conv2D", (None, 26, 26, 8)),
    ...             LayerRow("f", "Flatten", (None, 5408))])
    5408
    """
    return sum(math.prod(d for d in r.output_shape[1:] if d) for r in rows if _is_map(r.type, r.output_shape))


#: Layers that only prepare the input: forward only, no gradient flows back into them, next to nothing to count.
INPUT_STAGE = frozenset({"InputLayer", "Rescaling", "Normalization", "Resizing"})


def _is_map(kind: str, shape) -> bool:
    return kind not in INPUT_STAGE and isinstance(shape, tuple) and len(shape) >= 4


def keras_flops(model) -> tuple[int, int]:
    """(forward FLOPs per sample, of which in convolutions) of a built Keras model, from its layers' shapes."""
    total = conv = 0
    for layer in _layers(model):
        kind = type(layer).__name__
        try:
            inp, out = tuple(layer.input.shape), tuple(layer.output.shape)
        except (AttributeError, ValueError):
            continue
        size = math.prod(d for d in out[1:] if d)
        if kind == "Conv2D":
            kh, kw = layer.kernel_size
            flops = 2 * kh * kw * inp[-1] * out[-1] * out[1] * out[2] // max(1, layer.groups)
            total, conv = total + flops, conv + flops
        elif kind == "DepthwiseConv2D":
            kh, kw = layer.kernel_size
            total, conv = total + 2 * kh * kw * size, conv + 2 * kh * kw * size
        elif kind == "Dense":
            total += 2 * inp[-1] * size
        elif kind in ("BatchNormalization", "Normalization"):
            total += 4 * size
        elif kind != "InputLayer":
            total += size
    return int(total), int(conv)


def _layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:  # a nested model
            yield from _layers(layer)
        else:
            yield layer


@dataclass(frozen=True)
class Work:
    """What one sample costs a model, counted from its layers without running it (the time estimate reads it).

    >>> w = rows_work([LayerRow("in", "InputLayer", (None, 784)), LayerRow("d", "Dense", (None, 10), 7850)], 15_700)
    >>> w.layers, w.variables, w.weights
    (1, 2, 7850)
    """

    flops: int = 0  # forward FLOPs per sample
    conv_flops: int = 0  # of which in convolutions (they run at another rate than dense layers)
    map_values: int = 0  # feature-map values per sample (`map_values`)
    layers: int = 0  # layers that compute: each adds its ops to every step and to the tracing
    variables: int = 0  # trainable weight tensors: the optimizer updates each one every step
    weights: int = 0  # trainable weights


def rows_work(rows, flops: int, conv_flops: int = 0, trainable: int | None = None) -> Work:
    """The `Work` of a model described by its rows (core/shapes.py): two weight tensors per layer with weights."""
    computing = [r for r in rows if r.type != "InputLayer"]
    weights = sum(r.params for r in computing) if trainable is None else trainable
    variables = 2 * sum(1 for r in computing if r.params) if weights else 0
    return Work(flops, conv_flops, map_values(rows), len(computing), variables, weights)


def keras_work(model) -> Work:
    """The `Work` of a built Keras model (nested models counted layer by layer)."""
    flops, conv = keras_flops(model)
    layers = sum(1 for layer in _layers(model) if type(layer).__name__ != "InputLayer")
    trainable = model.trainable_weights
    weights = sum(math.prod(v.shape) for v in trainable)
    return Work(flops, conv, keras_map_values(model), layers, len(trainable), int(weights))


def keras_map_values(model) -> int:
    """`map_values` of a built Keras model."""
    values = 0
    for layer in _layers(model):
        try:
            shape = tuple(layer.output.shape)
        except (AttributeError, TypeError, ValueError):  # a layer of several outputs
            continue
        if _is_map(type(layer).__name__, shape):
            values += math.prod(d for d in shape[1:] if d)
    return values

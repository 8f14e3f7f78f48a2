"""Build a compiled Keras model from an ExperimentSpec and a Dataset.

The model is always functional (`keras.Input` -> ... -> `output`) so the
tutorial's inception and residual blocks fit in the same stack as plain layers.
Every layer gets an explicit name. The model carries its own preprocessing:
`Rescaling(1/255)` for images, `Normalization` (from the training data's mean
and variance) for standardized features, so raw data goes in at every stage.

A stack that cannot be built raises `ModelBuildError` naming the layer:

    >>> spec = ExperimentSpec.default_for("digits")
    >>> spec.layers.insert(0, LayerSpec.make("Conv2D", name="conv2d_9"))
    >>> spec.layers.append(LayerSpec.make("Conv2D", name="conv2d_late"))  # after Flatten
    >>> build_model(spec, load(spec.data))  # doctest: +SKIP
    ModelBuildError: Layer 'conv2d_late' (Conv2D) needs an image-shaped input ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.datasets import Dataset
from core.graph import BUILD_LOCK, Graph, LayerRow
from core.i18n import LocalizedError, Msg
from core.spec import SPATIAL_TYPES, CompileSpec, ExperimentSpec, LayerSpec

RESERVED_NAMES = frozenset(
    {"input", "rescale", "normalize", "output", "to_rgb", "resize", "preprocess", "to_bgr", "imagenet_mean", "base"}
)


class ModelBuildError(LocalizedError):
    """A layer stack that cannot be built; `layer` names the culprit."""

    def __init__(self, key: str, layer: str, **fields):
        super().__init__(key, layer=layer, **fields)
        self.layer = layer


@dataclass(frozen=True)
class LossPlan:
    """How targets, output layer, loss and accuracy metric fit together."""

    loss: str
    units: int
    activation: str
    one_hot: bool  # targets must be one-hot encoded
    metric: str  # the Keras accuracy metric class matching the targets


def plan_loss(task: str, n_classes: int, loss: str = "auto") -> LossPlan:
    """Pick (or check) the loss for a task. Raises ModelBuildError (layer 'output') for a mismatch.

    Two classes get one sigmoid unit (flow_from_directory's class_mode='binary') unless a
    categorical loss is chosen, which gives two softmax units (class_mode='categorical').

    >>> plan_loss("multiclass", 10).loss
    'sparse_categorical_crossentropy'
    """
    if task == "binary" and loss in ("auto", "binary_crossentropy", "mean_squared_error"):
        return LossPlan("binary_crossentropy" if loss == "auto" else loss, 1, "sigmoid", False, "BinaryAccuracy")
    if loss in ("auto", "sparse_categorical_crossentropy"):
        return LossPlan("sparse_categorical_crossentropy", n_classes, "softmax", False, "SparseCategoricalAccuracy")
    if loss in ("categorical_crossentropy", "mean_squared_error"):
        return LossPlan(loss, n_classes, "softmax", True, "CategoricalAccuracy")
    raise ModelBuildError("build.loss_multiclass", "output", loss=loss, n_classes=n_classes)


def make_optimizer(c: CompileSpec):
    """The Keras optimizer a CompileSpec describes, with its learning rate set explicitly."""
    import keras

    lr = c.learning_rate
    if c.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=lr, momentum=c.momentum, nesterov=c.nesterov)
    if c.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=lr, momentum=c.momentum)
    if c.optimizer == "adamw":
        return keras.optimizers.AdamW(learning_rate=lr, weight_decay=c.weight_decay)
    if c.optimizer == "adagrad":
        return keras.optimizers.Adagrad(learning_rate=lr, initial_accumulator_value=c.initial_accumulator)
    cls = {"adam": keras.optimizers.Adam, "adadelta": keras.optimizers.Adadelta}
    return cls[c.optimizer](learning_rate=lr)


# --------------------------------------------------------------------------- summary rows


@dataclass
class BuiltModel:
    model: Any  # keras.Model
    rows: list[LayerRow]
    plan: LossPlan

    @property
    def total_params(self) -> int:
        return int(self.model.count_params())

    @property
    def trainable_params(self) -> int:
        return int(sum(np.prod(w.shape) for w in self.model.trainable_weights))

    def dot(self, params_label: str = "{params} params") -> str:
        return diagram(self.rows, params_label)


def diagram(rows: list[LayerRow] | tuple[LayerRow, ...], params_label: str = "{params} params") -> str:
    """A Graphviz DOT diagram (blocks drawn as clusters), for `st.graphviz_chart`.

    `params_label` is the parameter count's text in the reader's language, e.g. "{params} パラメータ".
    """
    lines = [
        "digraph model {",
        "  rankdir=TB;",
        '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontname="Helvetica", fontsize=10];',
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


# --------------------------------------------------------------------------- building


def _l2(keras, value: float):
    return keras.regularizers.L2(value) if value > 0 else None


def _spatial_size_check(layer: LayerSpec, before: tuple, after: tuple) -> None:
    if any(d is not None and d < 1 for d in after[1:3]):
        raise ModelBuildError(
            "build.too_small", layer.name, type=layer.type, before=shape_text(before[1:3]), after=shape_text(after[1:3])
        )


def _add_spec_layer(g: Graph, layer: LayerSpec, x, after_flat: str | None):
    """Add one spec layer (maybe a block of several Keras layers) and return its output."""
    keras, p, name = g.keras, layer.params, layer.name
    L = keras.layers
    shape = tuple(x.shape)
    if layer.type in SPATIAL_TYPES and len(shape) != 4:
        if after_flat:  # the data were images until a Flatten (or pooling to a vector): the layer is in the wrong place
            raise ModelBuildError(
                "build.needs_image",
                name,
                type=layer.type,
                size=shape_text(shape),
                where=Msg("build.after_flat", {"flat": after_flat}),
            )
        raise ModelBuildError("build.needs_image_data", name, type=layer.type, size=shape_text(shape))
    t = layer.type
    if t == "Dense":
        return g.add(L.Dense(p["units"], activation=p["activation"], kernel_regularizer=_l2(keras, p["l2"]), name=name), x)
    if t == "Dropout":
        return g.add(L.Dropout(p["rate"], name=name), x)
    if t == "BatchNormalization":
        return g.add(L.BatchNormalization(name=name), x)
    if t == "Activation":
        return g.add(L.Activation(p["activation"], name=name), x)
    if t == "Flatten":
        return g.add(L.Flatten(name=name), x)
    if t == "GlobalAveragePooling2D":
        return g.add(L.GlobalAveragePooling2D(name=name), x)
    if t == "Conv2D":
        k, s = p["kernel_size"], p["strides"]
        if p["padding"] == "valid" and (shape[1] < k or shape[2] < k):
            raise ModelBuildError("build.kernel_too_big", name, size=k, input=shape_text(shape[1:3]))
        out = g.add(
            L.Conv2D(
                p["filters"],
                k,
                strides=s,
                padding=p["padding"],
                activation=p["activation"],
                kernel_regularizer=_l2(keras, p["l2"]),
                name=name,
            ),
            x,
        )
        _spatial_size_check(layer, shape, tuple(out.shape))
        return out
    if t in ("MaxPooling2D", "AveragePooling2D"):
        size = p["pool_size"]
        if p["padding"] == "valid" and (shape[1] < size or shape[2] < size):
            raise ModelBuildError("build.pool_too_big", name, type=t, size=size, input=shape_text(shape[1:3]))
        cls = L.MaxPooling2D if t == "MaxPooling2D" else L.AveragePooling2D
        out = g.add(cls(size, strides=p["strides"] or None, padding=p["padding"], name=name), x)
        _spatial_size_check(layer, shape, tuple(out.shape))
        return out
    if t == "InceptionBlock":
        # Tutorial 003: three towers (1x1->3x3, 1x1->5x5, 3x3 max-pool->1x1) concatenated.
        # The tutorial concatenates on axis 1 (height); we use the channel axis, which gives the
        # same parameter count and an equivalent model (Flatten only permutes the features).
        f = p["filters"]
        conv = lambda k, suffix: L.Conv2D(f, k, padding="same", activation="relu", name=f"{name}_{suffix}")  # noqa: E731
        t1 = g.add(conv(3, "3x3"), g.add(conv(1, "1x1_a"), x, name), name)
        t2 = g.add(conv(5, "5x5"), g.add(conv(1, "1x1_b"), x, name), name)
        t3 = g.add(conv(1, "pool_1x1"), g.add(L.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_pool"), x, name), name)
        return g.add(L.Concatenate(axis=-1, name=name), [t1, t2, t3], name)
    if t == "ResidualBlock":
        # Tutorial 003: y = Conv2D(same)(x); x + y. A 1x1 projection matches channels when needed.
        f = p["filters"]
        y = g.add(L.Conv2D(f, p["kernel_size"], padding="same", name=f"{name}_conv"), x, name)
        shortcut = x if shape[-1] == f else g.add(L.Conv2D(f, 1, name=f"{name}_projection"), x, name)
        return g.add(L.Add(name=name), [shortcut, y], name)
    raise ModelBuildError("build.unknown_type", name, type=t)


def build_model(spec: ExperimentSpec, data: Dataset, seed: int | None = None, load_weights: bool = True):
    """Build and compile the model. Raises ModelBuildError or SpecError with a plain message.

    With transfer learning in `finetune` mode the pretrained base (its ImageNet weights
    unless `load_weights` is False, as for summaries) sits between input and layer stack;
    in `features` mode `data` already holds the base's outputs (core.transfer).
    """
    import keras

    plan = plan_loss(data.task, data.n_classes, spec.compile.loss)
    for layer in spec.layers:
        if layer.name in RESERVED_NAMES:
            raise ModelBuildError("build.reserved_name", layer.name)
    with BUILD_LOCK:
        keras.utils.set_random_seed(spec.fit.seed if seed is None else seed)
        inputs = keras.Input(shape=data.input_shape, name="input")
        g = Graph(keras, inputs)
        x = inputs
        if spec.transfer.base and spec.transfer.mode == "finetune":
            from core import transfer

            x = transfer.add_base(g, x, spec.transfer, data, load_weights)
        elif data.kind == "image":
            x = g.add(keras.layers.Rescaling(1 / 255, name="rescale"), x)
        elif spec.data.standardize:
            mean, var = data.feature_stats()
            x = g.add(keras.layers.Normalization(mean=mean, variance=var, name="normalize"), x)
        after_flat = None
        for layer in spec.layers:
            try:
                x = _add_spec_layer(g, layer, x, after_flat)
            except ModelBuildError:
                raise
            except Exception as exc:  # noqa: BLE001 - Keras's own message, attributed to the layer
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise ModelBuildError("build.keras_error", layer.name, type=layer.type, error=first[:300]) from exc
            if layer.type in ("Flatten", "GlobalAveragePooling2D"):
                after_flat = f"'{layer.name}' ({layer.type})"
        if len(x.shape) != 2:
            last = spec.layers[-1].name if spec.layers else "input"
            raise ModelBuildError("build.needs_flat_output", last, shape=shape_text(tuple(x.shape)))
        outputs = g.add(keras.layers.Dense(plan.units, activation=plan.activation, name="output"), x)
        model = keras.Model(inputs, outputs, name="playground_model")
        metric = getattr(keras.metrics, plan.metric)(name="accuracy")
        model.compile(optimizer=make_optimizer(spec.compile), loss=plan.loss, metrics=[metric])
    for row in g.rows:
        if row.name != "input" and row.block != "base":
            row.params = int(model.get_layer(row.name).count_params())
    return BuiltModel(model, g.rows, plan)


def targets(y: np.ndarray, plan: LossPlan, n_classes: int) -> np.ndarray:
    """Integer labels in the form the loss expects (one-hot or not)."""
    if plan.one_hot:
        return np.eye(n_classes, dtype="float32")[y]
    return y.astype("float32") if plan.units == 1 else y


def predict_classes(model, x: np.ndarray, plan: LossPlan, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """(predicted labels, probabilities) for x, in batches without `predict`'s overhead."""
    probs = (
        np.concatenate([np.asarray(model.predict_on_batch(x[i : i + batch_size])) for i in range(0, len(x), batch_size)])
        if len(x)
        else np.zeros((0, plan.units), "float32")
    )
    if plan.units == 1:
        return (probs[:, 0] >= 0.5).astype("int64"), probs
    return probs.argmax(axis=1).astype("int64"), probs

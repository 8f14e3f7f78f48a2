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

Keras is imported inside the functions that use it, on purpose:
importing this module (the web server does) loads no TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core import shapes, transfer
from core.datasets import Dataset
from core.layer_wiring import BUILD_LOCK, Graph, LayerRow, diagram, shape_text
from core.model_rules import RESERVED_NAMES, LossPlan, ModelBuildError, plan_loss
from core.spec import INITIALIZER_DEFAULTS, CompileSpec, ExperimentSpec, LayerSpec

__all__ = ["RESERVED_NAMES", "LossPlan", "ModelBuildError", "plan_loss", "diagram", "shape_text", "build_model"]


def learning_rate(c: CompileSpec, steps_per_epoch: int = 1, epochs: int = 1):
    """The optimizer's learning rate: a number, or a keras.optimizers.schedules object stepping per update.

    >>> learning_rate(CompileSpec(learning_rate=0.01))
    0.01
    """
    lr = c.learning_rate
    if c.schedule in ("none", "plateau"):  # plateau: the ReduceLROnPlateau callback changes it (core/pipeline.py)
        return lr
    import keras

    schedules = keras.optimizers.schedules
    if c.schedule == "keras2_decay":  # Keras 2's SGD(decay=...): lr / (1 + decay * iterations)
        return schedules.InverseTimeDecay(lr, decay_steps=1, decay_rate=c.decay)
    if c.schedule == "cosine":  # down to 0 over the whole run
        return schedules.CosineDecay(lr, decay_steps=max(1, steps_per_epoch * epochs))
    every = max(1, steps_per_epoch * c.schedule_epochs)  # step and exponential: x factor every schedule_epochs
    return schedules.ExponentialDecay(lr, every, c.schedule_factor, staircase=c.schedule == "step")


def make_optimizer(c: CompileSpec, steps_per_epoch: int = 1, epochs: int = 1):
    """The Keras optimizer a CompileSpec describes, with its learning rate (or schedule) set explicitly."""
    import keras

    lr = learning_rate(c, steps_per_epoch, epochs)
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


# --------------------------------------------------------------------------- building


def _l2(keras, value: float):
    return keras.regularizers.L2(value) if value > 0 else None


def _initializers(p: dict) -> dict:
    """Keras takes initializers by name; specs saved before they existed get Keras's defaults."""
    return {name: p.get(name, default) for name, default in INITIALIZER_DEFAULTS.items()}


def _keras_layer(keras, layer: LayerSpec):
    """The one Keras layer of a plain spec layer, with its explicit name."""
    L, p, n = keras.layers, layer.params, layer.name
    make = {
        "Dense": lambda: L.Dense(
            p["units"], activation=p["activation"], kernel_regularizer=_l2(keras, p["l2"]), **_initializers(p), name=n
        ),
        "Dropout": lambda: L.Dropout(p["rate"], name=n),
        "BatchNormalization": lambda: L.BatchNormalization(name=n),
        "Activation": lambda: L.Activation(p["activation"], name=n),
        "Flatten": lambda: L.Flatten(name=n),
        "GlobalAveragePooling2D": lambda: L.GlobalAveragePooling2D(name=n),
        "Conv2D": lambda: L.Conv2D(
            p["filters"],
            p["kernel_size"],
            strides=p["strides"],
            padding=p["padding"],
            activation=p["activation"],
            kernel_regularizer=_l2(keras, p["l2"]),
            **_initializers(p),
            name=n,
        ),
        "MaxPooling2D": lambda: L.MaxPooling2D(p["pool_size"], strides=p["strides"] or None, padding=p["padding"], name=n),
        "AveragePooling2D": lambda: L.AveragePooling2D(
            p["pool_size"], strides=p["strides"] or None, padding=p["padding"], name=n
        ),
    }
    return make[layer.type]()


def _inception(g: Graph, layer: LayerSpec, x):
    """Tutorial 003: three towers (1x1->3x3, 1x1->5x5, 3x3 max-pool->1x1) concatenated.

    The tutorial concatenates on axis 1 (height); we use the channel axis, which gives the
    same parameter count and an equivalent model (Flatten only permutes the features).
    """
    L, f, name = g.keras.layers, layer.params["filters"], layer.name
    conv = lambda k, suffix: L.Conv2D(f, k, padding="same", activation="relu", name=f"{name}_{suffix}")
    t1 = g.add(conv(3, "3x3"), g.add(conv(1, "1x1_a"), x, name), name)
    t2 = g.add(conv(5, "5x5"), g.add(conv(1, "1x1_b"), x, name), name)
    t3 = g.add(conv(1, "pool_1x1"), g.add(L.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_pool"), x, name), name)
    return g.add(L.Concatenate(axis=-1, name=name), [t1, t2, t3], name)


def _residual(g: Graph, layer: LayerSpec, x):
    """Tutorial 003: y = Conv2D(same)(x); x + y. A 1x1 projection matches the channels when needed."""
    L, p, name = g.keras.layers, layer.params, layer.name
    y = g.add(L.Conv2D(p["filters"], p["kernel_size"], padding="same", name=f"{name}_conv"), x, name)
    shortcut = x if x.shape[-1] == p["filters"] else g.add(L.Conv2D(p["filters"], 1, name=f"{name}_projection"), x, name)
    return g.add(L.Add(name=name), [shortcut, y], name)


BLOCKS = {"InceptionBlock": _inception, "ResidualBlock": _residual}


def _stack(g: Graph, spec: ExperimentSpec, x):
    """The spec's layers on `x`, each checked first by the rules the summary uses (core/shapes.py)."""
    after_flat = None
    for layer in spec.layers:
        shapes.check_layer(layer, tuple(x.shape), after_flat)
        try:
            block = BLOCKS.get(layer.type)
            x = block(g, layer, x) if block else g.add(_keras_layer(g.keras, layer), x)
        except Exception as exc:  # noqa: BLE001 - Keras's own message, attributed to the layer
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelBuildError("build.keras_error", layer.name, type=layer.type, error=first[:300]) from exc
        if layer.type in ("Flatten", "GlobalAveragePooling2D"):
            after_flat = f"'{layer.name}' ({layer.type})"
    shapes.check_flat_output(spec.layers, tuple(x.shape))
    return x


def _preprocessing(g: Graph, spec: ExperimentSpec, data: Dataset, x, load_weights: bool):
    """What raw data goes through before the stack: a pretrained base (fine-tuning), /255 for pictures, or standardising."""
    keras = g.keras
    if spec.transfer.base and spec.transfer.mode == "finetune":
        return transfer.add_base(g, x, spec.transfer, data, load_weights)
    if data.kind == "image":
        return g.add(keras.layers.Rescaling(1 / 255, name="rescale"), x)
    if spec.data.standardize:
        mean, var = data.feature_stats()
        return g.add(keras.layers.Normalization(mean=mean, variance=var, name="normalize"), x)
    return x


def training_cut(spec: ExperimentSpec, n_train: int) -> int:
    """How many training samples `fit` trains on: validation_split takes the last fraction, exactly as Keras does."""
    if spec.data.validation == "test":
        return n_train
    return int(np.floor(n_train * (1.0 - spec.data.validation_split)))


def steps_per_epoch(spec: ExperimentSpec, n_train: int) -> int:
    """Optimizer updates per epoch (what a learning-rate schedule counts): batches of the training part."""
    return max(1, -(-training_cut(spec, n_train) // spec.fit.batch_size))


def compile_model(
    model, c: CompileSpec, plan: LossPlan, steps_per_execution: int = 1, steps_per_epoch: int = 1, epochs: int = 1
) -> None:
    """Compile with the spec's optimizer, the plan's loss and its metrics: accuracy (named "accuracy" in the history),
    or for a regression the mean absolute error and root mean squared error ("mae", "rmse")."""
    import keras

    if plan.regression:
        metrics = [keras.metrics.MeanAbsoluteError(name="mae"), keras.metrics.RootMeanSquaredError(name="rmse")]
    else:
        metrics = [getattr(keras.metrics, plan.metric)(name="accuracy")]
    model.compile(
        optimizer=make_optimizer(c, steps_per_epoch, epochs),
        loss=plan.loss,
        metrics=metrics,
        steps_per_execution=steps_per_execution,
    )


def build_model(spec: ExperimentSpec, data: Dataset, seed: int | None = None, load_weights: bool = True):
    """Build and compile the model. Raises ModelBuildError or SpecError with a plain message.

    With transfer learning in `finetune` mode the pretrained base (its ImageNet weights
    unless `load_weights` is False, as for summaries) sits between input and layer stack;
    in `features` mode `data` already holds the base's outputs (core.transfer).
    """
    import keras

    plan = plan_loss(data.task, data.n_outputs, spec.compile.loss)
    shapes.check_names(spec.layers)
    with BUILD_LOCK:
        keras.utils.set_random_seed(spec.fit.seed if seed is None else seed)
        inputs = keras.Input(shape=data.input_shape, name="input")
        g = Graph(keras, inputs)
        x = _stack(g, spec, _preprocessing(g, spec, data, inputs, load_weights))
        outputs = g.add(keras.layers.Dense(plan.units, activation=plan.activation, name="output"), x)
        model = keras.Model(inputs, outputs, name="playground_model")
        compile_model(model, spec.compile, plan, steps_per_epoch=steps_per_epoch(spec, len(data.x_train)), epochs=spec.fit.epochs)
    for row in g.rows:
        if row.name != "input" and row.block != "base":
            row.params = int(model.get_layer(row.name).count_params())
    return BuiltModel(model, g.rows, plan)


def targets(y: np.ndarray, plan: LossPlan, n_classes: int) -> np.ndarray:
    """Labels in the form the loss expects (one-hot or not); a regression's values as float32 columns."""
    if plan.regression:
        return y.astype("float32").reshape(len(y), -1)
    if plan.one_hot:
        return np.eye(n_classes, dtype="float32")[y]
    return y.astype("float32") if plan.units == 1 else y


def predict_values(model, x: np.ndarray, plan: LossPlan, batch_size: int = 512) -> np.ndarray:
    """The model's outputs for x (n, units), in batches without `predict`'s overhead."""
    if not len(x):
        return np.zeros((0, plan.units), "float32")
    return np.concatenate([np.asarray(model.predict_on_batch(x[i : i + batch_size])) for i in range(0, len(x), batch_size)])


def predict_classes(model, x: np.ndarray, plan: LossPlan, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """(predicted labels, probabilities) for x, in batches without `predict`'s overhead."""
    probs = predict_values(model, x, plan, batch_size)
    if plan.units == 1:
        return (probs[:, 0] >= 0.5).astype("int64"), probs
    return probs.argmax(axis=1).astype("int64"), probs

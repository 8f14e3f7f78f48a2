"""The experiment spec: one object that says everything about a training run.

A spec holds the dataset choice, the layer stack, the compile settings and the
fit settings. It is plain data (dataclasses), round-trips through JSON, and
flows through every stage: data -> model -> training -> run store -> charts ->
exported script. Nothing here imports Keras.

Example:
    >>> spec = ExperimentSpec.default_for("mnist")
    >>> ExperimentSpec.from_json(spec.to_json()) == spec
    True
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from core.dataset_catalogue import kind_of, task_of


class SpecError(ValueError):
    """A spec that cannot be read: the message says which field and why."""


# --------------------------------------------------------------------------- layer catalogue


@dataclass(frozen=True)
class Param:
    """One parameter of a layer type, with what the widgets need to render it."""

    name: str
    kind: str  # "int" | "float" | "choice" | "bool"
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def low(self) -> float:
        assert self.minimum is not None, f"{self.name} has no lower bound"
        return self.minimum

    @property
    def high(self) -> float:
        assert self.maximum is not None, f"{self.name} has no upper bound"
        return self.maximum

    def clean(self, value: Any, where: str) -> Any:
        """Coerce and range-check one value; raise SpecError naming `where`."""
        try:
            if self.kind == "int":
                value = int(value)
            elif self.kind == "float":
                value = float(value)
            elif self.kind == "bool":
                value = bool(value)
            else:
                value = str(value)
        except (TypeError, ValueError) as exc:
            raise SpecError(f"{where}: {self.name} must be a {self.kind}, got {value!r}") from exc
        if self.kind == "choice" and value not in self.choices:
            raise SpecError(f"{where}: {self.name} must be one of {', '.join(self.choices)}, got {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise SpecError(f"{where}: {self.name} must be at least {self.minimum}, got {value}")
        if self.maximum is not None and value > self.maximum:
            raise SpecError(f"{where}: {self.name} must be at most {self.maximum}, got {value}")
        return value


ACTIVATIONS = ("relu", "sigmoid", "tanh", "softmax", "linear", "elu", "selu", "gelu", "swish")
PADDINGS = ("valid", "same")

#: Keras's weight initializers by name (tutorial 003: kernel_initializer='random_uniform', bias_initializer='zeros').
INITIALIZERS = ("glorot_uniform", "he_normal", "he_uniform", "lecun_normal", "random_uniform", "random_normal", "zeros", "ones")

_ACT = Param("activation", "choice", "relu", choices=ACTIVATIONS)
#: Keras's own defaults for Dense and Conv2D.
INITIALIZER_DEFAULTS = {"kernel_initializer": "glorot_uniform", "bias_initializer": "zeros"}
_INIT = tuple(Param(name, "choice", default, choices=INITIALIZERS) for name, default in INITIALIZER_DEFAULTS.items())
_POOL = (
    Param("pool_size", "int", 2, 1, 8),
    Param("strides", "int", 0, 0, 8),  # 0 means "same as pool_size", as in Keras
    Param("padding", "choice", "valid", choices=PADDINGS),
)

#: Layer type -> its parameters. The builder maps each type to Keras layers.
LAYER_TYPES: dict[str, tuple[Param, ...]] = {
    "Dense": (Param("units", "int", 64, 1, 4096), _ACT, Param("l2", "float", 0.0, 0.0, 1.0, 0.001), *_INIT),
    "Dropout": (Param("rate", "float", 0.25, 0.0, 0.95, 0.05),),
    "BatchNormalization": (),
    "Activation": (_ACT,),
    "Conv2D": (
        Param("filters", "int", 32, 1, 512),
        Param("kernel_size", "int", 3, 1, 11),
        Param("strides", "int", 1, 1, 4),
        Param("padding", "choice", "valid", choices=PADDINGS),
        _ACT,
        Param("l2", "float", 0.0, 0.0, 1.0, 0.001),
        *_INIT,
    ),
    "MaxPooling2D": _POOL,
    "AveragePooling2D": _POOL,
    "Flatten": (),
    "GlobalAveragePooling2D": (),
    # Functional-API blocks from tutorial 003 (built as several Keras layers).
    "InceptionBlock": (Param("filters", "int", 64, 1, 256),),
    "ResidualBlock": (Param("filters", "int", 32, 1, 256), Param("kernel_size", "int", 3, 1, 7)),
}


def param(layer_type: str, name: str) -> Param:
    """One parameter of a layer type, with its bounds: `param("Dropout", "rate").maximum` -> 0.95."""
    return next(p for p in LAYER_TYPES[layer_type] if p.name == name)


#: Layers that need an image-shaped (height, width, channels) input.
SPATIAL_TYPES = frozenset(
    {"Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "InceptionBlock", "ResidualBlock"}
)


def layer_prefix(layer_type: str) -> str:
    """`"MaxPooling2D"` -> `"max_pooling2d"`: the stem of explicit layer names."""
    out = []
    for i, ch in enumerate(layer_type):
        if ch.isupper() and i and not layer_type[i - 1].isupper() and layer_type[i - 1] != "2":
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


@dataclass
class LayerSpec:
    """One row of the layer stack: a type, its parameters and an explicit name."""

    type: str
    params: dict[str, Any] = field(default_factory=dict)
    name: str = ""

    def short(self) -> str:
        """A compact Keras-style label: 'Dense(100, sigmoid)', 'Conv2D(32, 3x3)', 'Dropout(0.3)'."""
        p = self.params
        init = "".join(  # what differs from Keras's defaults: "random_uniform", "bias ones"
            f", {'bias ' if k == 'bias_initializer' else ''}{p[k]}"
            for k, default in INITIALIZER_DEFAULTS.items()
            if p.get(k, default) != default
        )
        if self.type == "Dense":
            return f"Dense({p['units']}, {p['activation']}" + (f", L2 {p['l2']:g}" if p["l2"] else "") + init + ")"
        if self.type == "Conv2D":
            extra = "".join(
                [
                    f", stride {p['strides']}" if p["strides"] != 1 else "",
                    ", same" if p["padding"] == "same" else "",
                    f", {p['activation']}" if p["activation"] != "linear" else "",
                    init,
                ]
            )
            return f"Conv2D({p['filters']}, {p['kernel_size']}x{p['kernel_size']}{extra})"
        if self.type in ("MaxPooling2D", "AveragePooling2D"):
            return f"{self.type}({p['pool_size']})"
        if self.type == "Dropout":
            return f"Dropout({p['rate']:g})"
        if self.type == "Activation":
            return f"Activation({p['activation']})"
        if self.type in ("InceptionBlock", "ResidualBlock"):
            return f"{self.type}({p['filters']})"
        return self.type

    @classmethod
    def make(cls, layer_type: str, name: str = "", **params: Any) -> LayerSpec:
        """A layer with defaults filled in; unknown types or values raise SpecError."""
        if layer_type not in LAYER_TYPES:
            raise SpecError(f"unknown layer type {layer_type!r}; known: {', '.join(LAYER_TYPES)}")
        where = name or layer_type
        schema = {p.name: p for p in LAYER_TYPES[layer_type]}
        unknown = set(params) - set(schema)
        if unknown:
            raise SpecError(f"{where}: unknown parameter(s) {', '.join(sorted(unknown))}")
        clean = {p.name: p.clean(params.get(p.name, p.default), where) for p in schema.values()}
        return cls(layer_type, clean, name)


# --------------------------------------------------------------------------- the spec parts

OPTIMIZERS = ("sgd", "adagrad", "rmsprop", "adam", "adamw", "adadelta")
#: How the learning rate changes during training. keras2_decay is Keras 2's `decay` argument (lr / (1 + decay * t)
#: per update), which Keras 3 removed: InverseTimeDecay with decay_steps=1 is exactly it. plateau is the
#: ReduceLROnPlateau callback; the others are keras.optimizers.schedules.
SCHEDULES = ("none", "keras2_decay", "step", "exponential", "cosine", "plateau")
#: Keras 3 defaults. The tutorials ran Keras 2, where Adagrad was 0.01 and Adadelta 1.0:
#: recipes set those explicitly.
DEFAULT_LEARNING_RATES = {
    "sgd": 0.01,
    "adagrad": 0.001,
    "rmsprop": 0.001,
    "adam": 0.001,
    "adamw": 0.001,
    "adadelta": 0.001,
}
LOSSES = (
    "auto",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "binary_crossentropy",
    "mean_squared_error",
    "mean_absolute_error",
    "huber",
)
VALIDATION_SOURCES = ("test", "split")
TRANSFER_MODES = ("features", "finetune")
TRANSFER_PREPROCESS = ("model", "rescale")
FILL_MODES = ("nearest", "constant", "reflect", "wrap")
COLOR_MODES = ("rgb", "grayscale")


def knob(
    default: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    step: float | None = None,
    choices: tuple[str, ...] | None = None,
    widget: tuple[float, float] | None = None,
) -> Any:
    """A spec field with what checks it and what its widget offers (core/spec.py is the one source of both).

    `low`..`high` is what a spec may hold (a link or a file is refused outside it); `widget` is the part of it
    the page's slider offers, when that is less; `step` is the widget's step; `choices` the allowed words.
    """
    meta: dict[str, Any] = {}
    if low is not None:
        meta["range"] = (low, high)
    for key, value in (("step", step), ("choices", choices), ("widget", widget)):
        if value is not None:
            meta[key] = value
    return field(default=default, metadata=meta)


def meta(cls, name: str) -> dict[str, Any]:
    """The declared range, step, choices and widget range of one field of a spec part."""
    return dict(next(f.metadata for f in fields(cls) if f.name == name))


@dataclass
class DataSpec:
    """Which dataset, how much of it, and what validates the training."""

    name: str = "moons"
    n_samples: int = knob(600, 20, 20000, step=50, widget=(50, 5000))  # synthetic 2-D sets only
    noise: float = knob(0.2, 0.0, 2.0, step=0.05, widget=(0.0, 1.0))  # synthetic 2-D sets only
    test_fraction: float = knob(0.25, 0.05, 0.9, step=0.05, widget=(0.1, 0.5))  # built-in sets without their own test split
    train_size: int | None = knob(None, 1, 10_000_000, step=100)  # keep the first N training samples (None: all)
    test_size: int | None = knob(None, 1, 10_000_000, step=100)  # keep the first N test samples (None: all)
    # "test": the test set as validation_data; "split": a fraction of the training data
    validation: str = knob("test", choices=VALIDATION_SOURCES)
    validation_split: float = knob(0.2, 0.05, 0.9, step=0.05, widget=(0.05, 0.5))
    standardize: bool = False  # tabular/2-D: a Normalization layer adapted to the training data
    seed: int = knob(0, 0, 2**31 - 1, step=1)
    # Uploaded data (name "folder" or "csv"): which upload ("" = the bundled demo folder) and how to read it.
    source: str = ""
    image_height: int = knob(60, 8, 256, step=1)  # flow_from_directory's target_size
    image_width: int = knob(90, 8, 256, step=1)
    color_mode: str = knob("rgb", choices=COLOR_MODES)  # "rgb" | "grayscale"
    label_column: str = ""  # CSV only


@dataclass
class AugmentSpec:
    """ImageDataGenerator settings: the augmentation studio's controls, and training with them.

    Names and meanings are Keras's own; `brightness_min/max` form `brightness_range`
    (both 1.0: off). `rescale` only affects the studio's preview: the model already
    divides pixels by 255 in its `rescale` layer.
    """

    enabled: bool = False  # train with augmentation (image datasets)
    rotation_range: float = knob(0.0, 0.0, 180.0, step=5.0)
    width_shift_range: float = knob(0.0, 0.0, 1.0, step=0.05)
    height_shift_range: float = knob(0.0, 0.0, 1.0, step=0.05)
    shear_range: float = knob(0.0, 0.0, 90.0, step=5.0)
    zoom_range: float = knob(0.0, 0.0, 1.0, step=0.05)
    channel_shift_range: float = knob(0.0, 0.0, 255.0, step=5.0)
    brightness_min: float = knob(1.0, 0.05, 3.0, step=0.05, widget=(0.1, 3.0))
    brightness_max: float = knob(1.0, 0.05, 3.0, step=0.05, widget=(0.1, 3.0))
    horizontal_flip: bool = False
    vertical_flip: bool = False
    fill_mode: str = knob("nearest", choices=FILL_MODES)
    cval: float = knob(0.0, 0.0, 255.0, step=5.0)
    rescale: float = knob(0.0, 0.0, 1.0)  # 0: None
    featurewise_center: bool = False
    featurewise_std_normalization: bool = False
    samplewise_center: bool = False
    samplewise_std_normalization: bool = False
    seed: int = 1


@dataclass
class TransferSpec:
    """Transfer learning (tutorial 003, 4.4): a pretrained base under the layer stack, which becomes the head.

    `features`: the base is frozen and run once over the data (bottleneck features, cached),
    and only the head trains on them. `finetune`: base and head train together, the first
    `frozen` layers of the base staying frozen. `preprocess`: the base's own
    `preprocess_input`, or the tutorial's `rescale=1/255`.
    """

    base: str = ""  # a core.pretrained.ZOO key; "" = no transfer learning
    mode: str = knob("features", choices=TRANSFER_MODES)
    frozen: int = knob(15, 0, 1000, step=1)
    preprocess: str = knob("model", choices=TRANSFER_PREPROCESS)


@dataclass
class CompileSpec:
    optimizer: str = knob("adam", choices=OPTIMIZERS)
    learning_rate: float = knob(0.001, 1e-7, 100.0)
    momentum: float = knob(0.0, 0.0, 0.999, step=0.01, widget=(0.0, 0.99))  # SGD and RMSprop
    nesterov: bool = False  # SGD
    weight_decay: float = knob(0.004, 0.0, 1.0)  # AdamW
    # Adagrad: Keras 3 starts its sums of squared gradients at 0.1; Keras 2 at 0
    initial_accumulator: float = knob(0.1, 0.0, 10.0)
    schedule: str = knob("none", choices=SCHEDULES)
    decay: float = knob(1e-6, 0.0, 1.0)  # keras2_decay: per update
    schedule_factor: float = knob(0.5, 0.01, 1.0, step=0.05, widget=(0.05, 0.95))  # step, exponential, plateau
    schedule_epochs: int = knob(10, 1, 1000)  # step, exponential: epochs per factor; plateau: patience
    loss: str = knob("auto", choices=LOSSES)  # "auto": picked to match the output layer


@dataclass
class FitSpec:
    batch_size: int = knob(32, 1, 8192, step=1)
    epochs: int = knob(20, 1, 1000, step=1)
    early_stopping: bool = False
    patience: int = knob(3, 0, 1000, step=1)
    restore_best_weights: bool = True
    shuffle: bool = True
    seed: int = knob(42, 0, 2**31 - 1, step=1)
    tensorboard: bool = False  # write TensorBoard logs (histogram_freq=1), as tutorial 000 does


PARTS = {"data": DataSpec, "compile": CompileSpec, "fit": FitSpec, "augment": AugmentSpec, "transfer": TransferSpec}


def field_range(part: str, name: str) -> tuple[float, float]:
    """The allowed range of one spec field, e.g. `field_range("fit", "epochs")` -> (1, 1000)."""
    return meta(PARTS[part], name)["range"]


def _coerce(value: Any, f, where: str) -> Any:
    """One JSON value in the type its field declares (`int | None` fields take null), or SpecError."""
    optional = "None" in str(f.type)
    if value is None and optional:
        return None
    kind = str(f.type).split("|")[0].strip()
    try:
        if kind == "bool":
            if not isinstance(value, bool):
                raise TypeError
        elif kind == "int":
            if isinstance(value, bool) or float(value) != int(value):
                raise TypeError
            value = int(value)
        elif kind == "float":
            value = float(value)
        elif kind == "str" and not isinstance(value, str):
            raise TypeError
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{where}: expected {kind}, got {value!r}") from exc
    return value


def _check(value: Any, declared: dict, where: str, optional: bool = False) -> None:
    """A value inside its field's declared range and choices, or SpecError."""
    if value is None:
        return
    if "range" in declared:
        low, high = declared["range"]
        if optional and value < low:
            raise SpecError(f"{where}: must be at least {low} (or null for all)")
        if not low <= value <= high:
            raise SpecError(f"{where}: {value} is outside {low}..{high}")
    choices = declared.get("choices")
    if choices and value not in choices:
        raise SpecError(f"{where}: must be one of {', '.join(choices)}, got {value!r}")


def _read_part(cls, raw: Any, part: str):
    """Build one dataclass part from a dict, checking types, ranges and choices as its fields declare them."""
    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        raise SpecError(f"{part} must be an object, got {type(raw).__name__}")
    known = {f.name: f for f in fields(cls)}
    unknown = set(raw) - set(known)
    if unknown:
        raise SpecError(f"{part}: unknown field(s) {', '.join(sorted(unknown))}")
    values = {}
    for name, value in raw.items():
        where = f"{part}.{name}"
        values[name] = _coerce(value, known[name], where)
        _check(values[name], dict(known[name].metadata), where, optional="None" in str(known[name].type))
    return cls(**values)


def _read_place(raw: Any) -> list:
    """A comparison place: a list of [setting, value] pairs (values are numbers, words or booleans)."""
    if raw in (None, []):
        return []
    ok = isinstance(raw, list) and all(
        isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) and isinstance(p[1], (str, int, float, bool)) for p in raw
    )
    if not ok:
        raise SpecError("compare must be a list of [setting, value] pairs")
    return [list(p) for p in raw]


def tutorial_augmentation(enabled: bool = True) -> AugmentSpec:
    """Tutorial 003's ImageDataGenerator settings: shifts 0.3, rotation 30, zoom 0.3, both flips."""
    return AugmentSpec(
        enabled=enabled, width_shift_range=0.3, rotation_range=30.0, zoom_range=0.3, horizontal_flip=True, vertical_flip=True
    )


@dataclass
class ExperimentSpec:
    """Dataset + layers + compile + fit settings. The output layer comes from the dataset."""

    data: DataSpec = field(default_factory=DataSpec)
    layers: list[LayerSpec] = field(default_factory=list)
    compile: CompileSpec = field(default_factory=CompileSpec)
    fit: FitSpec = field(default_factory=FitSpec)
    augment: AugmentSpec = field(default_factory=AugmentSpec)
    transfer: TransferSpec = field(default_factory=TransferSpec)
    recipe: str = ""  # the tutorial recipe this spec started from, if any
    compare: list = field(default_factory=list)  # [[setting, value], ...]: its place in a comparison (core/compare.py)
    version: int = 1

    # ---- JSON round trip

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, raw: Any) -> ExperimentSpec:
        if not isinstance(raw, dict):
            raise SpecError("a spec must be a JSON object")
        unknown = set(raw) - {"data", "layers", "compile", "fit", "augment", "transfer", "recipe", "compare", "version"}
        if unknown:
            raise SpecError(f"unknown field(s) {', '.join(sorted(unknown))}")
        layers_raw = raw.get("layers", [])
        if not isinstance(layers_raw, list):
            raise SpecError("layers must be a list")
        layers = []
        for i, item in enumerate(layers_raw):
            if not isinstance(item, dict) or "type" not in item:
                raise SpecError(f"layers[{i}] must be an object with a type")
            params = item.get("params") or {}
            if not isinstance(params, dict):
                raise SpecError(f"layers[{i}].params must be an object")
            layers.append(LayerSpec.make(str(item["type"]), str(item.get("name") or ""), **params))
        spec = cls(
            data=_read_part(DataSpec, raw.get("data"), "data"),
            layers=layers,
            compile=_read_part(CompileSpec, raw.get("compile"), "compile"),
            fit=_read_part(FitSpec, raw.get("fit"), "fit"),
            augment=_read_part(AugmentSpec, raw.get("augment"), "augment"),
            transfer=_read_part(TransferSpec, raw.get("transfer"), "transfer"),
            recipe=str(raw.get("recipe") or ""),
            compare=_read_place(raw.get("compare")),
        )
        spec.ensure_layer_names()
        return spec

    @classmethod
    def from_json(cls, text: str) -> ExperimentSpec:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(f"not valid JSON: {exc.msg} (line {exc.lineno})") from exc
        return cls.from_dict(raw)

    def copy(self) -> ExperimentSpec:
        return copy.deepcopy(self)

    # ---- layer stack editing (names stay unique and explicit)

    def ensure_layer_names(self) -> None:
        """Give every unnamed layer a unique explicit name like `dense_2`."""
        taken = {layer.name for layer in self.layers if layer.name}
        for layer in self.layers:
            if not layer.name:
                layer.name = self._free_name(layer_prefix(layer.type), taken)
                taken.add(layer.name)
        seen: set[str] = set()
        for layer in self.layers:
            if layer.name in seen:
                raise SpecError(f"two layers are named {layer.name!r}; layer names must be unique")
            seen.add(layer.name)

    @staticmethod
    def _free_name(prefix: str, taken: set[str]) -> str:
        i = 1
        while f"{prefix}_{i}" in taken:
            i += 1
        return f"{prefix}_{i}"

    def add_layer(self, layer_type: str, index: int | None = None, **params: Any) -> LayerSpec:
        layer = LayerSpec.make(layer_type, **params)
        layer.name = self._free_name(layer_prefix(layer_type), {other.name for other in self.layers})
        self.layers.insert(len(self.layers) if index is None else index, layer)
        return layer

    def remove_layer(self, name: str) -> None:
        self.layers = [layer for layer in self.layers if layer.name != name]

    def move_layer(self, name: str, offset: int) -> None:
        """Move a layer up (offset -1) or down (+1) the stack."""
        names = [layer.name for layer in self.layers]
        i = names.index(name)
        j = min(max(i + offset, 0), len(self.layers) - 1)
        self.layers.insert(j, self.layers.pop(i))

    def set_optimizer(self, optimizer: str) -> None:
        """Switch optimizer and take its Keras 3 default learning rate."""
        if optimizer not in OPTIMIZERS:
            raise SpecError(f"unknown optimizer {optimizer!r}")
        self.compile.optimizer = optimizer
        self.compile.learning_rate = DEFAULT_LEARNING_RATES[optimizer]

    @property
    def regression(self) -> bool:
        """Whether the model predicts values (a regression dataset) rather than classes."""
        return task_of(self.data.name) == "regression"

    # ---- defaults

    @classmethod
    def default_for(cls, dataset: str, kind: str | None = None) -> ExperimentSpec:
        """A sensible starting model for a dataset (see `default_layers`)."""
        spec = cls(data=DataSpec(name=dataset))
        kind = kind or dataset_kind(dataset)
        spec.layers = default_layers(kind)
        spec.ensure_layer_names()
        if kind == "points":
            # Small data, small net: a livelier learning rate and small batches converge in seconds.
            spec.compile.learning_rate = 0.01
            spec.fit.epochs, spec.fit.batch_size = 40, 16
            spec.data.noise = 0.15
        if kind == "tabular":
            spec.data.standardize = True
        if kind == "tabular" and task_of(dataset) == "regression":
            # The TensorFlow regression tutorial's DNN: standardised features, two ReLU layers of 64, 100 epochs.
            spec.layers = [LayerSpec.make("Dense", units=64, activation="relu") for _ in range(2)]
            spec.ensure_layer_names()
            spec.fit.epochs = 100
        if kind == "image":
            spec.fit.epochs = 5
            spec.fit.batch_size = 128
        # The studio opens on tutorial 003's augmentation (off for training until switched on).
        spec.augment = tutorial_augmentation(enabled=False)
        return spec


def schedule_fields(c: CompileSpec) -> dict[str, str]:
    """The numbers a schedule's description shows."""
    return {"decay": f"{c.decay:g}", "factor": f"{c.schedule_factor:g}", "epochs": str(c.schedule_epochs)}


def settings_table(spec: ExperimentSpec) -> dict[str, Any]:
    """The spec flattened to setting -> value, for comparing runs side by side.

    Keys are catalogue keys under `settings.`; values are text, or (key, fields)
    pairs for words that need translating.
    """
    d, c, f = spec.data, spec.compile, spec.fit
    rows: dict[str, Any] = {
        "dataset": d.name,
        "train_samples": str(d.train_size) if d.train_size else ("settings.all", {}),
        "test_samples": str(d.test_size) if d.test_size else ("settings.all", {}),
        "validation": ("settings.test_set", {})
        if d.validation == "test"
        else ("settings.split", {"fraction": f"{d.validation_split:g}"}),
        "layers": " → ".join(layer.short() for layer in spec.layers) or "-",
        "optimizer": c.optimizer,
        "learning_rate": f"{c.learning_rate:g}",
        "loss": c.loss,
        "batch_size": str(f.batch_size),
        "epochs": str(f.epochs),
        "early_stopping": ("settings.patience", {"patience": f.patience}) if f.early_stopping else ("settings.off", {}),
        "seed": str(f.seed),
    }
    if c.optimizer in ("sgd", "rmsprop"):
        rows["momentum"] = f"{c.momentum:g}"
    if c.optimizer == "adagrad":
        rows["initial_accumulator"] = f"{c.initial_accumulator:g}"
    if c.schedule != "none":
        rows["schedule"] = (f"settings.schedule_{c.schedule}", schedule_fields(c))
    if kind_of(d.name) == "points":
        rows["noise"] = f"{d.noise:g}"
        rows["points"] = str(d.n_samples)
    if d.name == "folder":
        rows["image_size"] = f"{d.image_height}x{d.image_width} {d.color_mode}"
    if kind_of(d.name) == "image":
        a = spec.augment
        on = [
            f"{k}={getattr(a, k)}"
            for k in (
                "rotation_range",
                "width_shift_range",
                "height_shift_range",
                "shear_range",
                "zoom_range",
                "channel_shift_range",
                "horizontal_flip",
                "vertical_flip",
            )
            if getattr(a, k)
        ]
        rows["augmentation"] = ", ".join(on) if a.enabled and on else ("settings.off", {})
    tr = spec.transfer
    if tr.base:
        rows["transfer"] = f"{tr.base} {tr.mode}" + (f" (frozen {tr.frozen})" if tr.mode == "finetune" else "")
    return rows


def dataset_kind(name: str) -> str:
    return kind_of(name)


def default_layers(kind: str) -> list[LayerSpec]:
    """Small models that train in seconds on a CPU and do well on their kind of data."""
    if kind == "points":
        # TensorFlow Playground's default: two small tanh layers.
        return [LayerSpec.make("Dense", units=8, activation="tanh"), LayerSpec.make("Dense", units=8, activation="tanh")]
    if kind == "tabular":
        return [LayerSpec.make("Dense", units=32, activation="relu"), LayerSpec.make("Dropout", rate=0.1)]
    return [
        LayerSpec.make("Flatten"),
        LayerSpec.make("Dense", units=128, activation="relu"),
        LayerSpec.make("Dropout", rate=0.2),
    ]

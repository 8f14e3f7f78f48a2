"""Comparisons: one or two settings, several values each, trained together as one group of runs.

The tutorials teach by comparison (tutorial 003: SGD against AdaGrad, RMSprop and Adam; sigmoid
against tanh and relu). A comparison is a base spec and one or two axes, each a setting and the
values to try; every combination of values is one run, at most MAX_RUNS. Each run's spec carries
its place in the comparison (`spec.compare`: [[setting, value], ...], in axis order), so the run
store alone is enough to draw a comparison again on any page of any web server: its curves, its
table, its heatmap.

Example:
    >>> base = ExperimentSpec.default_for("moons")
    >>> plan = Comparison(base, (Axis("learning_rate", (0.001, 0.1)), Axis("batch_size", (16, 64)))).plan()
    >>> [(place_text(spec.compare), spec.compile.learning_rate, spec.fit.batch_size) for spec in plan]
    [('0.001 · 16', 0.001, 16), ('0.001 · 64', 0.001, 64), ('0.1 · 16', 0.1, 16), ('0.1 · 64', 0.1, 64)]
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.i18n import LocalizedError
from core.spec import (
    ACTIVATIONS,
    INITIALIZERS,
    OPTIMIZERS,
    SCHEDULES,
    CompileSpec,
    ExperimentSpec,
    FitSpec,
    LayerSpec,
    dataset_kind,
    meta,
    param,
)

#: Runs in one comparison: four values of two settings. A room of 30 learners each starting one still fits the queue.
MAX_RUNS = 16
#: A search's trials: at least two (one is not a comparison), eight to start with.
MIN_TRIALS, DEFAULT_TRIALS = 2, 8
#: Values one axis may have (a single setting may take all the runs).
MAX_VALUES = MAX_RUNS

#: Group ids: every comparison's starts with GROUP_PREFIX, a search's (core/search.py) with SEARCH_PREFIX.
GROUP_PREFIX = "cmp-"
SEARCH_PREFIX = f"{GROUP_PREFIX}search-"

#: The stop message of a search's trial that Optuna's pruner ended: how the store tells "pruned" from "stopped".
PRUNED = "compare.pruned"

#: What a comparison is ranked by, and which way is better.
METRICS = {"val_accuracy": max, "accuracy": max, "val_loss": min, "loss": min, "val_mae": min, "mae": min}

#: The optimizers as the tutorials ran them (Keras 2's defaults), for races true to tutorial 003.
#: Keras 3 changed Adagrad's learning rate (0.01 -> 0.001) and its accumulator's start (0 -> 0.1), and Adadelta's (1.0 -> 0.001).
TUTORIAL_OPTIMIZERS: dict[str, dict[str, Any]] = {
    "sgd": dict(optimizer="sgd", learning_rate=0.01),
    "sgd_momentum": dict(optimizer="sgd", learning_rate=0.01, momentum=0.9),
    "sgd_nesterov": dict(optimizer="sgd", learning_rate=0.01, momentum=0.9, nesterov=True),
    "adagrad": dict(optimizer="adagrad", learning_rate=0.01, initial_accumulator=0.0),
    "rmsprop": dict(optimizer="rmsprop", learning_rate=0.001),
    "adam": dict(optimizer="adam", learning_rate=0.001),
    "adadelta": dict(optimizer="adadelta", learning_rate=1.0),
}

_WEIGHTED = ("Dense", "Conv2D")  # layers with an activation, an initializer and an L2 penalty


class ComparisonError(LocalizedError):
    """A comparison that cannot be planned; the message says what to change."""


@dataclass(frozen=True)
class Setting:
    """One thing a comparison can vary. Per-layer settings name their layer: `units@dense_1`."""

    id: str
    kind: str  # "choice" | "int" | "float" | "bool"
    choices: tuple = ()
    low: float | None = None
    high: float | None = None
    log: bool = False  # a range of it is spread evenly on a log scale (rates, batch sizes)

    @property
    def name(self) -> str:
        """The setting without its layer: the catalogue key of its label (`compare.setting.<name>`)."""
        return self.id.split("@")[0]

    @property
    def layer(self) -> str:
        return self.id.partition("@")[2]

    def clean(self, value: Any) -> Any:
        """One value as the setting holds it; raises ComparisonError with a plain message."""
        try:
            if self.kind == "int":
                number = float(value)
                if number != int(number):
                    raise ValueError
                value = int(number)
            elif self.kind == "float":
                value = float(value)
                if not math.isfinite(value):
                    raise ValueError
            elif self.kind == "bool":
                value = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "on", "yes")
        except (TypeError, ValueError):
            raise ComparisonError("compare.error.not_number", value=str(value), kind=self.kind) from None
        if self.kind == "choice" and value not in self.choices:
            raise ComparisonError("compare.error.not_choice", value=str(value), choices=", ".join(self.choices))
        if self.low is not None and self.high is not None and not self.low <= value <= self.high:
            raise ComparisonError("compare.error.out_of_range", value=f"{value:g}", low=f"{self.low:g}", high=f"{self.high:g}")
        return value


def _knob(part, name: str, setting_id: str, log: bool = False) -> Setting:
    m = meta(part, name)
    kind = "int" if isinstance(getattr(part(), name), int) else "float"
    low, high = m.get("widget", m["range"])
    return Setting(setting_id, kind, low=low, high=high, log=log)


def _layer_knob(layer: LayerSpec, name: str) -> Setting:
    p = param(layer.type, name)
    return Setting(f"{name}@{layer.name}", p.kind, low=p.minimum, high=p.maximum)


def settings_for(spec: ExperimentSpec) -> list[Setting]:
    """The settings a comparison of this spec can vary, in the order the builder offers them."""
    found = [
        Setting("optimizer", "choice", OPTIMIZERS),
        Setting("tutorial_optimizer", "choice", tuple(TUTORIAL_OPTIMIZERS)),
        _knob(CompileSpec, "learning_rate", "learning_rate", log=True),
        _knob(FitSpec, "batch_size", "batch_size", log=True),
        _knob(FitSpec, "epochs", "epochs"),
        _knob(CompileSpec, "momentum", "momentum"),
        Setting("schedule", "choice", SCHEDULES),
    ]
    weighted = [layer for layer in spec.layers if layer.type in _WEIGHTED]
    if any("activation" in layer.params for layer in spec.layers):
        found.append(Setting("activation", "choice", tuple(a for a in ACTIVATIONS if a != "softmax")))
    if weighted:
        found.append(Setting("kernel_initializer", "choice", INITIALIZERS))
        found.append(Setting("l2", "float", low=0.0, high=param("Dense", "l2").maximum))
    if any(layer.type == "Dropout" for layer in spec.layers):
        found.append(Setting("dropout", "float", low=0.0, high=param("Dropout", "rate").maximum))
    if dataset_kind(spec.data.name) == "image":
        found.append(Setting("augmentation", "bool", (False, True)))
    for layer in spec.layers:
        for name in ("units", "filters", "rate"):
            if name in layer.params:
                found.append(_layer_knob(layer, name))
    return found


def setting(spec: ExperimentSpec, setting_id: str) -> Setting:
    """The named setting of this spec; raises ComparisonError when the spec has no such thing to vary."""
    for s in settings_for(spec):
        if s.id == setting_id:
            return s
    raise ComparisonError("compare.error.unknown_setting", setting=setting_id)


def _hidden_activations(spec: ExperimentSpec) -> list[LayerSpec]:
    """Layers whose activation "the activation" means: Activation layers, and Dense/Conv2D that are not linear on
    purpose (batchnorm-mlp's Dense layers stay linear before their BatchNormalization)."""
    found = [layer for layer in spec.layers if "activation" in layer.params and layer.params["activation"] != "linear"]
    return found or [layer for layer in spec.layers if "activation" in layer.params]


def _targets(spec: ExperimentSpec, s: Setting) -> tuple[list[LayerSpec], str]:
    """The layers a layer setting changes, and the parameter it changes in them."""
    weighted = [layer for layer in spec.layers if layer.type in _WEIGHTED]
    if s.name == "activation":
        return _hidden_activations(spec), "activation"
    if s.name in ("kernel_initializer", "l2"):
        return weighted, s.name
    if s.name == "dropout":
        return [layer for layer in spec.layers if layer.type == "Dropout"], "rate"
    return [layer for layer in spec.layers if layer.name == s.layer], s.name


def _part_of(spec: ExperimentSpec, s: Setting):
    """The spec part holding a plain setting (compile, fit), or None."""
    c, f = spec.compile, spec.fit
    return {"learning_rate": c, "momentum": c, "schedule": c, "optimizer": c, "batch_size": f, "epochs": f}.get(s.name)


def current(spec: ExperimentSpec, s: Setting) -> Any:
    """The value the spec has now (the first layer's, for settings of every layer)."""
    c = spec.compile
    if (part := _part_of(spec, s)) is not None:
        return getattr(part, s.name)
    if s.name == "augmentation":
        return spec.augment.enabled
    if s.name == "tutorial_optimizer":
        full = lambda preset: {"momentum": 0.0, "nesterov": False, **preset}  # noqa: E731
        return next((k for k, v in TUTORIAL_OPTIMIZERS.items() if all(getattr(c, n) == x for n, x in full(v).items())), None)
    layers, key = _targets(spec, s)
    return layers[0].params.get(key) if layers else None


def apply(spec: ExperimentSpec, s: Setting, value: Any) -> None:
    """Set one setting on a spec (in place)."""
    c = spec.compile
    if s.name == "optimizer":
        spec.set_optimizer(value)  # with the optimizer's own Keras 3 default learning rate
    elif s.name == "tutorial_optimizer":
        c.momentum, c.nesterov = 0.0, False
        for key, v in TUTORIAL_OPTIMIZERS[value].items():
            setattr(c, key, v)
    elif (part := _part_of(spec, s)) is not None:
        setattr(part, s.name, value)
    elif s.name == "augmentation":
        spec.augment.enabled = value
    else:
        layers, key = _targets(spec, s)
        for layer in layers:
            layer.params[key] = value


def spread(s: Setting, low: float | str, high: float | str, count: int) -> tuple:
    """`count` values from `low` to `high`: evenly on a log scale for rates and batch sizes, else evenly.

    >>> spread(Setting("learning_rate", "float", low=1e-5, high=1.0, log=True), 0.001, 0.1, 3)
    (0.001, 0.01, 0.1)
    """
    if not 1 <= count <= MAX_VALUES:
        raise ComparisonError("compare.error.count", count=count, most=MAX_VALUES)
    if s.kind not in ("int", "float"):
        raise ComparisonError("compare.error.range_words", setting=s.id)
    low, high = float(s.clean(low)), float(s.clean(high))
    if count == 1:
        return (s.clean(low),)
    if s.log and low > 0 and high > 0:
        points = [math.exp(math.log(low) + (math.log(high) - math.log(low)) * i / (count - 1)) for i in range(count)]
    else:
        points = [low + (high - low) * i / (count - 1) for i in range(count)]
    values = [round(p) if s.kind == "int" else float(f"{p:.3g}") for p in points]
    return tuple(dict.fromkeys(s.clean(v) for v in values))


def parse_values(s: Setting, text: str) -> tuple:
    """Values typed as a list, or a range `from..to xcount`; a plain message for a wrong one.

    >>> lr = Setting("learning_rate", "float", low=1e-7, high=100.0, log=True)
    >>> parse_values(lr, "0.001, 0.01 0.1"), parse_values(lr, "0.0001..1 x5")
    ((0.001, 0.01, 0.1), (0.0001, 0.001, 0.01, 0.1, 1.0))
    """
    text = text.replace("、", ",").replace("×", "x").replace("…", "..").strip()
    if ".." in text:
        bounds, _, count = text.partition("x")
        low, _, high = bounds.partition("..")
        try:
            n = int(count.strip() or 5)
        except ValueError:
            raise ComparisonError("compare.error.range", text=text) from None
        return spread(s, low.strip(), high.strip(), n)
    values = tuple(dict.fromkeys(s.clean(w) for w in text.replace(",", " ").split()))
    if len(values) > MAX_VALUES:
        raise ComparisonError("compare.error.count", count=len(values), most=MAX_VALUES)
    return values


def default_metric(spec: ExperimentSpec) -> str:
    """What a comparison of this spec is ranked by: validation accuracy, or a regression's validation MAE."""
    return "val_mae" if spec.regression else "val_accuracy"


def suggestions(spec: ExperimentSpec, s: Setting) -> tuple:
    """Values a builder starts with: the current one and its neighbours (a decade apart for rates)."""
    now = current(spec, s)
    if s.kind == "choice":
        others = [c for c in s.choices if c != now]
        return tuple(dict.fromkeys([now, *others[:2]] if now in s.choices else others[:3]))
    if s.kind == "bool":
        return (False, True)
    if s.log and now:
        values = [now / 10, now, now * 10] if s.kind == "float" else [max(1, now // 4), now, now * 4]
    elif s.kind == "int":
        values = [max(1, now // 2), now, now * 2]
    elif not now:  # off now: the usual first tries
        values = {"momentum": [0.0, 0.5, 0.9], "l2": [0.0, 0.001, 0.01]}.get(s.name, [0.0, 0.25, 0.5])
    else:
        values = [0.0, now, min(s.high or 1.0, now * 2)]
    clean = []
    for v in values:
        try:
            clean.append(s.clean(float(f"{v:.3g}") if s.kind == "float" else int(v)))
        except ComparisonError:
            continue
    return tuple(dict.fromkeys(clean))


@dataclass(frozen=True)
class Axis:
    setting: str  # a Setting id
    values: tuple


@dataclass(frozen=True)
class Comparison:
    """A base spec and one or two axes: `plan()` is its runs."""

    base: ExperimentSpec
    axes: tuple[Axis, ...]

    def runs(self) -> int:
        return math.prod(len(a.values) for a in self.axes)

    def plan(self) -> list[ExperimentSpec]:
        """One spec per combination of values, first axis slowest; raises ComparisonError with what to change."""
        if not 1 <= len(self.axes) <= 2:
            raise ComparisonError("compare.error.axes")
        if len({a.setting for a in self.axes}) != len(self.axes):
            raise ComparisonError("compare.error.same_setting")
        settings = [setting(self.base, a.setting) for a in self.axes]
        for s, a in zip(settings, self.axes, strict=True):
            if len(a.values) < 1:
                raise ComparisonError("compare.error.no_values", setting=s.id)
        if self.runs() < 2:
            raise ComparisonError("compare.error.one_run")
        if self.runs() > MAX_RUNS:
            raise ComparisonError("compare.error.too_many", runs=self.runs(), most=MAX_RUNS)
        # An optimizer brings its own learning rate: set it first, so a learning-rate axis still has its say.
        order = sorted(range(len(settings)), key=lambda i: settings[i].name not in ("optimizer", "tutorial_optimizer"))
        specs = []
        for combo in itertools.product(*[[s.clean(v) for v in a.values] for s, a in zip(settings, self.axes, strict=True)]):
            spec = self.base.copy()
            for i in order:
                apply(spec, settings[i], combo[i])
            spec.compare = [[a.setting, v] for a, v in zip(self.axes, combo, strict=True)]
            spec.recipe = ""  # a variant of a recipe is not the recipe: its tutorial figure says nothing of it
            specs.append(spec)
        return specs


def value_text(value: Any) -> str:
    """A value as a label: numbers short (`0.001`, `1e-05`), words as they are."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def place_text(place: Sequence) -> str:
    """A run's place in its comparison as one label: `adam · 32`."""
    return " · ".join(value_text(v) for _, v in place)


def axes_of(runs: Sequence) -> list[str]:
    """The settings a group of runs compares, in axis order (read from any run's place)."""
    for run in runs:
        if run.spec.compare:
            return [name for name, _ in run.spec.compare]
    return []


def final(history: dict, metric: str) -> float | None:
    values = history.get(metric) or []
    value = float(values[-1]) if values else None
    return value if value is not None and math.isfinite(value) else None


def metrics_of(runs: Sequence) -> list[str]:
    """The ranking metrics these runs recorded, validation first."""
    return [m for m in METRICS if any(run.history.get(m) for run in runs)]


def table(runs: Sequence, metric: str) -> list[dict[str, Any]]:
    """One row per run, best first by `metric` (runs without it last): its place, status and final figures.

    Keys: "place" (label), "run_id", "seq" (its place in the queue), each axis setting id (its value), "status",
    "epochs_trained", "seconds", and every metric recorded (a comparison of epochs has both "epochs", the value,
    and "epochs_trained", what early stopping left).
    """
    rows = []
    metrics = metrics_of(runs)
    for run in runs:
        row: dict[str, Any] = {"place": place_text(run.spec.compare), "run_id": run.id, "seq": run.seq}
        row |= {name: value for name, value in run.spec.compare}
        pruned = run.message is not None and getattr(run.message, "key", "") == PRUNED
        row |= {"status": "pruned" if pruned else run.status, "epochs_trained": run.epochs, "seconds": round(run.seconds, 1)}
        row |= {m: final(run.history, m) for m in metrics}
        rows.append(row)
    better = METRICS.get(metric, max)
    sign = -1 if better is max else 1
    return sorted(rows, key=lambda r: (r.get(metric) is None, sign * (r.get(metric) or 0.0)))


def table_csv(rows: Sequence[dict]) -> str:
    """The ranked table as CSV, for a spreadsheet or pandas: a column per key of `table`'s rows, best first."""
    out = io.StringIO()
    columns = list(dict.fromkeys(k for r in rows for k in r))
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def outcome(runs: Sequence, metric: str) -> dict[str, float] | None:
    """Each run's final `metric` by its place label, or None while any run of the group is unsettled."""
    if not runs or any(not run.settled for run in runs):
        return None
    found = {place_text(run.spec.compare): final(run.history, metric) for run in runs}
    return {label: value for label, value in found.items() if value is not None} or None


def reveal(guess: str, outcome: dict[str, float], higher_is_better: bool = True) -> tuple[tuple[str, ...], str]:
    """(the runs that ended best, "right" | "wrong" | "tie") — predict-then-reveal.

    Two runs with the same figure share the first place: a guess on one of them is a tie, not a win.

    >>> reveal("a", {"a": 0.802, "b": 0.796, "c": 0.802})
    (('a', 'c'), 'tie')
    >>> reveal("b", {"a": 0.31, "b": 0.12}, higher_is_better=False)
    (('b',), 'right')
    """
    pick = max if higher_is_better else min
    top = pick(round(v, 6) for v in outcome.values())
    best = tuple(k for k, v in outcome.items() if round(v, 6) == top)
    if guess not in best:
        return best, "wrong"
    return best, "right" if len(best) == 1 else "tie"

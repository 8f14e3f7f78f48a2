"""How long a training will take: before it starts (from the model's FLOPs and the machine's measured
speed) and while it runs (from its own pace).

A training step costs a fixed overhead (Keras's per-step machinery; what small models are
bound by) plus, per sample, its arithmetic (the forward pass's FLOPs times three, forward and
backward, at the rate the machine reaches for that kind of layer) and its memory traffic (the
values the layers write and read back: few-channel convolutions, pooling and activations are
bound by this, not by their FLOPs). Every epoch adds
the validation pass, the engine's per-epoch work (weight histograms, the decision map, the
store) and, once, the tracing of the step functions; the end adds the evaluation. The
machine's figures (`MachineProfile`) are measured by each training worker when it starts
(`calibrate`) and kept in the run store, so the web server estimates without TensorFlow.

Example:
    >>> p = MachineProfile()
    >>> mnist = dict(train=60_000, val=10_000, test=10_000)
    >>> e = estimate(p, Work(flops=158_800, layers=2, variables=4, weights=79_510), batch=100, epochs=17, **mnist)
    >>> round(e.total) > 0
    True

Keras is imported inside the functions that use it, on purpose:
importing this module (the web server does) loads no TensorFlow.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np

from core.layer_wiring import Work, keras_work

#: The most recent profile any worker measured is good for this long.
PROFILE_MAX_AGE = 7 * 24 * 3600


@dataclass
class MachineProfile:
    """What one training step and one epoch cost on this machine (measured; these defaults are a 2-core VM's)."""

    step_overhead: float = 0.0012  # seconds per compiled call of `fit` (one step each by default), beyond arithmetic
    inner_step: float = 0.0001  # seconds per step inside a call of several steps, for a model of two layers
    layer_step: float = 4e-5  # seconds per step for each further layer (its ops' dispatch, whatever their size)
    update_variable: float = 1.5e-5  # seconds per step per trainable tensor, for Adam's update beyond SGD's
    update_weight: float = 3e-9  # seconds per step per trainable weight, the same
    eval_overhead: float = 0.0006  # seconds per validation/evaluation step
    dense_rate: float = 25e9  # FLOP/s reached by dense layers in training (forward + backward)
    conv_rate: float = 60e9  # FLOP/s reached by convolutions
    value_cost: float = 3e-9  # seconds per feature-map value (core/layer_wiring.map_values) per sample in training
    epoch_overhead: float = 0.05  # seconds per epoch: callbacks, histograms, writes
    trace: float = 1.2  # seconds, once: tracing the train and test steps of a model of two layers
    trace_layer: float = 0.03  # seconds of tracing per further layer
    trace_update: float = 0.05  # seconds of tracing Adam's update, per trainable tensor
    setup: float = 1.0  # seconds, once: loading the data, building the model
    augment_per_image: float = 0.0006  # seconds per augmented picture (ImageDataGenerator, two threads)
    measured: float = 0.0  # when it was measured (0: the defaults)
    # Learnt from the runs finished here since (`refit`): actual / estimated seconds of each part of the time.
    epoch_fixed_scale: float = 1.0
    steps_scale: float = 1.0
    dense_scale: float = 1.0
    conv_scale: float = 1.0
    trace_scale: float = 1.0

    @classmethod
    def from_json(cls, text: str) -> MachineProfile:
        raw = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: float(v) for k, v in raw.items() if k in known})

    def to_json(self) -> str:
        return json.dumps(asdict(self))


#: What an optimizer's update costs per step, relative to Adam's (beyond plain SGD's, which the FLOP rates hold).
UPDATE_COST = {"sgd": 0.0, "adagrad": 1.0, "rmsprop": 1.0, "adam": 1.0, "adamw": 1.0, "adadelta": 1.0}


def update_cost(optimizer: str, momentum: float = 0.0) -> float:
    """`UPDATE_COST` of a compile setting: SGD with momentum keeps one slot (half of Adam's two).

    >>> update_cost("sgd", momentum=0.9), update_cost("adam")
    (0.5, 1.0)
    """
    if optimizer == "sgd":
        return 0.5 if momentum else 0.0
    return UPDATE_COST.get(optimizer, 1.0)


@dataclass
class Estimate:
    total: float  # seconds for the whole run
    per_epoch: float  # seconds per epoch after the first
    first_epoch: float
    evaluation: float
    val_share: float  # the share of an epoch that validation takes
    epochs: int
    parts: dict[str, float] = field(default_factory=dict)  # `PARTS` and "augment" of an epoch, and "trace": unscaled


#: What bounds an epoch's time: its fixed cost (fit's own, our callbacks), Keras's per-step work, dense arithmetic,
#: convolutions (arithmetic and memory traffic). Each has a scale learnt from finished runs (`refit`); tracing,
#: the first epoch's extra, has its own.
PARTS = ("epoch_fixed", "steps", "dense", "conv")

#: A compiled execution runs this many seconds of steps at most: batch progress reaches the page at least twice a
#: second, and Stop (checked after every execution) lands well within a second.
EXECUTION_SECONDS = 0.2


def _sample(p: MachineProfile, w: Work) -> tuple[float, float]:
    """Seconds of one sample's training step beyond the per-step overhead: (dense arithmetic, convolutions)."""
    dense = 3 * (w.flops - w.conv_flops) / p.dense_rate
    return dense, 3 * w.conv_flops / p.conv_rate + w.map_values * p.value_cost


def _forward(p: MachineProfile, dense: float, conv: float) -> float:
    """Seconds of one sample's forward pass (evaluation, prediction): a third of its training step, at the pace
    finished runs showed (the learnt scales)."""
    return (dense * p.dense_scale + conv * p.conv_scale) / 3


def _step(p: MachineProfile, w: Work, update: float) -> float:
    """Seconds of one step inside a compiled call, whatever its batch: dispatching the layers' ops, the update."""
    layers = max(w.layers - 2, 0) * p.layer_step
    return p.inner_step + layers + update * (w.variables * p.update_variable + w.weights * p.update_weight)


def steps_per_execution(p: MachineProfile, w: Work, *, batch: int, steps: int) -> int:
    """How many training steps Keras should run per compiled call (`steps_per_execution`).

    Small models are bound by Keras's per-step overhead, not arithmetic: fewer, bigger calls remove
    most of it. The batches, their order and the numbers stay exactly those of a plain `fit`.

    >>> steps_per_execution(MachineProfile(), Work(flops=158_800, layers=2), batch=100, steps=600)
    64
    """
    step = p.step_overhead + batch * sum(_sample(p, w))
    return int(max(1, min(64, steps, EXECUTION_SECONDS // max(step, 1e-6))))


def estimate(
    p: MachineProfile,
    w: Work,
    *,
    batch: int,
    train: int,
    val: int,
    test: int,
    epochs: int,
    update: float = 0.0,
    augmented: bool = False,
    images: bool = False,
    loading: float = 0.0,
    once: Work | None = None,
    once_samples: int = 0,
) -> Estimate:
    """Seconds for a run of the model `w`; `update`: its optimizer's `update_cost`. `loading`: seconds reading the
    data (measured where it was read before); `once`: work per sample done once before training, for
    `once_samples` (transfer features)."""
    steps, val_steps, test_steps = -(-train // batch), -(-val // batch), -(-test // 512)
    per_call = steps_per_execution(p, w, batch=batch, steps=steps)
    dense, conv = _sample(p, w)
    val_overhead = val_steps * (p.eval_overhead / per_call + p.inner_step)
    parts = {
        "epoch_fixed": p.epoch_overhead,
        "steps": steps * (p.step_overhead / per_call + _step(p, w, update)) + val_overhead,
        "dense": (train + val / 3) * dense,  # validation: the forward pass, a third of a training step's work
        "conv": (train + val / 3) * conv,
        "augment": train * p.augment_per_image if augmented else 0.0,
        "trace": p.trace + max(w.layers - 2, 0) * p.trace_layer + update * w.variables * p.trace_update,
    }
    per_epoch = sum(parts[k] * getattr(p, f"{k}_scale") for k in PARTS) + parts["augment"]
    forward = _forward(p, dense, conv)
    evaluation = 2 * (test_steps * p.eval_overhead * 4 + test * forward) + (0.15 if images else 0.1)
    first = per_epoch + parts["trace"] * p.trace_scale
    features = once_samples * _forward(p, *_sample(p, once)) if once else 0.0
    total = p.setup + loading + features + first + (epochs - 1) * per_epoch + evaluation
    val_share = (val_overhead + val / 3 * (dense + conv)) / per_epoch if per_epoch else 0.0
    return Estimate(total, per_epoch, first, evaluation, val_share, epochs, parts)


#: How strongly the learnt scales are held at 1 (the calibration): the weight of a run the part is all of.
PRIOR = 0.1
#: The finished runs `refit` learns from: the latest few, so that the scales follow the machine as it changes.
OBSERVED_RUNS = 12


def refit(p: MachineProfile, observed: list[dict]) -> MachineProfile:
    """The profile with its scales learnt from finished runs, each one's `Estimate.parts` (made with scales of 1)
    and its actual seconds: "epoch" (an epoch after the first) and "first_extra" (the first's extra: tracing).

    Each part's scale is the mean (of logarithms) of the runs' actual / estimated ratios, each run weighted by
    the square of the part's share in it, with `PRIOR` for the calibration: a run bound by convolutions
    teaches the convolutions' scale and barely touches the others, and nothing swings one part to make up for
    another.

    >>> p = refit(MachineProfile(), [{"epoch_fixed": 0, "steps": 0.1, "dense": 1.9, "conv": 0, "augment": 0,
    ...                                "trace": 1, "epoch": 1, "first_extra": 1}])
    >>> round(p.dense_scale, 2), p.conv_scale, round(p.trace_scale, 2)
    (0.54, 1.0, 1.0)
    """
    learnt = {}
    estimated = [max(sum(o[j] for j in PARTS), 1e-9) for o in observed]
    ratios = [_ratio(o["epoch"] - o["augment"], e) for o, e in zip(observed, estimated, strict=True)]
    for k in PARTS:
        shares = [o[k] / e for o, e in zip(observed, estimated, strict=True)]
        learnt[f"{k}_scale"] = _weighted_scale([(share**2, r) for share, r in zip(shares, ratios, strict=True)])
    # The tracing shows only where it is not lost in the noise of an epoch's time.
    traced = [(min(1.0, o["trace"] / o["epoch"]) ** 2, _ratio(o["first_extra"], o["trace"])) for o in observed]
    return replace(p, **learnt, trace_scale=_weighted_scale(traced))


def _ratio(actual: float, estimated: float) -> float:
    return float(np.clip(actual / estimated, 0.25, 4.0)) if estimated > 0 else 1.0


def _weighted_scale(runs: list[tuple[float, float]]) -> float:
    """exp of the weighted mean of log ratios, `PRIOR` weighing for a ratio of 1."""
    weight = sum(w for w, _ in runs)
    return float(np.exp(sum(w * np.log(r) for w, r in runs) / (weight + PRIOR)))


def remaining(run, now: float) -> float | None:
    """Seconds left for a running job, corrected by its own pace.

    Finished epochs give the time per epoch (the first one left out when there are others: it
    includes tracing); inside an epoch the batches done so far give the pace. Before any of
    that, what is left of the preflight estimate.
    """
    p, seconds = run.progress, run.history.get("seconds", [])
    epochs_left = max(p.epochs - len(seconds), 0)
    per_epoch = float(np.median(seconds[1:] if len(seconds) > 1 else seconds)) if seconds else None
    pace = _pace(p, now)
    if per_epoch is not None:
        in_epoch = max(now - p.epoch_started, 0.0) if p.epoch_started and p.epoch == len(seconds) + 1 else 0.0
        left_here = (p.steps - p.step) * pace if pace and p.steps and p.step else per_epoch - min(in_epoch, per_epoch)
        return max(left_here + max(epochs_left - 1, 0) * per_epoch, 0.0) + _evaluation_guess(run, per_epoch)
    if pace and p.steps:
        epoch_time = p.steps * pace * 1.25  # + validation, roughly
        return max((p.steps - p.step) * pace * 1.25 + (p.epochs - 1) * epoch_time, 0.0)
    if run.estimate is not None and run.started:
        return max(run.estimate - (now - run.started), 0.0)
    return None


def _pace(p, now: float) -> float | None:
    """Seconds per batch in the current epoch, once a few batches have been done."""
    if not p.epoch_started or p.step < 3 or not p.updated:
        return None
    return max(p.updated - p.epoch_started, 1e-6) / p.step


def _evaluation_guess(run, per_epoch: float) -> float:
    return min(per_epoch * 0.2, 10.0)


# --------------------------------------------------------------------------- measuring the machine


def _best_of(runs: int, timed) -> float:
    """The fastest of a few timings: what the machine can do when nothing else disturbs it."""
    return min(timed() for _ in range(runs))


def _timed_fit(model, x, y, batch: int) -> float:
    started = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    return time.perf_counter() - started


def _timed_evaluate(model, x, y, batch: int) -> float:
    started = time.perf_counter()
    model.evaluate(x, y, batch_size=batch, verbose=0)
    return time.perf_counter() - started


def _slope(timed, x, y, few: int, many: int, batch: int = 16) -> tuple[float, float]:
    """(seconds per step, fixed seconds per call of fit/evaluate) from `few` and `many` steps.

    One `fit` has a fixed cost (callbacks, the data adapter, the epoch's begin and end: tens of
    milliseconds) that a single timing would spread over its steps; the difference of two step
    counts leaves it out, and it is what is left at zero steps.
    """
    t_few = _best_of(3, lambda: timed(x[: few * batch], y[: few * batch]))
    t_many = _best_of(3, lambda: timed(x[: many * batch], y[: many * batch]))
    per_step = max((t_many - t_few) / (many - few), 1e-6)
    return per_step, max(t_few - few * per_step, 0.0)


def _overheads(keras, p: MachineProfile, rng) -> None:
    """Per-call and per-step costs of Keras on a model too small to compute anything (batches of 16)."""
    x, y = rng.normal(size=(4000, 8)).astype("float32"), rng.integers(0, 2, 4000)
    started = time.perf_counter()
    tiny = _mlp(keras, 8, [8], 2)
    built = time.perf_counter() - started
    first = _timed_fit(tiny, x, y, 16)  # traces
    p.step_overhead, fixed = _slope(lambda a, b: _timed_fit(tiny, a, b, 16), x, y, 50, 250)
    # What a run pays once besides its epochs, on the smallest model: tracing the step functions (a deeper
    # model traces longer: `_per_layer`) and building and compiling it, plus reading data.
    # The test step is traced apart, in about a third of the train step's time (forward only).
    p.trace = max(first - (fixed + 250 * p.step_overhead), 0.05) * TEST_TRACE
    p.setup = built + 0.2
    p.epoch_overhead = fixed + MachineProfile.epoch_overhead  # fit's own, measured; plus our callbacks' writes
    tiny.evaluate(x, y, batch_size=16, verbose=0)
    p.eval_overhead, _ = _slope(lambda a, b: _timed_evaluate(tiny, a, b, 16), x, y, 50, 250)
    _per_layer(keras, p, x, y)


#: The test step traces in about a third of the train step's time: tracing measured on `fit` alone, times this.
TEST_TRACE = 1.3
#: Hidden layers of the deep calibration model (the shallow one has one).
DEEP = 9


def _per_layer(keras, p: MachineProfile, x, y) -> None:
    """What each further layer adds to a step and to the tracing, and what Adam's update adds per tensor: the
    shallow and the deep tiny model, each with SGD and with Adam, run the way the engine runs them (calls of
    many steps)."""
    timed = {}
    for hidden, optimizer in ((1, "sgd"), (DEEP, "sgd"), (DEEP, "adam")):
        model = _mlp(keras, 8, [8] * hidden, 2, steps_per_execution=50, optimizer=optimizer)
        first = _timed_fit(model, x[:800], y[:800], 16)  # traces
        per_step, _ = _slope(lambda a, b, m=model: _timed_fit(m, a, b, 16), x, y, 50, 250)
        timed[hidden, optimizer] = first, per_step, len(model.trainable_weights)
    (first_1, step_1, _), (first_d, step_d, tensors), (first_a, step_a, _) = timed.values()
    p.inner_step = max(1e-5, step_1 - p.step_overhead / 50)
    p.layer_step = max(step_d - step_1, 0.0) / (DEEP - 1)
    p.trace_layer = max(first_d - first_1, 0.0) / (DEEP - 1) * TEST_TRACE
    p.update_variable = max(step_a - step_d, 0.0) / tensors
    p.trace_update = max(first_a - first_d, 0.0) / tensors * TEST_TRACE


#: The least share of a timed epoch the calibration leaves to arithmetic (a quiet run here left it 0.68-0.73).
ARITHMETIC_SHARE = 0.25
#: Rounds of the calibration's arithmetic timings: each model is timed once a round and its fastest round kept,
#: so a few seconds of other work on the machine (an import, a neighbour) spoil one round, not the measure.
ROUNDS = 3


def arithmetic_seconds(epoch: float, steps: int, step_overhead: float, fit_fixed: float) -> float:
    """What of a timed epoch the arithmetic took: the per-step and per-call overheads taken out.

    On a busy machine the overheads measure high and could take out nearly all of the epoch (a dense rate of
    16 TFLOP/s was seen in CI, 10 ms a step): the arithmetic keeps at least ARITHMETIC_SHARE of it.

        >>> round(arithmetic_seconds(0.5, 32, 0.001, 0.1), 3)  # a quiet run: 0.5 - 0.032 - 0.1
        0.368
        >>> arithmetic_seconds(0.5, 32, 0.010, 0.1)  # busy: the overheads would leave 0.08 s; a quarter stays
        0.125
    """
    return max(epoch - steps * step_overhead - fit_fixed, ARITHMETIC_SHARE * epoch)


def calibrate() -> MachineProfile:
    """Measure this machine's overheads, FLOP rates and memory traffic with small Keras models (seconds; workers only)."""
    import keras

    p = MachineProfile(measured=time.time())
    rng = np.random.default_rng(0)
    _overheads(keras, p, rng)
    fit_fixed = p.epoch_overhead - MachineProfile.epoch_overhead
    # Two convolutions. One of many channels is bound by arithmetic: it gives the conv rate. One of few channels,
    # with pooling (a typical first layer), is bound by memory traffic: what its FLOPs do not explain, divided by
    # the values it writes, is the cost of a value. Dense layers: the rate with SGD, and Adam's update of many
    # weights beyond its per-tensor cost.
    images, labels = rng.integers(0, 255, size=(4096, 28, 28, 1)).astype("float32"), rng.integers(0, 10, 4096)
    x, y = rng.normal(size=(4096, 784)).astype("float32"), rng.integers(0, 10, 4096)
    models = {
        "wide": (_cnn(keras, [32, 64]), images[:512], labels[:512], 128),
        "narrow": (_cnn(keras, [16], pooled=True), images, labels, 64),
        "sgd": (_mlp(keras, 784, [512, 512], 10), x, y, 128),
        "adam": (_mlp(keras, 784, [512, 512], 10, optimizer="adam"), x, y, 128),
    }
    for model, xs, ys, batch in models.values():
        model.fit(xs[:batch], ys[:batch], batch_size=batch, epochs=1, verbose=0)  # traces
    best = {name: np.inf for name in models}
    for _ in range(ROUNDS):
        for name, (model, xs, ys, batch) in models.items():
            best[name] = min(best[name], _timed_fit(model, xs, ys, batch))
    t = {
        name: arithmetic_seconds(best[name], len(xs) // batch, p.step_overhead, fit_fixed) / len(xs)
        for name, (_, xs, _, batch) in models.items()
    }
    w_wide, w_narrow, w = (keras_work(models[name][0]) for name in ("wide", "narrow", "sgd"))
    p.conv_rate = 3 * w_wide.flops / t["wide"]
    p.value_cost = max(t["narrow"] - 3 * w_narrow.flops / p.conv_rate, 0.05 * t["narrow"]) / w_narrow.map_values
    p.dense_rate = 3 * w.flops / t["sgd"]
    p.update_weight = max((t["adam"] - t["sgd"]) * 128 - w.variables * p.update_variable, 0.0) / w.weights
    return p


def _mlp(keras, inputs: int, hidden: list[int], classes: int, steps_per_execution: int = 1, optimizer: str = "sgd"):
    layers = [keras.Input((inputs,))] + [keras.layers.Dense(u, activation="relu") for u in hidden]
    model = keras.Sequential(layers + [keras.layers.Dense(classes, activation="softmax")])
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"], steps_per_execution=steps_per_execution)
    return model


def _cnn(keras, filters: list[int], pooled: bool = False):
    """Convolutions on 28x28 pictures; `pooled`: max-pooled and flattened into the classifier (as small-cnn's
    first layer), else averaged (the classifier then costs nothing)."""
    layers = [keras.Input((28, 28, 1))] + [keras.layers.Conv2D(f, 3, activation="relu") for f in filters]
    head = [keras.layers.MaxPooling2D(), keras.layers.Flatten()] if pooled else [keras.layers.GlobalAveragePooling2D()]
    model = keras.Sequential(layers + head + [keras.layers.Dense(10, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def host() -> str:
    return socket.gethostname()

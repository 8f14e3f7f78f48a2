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
    >>> e = estimate(p, flops=158_800, conv_share=0.0, map_values=2_462, batch=100, epochs=17, **mnist)
    >>> round(e.total) > 0
    True

Keras is imported inside the functions that use it, on purpose:
importing this module (the web server does) loads no TensorFlow.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import asdict, dataclass, fields

import numpy as np

from core.layer_wiring import keras_flops, keras_map_values

#: The most recent profile any worker measured is good for this long.
PROFILE_MAX_AGE = 7 * 24 * 3600


@dataclass
class MachineProfile:
    """What one training step and one epoch cost on this machine (measured; these defaults are a 2-core VM's)."""

    step_overhead: float = 0.0012  # seconds per compiled call of `fit` (one step each by default), beyond arithmetic
    inner_step: float = 0.0001  # seconds per step inside a call of several steps
    eval_overhead: float = 0.0006  # seconds per validation/evaluation step
    dense_rate: float = 25e9  # FLOP/s reached by dense layers in training (forward + backward)
    conv_rate: float = 60e9  # FLOP/s reached by convolutions
    value_cost: float = 3e-9  # seconds per feature-map value (core/layer_wiring.map_values) per sample in training
    epoch_overhead: float = 0.05  # seconds per epoch: callbacks, histograms, writes
    trace: float = 1.2  # seconds, once: tracing the train and test steps
    setup: float = 1.0  # seconds, once: loading the data, building the model
    augment_per_image: float = 0.0006  # seconds per augmented picture (ImageDataGenerator, two threads)
    measured: float = 0.0  # when it was measured (0: the defaults)

    @classmethod
    def from_json(cls, text: str) -> MachineProfile:
        raw = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: float(v) for k, v in raw.items() if k in known})

    def to_json(self) -> str:
        return json.dumps(asdict(self))


@dataclass
class Estimate:
    total: float  # seconds for the whole run
    per_epoch: float  # seconds per epoch after the first
    first_epoch: float
    evaluation: float
    val_share: float  # the share of an epoch that validation takes
    epochs: int


#: A compiled execution runs this many seconds of steps at most: batch progress reaches the page at least twice a
#: second, and Stop (checked after every execution) lands well within a second.
EXECUTION_SECONDS = 0.2


def _rate(p: MachineProfile, conv_share: float) -> float:
    return 1.0 / ((1 - conv_share) / p.dense_rate + conv_share / p.conv_rate)


def _sample(p: MachineProfile, flops: int, conv_share: float, map_values: int) -> float:
    """Seconds of one sample's training step beyond the per-step overhead: arithmetic and memory traffic."""
    return 3 * flops / _rate(p, conv_share) + map_values * p.value_cost


def _inference(p: MachineProfile, flops: int, conv_share: float, map_values: int) -> float:
    """Seconds of one sample's forward pass (validation, evaluation): a third of the training step's work."""
    return _sample(p, flops, conv_share, map_values) / 3


def steps_per_execution(p: MachineProfile, *, flops: int, conv_share: float, batch: int, steps: int, map_values: int = 0) -> int:
    """How many training steps Keras should run per compiled call (`steps_per_execution`).

    Small models are bound by Keras's per-step overhead, not arithmetic: fewer, bigger calls remove
    most of it. The batches, their order and the numbers stay exactly those of a plain `fit`.

    >>> steps_per_execution(MachineProfile(), flops=158_800, conv_share=0.0, batch=100, steps=600)
    64
    """
    step = p.step_overhead + batch * _sample(p, flops, conv_share, map_values)
    return int(max(1, min(64, steps, EXECUTION_SECONDS // max(step, 1e-6))))


def estimate(
    p: MachineProfile,
    *,
    flops: int,
    conv_share: float,
    batch: int,
    train: int,
    val: int,
    test: int,
    epochs: int,
    map_values: int = 0,
    augmented: bool = False,
    images: bool = False,
    loading: float = 0.0,
    once: tuple[int, int, int] = (0, 0, 0),
    once_samples: int = 0,
) -> Estimate:
    """Seconds for a run: `flops` forward FLOPs per sample, `conv_share` of them in convolutions, `map_values`
    feature-map values per sample (core/layer_wiring.map_values). `loading`: seconds reading the data (measured
    where it was read before); `once`: (FLOPs, conv FLOPs, values) per sample computed once, before training, for
    `once_samples` (transfer features)."""
    steps, val_steps, test_steps = -(-train // batch), -(-val // batch), -(-test // 512)
    per_call = steps_per_execution(p, flops=flops, conv_share=conv_share, batch=batch, steps=steps, map_values=map_values)
    overhead = p.step_overhead / per_call + p.inner_step  # a call's overhead is shared by its steps
    sample, forward = _sample(p, flops, conv_share, map_values), _inference(p, flops, conv_share, map_values)
    train_time = steps * overhead + train * sample + (train * p.augment_per_image if augmented else 0.0)
    val_time = val_steps * (p.eval_overhead / per_call + p.inner_step) + val * forward
    per_epoch = train_time + val_time + p.epoch_overhead
    evaluation = 2 * (test_steps * p.eval_overhead * 4 + test * forward) + (0.15 if images else 0.1)
    first = per_epoch + p.trace
    features = once_samples * _inference(p, once[0], once[1] / once[0] if once[0] else 0.0, once[2])
    total = p.setup + loading + features + first + (epochs - 1) * per_epoch + evaluation
    return Estimate(total, per_epoch, first, evaluation, val_time / per_epoch if per_epoch else 0.0, epochs)


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
    # model traces longer, but its epochs then dominate) and building and compiling it, plus reading data.
    # The test step is traced apart, in about a third of the train step's time (forward only).
    p.trace = max(first - (fixed + 250 * p.step_overhead), 0.05) * 1.3
    p.setup = built + 0.2
    p.epoch_overhead = fixed + MachineProfile.epoch_overhead  # fit's own, measured; plus our callbacks' writes
    tiny.evaluate(x, y, batch_size=16, verbose=0)
    p.eval_overhead, _ = _slope(lambda a, b: _timed_evaluate(tiny, a, b, 16), x, y, 50, 250)
    chunked = _mlp(keras, 8, [8], 2, steps_per_execution=50)
    chunked.fit(x, y, batch_size=16, epochs=1, verbose=0)
    per_step, _ = _slope(lambda a, b: _timed_fit(chunked, a, b, 16), x, y, 50, 250)
    p.inner_step = max(1e-5, per_step - p.step_overhead / 50)


def calibrate() -> MachineProfile:
    """Measure this machine's overheads, FLOP rates and memory traffic with small Keras models (seconds; workers only)."""
    import keras

    p = MachineProfile(measured=time.time())
    rng = np.random.default_rng(0)
    _overheads(keras, p, rng)
    fit_fixed = p.epoch_overhead - MachineProfile.epoch_overhead

    def per_sample(model, x, y, batch: int) -> float:
        """Seconds per sample of one training epoch, the per-step and per-call overheads taken out."""
        model.fit(x[:batch], y[:batch], batch_size=batch, epochs=1, verbose=0)  # traces
        seconds = _best_of(2, lambda: _timed_fit(model, x, y, batch)) - (len(x) // batch) * p.step_overhead - fit_fixed
        return max(seconds, 1e-3) / len(x)

    # Two convolutions. One of many channels is bound by arithmetic: it gives the conv rate. One of few channels,
    # with pooling (a typical first layer), is bound by memory traffic: what its FLOPs do not explain, divided by
    # the values it writes, is the cost of a value.
    images, labels = rng.integers(0, 255, size=(8192, 28, 28, 1)).astype("float32"), rng.integers(0, 10, 8192)
    wide, narrow = _cnn(keras, [32, 64]), _cnn(keras, [16], pooled=True)
    t_wide, t_narrow = per_sample(wide, images[:1024], labels[:1024], 128), per_sample(narrow, images, labels, 64)
    (f_wide, _), (f_narrow, v_narrow) = _work(wide), _work(narrow)
    p.conv_rate = 3 * f_wide / t_wide
    p.value_cost = max(t_narrow - 3 * f_narrow / p.conv_rate, 0.05 * t_narrow) / v_narrow
    dense = _mlp(keras, 784, [512, 512], 10)
    x, y = rng.normal(size=(4096, 784)).astype("float32"), rng.integers(0, 10, 4096)
    p.dense_rate = 3 * _work(dense)[0] / per_sample(dense, x, y, 128)
    return p


def _work(model) -> tuple[int, int]:
    """(forward FLOPs, feature-map values) per sample of a calibration model, counted as the preflight counts them."""
    return keras_flops(model)[0], keras_map_values(model)


def _mlp(keras, inputs: int, hidden: list[int], classes: int, steps_per_execution: int = 1):
    layers = [keras.Input((inputs,))] + [keras.layers.Dense(u, activation="relu") for u in hidden]
    model = keras.Sequential(layers + [keras.layers.Dense(classes, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"], steps_per_execution=steps_per_execution)
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

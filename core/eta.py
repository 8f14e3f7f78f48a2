"""How long a training will take: before it starts (from the model's FLOPs and the machine's measured
speed) and while it runs (from its own pace).

A training step costs a fixed overhead (Keras's per-step machinery; what small models are
bound by) plus its arithmetic: the forward pass's FLOPs times three (forward and backward)
times the batch, at the rate the machine reaches for that kind of layer. Every epoch adds
the validation pass, the engine's per-epoch work (weight histograms, the decision map, the
store) and, once, the tracing of the step functions; the end adds the evaluation. The
machine's figures (`MachineProfile`) are measured by each training worker when it starts
(`calibrate`) and kept in the run store, so the web server estimates without TensorFlow.

Example:
    >>> p = MachineProfile()
    >>> e = estimate(p, flops=158_800, conv_share=0.0, batch=100, train=60_000, val=10_000, test=10_000, epochs=17)
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


def steps_per_execution(p: MachineProfile, *, flops: int, conv_share: float, batch: int, steps: int) -> int:
    """How many training steps Keras should run per compiled call (`steps_per_execution`).

    Small models are bound by Keras's per-step overhead, not arithmetic: fewer, bigger calls remove
    most of it. The batches, their order and the numbers stay exactly those of a plain `fit`.

    >>> steps_per_execution(MachineProfile(), flops=158_800, conv_share=0.0, batch=100, steps=600)
    64
    """
    step = p.step_overhead + 3 * flops * batch / _rate(p, conv_share)
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
    augmented: bool = False,
    images: bool = False,
) -> Estimate:
    """Seconds for a run: `flops` forward FLOPs per sample, `conv_share` of them in convolutions."""
    rate = _rate(p, conv_share)
    steps, val_steps, test_steps = -(-train // batch), -(-val // batch), -(-test // 512)
    per_call = steps_per_execution(p, flops=flops, conv_share=conv_share, batch=batch, steps=steps)
    overhead = p.step_overhead / per_call + p.inner_step  # a call's overhead is shared by its steps
    train_time = steps * (overhead + 3 * flops * batch / rate) + (train * p.augment_per_image if augmented else 0.0)
    val_time = val_steps * (p.eval_overhead / per_call + p.inner_step + flops * batch / rate)
    per_epoch = train_time + val_time + p.epoch_overhead
    evaluation = 2 * test_steps * (p.eval_overhead * 4 + flops * 512 / rate) + (0.5 if images else 0.1)
    first = per_epoch + p.trace
    total = p.setup + first + (epochs - 1) * per_epoch + evaluation
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
    p.trace = max(first - (fixed + 250 * p.step_overhead), 0.05) * 2  # train and test steps are traced apart
    p.setup = built + 0.2
    p.epoch_overhead = fixed + MachineProfile.epoch_overhead  # fit's own, measured; plus our callbacks' writes
    tiny.evaluate(x, y, batch_size=16, verbose=0)
    p.eval_overhead, _ = _slope(lambda a, b: _timed_evaluate(tiny, a, b, 16), x, y, 50, 250)
    chunked = _mlp(keras, 8, [8], 2, steps_per_execution=50)
    chunked.fit(x, y, batch_size=16, epochs=1, verbose=0)
    per_step, _ = _slope(lambda a, b: _timed_fit(chunked, a, b, 16), x, y, 50, 250)
    p.inner_step = max(1e-5, per_step - p.step_overhead / 50)


def calibrate() -> MachineProfile:
    """Measure this machine's overheads and FLOP rates with small Keras models (a few seconds; workers only)."""
    import keras

    p = MachineProfile(measured=time.time())
    rng = np.random.default_rng(0)
    _overheads(keras, p, rng)
    dense = _mlp(keras, 784, [512, 512], 10)
    x, y = rng.normal(size=(4096, 784)).astype("float32"), rng.integers(0, 10, 4096)
    dense.fit(x[:256], y[:256], batch_size=128, epochs=1, verbose=0)
    flops = 2 * (784 * 512 + 512 * 512 + 512 * 10)
    fit_fixed = p.epoch_overhead - MachineProfile.epoch_overhead
    seconds = _best_of(2, lambda: _timed_fit(dense, x, y, 128)) - 32 * p.step_overhead - fit_fixed
    p.dense_rate = 3 * flops * 4096 / max(seconds, 1e-3)
    conv = _cnn(keras)
    x, y = rng.integers(0, 255, size=(1024, 28, 28, 1)).astype("float32"), rng.integers(0, 10, 1024)
    conv.fit(x[:128], y[:128], batch_size=128, epochs=1, verbose=0)
    conv_flops = 2 * (9 * 32 * 26 * 26 + 9 * 32 * 64 * 24 * 24)
    seconds = _best_of(2, lambda: _timed_fit(conv, x, y, 128)) - 8 * p.step_overhead - fit_fixed
    p.conv_rate = 3 * conv_flops * 1024 / max(seconds, 1e-3)
    return p


def _mlp(keras, inputs: int, hidden: list[int], classes: int, steps_per_execution: int = 1):
    layers = [keras.Input((inputs,))] + [keras.layers.Dense(u, activation="relu") for u in hidden]
    model = keras.Sequential(layers + [keras.layers.Dense(classes, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"], steps_per_execution=steps_per_execution)
    return model


def _cnn(keras):
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def host() -> str:
    return socket.gethostname()

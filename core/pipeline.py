"""One training job from start to end: load the data, build a fresh model, `fit` it live, evaluate.

The same function runs in a local worker process, in a Ray task and (for the command line and
tests) in the caller's own process; only the recorder differs (core/recorder.py). Expected
problems (missing data, a stack that cannot be built, divergence) end the job with a plain
message, not an exception.

Example:
    >>> outcome = train(ExperimentSpec.default_for("moons"), owner="me")  # doctest: +SKIP
    >>> outcome.status, len(outcome.history["loss"])  # doctest: +SKIP
    ('finished', 40)

Keras, TensorFlow, pandas, scikit-learn and core.callbacks are imported inside the functions that use them,
on purpose: importing this module (the web server does) loads no TensorFlow.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from core import augment, datasets, eta, preflight, transfer
from core.builder import build_model, compile_model, steps_per_epoch, targets, training_cut
from core.dataset_catalogue import UPLOADED
from core.evaluation import DecisionGrid, decision_map, evaluate
from core.i18n import LocalizedError, Msg
from core.layer_wiring import keras_work
from core.model_rules import plan_loss
from core.network_views import VIEW_IMAGES, inside_views, weight_histograms
from core.recorder import MemoryRecorder, Recorder
from core.spec import ExperimentSpec, SpecError
from core.status import Phase, Status

log = logging.getLogger(__name__)

#: A loss this many times the chance-level loss counts as diverged.
DIVERGENCE_FACTOR = 1000.0


def warm_imports() -> None:
    """Import TensorFlow/Keras, pandas, plotly and sklearn on the calling thread.

    Importing these for the first time from two threads at once fails ("partially initialized
    module"), so a process imports them once before it trains.
    """
    import keras  # noqa: F401
    import pandas  # noqa: F401
    import sklearn.metrics  # noqa: F401
    import sklearn.model_selection  # noqa: F401
    import tensorflow  # noqa: F401

    import core.callbacks  # noqa: F401


def divergence_bound(data) -> float:
    """Loss above which training has blown up: far beyond guessing (ln K for K classes; for a regression
    the squared error of predicting zero everywhere, which an untrained model is close to)."""
    if data.regression:
        return DIVERGENCE_FACTOR * max(1.0, float(np.mean(np.square(data.y_train, dtype="float64"))))
    return DIVERGENCE_FACTOR * max(1.0, float(np.log(max(data.n_classes, 2))))


def divergence_message(spec: ExperimentSpec, epoch: int, step: int, value: float) -> Msg:
    """A plain explanation of an exploding or NaN loss, with a concrete change to try."""
    c = spec.compile
    return Msg(
        "job.diverged_nan" if not np.isfinite(value) else "job.diverged",
        dict(
            value=f"{value:.3g}",
            epoch=epoch,
            step=step,
            lr=f"{c.learning_rate:g}",
            optimizer=c.optimizer,
            suggestion=f"{c.learning_rate / 10:g}",
        ),
    )


@dataclass
class TrainingInput:
    """What `fit` gets: arrays (or augmented batches) plus validation data."""

    args: tuple
    kwargs: dict
    augmented: bool = False


def training_input(spec: ExperimentSpec, data, plan) -> TrainingInput:
    """Arrays for plain training; `AugmentedBatches` when augmentation is on for images.

    `validation_split` is applied here as Keras applies it (the last fraction of the
    training arrays, before shuffling), so it works the same with augmentation.
    """

    x, y = data.x_train, targets(data.y_train, plan, data.n_classes)
    if spec.data.validation == "test":
        validation = (data.x_test, targets(data.y_test, plan, data.n_classes))
    else:
        cut = training_cut(spec, len(x))  # exactly Keras's split
        x, y, validation = x[:cut], y[:cut], (x[cut:], y[cut:])
    a = spec.augment
    if a.enabled and data.kind == "image" and not augment.is_identity(a):
        batches = augment.flow(x, y, a, spec.fit.batch_size, seed=a.seed, shuffle=spec.fit.shuffle)
        return TrainingInput((batches,), {"validation_data": validation}, augmented=True)
    return TrainingInput((x, y), {"batch_size": spec.fit.batch_size, "shuffle": spec.fit.shuffle, "validation_data": validation})


def quiet_input(train_input: TrainingInput) -> TrainingInput:
    """The same batches in the same order, as `tf.data` pipelines whose autotuning is off (arrays only).

    `fit` on NumPy arrays builds Keras's own pipeline (`ArrayDataAdapter`) with tf.data's autotuning on. When
    `fit` returns, dropping that pipeline waits for the autotuner's thread to wake up, and its sleep doubles
    while the training runs (up to a minute): deeper-cnn's results came 24-40 s after its last epoch. This is
    Keras's pipeline with that one option changed and its length stated, so every epoch iterates it anew as
    `fit` does with arrays: same shuffles, same losses and weights (tests/core/test_pipeline.py).
    """
    if train_input.augmented:
        return train_input  # augmented batches come from a PyDataset, not from an autotuned pipeline
    import tensorflow as tf
    from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter  # Keras's own, pinned

    def pipeline(x, y, batch_size: int, shuffle: bool):
        if not len(x):
            return (x, y)
        options = tf.data.Options()
        options.autotune.enabled = False
        dataset = ArrayDataAdapter(x, y, batch_size=batch_size, shuffle=shuffle).get_tf_dataset().with_options(options)
        return dataset.apply(tf.data.experimental.assert_cardinality(-(-len(x) // batch_size)))

    kw = dict(train_input.kwargs)
    batch_size, shuffle = kw.pop("batch_size"), kw.pop("shuffle")
    x, y = train_input.args
    x_val, y_val = kw.pop("validation_data")
    kw["validation_data"] = pipeline(x_val, y_val, batch_size, False)
    return TrainingInput((pipeline(x, y, batch_size, shuffle),), {**kw, "shuffle": False}, augmented=False)


def first_training_batch(spec: ExperimentSpec, owner: str | None = None):
    """The first augmented batch `fit` will consume for this spec, or None without augmentation.

    Built by the same `training_input` the engine uses, same generator and seed.
    """

    data = datasets.load(spec.data, owner)
    plan = plan_loss(data.task, data.n_outputs, spec.compile.loss)
    train_input = training_input(spec, data, plan)
    if not train_input.augmented:
        return None
    x, y = train_input.args[0][0]
    labels = np.argmax(y, axis=1) if np.ndim(y) == 2 else np.asarray(y).astype("int64")
    return x, labels, data.class_names


@dataclass
class Outcome:
    """How a job ended, and (in the training process only) the trained model."""

    status: Status
    message: Msg | None = None
    timings: dict[str, float] = field(default_factory=dict)
    model: Any = None  # keras.Model; stays in the process that trained it
    data: Any = None  # core.datasets.Dataset the model trained on
    history: dict[str, list[float]] = field(default_factory=dict)
    evaluation: Any = None  # core.evaluation.Evaluation
    n_params: int | None = None


class _Clock:
    def __init__(self):
        self.timings: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = self.timings.get(name, 0.0) + now - self._last
        self._last = now


def _bottleneck(spec: ExperimentSpec, owner: str, data, recorder: Recorder):
    """Transfer learning, features mode: the frozen base runs once over the images (cached), obeying Stop."""
    from core.callbacks import TrainingStopped

    recorder.set_phase(Phase.FEATURES)

    def on_batch(done: int, total: int) -> None:
        if recorder.stop_event.is_set():
            raise TrainingStopped()
        recorder.record_progress(0, 0, done, total, None)

    who = owner if spec.data.name in UPLOADED else ""
    return transfer.features_dataset(spec.transfer, data, f"{who}|{json.dumps(asdict(spec.data), sort_keys=True)}", on_batch)


def _prepare(spec: ExperimentSpec, owner: str, recorder: Recorder, clock: _Clock):
    """(data as loaded, data the model trains on, the built model, fit's input)."""

    recorder.set_phase(Phase.LOADING)
    shown = datasets.load(spec.data, owner=owner)
    clock.lap("load")
    data = shown
    if spec.transfer.base and spec.transfer.mode == "features":
        data = _bottleneck(spec, owner, shown, recorder)
        clock.lap("features")
    recorder.set_phase(Phase.BUILDING)
    built = build_model(spec, data)
    train_input = training_input(spec, data, built.plan)
    steps = steps_per_execution(spec, built, len(data.x_train))
    if steps > 1:  # compiled again before any step ran: the same optimizer settings, nothing trained is lost
        compile_model(
            built.model,
            spec.compile,
            built.plan,
            steps,
            steps_per_epoch=steps_per_epoch(spec, len(data.x_train)),
            epochs=spec.fit.epochs,
        )
    clock.lap("build")
    recorder.record_model(built.total_params)
    return shown, data, built, train_input


def steps_per_execution(spec: ExperimentSpec, built, samples: int) -> int:
    """`steps_per_execution` for this model on this machine (core/eta.py decides, for the estimate too)."""

    return eta.steps_per_execution(
        preflight.machine_profile(),
        keras_work(built.model),
        batch=spec.fit.batch_size,
        steps=max(1, -(-samples // spec.fit.batch_size)),
    )


def _callbacks(spec: ExperimentSpec, data, built, recorder: Recorder, log_dir: str | None):
    import keras

    from core.callbacks import LiveCallback

    grid = DecisionGrid.around(data.x_train) if data.kind == "points" else None
    recorder.record_weights(0, weight_histograms(built.model))  # epoch 0: the initial weights
    if grid is not None:
        recorder.record_map(decision_map(grid, built.model, built.plan, data, 0))  # the untrained map

    def on_epoch(model, epoch: int) -> None:
        recorder.record_weights(epoch, weight_histograms(model))
        if grid is not None:
            recorder.record_map(decision_map(grid, model, built.plan, data, epoch))

    callbacks = [LiveCallback(recorder, recorder.stop_event, on_epoch=on_epoch, diverge_above=divergence_bound(data))]
    if spec.fit.tensorboard and log_dir:
        # As tutorial 000: logs for TensorBoard, with weight histograms every epoch.
        callbacks.append(keras.callbacks.TensorBoard(log_dir=log_dir, histogram_freq=1))
    if spec.compile.schedule == "plateau":  # after LiveCallback: each epoch records the rate it trained with
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss", factor=spec.compile.schedule_factor, patience=spec.compile.schedule_epochs
            )
        )
    early = None
    if spec.fit.early_stopping:
        early = keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=spec.fit.patience, restore_best_weights=spec.fit.restore_best_weights
        )
        callbacks.append(early)
    return callbacks, early


def _fit(spec: ExperimentSpec, built, train_input: TrainingInput, callbacks, early, recorder: Recorder):
    """(status, message) once `fit` returns, is stopped or diverges."""
    from core.callbacks import TrainingDiverged, TrainingStopped

    recorder.set_phase(Phase.TRAINING)
    try:
        quiet = quiet_input(train_input)
        built.model.fit(*quiet.args, epochs=spec.fit.epochs, callbacks=callbacks, verbose=0, **quiet.kwargs)
    except TrainingStopped:
        return Status.STOPPED, recorder.reason or Msg("job.stopped", {"epoch": recorder.progress.epoch})
    except TrainingDiverged as exc:
        return Status.DIVERGED, divergence_message(spec, exc.epoch, exc.step, exc.value)
    if early is not None and early.stopped_epoch:
        key = "job.early_stopped_restored" if spec.fit.restore_best_weights else "job.early_stopped"
        return Status.FINISHED, Msg(key, {"epoch": early.stopped_epoch + 1, "patience": spec.fit.patience})
    return Status.FINISHED, None


def _after(built, shown, data, recorder: Recorder) -> None:
    """Evaluation on the test set, and for image models what the layers see (all kept in the store)."""

    recorder.set_phase(Phase.EVALUATING)
    recorder.record_evaluation(evaluate(built.model, data, built.plan, shown=shown))
    if data.kind == "image" and len(data.x_test):
        views = inside_views(built.model, data.x_test[:VIEW_IMAGES])
        if views is not None:
            recorder.record_inside(views)


def run(spec: ExperimentSpec, owner: str, recorder: Recorder, log_dir: str | None = None) -> Outcome:
    """The whole job; never raises for a learner's mistake (those end as FAILED with a message)."""
    from core.callbacks import TrainingStopped

    clock = _Clock()
    try:
        shown, data, built, train_input = _prepare(spec, owner, recorder, clock)
    except LocalizedError as exc:
        return Outcome(Status.FAILED, exc.msg, clock.timings)
    except (SpecError, KeyError) as exc:
        return Outcome(Status.FAILED, Msg("job.failed", {"error": str(exc).strip(chr(39))}), clock.timings)
    except TrainingStopped:  # while the transfer features were computed
        return Outcome(Status.STOPPED, recorder.reason or Msg("job.stopped", {"epoch": 0}), clock.timings)
    callbacks, early = _callbacks(spec, data, built, recorder, log_dir)
    clock.lap("setup")
    status, message = _fit(spec, built, train_input, callbacks, early, recorder)
    clock.lap("fit")
    outcome = Outcome(status, message, clock.timings, built.model, data, recorder.history, None, built.total_params)
    if status == Status.DIVERGED:
        return outcome
    _after(built, shown, data, recorder)
    clock.lap("evaluate")
    outcome.evaluation = recorder.evaluation
    return outcome


def metrics_of(outcome: Outcome) -> dict:
    """The run store's final figures of a job."""
    history, ev = outcome.history, outcome.evaluation
    last = lambda key: float(history[key][-1]) if history.get(key) else None  # noqa: E731
    data = outcome.data
    figures = {
        "train_accuracy": last("accuracy"),
        "train_loss": last("loss"),
        "val_accuracy": last("val_accuracy"),
        "val_loss": last("val_loss"),
        "test_accuracy": ev.test_accuracy if ev else None,
        "test_loss": ev.test_loss if ev else None,
        "n_classes": data.n_classes if data is not None else None,
        "class_names": list(data.class_names) if data is not None else [],
    }
    if data is not None and data.regression:
        figures.update(
            train_mae=last("mae"),
            val_mae=last("val_mae"),
            test_mae=ev.test_mae if ev else None,
            test_rmse=ev.test_rmse if ev else None,
            task="regression",
        )
    return figures


def train(spec: ExperimentSpec, owner: str = "local", on_epoch=None) -> Outcome:
    """Train in this process (the command line, tests, benchmarks): the same pipeline, recorded in memory."""
    warm_imports()
    recorder = MemoryRecorder(spec.fit.epochs, on_epoch=on_epoch)
    outcome = run(spec, owner, recorder)
    outcome.history = recorder.history
    return outcome

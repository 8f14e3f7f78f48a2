"""The live Keras callback: epoch logs and batch progress into a job, stop on request.

`LiveCallback` is a plain `keras.callbacks.Callback`. It does as little as
possible per batch (one `Event.is_set()` and a clock read) so training runs at
bare-`fit` speed; it reads the loss only when it reports progress, at most
twice a second, and after every epoch.

Stopping raises `TrainingStopped` from the batch hook rather than setting
`model.stop_training`: Keras would otherwise still run a full validation pass
(seconds for a CNN on 10,000 images) before returning.

Example:
    >>> sink = ListSink()
    >>> model.fit(x, y, epochs=2, callbacks=[LiveCallback(sink, threading.Event())], verbose=0)  # doctest: +SKIP
    >>> [e["epoch"] for e in sink.epochs]  # doctest: +SKIP
    [1, 2]
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import keras


class TrainingStopped(Exception):
    """Raised inside `fit` when the stop event is set."""


class TrainingDiverged(Exception):
    """Raised inside `fit` when the loss is no longer finite, or explodes past a bound."""

    def __init__(self, epoch: int, step: int, value: float):
        super().__init__(f"loss became {value} at epoch {epoch}, batch {step}")
        self.epoch, self.step, self.value = epoch, step, value


class ProgressSink(Protocol):
    def record_epoch(self, record: dict[str, float]) -> None: ...

    def record_progress(self, epoch: int, epochs: int, step: int, steps: int, loss: float | None) -> None: ...


class ListSink:
    """A minimal sink that keeps everything in lists (tests, the CLI, benchmarks)."""

    def __init__(self):
        self.epochs: list[dict[str, float]] = []
        self.progress: list[tuple] = []

    def record_epoch(self, record):
        self.epochs.append(record)

    def record_progress(self, epoch, epochs, step, steps, loss):
        self.progress.append((epoch, epochs, step, steps, loss))


class LiveCallback(keras.callbacks.Callback):
    """Report epochs and throttled batch progress to `sink`; obey `stop_event` every batch.

    `on_epoch` (optional) is called with the model and the 1-based epoch after each epoch
    (weight histograms and the 2-D decision map use this). A loss above `diverge_above`, or NaN/inf, raises
    `TrainingDiverged`: with Keras 3 computing cross-entropy from the logits, a
    too-high learning rate shows as a loss in the thousands long before any NaN.
    """

    def __init__(
        self,
        sink: ProgressSink,
        stop_event: threading.Event,
        progress_interval: float = 0.5,
        on_epoch: Callable[[Any, int], None] | None = None,
        diverge_above: float = math.inf,
    ):
        super().__init__()
        self.diverge_above = diverge_above
        self.sink, self.stop_event = sink, stop_event
        self.progress_interval = progress_interval
        self.on_epoch = on_epoch
        self._epoch = 0
        self._epoch_start = 0.0
        self._last_report = 0.0

    def on_train_begin(self, logs=None):
        self._last_report = time.monotonic()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_start = time.monotonic()
        self.sink.record_progress(epoch + 1, self.params.get("epochs", 0), 0, self.params.get("steps") or 0, None)

    def on_train_batch_end(self, batch, logs=None):
        if self.stop_event.is_set():
            raise TrainingStopped()
        now = time.monotonic()
        if now - self._last_report < self.progress_interval:
            return
        self._last_report = now
        loss = float(logs["loss"]) if logs and "loss" in logs else None
        self._check(loss, self._epoch + 1, batch + 1)
        self.sink.record_progress(self._epoch + 1, self.params.get("epochs", 0), batch + 1, self.params.get("steps") or 0, loss)

    def _check(self, loss: float | None, epoch: int, step: int) -> None:
        if loss is not None and (not math.isfinite(loss) or loss > self.diverge_above):
            raise TrainingDiverged(epoch, step, loss)

    def on_epoch_end(self, epoch, logs=None):
        record = {key: float(value) for key, value in (logs or {}).items()}
        self._check(record.get("loss"), epoch + 1, self.params.get("steps") or 0)
        record["epoch"] = epoch + 1
        record["seconds"] = time.monotonic() - self._epoch_start
        try:
            record["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        except (AttributeError, TypeError, ValueError):
            pass
        if self.on_epoch is not None:
            self.on_epoch(self.model, epoch + 1)
        self.sink.record_epoch(record)

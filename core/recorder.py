"""Recording a running job: what the training pipeline tells, written where the pages can read it.

`StoreRecorder` writes into the run store (throttled: a few progress writes a second, one
write per epoch) and watches the store from a small thread: a Stop request, or the owner's
browser tabs all gone for `PLAYGROUND_ORPHAN_GRACE` seconds, sets `stop_event`, which the
Keras callback checks after every batch; it also beats the job's heartbeat once a second, so
a lost worker is noticed (core/queue.py `fail_stale`). `MemoryRecorder` keeps the same things
in memory, for the command line, tests and benchmarks that train in their own process.

    >>> recorder = MemoryRecorder()
    >>> recorder.record_epoch({"loss": 0.5, "epoch": 1}); recorder.history
    {'loss': [0.5]}

Optuna (core/search.py: whether a search's trial is hopeless) is imported inside the functions that use it,
only for a search's trials: the web server imports this module and never needs it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import sqlalchemy as sa

from core import db, presence, queue, runs, settings
from core.compare import SEARCH_PREFIX
from core.i18n import Msg
from core.network_views import histograms_to_blob
from core.status import Phase, Status

log = logging.getLogger(__name__)
R = db.runs.c


class Recorder:
    """What every recorder keeps: the history, the progress, the stop event and the reason for stopping."""

    def __init__(self, epochs: int = 0):
        self.stop_event = threading.Event()
        self.reason: Msg | None = None
        self.history: dict[str, list[float]] = {}
        self.progress = runs.Progress(epochs=epochs)
        self.evaluation = None
        self.decision_map = None
        self.inside = None
        self.weights: list[dict] = []
        self.phase = Phase.QUEUED
        self.n_params: int | None = None
        self._lock = threading.Lock()

    # ---- from the Keras callback (core.callbacks.LiveCallback's sink)

    def record_progress(self, epoch: int, epochs: int, step: int, steps: int, loss: float | None) -> None:
        now = time.time()
        with self._lock:
            started = self.progress.epoch_started if epoch == self.progress.epoch and step else now
            self.progress = runs.Progress(epoch, epochs, step, steps, loss, started, now)
        self._progress_written(step == 0)

    def record_epoch(self, record: dict[str, float]) -> None:
        with self._lock:
            for key, value in record.items():
                if key != "epoch":
                    self.history.setdefault(key, []).append(float(value))
        self._epoch_written()

    # ---- from the pipeline

    def set_phase(self, phase: Phase, message: Msg | None = None) -> None:
        self.phase = phase
        self.progress.updated = time.time()  # a new phase is progress too (the supervisor's hang watch reads it)

    def record_model(self, n_params: int) -> None:
        self.n_params = n_params

    def record_weights(self, epoch: int, histograms: dict) -> None:
        self.weights.append(histograms)

    def record_map(self, decision_map) -> None:
        self.decision_map = decision_map

    def record_evaluation(self, evaluation) -> None:
        self.evaluation = evaluation

    def record_inside(self, views) -> None:
        self.inside = views

    def stop(self, reason: Msg | None = None) -> None:
        """Ask the training to end within a batch (the reason is what the learner will read)."""
        self.reason = self.reason or reason
        self.stop_event.set()

    # ---- hooks for writing recorders

    def _progress_written(self, force: bool) -> None:
        pass

    def _epoch_written(self) -> None:
        pass


class MemoryRecorder(Recorder):
    """Everything in memory; `on_epoch(record)` (optional) hears each epoch, e.g. to print it."""

    def __init__(self, epochs: int = 0, on_epoch=None):
        super().__init__(epochs)
        self.on_epoch = on_epoch

    def record_epoch(self, record: dict[str, float]) -> None:
        super().record_epoch(record)
        if self.on_epoch is not None:
            self.on_epoch(dict(record))


class StoreRecorder(Recorder):
    """Writes one job's life into the run store and watches it for Stop and for a closed browser tab."""

    PROGRESS_EVERY = 0.25  # seconds between progress writes
    WATCH_EVERY = 0.25  # seconds between looks at the stop request (Stop lands within about a second)
    HEARTBEAT_EVERY = 1.0

    def __init__(self, run: runs.Run):
        super().__init__(run.spec.fit.epochs)
        self.run = run
        self._written = 0.0
        self._closed = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name=f"watch-{run.id}", daemon=True)
        self._search: Any = None  # a search's plan (core/search.py), once read

    def __enter__(self) -> StoreRecorder:
        self._watcher.start()
        return self

    def __exit__(self, *exc) -> None:
        self._closed.set()
        self._watcher.join(timeout=5)

    def _update(self, **values) -> None:
        with db.transaction() as conn:
            conn.execute(db.runs.update().where(R.id == self.run.id).values(**values))

    def _blob(self, kind: str, data: bytes) -> None:
        with db.transaction() as conn:
            conn.execute(db.run_blobs.delete().where(db.run_blobs.c.run_id == self.run.id, db.run_blobs.c.kind == kind))
            conn.execute(db.run_blobs.insert().values(run_id=self.run.id, kind=kind, data=data))

    # ---- writes

    def _progress_written(self, force: bool) -> None:
        now = time.time()
        if not force and now - self._written < self.PROGRESS_EVERY:
            return
        self._written = now
        self._update(progress=db.dumps(vars(self.progress)), heartbeat=now)

    def _epoch_written(self) -> None:
        with self._lock:
            history = db.dumps(self.history)
            epochs = {k: list(v) for k, v in self.history.items()}
        self._update(history=history, progress=db.dumps(vars(self.progress)), heartbeat=time.time())
        self._prune_if_hopeless(epochs)

    def _prune_if_hopeless(self, history: dict) -> None:
        """A search's trial whose curve is below the finished trials' median stops here (Optuna's median pruner)."""
        if not self.run.group_id.startswith(SEARCH_PREFIX) or self.stop_event.is_set():
            return
        from core import search  # Optuna loads only in workers that train a search

        try:
            if self._search is None:
                found = search.trial_of(self.run.id)
                self._search = found[0] if found else None  # its plan may not be written yet: look again next epoch
            if self._search and search.hopeless(self._search, self.run, history):
                self.stop(search.pruned_message(len(history.get("loss", []))))
        except Exception:  # noqa: BLE001 - a pruning question must never end a training
            log.warning("job %s: could not ask the pruner", self.run.id, exc_info=True)

    def set_phase(self, phase: Phase, message: Msg | None = None) -> None:
        super().set_phase(phase, message)
        values = {"phase": str(phase), "heartbeat": time.time(), "progress": db.dumps(vars(self.progress))}
        if message is not None:
            values["message"] = runs.message_json(message)
        self._update(**values)

    def record_model(self, n_params: int) -> None:
        super().record_model(n_params)
        self._update(n_params=int(n_params))

    def record_weights(self, epoch: int, histograms: dict) -> None:

        with db.transaction() as conn:
            conn.execute(db.run_weights.insert().values(run_id=self.run.id, epoch=epoch, data=histograms_to_blob(histograms)))

    def record_map(self, decision_map) -> None:
        self._blob("map", decision_map.to_blob())

    def record_evaluation(self, evaluation) -> None:
        super().record_evaluation(evaluation)
        self._blob("evaluation", evaluation.to_blob())

    def record_inside(self, views) -> None:
        self._blob("inside", views.to_blob())

    def finish(self, status: Status, message: Msg | None, metrics: dict, timings: dict) -> bool:
        """Settle the job (False when something else settled it first, e.g. its heartbeat went stale)."""
        with self._lock:
            history = db.dumps(self.history)
        with db.transaction() as conn:
            return queue.settle(
                conn,
                self.run.id,
                status,
                message,
                history=history,
                metrics=db.dumps(metrics),
                timings=db.dumps(timings),
                progress=db.dumps(vars(self.progress)),
            )

    # ---- the watcher thread

    def _watch(self) -> None:
        beat = seen = 0.0
        while not self._closed.wait(self.WATCH_EVERY):
            try:
                now = time.time()
                if not self.stop_event.is_set():
                    wanted, reason = queue.stop_wanted(self.run.id)
                    if wanted:
                        self.stop(reason)
                if now - beat >= self.HEARTBEAT_EVERY:
                    beat = now
                    with db.transaction() as conn:
                        conn.execute(
                            db.runs.update().where(R.id == self.run.id, R.status == str(Status.RUNNING)).values(heartbeat=now)
                        )
                if self.run.watched and now - seen >= 2.0:
                    seen = now
                    self._check_presence(now)
            except sa.exc.SQLAlchemyError:  # a busy database must not end the training: look again next time
                log.warning("watching job %s: the run store did not answer", self.run.id, exc_info=True)

    def _check_presence(self, now: float) -> None:
        last = presence.last_seen(self.run.owner)
        if last is not None and now - last > settings.orphan_grace_seconds():
            self.stop(Msg("job.tab_closed"))

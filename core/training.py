"""Training jobs: each runs `model.fit` in its own thread, fed to the page through a lock.

A `Job` owns its spec, its own freshly built model (two jobs never share one),
its per-epoch history and its status. The `JobRegistry` is process-wide: it
survives page switches and browser refreshes (the page finds the job again by
its owner token), limits how many trainings run at once (a FIFO queue holds the
rest) and stops jobs whose browser sessions are all gone.

The page only ever reads `Job.snapshot()`, a copy taken under the job's lock.

Example:
    >>> registry = JobRegistry(max_concurrent=1)
    >>> job = registry.submit(ExperimentSpec.default_for("moons"), owner="me")
    >>> job.done.wait(60) and job.snapshot().status
    'finished'
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from core import settings
from core.housekeeping import forget_all_reduce_gradients, give_back_free_memory
from core.i18n import LocalizedError, Msg
from core.spec import ExperimentSpec

log = logging.getLogger(__name__)

QUEUED, RUNNING, FINISHED, STOPPED, DIVERGED, FAILED = "queued", "running", "finished", "stopped", "diverged", "failed"
ACTIVE = frozenset({QUEUED, RUNNING})


class QueueFull(LocalizedError):
    """Every training slot is busy and the queue is at its limit."""


def warm_imports() -> None:
    """Import TensorFlow/Keras, pandas, plotly and sklearn on the calling thread.

    Importing these for the first time from two threads at once fails
    ("partially initialized module"), so the page calls this before any worker starts.
    """
    import keras  # noqa: F401
    import pandas  # noqa: F401
    import plotly.graph_objects  # noqa: F401
    import sklearn.metrics  # noqa: F401
    import sklearn.model_selection  # noqa: F401
    import tensorflow  # noqa: F401

    import core.callbacks  # noqa: F401


@dataclass
class Progress:
    epoch: int = 0  # 1-based epoch in progress
    epochs: int = 0
    step: int = 0  # batches done in this epoch
    steps: int = 0
    loss: float | None = None
    epoch_started: float = 0.0  # time.monotonic()


@dataclass
class JobView:
    """An immutable-by-convention copy of a job's state, safe to render."""

    id: str
    spec: ExperimentSpec
    status: str
    phase: str
    message: Msg | None
    history: dict[str, list[float]]
    progress: Progress
    boundary: np.ndarray | None
    evaluation: object | None
    queue_position: int | None
    created: float
    started: float | None
    finished: float | None
    n_params: int | None

    @property
    def active(self) -> bool:
        """Queued or training: the training slot is (or will be) taken."""
        return self.status in ACTIVE

    @property
    def settled(self) -> bool:
        """Nothing more will change: training and the evaluation after it are over."""
        return self.status not in ACTIVE and self.phase == "done"

    @property
    def epochs_done(self) -> int:
        return len(self.history.get("loss", []))

    def eta_seconds(self) -> float | None:
        """Seconds left, from the mean epoch time so far and the current epoch's progress.

        None until the first epoch is done: its batches include TensorFlow's warm-up
        (tracing), which would make an estimate from them wildly long. Once later epochs
        exist, the first one is left out of the mean for the same reason.
        """
        seconds = self.history.get("seconds", [])
        p = self.progress
        if self.status != RUNNING or not p.epochs or not seconds:
            return None
        in_epoch = time.monotonic() - p.epoch_started if p.epoch_started else 0.0
        per_epoch = float(np.mean(seconds[1:] if len(seconds) > 1 else seconds))
        remaining = max(p.epochs - self.epochs_done, 0) * per_epoch - min(in_epoch, per_epoch)
        return max(remaining, 0.0)


class Job:
    """One training run. Thread-safe: the worker writes under `_lock`, pages read snapshots."""

    def __init__(self, spec: ExperimentSpec, owner: str, session_id: str | None = None, after: "Job | None" = None):
        self.id = uuid.uuid4().hex[:10]
        self.spec = spec.copy()
        self.owner = owner
        self.after = after  # a job that must end before this one queues (a sequence of runs)
        self.sessions: set[str] = {session_id} if session_id else set()
        self.stop_event = threading.Event()
        self.done = threading.Event()
        self._lock = threading.Lock()
        self._status, self._phase = QUEUED, "queued"
        self._message: Msg | None = None
        self._history: dict[str, list[float]] = {}
        self._progress = Progress(epochs=spec.fit.epochs)
        self._boundary: np.ndarray | None = None
        self._weights: list[dict] = []  # per epoch: core.inside.weight_histograms (epoch 0 = before training)
        self.evaluation = None
        self.built = None  # core.builder.BuiltModel once built
        self.released = False  # True once release_model freed it (the run store keeps the file)
        self.data = None  # core.datasets.Dataset once loaded
        self.grid = None  # core.analysis.DecisionGrid for 2-D data
        self.created = time.time()
        self.started: float | None = None
        self.finished: float | None = None
        self.orphaned_since: float | None = None
        self.stop_reason: Msg | None = None
        self.timings: dict[str, float] = {}  # seconds per phase: load, build, fit, evaluate
        self._queue_position: Callable[["Job"], int | None] = lambda job: None

    # ---- written by the worker thread and the callback

    def record_epoch(self, record: dict[str, float]) -> None:
        with self._lock:
            for key, value in record.items():
                if key != "epoch":
                    self._history.setdefault(key, []).append(value)

    def record_progress(self, epoch: int, epochs: int, step: int, steps: int, loss: float | None) -> None:
        with self._lock:
            started = self._progress.epoch_started if epoch == self._progress.epoch and step else time.monotonic()
            self._progress = Progress(epoch, epochs, step, steps, loss, started)

    def record_weights(self, histograms: dict) -> None:
        with self._lock:
            self._weights.append(histograms)

    def weight_history(self) -> list[dict]:
        """Weight and bias histograms per layer, one entry per epoch (the first: before training)."""
        with self._lock:
            return list(self._weights)

    def record_boundary(self, z: np.ndarray) -> None:
        with self._lock:
            self._boundary = z

    def set_state(self, status: str | None = None, phase: str | None = None, message: Msg | None = None) -> None:
        with self._lock:
            if status is not None:
                self._status = status
                if status == RUNNING and self.started is None:
                    self.started = time.time()
                if status not in ACTIVE and self.finished is None:
                    self.finished = time.time()
            if phase is not None:
                self._phase = phase
            if message is not None:
                self._message = message

    # ---- read by pages

    @property
    def status(self) -> str:
        with self._lock:
            return self._status

    @property
    def model(self):
        return self.built.model if self.built is not None else None

    def snapshot(self) -> JobView:
        with self._lock:
            history = {k: list(v) for k, v in self._history.items()}
            view = JobView(
                id=self.id,
                spec=self.spec,
                status=self._status,
                phase=self._phase,
                message=self._message,
                history=history,
                progress=Progress(**vars(self._progress)),
                boundary=self._boundary,
                evaluation=self.evaluation,
                queue_position=None,
                created=self.created,
                started=self.started,
                finished=self.finished,
                n_params=self.built.total_params if self.built is not None else None,
            )
        if view.status == QUEUED:
            view.queue_position = self._queue_position(self)
        return view

    def stop(self, reason: Msg | None = None) -> None:
        """Ask the job to stop: a queued job is cancelled, a running one stops within a batch."""
        if reason and not self.stop_reason:
            self.stop_reason = reason
        self.stop_event.set()

    def release_model(self) -> None:
        """Free the model (history and evaluation stay): used for old jobs to keep memory flat."""
        with self._lock:
            self.released = self.released or self.built is not None
            self.built = None
            self.grid = None


#: A loss this many times the chance-level loss counts as diverged.
DIVERGENCE_FACTOR = 1000.0


def divergence_bound(n_classes: int) -> float:
    """Loss above which training has blown up: far beyond guessing (ln K for K classes)."""
    return DIVERGENCE_FACTOR * max(1.0, float(np.log(max(n_classes, 2))))


def divergence_message(spec: ExperimentSpec, epoch: int, step: int, value: float) -> Msg:
    """A plain explanation of an exploding or NaN loss, with a concrete change to try."""
    c = spec.compile
    return Msg(
        "job.diverged_nan" if not np.isfinite(value) else "job.diverged",
        dict(value=f"{value:.3g}", epoch=epoch, step=step, lr=f"{c.learning_rate:g}", optimizer=c.optimizer,
             suggestion=f"{c.learning_rate / 10:g}"),
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
    from core.builder import targets

    x, y = data.x_train, targets(data.y_train, plan, data.n_classes)
    if spec.data.validation == "test":
        validation = (data.x_test, targets(data.y_test, plan, data.n_classes))
    else:
        cut = int(np.floor(len(x) * (1.0 - spec.data.validation_split)))  # exactly Keras's split
        x, y, validation = x[:cut], y[:cut], (x[cut:], y[cut:])
    a = spec.augment
    if a.enabled and data.kind == "image":
        from core import augment

        if not augment.is_identity(a):
            batches = augment.flow(x, y, a, spec.fit.batch_size, seed=a.seed, shuffle=spec.fit.shuffle)
            return TrainingInput((batches,), {"validation_data": validation}, augmented=True)
    return TrainingInput((x, y), {"batch_size": spec.fit.batch_size, "shuffle": spec.fit.shuffle, "validation_data": validation})


def first_training_batch(spec: ExperimentSpec, owner: str | None = None):
    """The first augmented batch `fit` will consume for this spec, or None without augmentation.

    Built by the same `training_input` the engine uses, same generator and seed.
    """
    from core import datasets
    from core.builder import plan_loss

    data = datasets.load(spec.data, owner)
    plan = plan_loss(data.task, data.n_classes, spec.compile.loss)
    train_input = training_input(spec, data, plan)
    if not train_input.augmented:
        return None
    x, y = train_input.args[0][0]
    labels = np.argmax(y, axis=1) if np.ndim(y) == 2 else np.asarray(y).astype("int64")
    return x, labels, data.class_names


def bottleneck_features(job: Job, data):
    """Transfer learning, features mode: run the frozen base once over the images (cached), obeying Stop."""
    from core import transfer
    from core.callbacks import TrainingStopped

    job.set_state(phase="computing features")

    def on_batch(done: int, total: int) -> None:
        if job.stop_event.is_set():
            raise TrainingStopped()
        job.record_progress(0, 0, done, total, None)

    owner = job.owner if job.spec.data.name in ("folder", "csv") else ""
    return transfer.features_dataset(job.spec.transfer, data, f"{owner}|{json.dumps(asdict(job.spec.data), sort_keys=True)}", on_batch)


def run_job(job: Job) -> None:
    """Load data, build a fresh model, `fit` it with the live callback, then evaluate.

    Runs on the job's worker thread. Expected problems (missing data, a stack that
    cannot be built, divergence) end the job with a plain message, not an exception.
    """
    import keras

    from core import datasets
    from core.analysis import DecisionGrid, evaluate
    from core.builder import build_model
    from core.callbacks import LiveCallback, TrainingDiverged, TrainingStopped
    from core.spec import SpecError

    spec = job.spec
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        job.timings[name] = now - clock
        clock = now

    job.set_state(RUNNING, "loading data")
    try:
        data = datasets.load(spec.data, owner=job.owner)
        lap("load")
        if spec.transfer.base and spec.transfer.mode == "features":
            data = bottleneck_features(job, data)
            lap("features")
        job.set_state(phase="building model")
        built = build_model(spec, data)
        lap("build")
        train_input = training_input(spec, data, built.plan)
    except LocalizedError as exc:
        job.set_state(FAILED, "done", exc.msg)
        return
    except (SpecError, KeyError) as exc:
        job.set_state(FAILED, "done", Msg("job.failed", {"error": str(exc).strip(chr(39))}))
        return
    except TrainingStopped:
        job.set_state(STOPPED, "done", job.stop_reason or Msg("job.stopped", {"epoch": 0}))
        return
    job.data, job.built = data, built

    from core.inside import weight_histograms

    job.record_weights(weight_histograms(built.model))  # epoch 0: the initial weights
    if data.kind == "points":
        job.grid = DecisionGrid.around(data.x_train)
        job.record_boundary(job.grid.evaluate(built.model, built.plan))  # the untrained map

    def on_epoch(model):
        job.record_weights(weight_histograms(model))
        if job.grid is not None:
            job.record_boundary(job.grid.evaluate(model, built.plan))

    callbacks = [LiveCallback(job, job.stop_event, on_epoch=on_epoch, diverge_above=divergence_bound(data.n_classes))]
    if spec.fit.tensorboard:
        from core.runs import run_dir

        # As tutorial 000: logs for TensorBoard, with weight histograms every epoch.
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run_dir(job.id) / "tensorboard"), histogram_freq=1))
    early = None
    if spec.fit.early_stopping:
        early = keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=spec.fit.patience, restore_best_weights=spec.fit.restore_best_weights
        )
        callbacks.append(early)

    job.set_state(phase="training")
    lap("setup")
    status, message = FINISHED, None
    try:
        built.model.fit(*train_input.args, epochs=spec.fit.epochs, callbacks=callbacks, verbose=0, **train_input.kwargs)
        if early is not None and early.stopped_epoch:
            key = "job.early_stopped_restored" if spec.fit.restore_best_weights else "job.early_stopped"
            message = Msg(key, {"epoch": early.stopped_epoch + 1, "patience": spec.fit.patience})
    except TrainingStopped:
        status = STOPPED
        message = job.stop_reason or Msg("job.stopped", {"epoch": job.snapshot().progress.epoch})
    except TrainingDiverged as exc:
        status, message = DIVERGED, divergence_message(spec, exc.epoch, exc.step, exc.value)
    lap("fit")
    if status == DIVERGED:
        job.set_state(status, "done", message)
        return
    job.set_state(status, "evaluating", message)
    job.evaluation = evaluate(built.model, data, built.plan)
    lap("evaluate")
    job.set_state(phase="done")


def to_run(job: Job):
    """The run-store record of a job: spec, history, final metrics, timings."""
    from core.runs import Run

    view = job.snapshot()
    history = view.history
    last = lambda key: float(history[key][-1]) if history.get(key) else None  # noqa: E731
    ev = view.evaluation
    metrics = {
        "train_accuracy": last("accuracy"), "train_loss": last("loss"),
        "val_accuracy": last("val_accuracy"), "val_loss": last("val_loss"),
        "test_accuracy": ev.test_accuracy if ev else None, "test_loss": ev.test_loss if ev else None,
        "n_classes": job.data.n_classes if job.data is not None else None,
    }
    name = f"{job.spec.recipe or job.spec.data.name} {time.strftime('%H:%M:%S', time.localtime(job.created))}"
    return Run(job.id, job.owner, name, job.spec, view.status, history, metrics, dict(job.timings),
               job.created, view.finished, view.message)


def record_run(job: Job) -> bool:
    """Save a settled job in the run store, with its model file. Failed or cancelled jobs are not runs."""
    from core import runs

    view = job.snapshot()
    if view.status not in (FINISHED, STOPPED, DIVERGED) or not (view.epochs_done or view.status == DIVERGED):
        return False
    if job.model is not None and view.status != DIVERGED:
        folder = runs.run_dir(job.id)
        folder.mkdir(parents=True, exist_ok=True)
        job.model.save(folder / "model.keras")
    store = runs.store()
    store.save(to_run(job))
    store.prune(job.owner, settings.runs_kept_per_owner())
    return True


class JobRegistry:
    """All jobs of this server process, the training slots and the FIFO queue."""

    def __init__(
        self,
        max_concurrent: int | None = None,
        max_queue: int | None = None,
        liveness: Callable[[str], bool] | None = None,
        orphan_grace: float | None = None,
        keep_per_owner: int | None = None,
        record_runs: bool = True,
    ):
        self.max_concurrent = max_concurrent or settings.max_concurrent_trainings()
        self.max_queue = settings.max_queue() if max_queue is None else max_queue
        self.liveness = liveness
        self.orphan_grace = orphan_grace if orphan_grace is not None else settings.orphan_grace_seconds()
        self.keep_per_owner = keep_per_owner or settings.jobs_kept_per_owner()
        self.record_runs = record_runs  # save settled jobs in the run store (the CLI does not)
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._slots = threading.Condition(self._lock)
        self._waiting: deque[str] = deque()
        self._running: set[str] = set()
        self._reaper: threading.Thread | None = None

    # ---- submitting and finding jobs

    def submit(self, spec: ExperimentSpec, owner: str, session_id: str | None = None, after: Job | None = None) -> Job:
        """Queue a job and start its worker thread; it trains as soon as a slot is free.

        With `after`, the job joins the queue only once that job has ended, so a
        sequence of runs (the overfitting trio) trains one after another.
        """
        self.release_abandoned()  # every new training first frees what closed tabs left behind
        job = Job(spec, owner, session_id, after)
        job._queue_position = self.queue_position
        with self._lock:
            free = max(0, self.max_concurrent - len(self._running))
            if after is None and len(self._waiting) - free >= self.max_queue:  # jobs about to take a free slot do not count
                raise QueueFull("limits.queue", waiting=len(self._waiting) - free, limit=self.max_queue)
            self._jobs[job.id] = job
            if after is None:
                self._waiting.append(job.id)
        threading.Thread(target=self._worker, args=(job,), name=f"train-{job.id}", daemon=True).start()
        self._ensure_reaper()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def jobs_for(self, owner: str) -> list[Job]:
        """The owner's jobs, oldest first."""
        with self._lock:
            return [j for j in self._jobs.values() if j.owner == owner]

    def latest_for(self, owner: str) -> Job | None:
        jobs = self.jobs_for(owner)
        return jobs[-1] if jobs else None

    def attach(self, job: Job, session_id: str | None) -> None:
        """A browser session shows this job (again): it is not orphaned."""
        if session_id:
            with self._lock:
                job.sessions.add(session_id)
                job.orphaned_since = None

    def queue_position(self, job: Job) -> int | None:
        """1-based place in the queue, or None when not waiting."""
        with self._lock:
            try:
                return self._waiting.index(job.id) + 1
            except ValueError:
                return None

    def counts(self) -> tuple[int, int]:
        """(running, waiting) across the server."""
        with self._lock:
            return len(self._running), len(self._waiting)

    # ---- slots

    def _acquire(self, job: Job) -> bool:
        """Block until this job is at the head of the queue and a slot is free (False: cancelled)."""
        if job.after is not None:
            while not job.after.done.wait(0.25):
                if job.stop_event.is_set():
                    return False
            with self._slots:
                self._waiting.append(job.id)
        with self._slots:
            while True:
                if job.stop_event.is_set():
                    if job.id in self._waiting:
                        self._waiting.remove(job.id)
                    self._slots.notify_all()
                    return False
                if self._waiting[0] == job.id and len(self._running) < self.max_concurrent:
                    self._waiting.popleft()
                    self._running.add(job.id)
                    self._slots.notify_all()
                    return True
                self._slots.wait(timeout=0.25)  # wakes for stop requests too

    def _release(self, job: Job) -> None:
        with self._slots:
            self._running.discard(job.id)
            self._slots.notify_all()

    # ---- the worker

    def _worker(self, job: Job) -> None:
        try:
            if not self._acquire(job):
                job.set_state(STOPPED, "done", job.stop_reason or Msg("job.cancelled"))
                return
            try:
                run_job(job)
            finally:
                self._release(job)
        except Exception as exc:  # noqa: BLE001 - a job must never take the server down
            log.exception("job %s failed", job.id)
            job.set_state(FAILED, "done", Msg("job.failed", {"error": f"{type(exc).__name__}: {exc}"}))
        finally:
            try:
                if self.record_runs:
                    record_run(job)
            except Exception:  # noqa: BLE001 - losing the record must not lose the job
                log.exception("could not record run %s", job.id)
            try:
                forget_all_reduce_gradients()  # what TensorFlow would keep of this model's traces for good
            except Exception:  # noqa: BLE001 - housekeeping must never keep a job from settling
                log.exception("could not drop the gradient registrations after job %s", job.id)
            job.done.set()
            self._trim(job.owner)
            give_back_free_memory()  # after _trim, which may have released older models

    def _trim(self, owner: str) -> None:
        """Keep the models of the owner's newest finished jobs only; forget very old jobs."""
        finished = [j for j in self.jobs_for(owner) if j.done.is_set()]
        for old in finished[: -self.keep_per_owner]:
            old.release_model()
        with self._lock:
            if len(self._jobs) > 500:
                for job_id in [k for k, j in self._jobs.items() if j.done.is_set()][: len(self._jobs) - 500]:
                    del self._jobs[job_id]

    # ---- orphans: jobs whose browser sessions are all gone

    def reap_orphans(self, now: float | None = None) -> list[Job]:
        """Stop active jobs none of whose sessions is alive for `orphan_grace` seconds."""
        if self.liveness is None:
            return []
        now = time.monotonic() if now is None else now
        stopped = []
        with self._lock:
            active = [j for j in self._jobs.values() if j.status in ACTIVE and j.sessions]
        for job in active:
            alive = any(self._alive(sid) for sid in list(job.sessions))
            if alive:
                job.orphaned_since = None
            elif job.orphaned_since is None:
                job.orphaned_since = now
            elif now - job.orphaned_since >= self.orphan_grace:
                job.stop(Msg("job.tab_closed"))
                stopped.append(job)
        return stopped

    def release_abandoned(self, now: float | None = None) -> int:
        """Free the models of finished jobs whose browser tabs are all closed for `orphan_grace` seconds.

        Their runs keep the model file. The grace lets a tab that lost its connection for a moment
        (Wi-Fi, a laptop lid) come back to its model, as `reap_orphans` does for running jobs.
        """
        if self.liveness is None:
            return 0
        now = time.monotonic() if now is None else now
        with self._lock:
            done = [j for j in self._jobs.values() if j.done.is_set() and j.sessions and j.built is not None]
        freed = 0
        for job in done:
            if any(self._alive(sid) for sid in list(job.sessions)):
                job.orphaned_since = None
                continue
            if job.orphaned_since is None:
                job.orphaned_since = now
            if now - job.orphaned_since >= self.orphan_grace:
                job.release_model()
                freed += 1
        if freed:
            give_back_free_memory()
        return freed

    def _alive(self, session_id: str) -> bool:
        try:
            return bool(self.liveness(session_id))
        except Exception:  # noqa: BLE001 - a failing probe must not stop anybody's training
            return True

    def _ensure_reaper(self) -> None:
        with self._lock:
            if self._reaper is not None and self._reaper.is_alive():
                return
            self._reaper = threading.Thread(target=self._reap_loop, name="job-reaper", daemon=True)
            self._reaper.start()

    def _reap_loop(self) -> None:
        """Every 2 s while any job is active or a finished one holds a model; `submit` restarts the loop.

        So the models of the last trainings of a workshop are freed when their tabs close, not
        only when somebody trains again.
        """
        while True:
            time.sleep(2.0)
            try:
                self.reap_orphans()
                self.release_abandoned()
            except Exception:  # noqa: BLE001
                log.exception("reaper failed")
            with self._lock:
                watch_models = self.liveness is not None
                if not any(j.status in ACTIVE or (watch_models and j.sessions and j.built is not None)
                           for j in self._jobs.values()):
                    self._reaper = None
                    return

    def stop_all(self) -> None:
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.stop()


_REGISTRY: JobRegistry | None = None
_REGISTRY_LOCK = threading.Lock()


def registry() -> JobRegistry:
    """The process-wide registry (created on first use)."""
    global _REGISTRY
    with _REGISTRY_LOCK:
        if _REGISTRY is None:
            _REGISTRY = JobRegistry()
        return _REGISTRY

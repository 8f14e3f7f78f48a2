"""One training worker: it claims jobs from the run store's queue, trains them and records them.

`run_claimed` is the task function: a local worker process (started by the pool,
core/workers.py) and a Ray task run the very same code. A worker is warm before its first
job: TensorFlow imported, the step functions traced once, the machine's speed measured for
the preflight's estimate (core/eta.py), and it runs one job at a time, so it may clear
Keras's session after each.

    >>> status = run_claimed(queue.claim(worker_id()), worker_id())  # doctest: +SKIP

Keras, TensorFlow and Optuna (core/search.py, for a search's trials) are imported inside the functions that use
them, on purpose: importing this module (the web server does) loads none of them.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import logging
import os
import socket
import time
from pathlib import Path

import numpy as np

from core import eta, pipeline, preflight, presence, queue, runs, settings
from core.compare import SEARCH_PREFIX
from core.i18n import Msg
from core.recorder import StoreRecorder
from core.status import Status

log = logging.getLogger("keras_playground.worker")
IDLE_POLL = 0.2  # seconds between looks at the queue when idle


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_claimed(run, worker: str) -> Status:
    """Train a job this process has claimed, recording everything in the run store; returns its final status."""

    log_dir = str(runs.run_dir(run.id) / "tensorboard") if run.spec.fit.tensorboard else None
    with StoreRecorder(run) as recorder:
        if run.watched and _tab_gone(run):
            recorder.finish(Status.STOPPED, Msg("job.tab_closed"), {}, {})
            return Status.STOPPED
        try:
            outcome = pipeline.run(run.spec, run.owner, recorder, log_dir)
            if outcome.model is not None and outcome.status != Status.DIVERGED:
                folder = runs.run_dir(run.id)
                folder.mkdir(parents=True, exist_ok=True)
                outcome.model.save(folder / "model.keras")
            recorder.finish(outcome.status, outcome.message, pipeline.metrics_of(outcome), outcome.timings)
            status = outcome.status
            if status == Status.FINISHED:
                _learn(run, outcome.history.get("seconds", []))
        except Exception as exc:  # noqa: BLE001 - a bug ends this job with its reason, never the worker
            log.exception("job %s failed", run.id)
            recorder.finish(Status.FAILED, Msg("job.failed", {"error": f"{type(exc).__name__}: {exc}"[:300]}), {}, {})
            status = Status.FAILED
    try:
        if run.group_id.startswith(SEARCH_PREFIX):
            from core import search  # Optuna loads only in workers that train a search

            search.after_trial(run)  # a search's trial queues the next one
    except Exception:  # noqa: BLE001 - a search that cannot go on must not take the worker with it
        log.exception("job %s: the search could not queue its next trial", run.id)
    runs.store().prune(run.owner, settings.runs_kept_per_owner())
    return status


def _learn(run, seconds: list[float]) -> None:
    """The estimate learns from what this run took (core/preflight.learn); never at the job's expense."""
    try:
        preflight.learn(run.id, run.spec, run.owner, seconds)
    except Exception:  # noqa: BLE001 - a run that cannot be learnt from is still a finished run
        log.exception("job %s: its time could not be learnt from", run.id)


def _tab_gone(run) -> bool:

    seen = presence.last_seen(run.owner)
    return seen is not None and time.time() - seen > settings.orphan_grace_seconds()


def configure_tensorflow(cores: int) -> str:
    """Thread pools for the cores this worker may use, before any TensorFlow op runs; returns the device name.

    Intra-op threads (inside one matmul or convolution) as many as the cores; inter-op threads (independent
    ops side by side) few: a training's graph is a chain, and more would only contend with the other worker.
    """
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(max(1, cores))
    tf.config.threading.set_inter_op_parallelism_threads(2)
    gpus = tf.config.list_physical_devices("GPU")
    return "GPU:0" if gpus else "CPU"


def _warm_up() -> None:
    """Import and trace once, so the first learner's job does not pay for it."""
    import keras

    pipeline.warm_imports()
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2, activation="softmax")]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(np.zeros((8, 4), "float32"), np.zeros(8, "int64"), epochs=1, verbose=0)
    del model
    keras.backend.clear_session()


@contextlib.contextmanager
def _one_worker_at_a_time():
    with open(settings.home_dir() / "calibrate.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _start_up(cores: int) -> str:
    """Import TensorFlow, warm up and, unless a worker here did so lately, measure the machine for the
    preflight's estimate; returns the device name. While one worker measures, the others wait before their
    import: an import or a warm-up beside it would disturb what it measures."""
    measure = settings.calibrate() and preflight.profile_stale()
    with _one_worker_at_a_time() if measure else contextlib.nullcontext():
        device = configure_tensorflow(cores)
        _warm_up()
        if measure and preflight.profile_stale():  # the worker before us in the lock may have measured it
            profile = eta.calibrate()
            preflight.save_measured(profile)
            log.info("measured this machine: %s", profile.to_json())
    return device


def work_loop(worker: str, device: str, should_stop, max_jobs: int) -> str:
    """Claim and train jobs until told to stop or retired; returns why the loop ended."""
    import keras

    done = 0
    while not should_stop():
        run = queue.claim(worker, device)
        if run is None:
            time.sleep(IDLE_POLL)
            continue
        run_claimed(run, worker)
        done += 1
        keras.backend.clear_session()  # safe here: this process trains one job at a time
        gc.collect()
        if done >= max_jobs:
            return "jobs"
        if rss_mb(os.getpid()) > settings.worker_recycle_mb():
            return "memory"
    return "stopped"


def worker_main(supervisor_pid: int) -> None:
    """Entry of a spawned worker process."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(process)d %(levelname)s %(message)s")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # All the machine's cores: alone, a training gets them all; with others, the pool pins each to its share.
    device = _start_up(len(os.sched_getaffinity(0)))
    me = worker_id()
    log.info("worker %s ready (%s)", me, device)
    why = work_loop(me, device, lambda: os.getppid() != supervisor_pid, settings.worker_jobs())
    log.info("worker %s retires (%s)", me, why)

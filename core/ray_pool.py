"""Trainings on a Ray cluster: each submitted job starts a Ray task that trains from the shared queue.

With `PLAYGROUND_RAY_ADDRESS` set (`auto`, `127.0.0.1:6379` or `ray://head:10001`) the web servers
start no local pool: `dispatch()` launches one Ray task per submitted job, with declared resources
(`PLAYGROUND_RAY_CPUS`, `PLAYGROUND_RAY_GPUS`, so a GPU node takes GPU jobs). The task claims the
oldest job that may start from the run store (PostgreSQL, `PLAYGROUND_DATABASE_URL`) and runs the
very task function the local workers run (core/worker.py `run_claimed`), then claims the next until
none is left: so the queue stays FIFO whatever order Ray starts its tasks in, and a sequence of runs
continues on the task that trained its predecessor. Stop works through the store (the worker's
watcher); a task that does not acknowledge is cancelled with `ray.cancel` as a backstop. A node that
dies takes its task with it: the job's heartbeat goes silent and any reader fails it with
"the worker was lost" (core/queue.py `fail_stale`), its finished epochs kept.

Ray is optional (requirements-cluster.txt); nothing imports it unless the address is set.

    >>> dispatch()  # after core.queue.submit(...), from a web server  # doctest: +SKIP

Ray (optional: requirements-cluster.txt) and Keras are imported inside the functions that use them,
on purpose: importing this module loads neither.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from core import pipeline, queue, settings, worker

log = logging.getLogger("keras_playground.ray")
#: The settings a task needs on its node (the node's own environment may differ).
FORWARDED = (
    "PLAYGROUND_DATABASE_URL",
    "PLAYGROUND_RUN_FILES",
    "PLAYGROUND_DATA_DIR",
    "PLAYGROUND_OFFLINE",
    "PLAYGROUND_ORPHAN_GRACE",
    "PLAYGROUND_RUNS_KEPT",
    "PLAYGROUND_MAX_UPLOAD_MB",
    "PLAYGROUND_CALIBRATE",
    "PLAYGROUND_HOME",
    "KERAS_HOME",
    "TF_CPP_MIN_LOG_LEVEL",
)
_LOCK = threading.Lock()
_TASKS: dict[str, object] = {}  # Ray task id -> ObjectRef, for the tasks this process launched (for ray.cancel)


def train_from_queue(env: dict[str, str]) -> list[str]:
    """The Ray task: train jobs from the shared queue until none may start; returns their ids."""
    import ray

    os.environ.update(env)

    worker.configure_tensorflow(settings.ray_cpus())  # the CPUs this task asked the cluster for
    context = ray.get_runtime_context()
    me = f"ray:{context.get_node_id()[:12]}:{os.getpid()}:{context.get_task_id()}"  # the task id: for ray.cancel
    pipeline.warm_imports()
    device = "GPU:0" if ray.get_gpu_ids() else "CPU"
    done = []
    queue.fail_stale()  # jobs of a node that died are settled before this one looks for work
    while (run := queue.claim(me, device)) is not None:
        worker.run_claimed(run, me)
        done.append(run.id)
        import keras

        keras.backend.clear_session()
    return done


def _connect():
    import ray

    if not ray.is_initialized():
        # The nodes run this checkout's code (installed at the same path, or a shared mount: docs/deploy.md).
        path = os.pathsep.join(filter(None, [str(_root()), os.environ.get("PYTHONPATH")]))
        ray.init(
            address=settings.ray_address(),
            ignore_reinit_error=True,
            log_to_driver=False,
            runtime_env={"env_vars": {"PYTHONPATH": path}},
        )
    return ray


def _root():

    return Path(__file__).resolve().parents[1]


def dispatch() -> None:
    """Launch one Ray task that will train from the queue (the job just submitted, or whichever comes first)."""
    ray = _connect()
    remote = ray.remote(num_cpus=settings.ray_cpus(), num_gpus=settings.ray_gpus(), max_retries=0)(train_from_queue)
    env = {k: os.environ[k] for k in FORWARDED if k in os.environ}
    ref = remote.remote(env)
    with _LOCK:
        _TASKS[ref.task_id().hex()] = ref
        for task_id, old in list(_TASKS.items()):  # forget finished tasks
            ready, _ = ray.wait([old], timeout=0)
            if ready:
                _TASKS.pop(task_id, None)


def cancel_lingering(job_id: str, after: float = 5.0) -> None:
    """Backstop for Stop: if the job is still running `after` seconds later, cancel the Ray tasks this process launched
    that are running it (the worker's own watcher normally stops it within a second)."""

    def later() -> None:
        time.sleep(after)
        run = queue.get(job_id)
        if run is None or not run.active or not run.worker.startswith("ray:"):
            return
        with _LOCK:
            ref = _TASKS.get(run.worker.rsplit(":", 1)[-1])
        if ref is not None:  # a task another web server launched is left to the store's stop request
            _connect().cancel(ref, force=True)
            log.warning("cancelled the Ray task that did not stop job %s", job_id)

    threading.Thread(target=later, name=f"cancel-{job_id}", daemon=True).start()

"""Training workers: processes that take jobs from the run store's queue, train them, and record them.

The web servers never train. On one machine, a supervisor process (`python -m core.workers`,
started by the first web server that needs it, one per `PLAYGROUND_HOME` thanks to a lock
file) keeps `PLAYGROUND_MAX_TRAININGS` worker processes warm: started with multiprocessing's
`spawn` method (never `fork` with TensorFlow loaded), TensorFlow imported before any job
arrives. The supervisor

* replaces a worker that dies, and fails its job with a plain message (finished epochs kept);
* ends a worker past `PLAYGROUND_WORKER_MAX_MB`, past `PLAYGROUND_JOB_TIMEOUT`, or without any
  progress for `PLAYGROUND_HANG_SECONDS`, saying which;
* lets a worker retire after `PLAYGROUND_WORKER_JOBS` trainings or when it has grown past
  `PLAYGROUND_WORKER_RECYCLE_MB`, so memory goes back to the operating system;
* exits once no web server (or test process) has been alive for `POOL_GRACE` seconds.

What one worker does (claim, train, record) is core/worker.py; this module is the pool.

    >>> ensure_pool()  # from a web server: start the supervisor if none runs  # doctest: +SKIP
"""

from __future__ import annotations

import fcntl
import json
import logging
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from core import db, queue, rooms, runs, settings, worker
from core.i18n import Msg
from core.status import Status

log = logging.getLogger("keras_playground.workers")
ROOT = Path(__file__).resolve().parents[1]
POOL_GRACE = float(os.environ.get("PLAYGROUND_POOL_GRACE", "60"))  # seconds the pool outlives the last web server


# --------------------------------------------------------------------------- the supervisor


def _paths() -> dict[str, Path]:
    home = settings.home_dir()
    (home / "clients").mkdir(exist_ok=True)
    (home / "logs").mkdir(exist_ok=True)
    return {
        "lock": home / "pool.lock",
        "info": home / "pool.json",
        "clients": home / "clients",
        "log": home / "logs" / "pool.log",
    }


class Supervisor:
    """Keeps the worker processes alive, sized and honest (see the module's docstring)."""

    def __init__(self, size: int):
        self.size = size
        self.ctx = multiprocessing.get_context("spawn")
        self.procs: dict[int, multiprocessing.process.BaseProcess] = {}
        self.ended: dict[int, Msg] = {}  # pid -> why we ended it
        self.quitting = threading.Event()
        self.last_client = time.time()
        self.busy: list[int] = []

    def start(self, slot: int) -> None:
        proc = self.ctx.Process(target=worker.worker_main, args=(os.getpid(),), name=f"playground-worker-{slot}", daemon=False)
        proc.start()
        self.procs[slot] = proc

    def share_cores(self, busy: list[int]) -> None:
        """Alone, a training may use every core; with others, each gets its own share (no oversubscription)."""
        if busy == self.busy:
            return
        self.busy = busy
        cores = sorted(os.sched_getaffinity(0))
        for proc in self.procs.values():
            if proc.pid is not None:
                pin(proc.pid, share(cores, busy, proc.pid))

    def check(self) -> None:
        """One round: replace the dead, end the oversized, the overdue and the hung; share the cores."""
        jobs = _running_jobs()
        by_pid = {proc.pid: f"{socket.gethostname()}:{proc.pid}" for proc in self.procs.values() if proc.pid is not None}
        self.share_cores(sorted(pid for pid, wid in by_pid.items() if wid in jobs))
        for slot, proc in list(self.procs.items()):
            wid = f"{socket.gethostname()}:{proc.pid}"
            if not proc.is_alive():
                self._replace(slot, proc, wid)
                continue
            reason = self._reason_to_end(proc.pid, jobs.get(wid)) if proc.pid is not None else None
            if reason is not None and proc.pid is not None:
                self.ended[proc.pid] = reason
                os.kill(proc.pid, signal.SIGKILL)

    def _reason_to_end(self, pid: int, job) -> Msg | None:
        """Why a worker busy with `job` must be ended now, if it must (an idle worker is never ended: it retires)."""
        if job is None:
            return None
        mb = worker.rss_mb(pid)
        if mb > settings.worker_max_mb():
            return Msg("job.worker_memory", {"mb": f"{mb:,.0f}", "limit": f"{settings.worker_max_mb():,}"})
        now = time.time()
        if job.started and now - job.started > settings.job_timeout_seconds():
            return Msg("job.worker_timeout", {"seconds": settings.job_timeout_seconds()})
        last = max(job.progress.updated or 0.0, job.started or 0.0)
        if last and now - last > settings.hang_seconds():
            return Msg("job.worker_hung", {"seconds": settings.hang_seconds()})
        return None

    def _replace(self, slot: int, proc, wid: str) -> None:
        proc.join(timeout=1)
        code = proc.exitcode
        reason = self.ended.pop(proc.pid, None)
        if reason is None and code not in (0, None):
            reason = Msg("job.worker_died", {"code": _describe_exit(code)})
        failed = queue.fail_worker(wid, reason or Msg("job.worker_died", {"code": _describe_exit(code)}))
        if failed:
            log.warning("worker %s ended (%s): failed %s", wid, code, failed)
        if not self.quitting.is_set():
            self.start(slot)

    def clients_alive(self, folder: Path) -> bool:
        alive = False
        for entry in folder.iterdir():
            try:
                pid = int(entry.name)
                os.kill(pid, 0)
                alive = True
            except (ValueError, ProcessLookupError):
                entry.unlink(missing_ok=True)
            except PermissionError:
                alive = True
        if alive:
            self.last_client = time.time()
        return alive or time.time() - self.last_client < POOL_GRACE

    def stop_all(self) -> None:
        self.quitting.set()
        for proc in self.procs.values():
            if proc.is_alive():
                proc.terminate()
        for proc in self.procs.values():
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5)
            queue.fail_worker(f"{socket.gethostname()}:{proc.pid}", Msg("job.pool_stopped"))


def share(cores: list[int], busy: list[int], pid: int) -> set[int]:
    """The cores worker `pid` may use while the workers `busy` train.

    >>> share([0, 1], [7], 7), share([0, 1], [7, 9], 9), share([0, 1, 2, 3], [5, 7], 5), share([0, 1], [5, 7], 8)
    ({0, 1}, {1}, {0, 2}, {0, 1})
    """
    if len(busy) < 2 or pid not in busy:
        return set(cores)
    k = busy.index(pid)
    if len(busy) > len(cores):
        return {cores[k % len(cores)]}
    return {c for i, c in enumerate(cores) if i % len(busy) == k}


def pin(pid: int, cores: set[int]) -> None:
    """Every thread of a process onto `cores` (a process's threads each have their own CPU mask on Linux)."""
    try:
        tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return
    for tid in tids:
        try:
            os.sched_setaffinity(tid, cores)
        except OSError:  # the thread just ended
            pass


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "?"
    if code < 0:
        try:
            return f"{signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit {code}"


def _running_jobs() -> dict:
    """worker id -> its running job (from the store)."""

    with db.read() as conn:
        rows = conn.execute(sa.select(db.runs).where(db.runs.c.status == str(Status.RUNNING))).all()
    return {r._mapping["worker"]: runs.from_row(r) for r in rows}


def supervise() -> int:
    """`python -m core.workers`: hold the pool's lock, keep the workers, exit when the web servers are gone."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s supervisor %(levelname)s %(message)s")
    paths = _paths()
    lock = open(paths["lock"], "a+")  # noqa: SIM115 - held (and so locked) for the supervisor's whole life
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return 0  # another supervisor owns this home
    paths["info"].write_text(
        json.dumps({"pid": os.getpid(), "started": time.time(), "size": settings.max_concurrent_trainings()})
    )
    supervisor = Supervisor(settings.max_concurrent_trainings())
    signal.signal(signal.SIGTERM, lambda *_: supervisor.quitting.set())
    for slot in range(supervisor.size):
        supervisor.start(slot)
    rounds = 0
    try:
        while not supervisor.quitting.wait(0.5):
            supervisor.check()
            rounds += 1
            if rounds % 10 == 0:
                queue.fail_stale()  # jobs of workers that vanished without their supervisor noticing
            if rounds % 600 == 0:
                rooms.purge_expired()  # every 5 minutes: a room nobody opens again still goes at its time
            if not supervisor.clients_alive(paths["clients"]):
                log.info("no web server for %.0f s: stopping the pool", POOL_GRACE)
                break
    finally:
        supervisor.stop_all()
        paths["info"].unlink(missing_ok=True)
    return 0


# --------------------------------------------------------------------------- from the web servers

_REGISTERED: set[tuple[int, str]] = set()
_LAST_CHECK: dict[str, float] = {}


def register_client() -> None:
    """This process (a web server, a test) wants the pool to stay up while it lives."""
    key = (os.getpid(), str(settings.home_dir()))
    if key not in _REGISTERED:
        (_paths()["clients"] / str(os.getpid())).write_text(str(time.time()))
        _REGISTERED.add(key)


def pool_running() -> bool:
    """True when a supervisor holds this home's pool lock."""
    with open(_paths()["lock"], "a+") as probe:
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(probe, fcntl.LOCK_UN)
        return False


def ensure_pool(every: float = 5.0) -> None:
    """Start the local supervisor if none runs for this home (cheap: checked at most every `every` seconds)."""
    if settings.ray_address():
        return  # trainings run on the Ray cluster (core/ray_pool.py)
    home = str(settings.home_dir())
    now = time.monotonic()
    if now - _LAST_CHECK.get(home, -every) < every:
        return
    _LAST_CHECK[home] = now
    register_client()
    if pool_running():
        return
    paths = _paths()
    with open(paths["log"], "ab") as out:
        subprocess.Popen(
            [sys.executable, "-m", "core.workers"],
            cwd=ROOT,
            env=dict(os.environ),
            stdout=out,
            stderr=out,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def shutdown_pool(timeout: float = 30.0) -> None:
    """Stop this home's supervisor and its workers (tests, benchmarks)."""
    info = _paths()["info"]
    try:
        pid = json.loads(info.read_text())["pid"]
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError, KeyError):
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pool_running():
        time.sleep(0.1)


def worker_pids() -> list[int]:
    """The pool's worker processes (children of the supervisor), for tests and benchmarks."""
    try:
        pid = json.loads(_paths()["info"].read_text())["pid"]
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except (OSError, ValueError, KeyError):
        return []
    return [int(c) for c in children if b"spawn_main" in _cmdline(int(c))]  # not multiprocessing's resource tracker


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


if __name__ == "__main__":
    sys.exit(supervise())

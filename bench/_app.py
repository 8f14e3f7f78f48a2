"""Shared by the benchmarks that run the whole app: a `streamlit run app.py` server in a throw-away
`PLAYGROUND_HOME`, its training pool, and what /proc says about their processes.

    >>> with AppServer(Path("/tmp/x/home"), cpus={0}) as server:  # doctest: +SKIP
    ...     server.open_pool()              # a websocket session runs app.py once: it starts the pool
    ...     server.wait_workers(1)          # warm: TensorFlow imported, the machine measured
    ...     rss_mb(server.pid), has_tensorflow(server.pid)

The bench process talks to the same run store (`core.jobs`, `core.queue`) as the server: `use_home`
points this process at the server's home first. Leaving the `with` block stops the pool
(`core.workers.shutdown_pool()` for that home) and then the server.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ui import launch  # noqa: E402 - after the checkout is on the path

PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
CHROMIUM = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"]
VIEWPORT = {"width": 1400, "height": 1000}
STATUS_WORDS = ("Queued", "Running", "Finished", "Stopped", "Diverged", "Failed")  # en.toml [status]

# The Train page's status line (a paragraph starting with the bold status word) and the epochs in
# its Loss chart; the same readings as tests/browser/conftest.py's STATUS_JS and LOSS_EPOCHS_JS.
STATUS_JS = """() => {
  const words = %s;
  for (const p of document.querySelectorAll('[data-testid="stMarkdownContainer"] p')) {
    const first = p.firstElementChild;
    if (first && first.tagName === 'STRONG' && words.includes(first.textContent.trim())) return p.textContent.trim();
  }
  return null;
}""" % list(STATUS_WORDS)
LOSS_EPOCHS_JS = """() => {
  let best = -1;
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const t = el.layout && el.layout.title;
    const title = (typeof t === 'string' ? t : (t && t.text) || '').replace(/<[^>]*>/g, '').trim();
    if (title !== 'Loss') continue;
    best = Math.max(best, 0);
    for (const trace of el.data || []) if (trace.name === 'training' && trace.x) best = Math.max(best, trace.x.length);
  }
  return best;
}"""


# --------------------------------------------------------------------------- small things


def wait_for(predicate, timeout: float, what: str, every: float = 0.1):
    """Poll `predicate` until it returns something truthy; returns it, or raises TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"{what}: not within {timeout:.0f} s")


def answers_health(url: str) -> bool:
    """Whether the Streamlit server at `url` answers "ok" on /_stcore/health now."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().decode().strip() == "ok"
    except OSError:
        return False


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def median(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def percentile(values, q: float):
    """Linear-interpolated percentile (numpy's default), q in 0..100; None for no values."""
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    pos = (len(values) - 1) * q / 100
    lo, hi = int(pos), min(int(pos) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine_line() -> str:
    """Cores, Python, Streamlit: the 'Date; machine' line of a docs section."""
    from importlib.metadata import version

    return (
        f"{_dt.datetime.now().strftime('%Y-%m-%d %H:%M')}; {os.cpu_count()} CPU cores, no GPU, Python "
        f"{platform.python_version()}, Streamlit {version('streamlit')}, TensorFlow {version('tensorflow-cpu')}"
    )


def data_dir_words() -> str:
    found = os.environ.get("PLAYGROUND_DATA_DIR", "").strip()
    return f"`PLAYGROUND_DATA_DIR={found}`" if found else "no `PLAYGROUND_DATA_DIR` (built-in data only)"


def use_home(home: Path) -> None:
    """Point this process's `core` modules at `home` (the run store, the pool's files)."""
    from core import db

    home.mkdir(parents=True, exist_ok=True)
    os.environ["PLAYGROUND_HOME"] = str(home)
    db.dispose()  # engines are per URL; a fresh home is a fresh database


# --------------------------------------------------------------------------- /proc


def status_kb(pid: int, field: str = "VmRSS", file: str = "status") -> int:
    """A `field: N kB` line of /proc/PID/`file` (`status`, `smaps_rollup`), in kB; 0 when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_mb(pid: int) -> float:
    """Resident memory of one process (not its children), MB; 0 when it is gone."""
    return status_kb(pid) / 1024


def pss_mb(pid: int) -> float:
    """Proportional memory of one process, MB: each resident page divided by the processes that map it, so the
    sum over processes counts a page they share (TensorFlow's libraries in every worker) once, as the memory limit
    of a container (its cgroup) does; 0 when the process is gone."""
    return status_kb(pid, "Pss", "smaps_rollup") / 1024


def has_tensorflow(pid: int) -> bool:
    """Whether TensorFlow's shared libraries are mapped into the process (i.e. it imported tensorflow)."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False
    return "libtensorflow" in maps or "_pywrap_tensorflow" in maps


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        kids = children(todo.pop())
        found += kids
        todo += kids
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def core_busy_seconds(core: int) -> float:
    """CPU time spent on one core by everything (user, nice, system, irq, softirq, steal), from /proc/stat."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{core} "):
            user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in line.split()[1:9])
            return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    return 0.0


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def affinity(pid: int) -> set[int] | None:
    try:
        return os.sched_getaffinity(pid)
    except OSError:
        return None


# --------------------------------------------------------------------------- the server and its pool


def app_env(home: Path, **settings) -> dict:
    """The environment of a server in `home`: the app's defaults (no PLAYGROUND_* of ours leaks in) plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYGROUND_")}
    env.update(PLAYGROUND_HOME=str(home), PLAYGROUND_OFFLINE="1", PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2")
    if os.environ.get("PLAYGROUND_DATA_DIR"):
        env["PLAYGROUND_DATA_DIR"] = os.environ["PLAYGROUND_DATA_DIR"]
    env.update({k: str(v) for k, v in settings.items() if v is not None})
    return env


class MemoryLimit:
    """A memory cgroup (v1, /sys/fs/cgroup/memory) with a limit, as a container's: the processes put into it and all
    they start are charged for their memory, each page once, the file pages they read included.

    The page cache is dropped first (root): a page already cached (TensorFlow's libraries, read by an earlier run)
    stays charged to whoever read it, and the app would seem smaller than it is.

        >>> with MemoryLimit(int(2.7e9)) as limit:  # doctest: +SKIP
        ...     subprocess.Popen(cmd, preexec_fn=limit.join)
        ...     limit.read()  # {"limit_mb": ..., "peak_mb": ..., "hit_limit": ..., "oom_kills": ...}
    """

    ROOT = Path("/sys/fs/cgroup/memory")

    def __init__(self, limit_bytes: int):
        self.limit_bytes = limit_bytes
        self.path = self.ROOT / f"playground-bench-{os.getpid()}"

    @classmethod
    def available(cls) -> bool:
        return (cls.ROOT / "memory.limit_in_bytes").exists() and os.access(cls.ROOT, os.W_OK)

    def __enter__(self) -> MemoryLimit:
        self.path.mkdir()
        (self.path / "memory.limit_in_bytes").write_text(str(self.limit_bytes))
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3")
        return self

    def join(self) -> None:
        """Put the calling process into the group (a `preexec_fn`: the child, before it execs)."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def _value(self, name: str) -> int:
        return int((self.path / name).read_text().split()[0])

    def read(self) -> dict:
        oom = dict(line.split() for line in (self.path / "memory.oom_control").read_text().splitlines())
        return {
            "limit_mb": round(self.limit_bytes / 2**20, 1),
            "peak_mb": round(self._value("memory.max_usage_in_bytes") / 2**20, 1),
            "hit_limit": self._value("memory.failcnt"),  # times the kernel had to reclaim to stay under it
            "oom_kills": int(oom.get("oom_kill", 0)),
        }

    def __exit__(self, *exc) -> None:
        for _ in range(50):  # the processes are gone a moment after they were killed
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.2)


class AppServer:
    """`streamlit run app.py` in its own process group (pinned to `cpus` if given; inside `memory`, a MemoryLimit,
    if given), logging to home/../server.log."""

    def __init__(self, home: Path, cpus: set[int] | None = None, memory: MemoryLimit | None = None, **settings):
        self.home = home
        self.cpus = cpus
        self.memory = memory
        self.env = app_env(home, **settings)
        self.log_path = home.parent / "server.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> AppServer:
        use_home(self.home)
        cmd = launch.command(str(PYTHON), self.port)
        cpus = self.cpus
        # The affinity is set in the child before exec, so the server and everything it starts (the
        # pool's supervisor and its spawned workers) inherit it, as with `taskset -c`.
        memory = self.memory

        def pin() -> None:
            if cpus:
                os.sched_setaffinity(0, cpus)
            if memory:
                memory.join()

        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=pin
        )
        try:
            self._wait_healthy()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_healthy(self, timeout: float = 120.0) -> None:
        def healthy():
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}:\n{self.log_tail()}")
            return answers_health(self.url)

        wait_for(healthy, timeout, "streamlit's /_stcore/health", every=0.2)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    # ---- the pool (the server starts it; these read its files)

    def supervisor_pid(self) -> int | None:
        return Pool(self.home).supervisor_pid()

    def worker_pids(self) -> list[int]:
        return Pool(self.home).worker_pids()

    def ready_workers(self) -> list[int]:
        return Pool(self.home).ready_workers()

    def open_pool(self) -> None:
        """Run app.py once in a websocket session (as a browser's first page does): it starts the pool."""
        import asyncio

        from bench._stclient import Tab

        async def visit():
            tab = Tab(self.port, "bench-pool-opener")
            await tab.connect("")
            await tab.close()

        asyncio.run(visit())

    def wait_workers(self, size: int, timeout: float = 240.0) -> list[int]:
        return Pool(self.home).wait_workers(size, timeout)

    def app_pids(self) -> dict:
        """{'web': pid, 'supervisor': pid or None, 'workers': [...], 'other': [...] (e.g. multiprocessing's resource tracker)}."""
        sup = self.supervisor_pid()
        work = self.worker_pids()
        everything = set(descendants(self.pid)) | ({sup} | set(descendants(sup)) if sup else set())
        other = sorted(everything - {sup} - set(work))
        return {"web": self.pid, "supervisor": sup, "workers": work, "other": other}

    def __exit__(self, *exc) -> None:
        Pool(self.home).stop()
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=20)
            except ProcessLookupError:
                pass
        self._log.close()


class Pool:
    """The training pool of one home, read through its files (pool.json, logs/pool.log); `with Pool(home)` starts
    one from this process (`core.workers.ensure_pool`, with this process's environment) and stops it at the end."""

    def __init__(self, home: Path):
        self.home = home

    def __enter__(self) -> Pool:
        from core import workers

        use_home(self.home)
        workers.ensure_pool(every=0.0)
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def supervisor_pid(self) -> int | None:
        try:
            return int(json.loads((self.home / "pool.json").read_text())["pid"])
        except (OSError, ValueError, KeyError):
            return None

    def worker_pids(self) -> list[int]:
        from core import workers

        if os.environ.get("PLAYGROUND_HOME") != str(self.home):  # core.workers reads the home from the environment
            use_home(self.home)
        return workers.worker_pids()

    def ready_workers(self) -> list[int]:
        """Workers that logged 'ready' (TensorFlow imported, warmed up, machine measured)."""
        try:
            log = (self.home / "logs" / "pool.log").read_text(errors="replace")
        except OSError:
            return []
        return [pid for pid in self.worker_pids() if f":{pid} ready" in log]

    def wait_workers(self, size: int, timeout: float = 240.0) -> list[int]:
        return wait_for(
            lambda: (r := self.ready_workers()) and len(r) >= size and r, timeout, f"{size} warm training workers", every=0.25
        )

    def stop(self) -> None:
        """`core.workers.shutdown_pool()` for this home; a supervisor that outlives its wait is killed."""
        from core import workers

        use_home(self.home)
        sup = self.supervisor_pid()
        try:
            workers.shutdown_pool()
            if sup and workers.pool_running():
                os.kill(sup, signal.SIGKILL)
        except Exception as err:  # noqa: BLE001 - go on with the clean-up
            print(f"(stopping the pool: {err})", file=sys.stderr)


def server_log_errors(log_path: Path) -> list[str]:
    """Tracebacks and ERROR lines in a log (one line each)."""
    lines = log_path.read_text(errors="replace").splitlines() if log_path.exists() else []
    out = []
    for i, line in enumerate(lines):
        if line.startswith("Traceback"):
            end = next((j for j in range(i + 1, len(lines)) if lines[j] and not lines[j].startswith(" ")), None)
            out.append("traceback: " + (lines[end] if end is not None else line)[:300])
        elif re.search(r"\b(ERROR|CRITICAL)\b|page error \(reference", line):
            out.append(line.strip()[:300])
    return out

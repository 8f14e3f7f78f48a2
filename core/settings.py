"""Where the app reads and writes files, and the limits it runs under: one table, `SETTINGS`.

Every setting is an environment variable with a documented default, so a workshop server,
Streamlit Community Cloud and the tests can each set their own. Each can also be set in
`.streamlit/secrets.toml` (Streamlit Community Cloud's "Secrets"), e.g.
`PLAYGROUND_MAX_TRAININGS = 1`; the environment wins where both are set. The web servers and
the training workers read the same variables: set them where both start (`./run.sh` does).

The table below is the one source: the accessors read their defaults and bounds from it, and
the README's settings table is printed from it (`python -m core.settings`; a test keeps them equal).

Example:
    >>> import os; os.environ["PLAYGROUND_MAX_TRAININGS"] = "3"
    >>> max_concurrent_trainings()
    3
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    name: str
    default: str  # as written in the environment ("" = unset)
    meaning: str
    minimum: int = 0  # for whole numbers
    shown_default: str = ""  # how the README writes the default, when not the raw value


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in [
        Setting("PLAYGROUND_DATA_DIR", "", "pre-seeded, read-only data folder (Keras cache layout: `datasets/`, `models/`)"),
        Setting(
            "PLAYGROUND_HOME",
            "",
            "the app's own folder: run store (`runs.sqlite3`), run files, logs, image sets unpacked to map (`arrays/`)",
            shown_default="`~/.keras-playground`",
        ),
        Setting(
            "PLAYGROUND_OFFLINE",
            "",
            "`1`: never try a download; unset: find out (a failed connection marks downloads off for a while)",
        ),
        Setting("PLAYGROUND_PROBE_HOST", "", "`host:port` the offline check connects to", shown_default="the download host"),
        Setting("PLAYGROUND_MAX_TRAININGS", "2", "training workers: trainings at the same time (the rest queue)", minimum=1),
        Setting(
            "PLAYGROUND_MAX_QUEUE",
            "100",
            "trainings waiting; more are refused until the queue moves (a room of 30, groups included)",
        ),
        Setting("PLAYGROUND_MAX_PARAMS", "30000000", "parameters of one model", minimum=1),
        Setting("PLAYGROUND_MAX_SAMPLE_EPOCHS", "50000000", "epochs x training samples of one run", minimum=1),
        Setting("PLAYGROUND_MAX_MODEL_MB", "3000", "estimated training memory of one model", minimum=1),
        Setting("PLAYGROUND_ORPHAN_GRACE", "30", "seconds before a job whose learner has no open tab is stopped", minimum=1),
        Setting("PLAYGROUND_RUNS_KEPT", "50", "runs kept per learner (the oldest go)", minimum=1),
        Setting("PLAYGROUND_MAX_UPLOAD_MB", "50", "largest upload (zip, CSV, picture, model)", minimum=1),
        Setting(
            "PLAYGROUND_UPLOADS_MB",
            "500",
            "all learners' uploads together, in the run store (least recently used go first)",
            minimum=1,
        ),
        Setting("PLAYGROUND_MAX_FILES", "5000", "most files in an uploaded zip", minimum=1),
        Setting("PLAYGROUND_MAX_TOTAL_PIXELS", "300000000", "most decoded pixels of one upload", minimum=1),
        Setting("PLAYGROUND_MAX_IMAGE_PIXELS", "40000000", "most pixels of one picture (decompression-bomb guard)", minimum=1),
        Setting("PLAYGROUND_MAX_CSV_ROWS", "100000", "most rows of an uploaded CSV", minimum=1),
        Setting(
            "PLAYGROUND_DATABASE_URL",
            "",
            "the run store: unset = SQLite in `PLAYGROUND_HOME`; `postgresql://user:pw@host/db` for several machines",
        ),
        Setting(
            "PLAYGROUND_RUN_FILES",
            "",
            "models and TensorBoard logs of runs: a folder every worker and web server can reach",
            shown_default="`PLAYGROUND_HOME/runs`",
        ),
        Setting(
            "PLAYGROUND_WORKER_MAX_MB",
            "4000",
            "a training worker using more memory is ended; its job fails saying so",
            minimum=200,
        ),
        Setting("PLAYGROUND_JOB_TIMEOUT", "7200", "seconds one training may take before its worker is ended", minimum=10),
        Setting(
            "PLAYGROUND_HANG_SECONDS",
            "600",
            "seconds without any progress before a training counts as stuck and is ended",
            minimum=5,
        ),
        Setting(
            "PLAYGROUND_WORKER_JOBS",
            "25",
            "trainings a worker runs before a fresh process replaces it (memory goes back)",
            minimum=1,
        ),
        Setting(
            "PLAYGROUND_WORKER_RECYCLE_MB",
            "2500",
            "a worker larger than this after a training is replaced by a fresh one",
            minimum=100,
        ),
        Setting(
            "PLAYGROUND_ROOM_HOURS",
            "48",
            "hours after its creation a workshop room and its runs are deleted",
            minimum=1,
        ),
        Setting("PLAYGROUND_CALIBRATE", "1", "`0`: workers do not measure the machine's speed for the estimates (tests)"),
        Setting("PLAYGROUND_RAY_ADDRESS", "", "`auto` or `ray://host:10001`: trainings run as Ray tasks on that cluster"),
        Setting("PLAYGROUND_RAY_CPUS", "1", "CPUs one training asks of the Ray cluster", minimum=1),
        Setting("PLAYGROUND_RAY_GPUS", "0", "GPUs one training asks of the Ray cluster (`1`: only GPU nodes take trainings)"),
    ]
}


def _raw(name: str) -> str:
    return os.environ.get(name, SETTINGS[name].default).strip()


def _int(name: str) -> int:
    """A whole-number setting: its default when unset or unreadable, never below its minimum."""
    setting = SETTINGS[name]
    try:
        value = int(_raw(name) or setting.default)
    except ValueError:
        value = int(setting.default)
    return max(setting.minimum, value)


def markdown_table() -> str:
    """The README's settings table, from `SETTINGS`."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for s in SETTINGS.values():
        default = s.shown_default or (f"`{s.default}`" if s.default else "unset")
        lines.append(f"| `{s.name}` | {default} | {s.meaning} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- folders


def data_dir() -> Path | None:
    """The pre-seeded, read-only data folder, or None. We never write into it."""
    raw = _raw("PLAYGROUND_DATA_DIR")
    return Path(raw).expanduser() if raw else None


def keras_cache_dir() -> Path:
    """Keras's own cache folder, found the way Keras finds it (`KERAS_HOME` or `~/.keras`)."""
    raw = os.environ.get("KERAS_HOME", "").strip()
    base = Path(raw).expanduser() if raw else Path.home() / ".keras"
    if not os.access(base if base.exists() else base.parent, os.W_OK):
        # Keras falls back to /tmp/.keras when its folder is not writable.
        return Path(tempfile.gettempdir()) / ".keras"
    return base


def home_dir() -> Path:
    """The app's own writable folder, created on first use."""
    raw = _raw("PLAYGROUND_HOME")
    path = Path(raw).expanduser() if raw else Path.home() / ".keras-playground"
    if path not in _MADE:  # every store lookup asks for it: create once per process, not on each call
        path.mkdir(parents=True, exist_ok=True)
        _MADE.add(path)
    return path


_MADE: set[Path] = set()


def temp_dir() -> Path:
    """Scratch space for model files and exports; only ever inside `home_dir()`."""
    path = home_dir() / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_files_dir() -> Path:
    """Where runs keep their model file and TensorBoard logs (one folder per run)."""
    raw = _raw("PLAYGROUND_RUN_FILES")
    path = Path(raw).expanduser() if raw else home_dir() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    """`PLAYGROUND_DATABASE_URL`, or "" for SQLite in `home_dir()`."""
    return _raw("PLAYGROUND_DATABASE_URL")


# --------------------------------------------------------------------------- the network


def offline() -> bool:
    """True when the app must not try to download anything."""
    return _raw("PLAYGROUND_OFFLINE").lower() in {"1", "true", "yes"}


def probe_host() -> tuple[str, int] | None:
    """`PLAYGROUND_PROBE_HOST` as (host, port) — `host:port`, `[v6 address]:port` or `host` (port 443) — or None."""
    raw = _raw("PLAYGROUND_PROBE_HOST")
    if not raw:
        return None
    host, sep, port = raw.rpartition(":")
    if not sep or not port.isdigit() or host.count(":") and not host.startswith("["):
        host, port = raw, "443"  # no port given (or a bare IPv6 address)
    return host.strip("[]"), int(port)


def ray_address() -> str:
    return _raw("PLAYGROUND_RAY_ADDRESS")


def ray_cpus() -> int:
    return _int("PLAYGROUND_RAY_CPUS")


def ray_gpus() -> float:
    try:
        return max(0.0, float(_raw("PLAYGROUND_RAY_GPUS") or 0))
    except ValueError:
        return 0.0


# --------------------------------------------------------------------------- training


def max_concurrent_trainings() -> int:
    return _int("PLAYGROUND_MAX_TRAININGS")


def max_queue() -> int:
    return _int("PLAYGROUND_MAX_QUEUE")


def max_params() -> int:
    return _int("PLAYGROUND_MAX_PARAMS")


def max_sample_epochs() -> int:
    return _int("PLAYGROUND_MAX_SAMPLE_EPOCHS")


def max_model_mb() -> int:
    return _int("PLAYGROUND_MAX_MODEL_MB")


def orphan_grace_seconds() -> int:
    """How long a job may have no open browser tab before it is stopped."""
    return _int("PLAYGROUND_ORPHAN_GRACE")


def runs_kept_per_owner() -> int:
    """Runs kept per learner in the run store (the oldest are deleted)."""
    return _int("PLAYGROUND_RUNS_KEPT")


def worker_max_mb() -> int:
    return _int("PLAYGROUND_WORKER_MAX_MB")


def job_timeout_seconds() -> int:
    return _int("PLAYGROUND_JOB_TIMEOUT")


def hang_seconds() -> int:
    return _int("PLAYGROUND_HANG_SECONDS")


def worker_jobs() -> int:
    """Trainings one worker process runs before a fresh process takes its place."""
    return _int("PLAYGROUND_WORKER_JOBS")


def worker_recycle_mb() -> int:
    return _int("PLAYGROUND_WORKER_RECYCLE_MB")


def room_hours() -> int:
    """How long a workshop room lives before it and its runs are deleted."""
    return _int("PLAYGROUND_ROOM_HOURS")


def calibrate() -> bool:
    """Whether a starting worker measures the machine's speed for the estimates."""
    return _raw("PLAYGROUND_CALIBRATE").lower() not in {"0", "false", "no"}


# --------------------------------------------------------------------------- uploads


def max_upload_bytes() -> int:
    return _int("PLAYGROUND_MAX_UPLOAD_MB") * 1024 * 1024


def max_uploads_total_bytes() -> int:
    """The uploads of every learner together (see core.uploads.UploadStore)."""
    return _int("PLAYGROUND_UPLOADS_MB") * 1024 * 1024


def max_files() -> int:
    return _int("PLAYGROUND_MAX_FILES")


def max_total_pixels() -> int:
    return _int("PLAYGROUND_MAX_TOTAL_PIXELS")


def max_image_pixels() -> int:
    return _int("PLAYGROUND_MAX_IMAGE_PIXELS")


def max_csv_rows() -> int:
    return _int("PLAYGROUND_MAX_CSV_ROWS")


if __name__ == "__main__":
    sys.stdout.write(markdown_table() + "\n")

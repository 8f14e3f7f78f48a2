"""Where the app reads and writes files, and the limits it runs under.

Everything comes from environment variables with documented defaults, so a
workshop server, Streamlit Community Cloud and the tests can each set their own:

| variable | default | meaning |
|---|---|---|
| `PLAYGROUND_DATA_DIR` | unset | read-only folder laid out like the Keras cache (`datasets/`, `models/`) |
| `PLAYGROUND_HOME` | `~/.keras-playground` | the app's own writable folder (run store, temp files) |
| `PLAYGROUND_OFFLINE` | `0` | `1` never tries a download: missing files get a message at once |
| `PLAYGROUND_PROBE_HOST` | `storage.googleapis.com:443` | `host:port` the offline check connects to (core.network) |
| `PLAYGROUND_MAX_TRAININGS` | `2` | trainings running at the same time; more wait in a FIFO queue |
| `PLAYGROUND_RUNS_KEPT` | `50` | runs kept per browser session in the run store |
| `PLAYGROUND_MAX_UPLOAD_MB` | `50` | largest upload (zip, CSV, image, model) |
| `PLAYGROUND_UPLOADS_MB` | `500` | all uploads of all sessions kept in memory together; the least recently used go first |
| `PLAYGROUND_MAX_FILES` | `5000` | most files in an uploaded zip |
| `PLAYGROUND_MAX_TOTAL_PIXELS` | `300000000` | most pixels of all images of one upload, decoded |
| `PLAYGROUND_MAX_IMAGE_PIXELS` | `40000000` | most pixels of one image (Pillow's decompression-bomb guard) |
| `PLAYGROUND_MAX_CSV_ROWS` | `100000` | most rows of an uploaded CSV |
| `PLAYGROUND_MAX_QUEUE` | `100` | trainings waiting for a worker; more are refused until the queue moves (a room of 30 pressing Train together fits, groups included) |
| `PLAYGROUND_MAX_PARAMS` | `30000000` | parameters of one model (VGG16 without its top has 14.7 M) |
| `PLAYGROUND_MAX_SAMPLE_EPOCHS` | `50000000` | epochs x training samples of one run (Fashion-MNIST x 500 epochs = 24 M) |
| `PLAYGROUND_MAX_MODEL_MB` | `3000` | estimated training memory of one model (weights, gradients, optimizer, activations) |
| `PLAYGROUND_ORPHAN_GRACE` | `30` | seconds a training may run with its browser tab closed before it is stopped (finished: its model is freed) |
| `PLAYGROUND_DATABASE_URL` | unset | the run store: unset = SQLite in `PLAYGROUND_HOME`; `postgresql://user:pw@host/db` for several machines |
| `PLAYGROUND_RUN_FILES` | `PLAYGROUND_HOME/runs` | models and TensorBoard logs of runs (a folder every worker and web server can reach) |
| `PLAYGROUND_WORKER_MAX_MB` | `4000` | a training worker using more memory is ended; its job fails saying so |
| `PLAYGROUND_JOB_TIMEOUT` | `7200` | seconds one training may take before its worker is ended |
| `PLAYGROUND_HANG_SECONDS` | `600` | seconds without any progress before a training counts as hung and its worker is ended |
| `PLAYGROUND_WORKER_JOBS` | `25` | trainings a worker runs before it is replaced by a fresh process (memory goes back to the system) |
| `PLAYGROUND_WORKER_RECYCLE_MB` | `2500` | a worker larger than this after a training is replaced by a fresh one |
| `PLAYGROUND_RAY_ADDRESS` | unset | `auto` or `ray://host:10001`: trainings run as Ray tasks on that cluster instead of local workers |

Each can also be set in `.streamlit/secrets.toml` (Streamlit Community Cloud's "Secrets"),
e.g. `PLAYGROUND_MAX_TRAININGS = 1`; the environment wins where both are set.

Example:
    >>> import os; os.environ["PLAYGROUND_MAX_TRAININGS"] = "3"
    >>> max_concurrent_trainings()
    3
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return max(minimum, int(raw))
    except ValueError:
        return default


def data_dir() -> Path | None:
    """The pre-seeded, read-only data folder, or None. We never write into it."""
    raw = os.environ.get("PLAYGROUND_DATA_DIR", "").strip()
    return Path(raw).expanduser() if raw else None


def keras_cache_dir() -> Path:
    """Keras's own cache folder, found the way Keras finds it (`KERAS_HOME` or `~/.keras`)."""
    raw = os.environ.get("KERAS_HOME", "").strip()
    base = Path(raw).expanduser() if raw else Path.home() / ".keras"
    if not os.access(base if base.exists() else base.parent, os.W_OK):
        # Keras falls back to /tmp/.keras when its folder is not writable.
        return Path(tempfile.gettempdir()) / ".keras"
    return base


def offline() -> bool:
    """True when the app must not try to download anything."""
    return os.environ.get("PLAYGROUND_OFFLINE", "").strip().lower() in {"1", "true", "yes"}


def probe_host() -> tuple[str, int] | None:
    """`PLAYGROUND_PROBE_HOST` as (host, port) — `host:port`, `[v6 address]:port` or `host` (port 443) — or None."""
    raw = os.environ.get("PLAYGROUND_PROBE_HOST", "").strip()
    if not raw:
        return None
    host, sep, port = raw.rpartition(":")
    if not sep or not port.isdigit() or host.count(":") and not host.startswith("["):
        host, port = raw, "443"  # no port given (or a bare IPv6 address)
    return host.strip("[]"), int(port)


def home_dir() -> Path:
    """The app's own writable folder, created on first use."""
    raw = os.environ.get("PLAYGROUND_HOME", "").strip()
    path = Path(raw).expanduser() if raw else Path.home() / ".keras-playground"
    path.mkdir(parents=True, exist_ok=True)
    return path


def temp_dir() -> Path:
    """Scratch space for model files and exports; only ever inside `home_dir()`."""
    path = home_dir() / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def max_concurrent_trainings() -> int:
    return _env_int("PLAYGROUND_MAX_TRAININGS", 2, minimum=1)


def orphan_grace_seconds() -> int:
    """How long a job may have no open browser tab before it is stopped."""
    return _env_int("PLAYGROUND_ORPHAN_GRACE", 30, minimum=1)


def runs_kept_per_owner() -> int:
    """Runs kept in the run store per browser session (the oldest are deleted)."""
    return _env_int("PLAYGROUND_RUNS_KEPT", 50, minimum=1)


def max_upload_bytes() -> int:
    return _env_int("PLAYGROUND_MAX_UPLOAD_MB", 50, minimum=1) * 1024 * 1024


def max_uploads_total_bytes() -> int:
    """Memory for the uploads of every session together (see core.uploads.UploadStore)."""
    return _env_int("PLAYGROUND_UPLOADS_MB", 500, minimum=1) * 1024 * 1024


def max_files() -> int:
    return _env_int("PLAYGROUND_MAX_FILES", 5000, minimum=1)


def max_total_pixels() -> int:
    return _env_int("PLAYGROUND_MAX_TOTAL_PIXELS", 300_000_000, minimum=1)


def max_image_pixels() -> int:
    return _env_int("PLAYGROUND_MAX_IMAGE_PIXELS", 40_000_000, minimum=1)


def max_csv_rows() -> int:
    return _env_int("PLAYGROUND_MAX_CSV_ROWS", 100_000, minimum=1)


def jobs_kept_per_owner() -> int:
    """Finished jobs (with their models) kept in memory per browser session."""
    return _env_int("PLAYGROUND_JOBS_KEPT", 3, minimum=1)


def max_queue() -> int:
    return _env_int("PLAYGROUND_MAX_QUEUE", 100, minimum=0)


def database_url() -> str:
    """`PLAYGROUND_DATABASE_URL`, or "" for SQLite in `home_dir()`."""
    return os.environ.get("PLAYGROUND_DATABASE_URL", "").strip()


def run_files_dir() -> Path:
    """Where runs keep their model file and TensorBoard logs (one folder per run)."""
    raw = os.environ.get("PLAYGROUND_RUN_FILES", "").strip()
    path = Path(raw).expanduser() if raw else home_dir() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def worker_max_mb() -> int:
    return _env_int("PLAYGROUND_WORKER_MAX_MB", 4000, minimum=200)


def job_timeout_seconds() -> int:
    return _env_int("PLAYGROUND_JOB_TIMEOUT", 7200, minimum=10)


def hang_seconds() -> int:
    return _env_int("PLAYGROUND_HANG_SECONDS", 600, minimum=5)


def worker_jobs() -> int:
    """Trainings one worker process runs before a fresh process takes its place."""
    return _env_int("PLAYGROUND_WORKER_JOBS", 25, minimum=1)


def worker_recycle_mb() -> int:
    return _env_int("PLAYGROUND_WORKER_RECYCLE_MB", 2500, minimum=100)


def calibrate() -> bool:
    """Whether a starting worker measures the machine's speed for the estimates (`PLAYGROUND_CALIBRATE=0`: not; tests)."""
    return os.environ.get("PLAYGROUND_CALIBRATE", "1").strip() not in {"0", "false", "no"}


def ray_address() -> str:
    return os.environ.get("PLAYGROUND_RAY_ADDRESS", "").strip()


def max_params() -> int:
    return _env_int("PLAYGROUND_MAX_PARAMS", 30_000_000, minimum=1)


def max_sample_epochs() -> int:
    return _env_int("PLAYGROUND_MAX_SAMPLE_EPOCHS", 50_000_000, minimum=1)


def max_model_mb() -> int:
    return _env_int("PLAYGROUND_MAX_MODEL_MB", 3000, minimum=1)

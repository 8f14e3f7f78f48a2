"""The run store's database: one SQLAlchemy engine, the tables, and how blobs are packed.

Every process (web servers, training workers, the CLI) talks to the same database, and that
database is the only channel between a training job and the pages that show it. By default it
is SQLite in WAL mode under `PLAYGROUND_HOME` (readers never wait for the writer); with
`PLAYGROUND_DATABASE_URL=postgresql://...` it is PostgreSQL, through the same code.

Modules that write go through here for their connection (`transaction()` / `read()`); the
queries themselves live with what they are about (core/queue.py, core/recorder.py,
core/runs.py, core/uploads.py, ...).

Example:
    >>> with transaction() as db:  # doctest: +SKIP
    ...     db.execute(workspaces.insert().values(owner="me", spec="{}", updated=0.0))
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import sqlalchemy as sa

from core import settings

SCHEMA_VERSION = 1
metadata = sa.MetaData()

#: One row per training job, from the moment it is queued; settled jobs with epochs are the learner's runs.
runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("name", sa.String(120), nullable=False, default=""),
    sa.Column("recipe", sa.String(64), nullable=False, default=""),
    sa.Column("dataset", sa.String(32), nullable=False, default=""),
    sa.Column("spec", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("phase", sa.String(32), nullable=False),
    sa.Column("message", sa.Text),  # a core.i18n.Msg as JSON
    sa.Column("seq", sa.BigInteger, nullable=False, default=0),  # place in the FIFO queue
    sa.Column("after_id", sa.String(16)),  # queues only once this job has settled (a sequence of runs)
    sa.Column("group_id", sa.String(32), nullable=False, default=""),  # runs trained and compared together
    sa.Column("watched", sa.Boolean, nullable=False, default=False),  # stopped when its owner's tabs are all gone
    sa.Column("stop_requested", sa.Float),  # when Stop was asked for
    sa.Column("stop_reason", sa.Text),  # a Msg as JSON
    sa.Column("worker", sa.String(128), nullable=False, default=""),  # "host:pid" of the process training it
    sa.Column("device", sa.String(64), nullable=False, default=""),  # "CPU", "GPU:0", ...
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("started", sa.Float),
    sa.Column("finished", sa.Float),
    sa.Column("heartbeat", sa.Float),  # the worker's last sign of life while running
    sa.Column("progress", sa.Text, nullable=False, default="{}"),  # epoch, step, steps, loss, epoch_started
    sa.Column("history", sa.Text, nullable=False, default="{}"),  # per-epoch lists, as Keras's History.history
    sa.Column("metrics", sa.Text, nullable=False, default="{}"),  # final train/val/test figures
    sa.Column("timings", sa.Text, nullable=False, default="{}"),  # seconds per phase
    sa.Column("n_params", sa.BigInteger),
    sa.Column("estimate", sa.Float),  # preflight's estimate of the whole run, seconds
    sa.Column("room", sa.String(32), nullable=False, default=""),  # a workshop room's runs carry its id
)
sa.Index("runs_owner", runs.c.owner, runs.c.created)
sa.Index("runs_queue", runs.c.status, runs.c.seq)

#: Larger per-run parts, written once or rarely: evaluation, decision map, look-inside views.
run_blobs = sa.Table(
    "run_blobs",
    metadata,
    sa.Column("run_id", sa.String(16), primary_key=True),
    sa.Column("kind", sa.String(24), primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

#: Weight and bias histograms per layer, one row per epoch (epoch 0: before training).
run_weights = sa.Table(
    "run_weights",
    metadata,
    sa.Column("run_id", sa.String(16), primary_key=True),
    sa.Column("epoch", sa.Integer, primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

uploads = sa.Table(
    "uploads",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("filename", sa.String(120), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("used", sa.Float, nullable=False),
)

#: Each owner's latest spec, so a refresh (or another replica) finds the setup again.
workspaces = sa.Table(
    "workspaces",
    metadata,
    sa.Column("owner", sa.String(64), primary_key=True),
    sa.Column("spec", sa.Text, nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
)

#: When a browser tab of each owner was last seen connected (written by the web servers).
presence = sa.Table(
    "presence",
    metadata,
    sa.Column("owner", sa.String(64), primary_key=True),
    sa.Column("seen", sa.Float, nullable=False),
)

#: Training workers and what they know of their machine (the ETA's calibration).
workers = sa.Table(
    "workers",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("host", sa.String(128), nullable=False),
    sa.Column("started", sa.Float, nullable=False),
    sa.Column("heartbeat", sa.Float, nullable=False),
    sa.Column("jobs_done", sa.Integer, nullable=False, default=0),
    sa.Column("rss_mb", sa.Float, nullable=False, default=0.0),
    sa.Column("device", sa.String(64), nullable=False, default="CPU"),
)
machines = sa.Table(
    "machines",
    metadata,
    sa.Column("host", sa.String(128), primary_key=True),
    sa.Column("profile", sa.Text, nullable=False),  # core.eta.MachineProfile as JSON
    sa.Column("updated", sa.Float, nullable=False),
)

#: What finished runs took against their estimate, per machine: the estimate's scales are fitted to them
#: (core/preflight.learn).
machine_runs = sa.Table(
    "machine_runs",
    metadata,
    sa.Column("run_id", sa.String(16), primary_key=True),
    sa.Column("host", sa.String(128), nullable=False, index=True),
    sa.Column("finished", sa.Float, nullable=False),
    sa.Column("observed", sa.Text, nullable=False),  # the estimate's unscaled parts and the actual seconds, as JSON
)

#: Workshop rooms (core/rooms.py): the task, the instructor's key (hashed) and what the board shows.
rooms = sa.Table(
    "rooms",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("key_hash", sa.String(64), nullable=False),  # sha256 of the instructor's key; the key itself is never stored
    sa.Column("title", sa.String(120), nullable=False),
    sa.Column("spec", sa.Text, nullable=False),  # the starting setup
    sa.Column("locked", sa.Text, nullable=False, default=""),  # share.Classroom controls, comma-separated
    sa.Column("hidden", sa.Text, nullable=False, default=""),
    sa.Column("goal", sa.String(32), nullable=False),  # the metric the board ranks by
    sa.Column("deadline", sa.Float),  # runs created later do not count
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("expires", sa.Float, nullable=False),  # the room and its runs are deleted then
    sa.Column("frozen", sa.Float),  # the board shows only runs settled before this moment
    sa.Column("reveal", sa.Boolean, nullable=False, default=False),  # learners see each other's names
    sa.Column("pins", sa.Text, nullable=False, default="[]"),  # run ids shown to everyone
    sa.Column("question", sa.Text, nullable=False, default=""),  # "which will win?": choices and whether revealed
)
#: Who is in a room under which display name (a learner is their browser's owner token).
room_members = sa.Table(
    "room_members",
    metadata,
    sa.Column("room", sa.String(16), primary_key=True),
    sa.Column("owner", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("joined", sa.Float, nullable=False),
)
room_votes = sa.Table(
    "room_votes",
    metadata,
    sa.Column("room", sa.String(16), primary_key=True),
    sa.Column("owner", sa.String(64), primary_key=True),
    sa.Column("choice", sa.String(16), nullable=False),
)
sa.Index("runs_room", runs.c.room)

schema = sa.Table("schema", metadata, sa.Column("version", sa.Integer, primary_key=True))


# --------------------------------------------------------------------------- the engine

_ENGINES: dict[str, tuple[sa.Engine, sa.Engine]] = {}  # url -> (writer, reader)
_LOCK = threading.Lock()


def url() -> str:
    """`PLAYGROUND_DATABASE_URL`, or the SQLite file in the app's home. `postgresql://` means psycopg (version 3)."""
    given = settings.database_url()
    if given.startswith(("postgresql://", "postgres://")):
        given = "postgresql+psycopg://" + given.split("://", 1)[1]
    return given or f"sqlite:///{settings.home_dir() / 'runs.sqlite3'}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
    cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; a power cut may lose the last commit only
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _begin_immediate(conn) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")  # take the write lock at once: no deadlock between two writers


def _sqlite_engine(target: str, writer: bool) -> sa.Engine:
    """SQLite with pysqlite's own transaction handling off: the writer begins with BEGIN IMMEDIATE (it takes
    the write lock at once, so two writers never deadlock), the reader runs each SELECT on its own (WAL)."""
    found = sa.create_engine(target, connect_args={"timeout": 30, "check_same_thread": False})
    sa.event.listen(found, "connect", _sqlite_pragmas)
    sa.event.listen(found, "connect", lambda c, _r: setattr(c, "isolation_level", None))
    if writer:
        sa.event.listen(found, "begin", _begin_immediate)
    return found


def engine(writer: bool = True) -> sa.Engine:
    """The process's engine for the current URL (created, and the schema made, on first use)."""
    target = url()
    with _LOCK:
        if target not in _ENGINES:
            if target.startswith("sqlite"):
                pair = (_sqlite_engine(target, writer=True), _sqlite_engine(target, writer=False))
            else:
                server = sa.create_engine(target, pool_pre_ping=True, pool_size=5, max_overflow=5)
                pair = (server, server)
            _create(pair[0])
            _ENGINES[target] = pair
        pair = _ENGINES[target]
    return pair[0] if writer else pair[1]


def _create(eng: sa.Engine) -> None:
    """Create the tables (idempotent), and say which schema version this database holds."""
    for attempt in range(5):
        try:
            metadata.create_all(eng, checkfirst=True)
            break
        except sa.exc.OperationalError:  # two processes creating at once: the other one won
            time.sleep(0.2 * (attempt + 1))
        except sa.exc.IntegrityError:
            time.sleep(0.2 * (attempt + 1))
    with eng.begin() as db:
        version = db.execute(sa.select(sa.func.max(schema.c.version))).scalar()
        if version is None:
            db.execute(schema.insert().values(version=SCHEMA_VERSION))
        elif version > SCHEMA_VERSION:
            raise RuntimeError(f"the run store holds schema {version}, newer than this app's {SCHEMA_VERSION}")


def dispose() -> None:
    """Forget every engine (tests point PLAYGROUND_HOME elsewhere; a forked or spawned process starts fresh)."""
    with _LOCK:
        for writer, reader in _ENGINES.values():
            writer.dispose()
            reader.dispose()
        _ENGINES.clear()


@contextmanager
def transaction() -> Iterator[sa.Connection]:
    """A connection in one transaction, committed at the end (rolled back on an exception)."""
    for attempt in range(6):
        try:
            with engine().begin() as db:
                yield db
            return
        except sa.exc.OperationalError as exc:  # "database is locked" beyond the busy timeout: try again
            if "locked" not in str(exc) or attempt == 5:
                raise
            time.sleep(0.1 * (attempt + 1))


@contextmanager
def read() -> Iterator[sa.Connection]:
    """A connection for SELECTs; on SQLite each statement sees the last commit without taking any lock."""
    with engine(writer=False).connect() as db:
        yield db


# --------------------------------------------------------------------------- packing


def dumps(value: Any) -> str:
    return json.dumps(value, default=_plain, ensure_ascii=False)


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def pack(meta: dict | None = None, **arrays: np.ndarray) -> bytes:
    """JSON metadata plus numpy arrays in one blob (an .npz; never pickles)."""
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        __meta__=np.frombuffer(dumps(meta or {}).encode("utf-8"), np.uint8),
        **{k: np.asarray(v) for k, v in arrays.items()},  # type: ignore[arg-type]  # numpy's stub types **kwds as bool
    )
    return buffer.getvalue()


def unpack(blob: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files if k != "__meta__"}
        meta = json.loads(bytes(npz["__meta__"]).decode("utf-8")) if "__meta__" in npz.files else {}
    return meta, arrays

"""The run store: every finished, stopped or diverged run, kept in SQLite across restarts.

One row per run (spec, per-epoch history, final metrics, timings) in
`<PLAYGROUND_HOME>/runs.sqlite3`; the model file and TensorBoard logs of a run
live in `<PLAYGROUND_HOME>/runs/<id>/`. Every query is scoped to an owner (the
browser's token), so a session only ever sees its own runs.

Example:
    >>> store = RunStore(tmp_path / "runs.sqlite3")  # doctest: +SKIP
    >>> store.save(run); [r.id for r in store.list(run.owner)]  # doctest: +SKIP
    ['3f2a9c']
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from core import settings
from core.i18n import Msg
from core.spec import ExperimentSpec

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    recipe TEXT NOT NULL DEFAULT '',
    dataset TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT,
    spec TEXT NOT NULL,
    history TEXT NOT NULL,
    metrics TEXT NOT NULL,
    timings TEXT NOT NULL,
    created REAL NOT NULL,
    finished REAL
);
CREATE INDEX IF NOT EXISTS runs_owner ON runs (owner, created);
"""


@dataclass
class Run:
    id: str
    owner: str
    name: str
    spec: ExperimentSpec
    status: str
    history: dict[str, list[float]] = field(default_factory=dict)
    metrics: dict[str, float | None] = field(default_factory=dict)  # train/val/test accuracy, test loss
    timings: dict[str, float] = field(default_factory=dict)
    created: float = 0.0
    finished: float | None = None
    message: Msg | None = None

    @property
    def epochs(self) -> int:
        return len(self.history.get("loss", []))

    @property
    def seconds(self) -> float:
        return float(sum(self.timings.values()))


def run_dir(run_id: str) -> Path:
    """Files of one run (model, TensorBoard logs), inside the app's own home."""
    if not run_id.isalnum():
        raise ValueError(f"not a run id: {run_id!r}")
    return settings.home_dir() / "runs" / run_id


def _message_json(msg: Msg | None) -> str | None:
    return json.dumps({"key": msg.key, "fields": msg.fields}, default=str) if msg else None


def _message(text: str | None) -> Msg | None:
    if not text:
        return None
    raw = json.loads(text)
    return Msg(raw["key"], raw.get("fields") or {})


class RunStore:
    """Thread-safe access to the runs table; one short connection per call."""

    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path else settings.home_dir() / "runs.sqlite3"
        self._lock = threading.Lock()
        with self._connect() as db:
            db.executescript(_SCHEMA)

    def _connect(self):
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        return closing(db)

    def save(self, run: Run) -> None:
        with self._lock, self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    run.id, run.owner, run.name, run.spec.recipe, run.spec.data.name, run.status,
                    _message_json(run.message), run.spec.to_json(), json.dumps(run.history),
                    json.dumps(run.metrics), json.dumps(run.timings), run.created, run.finished,
                ),
            )
            db.commit()

    @staticmethod
    def _row(row: sqlite3.Row) -> Run:
        return Run(
            id=row["id"], owner=row["owner"], name=row["name"], spec=ExperimentSpec.from_json(row["spec"]),
            status=row["status"], history=json.loads(row["history"]), metrics=json.loads(row["metrics"]),
            timings=json.loads(row["timings"]), created=row["created"], finished=row["finished"],
            message=_message(row["message"]),
        )

    def list(self, owner: str) -> list[Run]:
        """The owner's runs, newest first."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM runs WHERE owner = ? ORDER BY created DESC", (owner,)).fetchall()
        return [self._row(r) for r in rows]

    def get(self, owner: str, run_id: str) -> Run | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM runs WHERE owner = ? AND id = ?", (owner, run_id)).fetchone()
        return self._row(row) if row else None

    def rename(self, owner: str, run_id: str, name: str) -> bool:
        name = " ".join(name.split())[:80]
        if not name:
            return False
        with self._lock, self._connect() as db:
            changed = db.execute("UPDATE runs SET name = ? WHERE owner = ? AND id = ?", (name, owner, run_id)).rowcount
            db.commit()
        return bool(changed)

    def delete(self, owner: str, run_id: str) -> bool:
        with self._lock, self._connect() as db:
            gone = db.execute("DELETE FROM runs WHERE owner = ? AND id = ?", (owner, run_id)).rowcount
            db.commit()
        if gone:
            shutil.rmtree(run_dir(run_id), ignore_errors=True)
        return bool(gone)

    def prune(self, owner: str, keep: int) -> list[str]:
        """Delete the owner's oldest runs beyond `keep`; returns their ids."""
        old = [run.id for run in self.list(owner)[keep:]]
        for run_id in old:
            self.delete(owner, run_id)
        return old


_STORE: RunStore | None = None
_STORE_LOCK = threading.Lock()


def store() -> RunStore:
    """The process-wide store in the app's home (re-created if PLAYGROUND_HOME changes, as in tests)."""
    global _STORE
    with _STORE_LOCK:
        wanted = settings.home_dir() / "runs.sqlite3"
        if _STORE is None or _STORE.path != wanted:
            _STORE = RunStore(wanted)
        return _STORE

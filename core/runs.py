"""The run store: every training job, from queued to settled, and the learner's runs among them.

A run is one row of the database (core/db.py): its spec, status and phase, per-epoch history,
final metrics and timings; its larger parts (evaluation, decision map, look-inside views,
weight histograms) are blobs beside it, and its model file and TensorBoard logs live in
`<PLAYGROUND_RUN_FILES>/<id>/`. Every query is scoped to an owner (the browser's token), so a
learner only ever sees their own runs.

Example:
    >>> store().save(run); [r.id for r in store().list(run.owner)]  # doctest: +SKIP
    ['3f2a9c']
"""

from __future__ import annotations

import builtins
import json
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from core import db, settings
from core.i18n import Msg
from core.network_views import histograms_from_blob
from core.spec import ExperimentSpec
from core.status import ACTIVE, KEPT, Phase, Status


@dataclass
class Progress:
    """Where a running job is inside its epochs (written a few times a second by its worker)."""

    epoch: int = 0  # 1-based epoch in progress
    epochs: int = 0
    step: int = 0  # batches done in this epoch (or images, while computing transfer features)
    steps: int = 0
    loss: float | None = None
    epoch_started: float = 0.0  # wall clock (time.time()): the worker and the page are different processes
    updated: float = 0.0


@dataclass
class Run:
    id: str
    owner: str
    name: str
    spec: ExperimentSpec
    status: str
    history: dict[str, list[float]] = field(default_factory=dict)
    metrics: dict[str, object] = field(default_factory=dict)  # train/val/test figures, n_classes, class_names
    timings: dict[str, float] = field(default_factory=dict)
    created: float = 0.0
    finished: float | None = None
    message: Msg | None = None
    phase: str = Phase.DONE
    progress: Progress = field(default_factory=Progress)
    started: float | None = None
    heartbeat: float | None = None
    n_params: int | None = None
    estimate: float | None = None  # preflight's estimate of the whole run, seconds
    worker: str = ""
    device: str = ""
    after_id: str | None = None
    group_id: str = ""
    seq: int = 0
    watched: bool = False
    stop_requested: float | None = None
    room: str = ""

    @property
    def epochs(self) -> int:
        return len(self.history.get("loss", []))

    @property
    def seconds(self) -> float:
        return float(sum(self.timings.values()))

    @property
    def active(self) -> bool:
        """Queued or training."""
        return self.status in ACTIVE

    @property
    def settled(self) -> bool:
        """Nothing more will change: training and the evaluation after it are over."""
        return self.status not in ACTIVE and self.phase == Phase.DONE

    @property
    def class_names(self) -> list[str]:
        names = self.metrics.get("class_names") or []
        return [str(n) for n in names] if isinstance(names, list) else []


def run_dir(run_id: str) -> Path:
    """Files of one run (model, TensorBoard logs)."""
    if not run_id.isalnum():
        raise ValueError(f"not a run id: {run_id!r}")
    return settings.run_files_dir() / run_id


def model_file(run_id: str) -> Path:
    return run_dir(run_id) / "model.keras"


def message_json(msg: Msg | None) -> str | None:
    return db.dumps({"key": msg.key, "fields": msg.fields}) if msg else None


def message(text: str | None) -> Msg | None:
    if not text:
        return None
    raw = json.loads(text)
    fields = {
        k: message(json.dumps(v)) if isinstance(v, dict) and "key" in v else v for k, v in (raw.get("fields") or {}).items()
    }
    return Msg(raw["key"], fields)


def from_row(row) -> Run:
    m = row._mapping
    return Run(
        id=m["id"],
        owner=m["owner"],
        name=m["name"],
        spec=ExperimentSpec.from_json(m["spec"]),
        status=Status(m["status"]),
        history=json.loads(m["history"]),
        metrics=json.loads(m["metrics"]),
        timings=json.loads(m["timings"]),
        created=m["created"],
        finished=m["finished"],
        message=message(m["message"]),
        phase=Phase(m["phase"]),
        progress=Progress(**json.loads(m["progress"] or "{}")),
        started=m["started"],
        heartbeat=m["heartbeat"],
        n_params=m["n_params"],
        estimate=m["estimate"],
        worker=m["worker"],
        device=m["device"],
        after_id=m["after_id"],
        group_id=m["group_id"],
        seq=m["seq"],
        watched=bool(m["watched"]),
        stop_requested=m["stop_requested"],
        room=m["room"],
    )


def to_values(run: Run) -> dict:
    """The row of a run (for a whole-row write: tests, imports, the first insert)."""
    return dict(
        id=run.id,
        owner=run.owner,
        name=run.name,
        recipe=run.spec.recipe,
        dataset=run.spec.data.name,
        spec=run.spec.to_json(),
        status=str(run.status),
        phase=str(run.phase),
        message=message_json(run.message),
        seq=run.seq,
        after_id=run.after_id,
        group_id=run.group_id,
        watched=run.watched,
        stop_requested=run.stop_requested,
        worker=run.worker,
        device=run.device,
        created=run.created,
        started=run.started,
        finished=run.finished,
        heartbeat=run.heartbeat,
        progress=db.dumps(vars(run.progress)),
        history=db.dumps(run.history),
        metrics=db.dumps(run.metrics),
        timings=db.dumps(run.timings),
        n_params=run.n_params,
        estimate=run.estimate,
        room=run.room,
    )


def get_blob(run_id: str, kind: str) -> bytes | None:
    with db.read() as conn:
        return conn.execute(
            sa.select(db.run_blobs.c.data).where(db.run_blobs.c.run_id == run_id, db.run_blobs.c.kind == kind)
        ).scalar()


def weight_history(run_id: str) -> list[dict]:
    """Weight and bias histograms per layer, one entry per epoch (the first: before training)."""

    with db.read() as conn:
        rows = (
            conn.execute(
                sa.select(db.run_weights.c.data).where(db.run_weights.c.run_id == run_id).order_by(db.run_weights.c.epoch)
            )
            .scalars()
            .all()
        )
    return [histograms_from_blob(blob) for blob in rows]


class RunStore:
    """The learner's runs: settled jobs that trained (or diverged), newest first; each query scoped to an owner."""

    def get(self, owner: str | None, run_id: str) -> Run | None:
        with db.read() as conn:
            row = conn.execute(sa.select(db.runs).where(db.runs.c.id == run_id, db.runs.c.owner == owner)).first()
        return from_row(row) if row else None

    def list(self, owner: str) -> list[Run]:
        """The owner's kept runs, newest first: finished, stopped with epochs, or diverged."""
        r = db.runs.c
        query = (
            sa.select(db.runs)
            .where(r.owner == owner, r.status.in_([str(s) for s in KEPT]), r.phase == str(Phase.DONE))
            .order_by(r.created.desc())
        )
        with db.read() as conn:
            found = [from_row(row) for row in conn.execute(query)]
        return [run for run in found if run.epochs or run.status == Status.DIVERGED]

    def save(self, run: Run) -> None:
        """Write a whole run (insert or replace)."""
        values = to_values(run)
        with db.transaction() as conn:
            conn.execute(db.runs.delete().where(db.runs.c.id == run.id))
            conn.execute(db.runs.insert().values(**values))

    def rename(self, owner: str, run_id: str, name: str) -> bool:
        name = " ".join(name.split())[:80]
        if not name:
            return False
        with db.transaction() as conn:
            changed = conn.execute(
                db.runs.update().where(db.runs.c.owner == owner, db.runs.c.id == run_id).values(name=name)
            ).rowcount
        return bool(changed)

    def delete(self, owner: str, run_id: str) -> bool:
        """Delete a settled run with its blobs and files (an active job is stopped, not deleted)."""
        with db.transaction() as conn:
            gone = conn.execute(
                db.runs.delete().where(
                    db.runs.c.owner == owner, db.runs.c.id == run_id, db.runs.c.status.notin_([str(s) for s in ACTIVE])
                )
            ).rowcount
            if gone:
                conn.execute(db.run_blobs.delete().where(db.run_blobs.c.run_id == run_id))
                conn.execute(db.run_weights.delete().where(db.run_weights.c.run_id == run_id))
        if gone:
            shutil.rmtree(run_dir(run_id), ignore_errors=True)
        return bool(gone)

    def prune(self, owner: str, keep: int) -> builtins.list[str]:
        """Delete the owner's oldest settled jobs beyond `keep` (runs, failed and cancelled ones alike); returns their ids."""
        r = db.runs.c
        with db.read() as conn:
            ids = (
                conn.execute(
                    sa.select(r.id)
                    .where(r.owner == owner, r.status.notin_([str(s) for s in ACTIVE]))
                    .order_by(r.created.desc())
                    .offset(keep)
                )
                .scalars()
                .all()
            )
        for run_id in ids:
            self.delete(owner, run_id)
        return list(ids)


def store() -> RunStore:
    return RunStore()


def new_id() -> str:
    return uuid.uuid4().hex[:12]

"""The training queue, kept in the run store: submit, claim, stop, and what happens to a lost worker.

A queued job is a row with status `queued`. Workers (local processes or Ray tasks) claim the
oldest one whose predecessor, if it has one, has settled: so the queue is FIFO across every
web server and every worker, and a sequence of runs (the overfitting trio) trains one after
another, each joining the back of the queue when the one before it ends.

    >>> job_id = submit(spec, owner="ann")  # doctest: +SKIP
    >>> claim("host:123").id == job_id  # doctest: +SKIP
    True
"""

from __future__ import annotations

import time

import sqlalchemy as sa

from core import db, runs, settings
from core.compare import place_text
from core.i18n import LocalizedError, Msg
from core.spec import ExperimentSpec
from core.status import ACTIVE, Phase, Status

R = db.runs.c
_ACTIVE = [str(s) for s in ACTIVE]
#: A running job whose worker has not been heard of for this long is lost (its machine died, or its process).
HEARTBEAT_TIMEOUT = 20.0


class QueueFull(LocalizedError):
    """Too many trainings are waiting; the message names the limit."""


def _eligible():
    """Queued jobs that may start now: no predecessor, or one that has settled (or is gone)."""
    before = db.runs.alias("before")
    waiting_on = sa.select(before.c.id).where(before.c.id == R.after_id, before.c.status.in_(_ACTIVE))
    return sa.and_(R.status == str(Status.QUEUED), sa.or_(R.after_id.is_(None), ~sa.exists(waiting_on)))


def _next_seq(conn) -> int:
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(R.seq), 0))).scalar()) + 1


def waiting() -> int:
    """Jobs ready to start as soon as a worker is free."""
    with db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(db.runs).where(_eligible())).scalar() or 0)


def counts() -> tuple[int, int]:
    """(running, waiting) across every worker."""
    with db.read() as conn:
        running = conn.execute(sa.select(sa.func.count()).select_from(db.runs).where(R.status == str(Status.RUNNING))).scalar()
        ready = conn.execute(sa.select(sa.func.count()).select_from(db.runs).where(_eligible())).scalar()
    return int(running or 0), int(ready or 0)


def _default_name(spec: ExperimentSpec) -> str:
    """A run is named after its place in a comparison (`adam · 32`), else its recipe, else its dataset."""
    return place_text(spec.compare) if spec.compare else spec.recipe or spec.data.name


def submit(
    spec: ExperimentSpec,
    owner: str,
    *,
    watched: bool = True,
    after: str | None = None,
    group: str = "",
    estimate: float | None = None,
    room: str = "",
    name: str = "",
) -> str:
    """Queue a job; returns its id. Raises QueueFull when `PLAYGROUND_MAX_QUEUE` jobs already wait.

    With `after`, the job waits for that job to settle and only then joins the back of the queue.
    """
    limit = settings.max_queue()
    if after is None:
        ahead = waiting()
        if ahead >= limit:
            raise QueueFull("limits.queue", waiting=ahead, limit=limit)
    now = time.time()
    run = runs.Run(
        runs.new_id(),
        owner,
        name or f"{_default_name(spec)} {time.strftime('%H:%M:%S', time.localtime(now))}",
        spec.copy(),
        Status.QUEUED,
        created=now,
        phase=Phase.QUEUED,
        estimate=estimate,
        after_id=after,
        group_id=group,
        watched=watched,
        room=room,
    )
    run.progress.epochs = spec.fit.epochs
    with db.transaction() as conn:
        run.seq = _next_seq(conn)
        conn.execute(db.runs.insert().values(**runs.to_values(run)))
    return run.id


def claim(worker: str, device: str = "CPU") -> runs.Run | None:
    """Take the oldest job that may start, for `worker`; None when there is none."""
    query = sa.select(R.id).where(_eligible()).order_by(R.seq, R.created).limit(1)
    now = time.time()
    with db.transaction() as conn:
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        job_id = conn.execute(query).scalar()
        if job_id is None:
            return None
        taken = conn.execute(
            db.runs.update()
            .where(R.id == job_id, R.status == str(Status.QUEUED))
            .values(
                status=str(Status.RUNNING), phase=str(Phase.LOADING), worker=worker, device=device, started=now, heartbeat=now
            )
        ).rowcount
        if not taken:
            return None
        row = conn.execute(sa.select(db.runs).where(R.id == job_id)).first()
    return runs.from_row(row)


def get(job_id: str) -> runs.Run | None:
    with db.read() as conn:
        row = conn.execute(sa.select(db.runs).where(R.id == job_id)).first()
    return runs.from_row(row) if row else None


def position(run: runs.Run) -> int | None:
    """1-based place among the jobs ready to start; None when not waiting (or waiting for its predecessor)."""
    if run.status != Status.QUEUED:
        return None
    # Counted by the database (one indexed query per poll), not by reading every waiting job: a room polls this
    # for each of its tabs every second.
    ahead = sa.or_(R.seq < run.seq, sa.and_(R.seq == run.seq, R.created < run.created))
    with db.read() as conn:
        if run.after_id is not None and conn.execute(sa.select(R.id).where(R.id == run.id, _eligible())).first() is None:
            return None  # still waiting for its predecessor
        return 1 + int(conn.execute(sa.select(sa.func.count()).select_from(db.runs).where(_eligible(), ahead)).scalar() or 0)


def settle(conn, job_id: str, status: Status, message: Msg | None, **values) -> bool:
    """End a job (in the caller's transaction); its dependents go to the back of the queue. False if already settled."""
    done = conn.execute(
        db.runs.update()
        .where(R.id == job_id, R.status.in_(_ACTIVE))
        .values(status=str(status), phase=str(Phase.DONE), message=runs.message_json(message), finished=time.time(), **values)
    ).rowcount
    if done:
        conn.execute(db.runs.update().where(R.after_id == job_id, R.status == str(Status.QUEUED)).values(seq=_next_seq(conn)))
    return bool(done)


def request_stop(job_id: str, reason: Msg | None = None) -> None:
    """Ask a job to stop: a queued one is cancelled at once, a running one stops within about a second."""
    with db.transaction() as conn:
        conn.execute(
            db.runs.update()
            .where(R.id == job_id, R.status.in_(_ACTIVE), R.stop_requested.is_(None))
            .values(stop_requested=time.time(), stop_reason=runs.message_json(reason))
        )
        if _is_queued(conn, job_id):
            settle(conn, job_id, Status.STOPPED, reason or Msg("job.cancelled"))


def _is_queued(conn, job_id: str) -> bool:
    return conn.execute(sa.select(R.status).where(R.id == job_id)).scalar() == str(Status.QUEUED)


def stop_wanted(job_id: str) -> tuple[bool, Msg | None]:
    """(whether Stop was asked for, the reason given)."""
    with db.read() as conn:
        row = conn.execute(sa.select(R.stop_requested, R.stop_reason).where(R.id == job_id)).first()
    if row is None:
        return True, None  # deleted under our feet: nobody wants it any more
    return row.stop_requested is not None, runs.message(row.stop_reason)


def fail_worker(worker: str, msg: Msg) -> list[str]:
    """A worker process died or was ended: its running job fails with `msg` (finished epochs are kept)."""
    with db.transaction() as conn:
        ids = conn.execute(sa.select(R.id).where(R.worker == worker, R.status == str(Status.RUNNING))).scalars().all()
        return [job_id for job_id in ids if settle(conn, job_id, Status.FAILED, msg)]


def fail_stale(timeout: float = HEARTBEAT_TIMEOUT, now: float | None = None) -> list[str]:
    """Running jobs nobody has heard of for `timeout` seconds fail: their worker (or its machine) was lost.

    Safe to call from anywhere, often: a page reading a job, a worker, a supervisor.
    """
    cutoff = (now or time.time()) - timeout
    with db.transaction() as conn:
        ids = conn.execute(sa.select(R.id).where(R.status == str(Status.RUNNING), R.heartbeat < cutoff)).scalars().all()
        return [job_id for job_id in ids if settle(conn, job_id, Status.FAILED, Msg("job.worker_lost"))]


def active_for(owner: str) -> list[runs.Run]:
    """The owner's queued and running jobs, oldest first."""
    with db.read() as conn:
        rows = conn.execute(sa.select(db.runs).where(R.owner == owner, R.status.in_(_ACTIVE)).order_by(R.created)).all()
    return [runs.from_row(row) for row in rows]


def latest_for(owner: str) -> runs.Run | None:
    """The owner's newest job of any status."""
    with db.read() as conn:
        row = conn.execute(sa.select(db.runs).where(R.owner == owner).order_by(R.created.desc()).limit(1)).first()
    return runs.from_row(row) if row else None


def group_of(owner: str, group: str) -> list[runs.Run]:
    """Every job of one of the owner's groups (a comparison), any status, in the order they were queued."""
    with db.read() as conn:
        rows = conn.execute(sa.select(db.runs).where(R.owner == owner, R.group_id == group).order_by(R.seq)).all()
    return [runs.from_row(row) for row in rows]


def groups_of(owner: str, prefix: str, limit: int = 20) -> list[str]:
    """The owner's newest group ids starting with `prefix`, newest first."""
    with db.read() as conn:
        rows = conn.execute(
            sa.select(R.group_id, sa.func.max(R.created).label("newest"))
            .where(R.owner == owner, R.group_id.startswith(prefix))
            .group_by(R.group_id)
            .order_by(sa.desc("newest"))
            .limit(limit)
        ).all()
    return [row.group_id for row in rows]


def unsettled_for(owner: str) -> list[runs.Run]:
    """The owner's jobs that are still queued, training or evaluating, oldest first."""
    with db.read() as conn:
        rows = conn.execute(
            sa.select(db.runs)
            .where(R.owner == owner, sa.or_(R.status.in_(_ACTIVE), R.phase != str(Phase.DONE)))
            .order_by(R.created)
        ).all()
    return [runs.from_row(row) for row in rows]

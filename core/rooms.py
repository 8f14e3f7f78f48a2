"""Workshop rooms: an instructor's task, the learners in it, and the live board of their runs.

A room is rows in the run store (core/db.py), so every web server and replica sees the same
room: the task (a starting setup, locked and hidden controls, a goal metric, a deadline), its
members (a browser's owner token under a display name), what the instructor pinned, and the
"which will win?" question with the learners' votes. A learner's runs carry the room's id
(`runs.room`); nothing else ties a run to a room, and every query here is scoped to one room.

The instructor's link carries a secret key; only its sha256 is stored, so the learners' link
(and the database) cannot be turned into the instructor's. A room and its runs are deleted
when the instructor deletes it, or `PLAYGROUND_ROOM_HOURS` after it was created.

Example:
    >>> room, key = create(ExperimentSpec.default_for("moons"), "Moons", "val_accuracy")  # doctest: +SKIP
    >>> join(room.id, owner="ann-token", name="Ann"); [r.name for r in board(room)]  # doctest: +SKIP
    ['Ann']
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import secrets
import shutil
import time
import unicodedata
from dataclasses import dataclass, field

import sqlalchemy as sa

from core import db, runs, settings, share
from core.i18n import LocalizedError
from core.runs import Run
from core.spec import ExperimentSpec, settings_table
from core.status import KEPT, Phase, Status

ROOM_PARAM, KEY_PARAM = "room", "key"  # the links' query parameters
NAME_MAX = 40  # characters of a display name
TITLE_MAX = 80
DEADLINE_MAX_MINUTES = 24 * 60  # a deadline is within the day of the workshop
#: Goal metrics the board can rank by: True when higher is better.
GOALS = {"val_accuracy": True, "test_accuracy": True, "val_loss": False, "val_mae": False, "test_mae": False}
STATUSES = ("training", "queued", "idle")  # a learner's status on the board

R, M, V = db.runs.c, db.room_members.c, db.room_votes.c


class RoomError(LocalizedError):
    """A bad room link, a wrong key, a name that cannot be used: the message says which."""


@dataclass
class Question:
    """The instructor's "which will win?": pinned runs as choices; `revealed` once the board shows the winner."""

    choices: list[str]
    revealed: bool = False


@dataclass
class Room:
    id: str
    title: str
    spec: ExperimentSpec
    goal: str
    classroom: share.Classroom = field(default_factory=share.Classroom)
    deadline: float | None = None
    created: float = 0.0
    expires: float = 0.0
    frozen: float | None = None
    reveal: bool = False
    pins: list[str] = field(default_factory=list)
    question: Question | None = None

    @property
    def higher_is_better(self) -> bool:
        return GOALS[self.goal]


@dataclass
class Member:
    owner: str
    name: str
    joined: float


@dataclass
class BoardRow:
    """One learner on the board. `owner` and `name` are blank in a learner's view of somebody else."""

    owner: str
    name: str
    runs: int
    status: str
    best: Run | None = None
    value: float | None = None
    curve: list[float] = field(default_factory=list)
    changed: dict[str, tuple] = field(default_factory=dict)  # setting -> (starting value, the best run's)
    you: bool = False


# --------------------------------------------------------------------------- rooms


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create(
    spec: ExperimentSpec,
    title: str,
    goal: str,
    classroom: share.Classroom | None = None,
    deadline: float | None = None,
    now: float | None = None,
) -> tuple[Room, str]:
    """A new room for this task; returns it and the instructor's key (shown once, in the instructor's link)."""
    if goal not in GOALS:
        raise RoomError("room.error.goal", goal=goal)
    title = " ".join(str(title).split())[:TITLE_MAX]
    now = time.time() if now is None else now
    purge_expired(now)
    room = Room(
        secrets.token_hex(8),
        title,
        spec.copy(),
        goal,
        classroom or share.Classroom(),
        deadline,
        now,
        now + settings.room_hours() * 3600,
    )
    key = secrets.token_urlsafe(18)
    with db.transaction() as conn:
        conn.execute(
            db.rooms.insert().values(
                id=room.id,
                key_hash=_hash(key),
                title=room.title,
                spec=room.spec.to_json(),
                locked=",".join(sorted(room.classroom.locked)),
                hidden=",".join(sorted(room.classroom.hidden)),
                goal=goal,
                deadline=deadline,
                created=now,
                expires=room.expires,
            )
        )
    return room, key


def _from_row(row) -> Room:
    m = row._mapping
    question = json.loads(m["question"]) if m["question"] else None
    return Room(
        id=m["id"],
        title=m["title"],
        spec=ExperimentSpec.from_json(m["spec"]),
        goal=m["goal"],
        classroom=share.Classroom.from_params({share.LOCK_PARAM: m["locked"], share.HIDE_PARAM: m["hidden"]}),
        deadline=m["deadline"],
        created=m["created"],
        expires=m["expires"],
        frozen=m["frozen"],
        reveal=bool(m["reveal"]),
        pins=json.loads(m["pins"] or "[]"),
        question=Question(**question) if question else None,
    )


def open_room(room_id: str, key: str | None = None, now: float | None = None) -> Room:
    """The room a link names. RoomError when it does not exist, has expired (it is deleted then), or when
    `key` is given and is not the instructor's."""
    room_id = str(room_id or "").strip()
    if not room_id.isalnum() or len(room_id) > 16:
        raise RoomError("room.error.bad_link")
    with db.read() as conn:
        row = conn.execute(sa.select(db.rooms).where(db.rooms.c.id == room_id)).first()
    if row is None:
        raise RoomError("room.error.unknown")
    if row.expires <= (time.time() if now is None else now):
        delete(room_id)
        raise RoomError("room.error.expired", hours=settings.room_hours())
    if key is not None and not hmac.compare_digest(row.key_hash, _hash(key)):
        raise RoomError("room.error.wrong_key")
    return _from_row(row)


def delete(room_id: str) -> int:
    """The room, its members, votes and every run of it (their files too); returns how many runs went."""
    with db.transaction() as conn:
        ids = conn.execute(sa.select(R.id).where(R.room == room_id)).scalars().all()
        for job_id in ids:  # a training of the room stops: its worker finds its row gone
            conn.execute(db.run_blobs.delete().where(db.run_blobs.c.run_id == job_id))
            conn.execute(db.run_weights.delete().where(db.run_weights.c.run_id == job_id))
        conn.execute(db.runs.delete().where(R.room == room_id))
        conn.execute(db.room_votes.delete().where(V.room == room_id))
        conn.execute(db.room_members.delete().where(M.room == room_id))
        conn.execute(db.rooms.delete().where(db.rooms.c.id == room_id))
    for job_id in ids:
        shutil.rmtree(runs.run_dir(job_id), ignore_errors=True)
    return len(ids)


def purge_expired(now: float | None = None) -> list[str]:
    """Delete every room past its time (called when rooms are created and opened); returns their ids."""
    with db.read() as conn:
        ids = (
            conn.execute(sa.select(db.rooms.c.id).where(db.rooms.c.expires <= (time.time() if now is None else now)))
            .scalars()
            .all()
        )
    for room_id in ids:
        delete(room_id)
    return list(ids)


def _update(room_id: str, **values) -> None:
    with db.transaction() as conn:
        conn.execute(db.rooms.update().where(db.rooms.c.id == room_id).values(**values))


def freeze(room_id: str, frozen: bool, now: float | None = None) -> None:
    """Freeze the board (it keeps showing what had settled by now) or let it move again."""
    _update(room_id, frozen=(time.time() if now is None else now) if frozen else None)


def reveal_names(room_id: str, reveal: bool) -> None:
    _update(room_id, reveal=reveal)


# --------------------------------------------------------------------------- members


def clean_name(text: str) -> str:
    """A display name as plain text: whitespace folded, control characters dropped. RoomError when empty or too long."""
    name = "".join(ch for ch in str(text or "") if unicodedata.category(ch)[0] != "C")
    name = " ".join(name.split())
    if not name:
        raise RoomError("room.error.name_empty")
    if len(name) > NAME_MAX:
        raise RoomError("room.error.name_long", limit=NAME_MAX, length=len(name))
    return name


def members(room_id: str) -> list[Member]:
    """The room's learners, in the order they joined."""
    with db.read() as conn:
        rows = conn.execute(sa.select(db.room_members).where(M.room == room_id).order_by(M.joined)).all()
    return [Member(r.owner, r.name, r.joined) for r in rows]


def member(room_id: str, owner: str) -> Member | None:
    return next((m for m in members(room_id) if m.owner == owner), None)


def _check_free(conn, room_id: str, owner: str, name: str) -> None:
    taken = conn.execute(
        sa.select(M.owner).where(M.room == room_id, sa.func.lower(M.name) == name.lower(), M.owner != owner)
    ).first()
    if taken:
        raise RoomError("room.error.name_taken", name=name)


def join(room_id: str, owner: str, name: str) -> Member:
    """Put a learner in the room under a display name (joining again renames)."""
    name = clean_name(name)
    open_room(room_id)
    now = time.time()
    with db.transaction() as conn:
        _check_free(conn, room_id, owner, name)
        conn.execute(db.room_members.delete().where(M.room == room_id, M.owner == owner))
        conn.execute(db.room_members.insert().values(room=room_id, owner=owner, name=name, joined=now))
    return Member(owner, name, now)


def rename(room_id: str, owner: str, name: str) -> None:
    """The instructor renames a learner. RoomError for a bad name or somebody not in the room."""
    name = clean_name(name)
    with db.transaction() as conn:
        _check_free(conn, room_id, owner, name)
        changed = conn.execute(db.room_members.update().where(M.room == room_id, M.owner == owner).values(name=name)).rowcount
    if not changed:
        raise RoomError("room.error.not_member")


def leave(room_id: str, owner: str) -> None:
    """A learner leaves (or the instructor removes them): off the board, their votes gone, their runs theirs alone."""
    with db.transaction() as conn:
        conn.execute(db.room_members.delete().where(M.room == room_id, M.owner == owner))
        conn.execute(db.room_votes.delete().where(V.room == room_id, V.owner == owner))
        conn.execute(db.runs.update().where(R.room == room_id, R.owner == owner).values(room=""))
    unpin_gone(room_id)


remove = leave  # the instructor's "remove" is the learner's "leave", done for them


# --------------------------------------------------------------------------- the board


def room_runs(room_id: str) -> list[runs.Run]:
    """Every job of the room, oldest first."""
    with db.read() as conn:
        rows = conn.execute(sa.select(db.runs).where(R.room == room_id).order_by(R.created)).all()
    return [runs.from_row(row) for row in rows]


def room_run(room_id: str, run_id: str) -> runs.Run | None:
    """One run, only if it belongs to this room (a run id from elsewhere finds nothing)."""
    with db.read() as conn:
        row = conn.execute(sa.select(db.runs).where(R.id == run_id, R.room == room_id)).first()
    return runs.from_row(row) if row else None


def goal_value(room: Room, run: runs.Run) -> float | None:
    value = run.metrics.get(room.goal)
    return float(value) if isinstance(value, (int, float)) else None


def counts(room: Room, run: runs.Run) -> bool:
    """A settled run that is on the board: trained, before the deadline, settled before a freeze."""
    if run.status not in KEPT or run.phase != Phase.DONE or not (run.epochs or run.status == Status.DIVERGED):
        return False
    if room.deadline is not None and run.created > room.deadline:
        return False
    return room.frozen is None or (run.finished or 0.0) <= room.frozen


def best_of(room: Room, candidates: list[runs.Run]) -> runs.Run | None:
    scored = [r for r in candidates if goal_value(room, r) is not None]
    if not scored:
        return None
    pick = max if room.higher_is_better else min
    return pick(scored, key=lambda r: goal_value(room, r) or 0.0)


def changes(start: ExperimentSpec, spec: ExperimentSpec) -> dict[str, tuple]:
    """What a learner changed from the starting setup: setting -> (starting value, theirs); the Runs page's diff."""
    before, after = settings_table(start), settings_table(spec)
    return {k: (before.get(k, "-"), after.get(k, "-")) for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)}


def curve_key(goal: str) -> str:
    """The per-epoch history behind a goal (a test figure has none: its validation twin)."""
    return goal.replace("test_", "val_")


def _status(jobs: list[runs.Run]) -> str:
    statuses = {r.status for r in jobs}
    return "training" if Status.RUNNING in statuses else "queued" if Status.QUEUED in statuses else "idle"


def _row(room: Room, who: Member, jobs: list[runs.Run]) -> BoardRow:
    kept = [r for r in jobs if counts(room, r)]
    best = best_of(room, kept)
    return BoardRow(
        who.owner,
        who.name,
        len(kept),
        _status(jobs),
        best,
        goal_value(room, best) if best else None,
        [float(v) for v in best.history.get(curve_key(room.goal), [])] if best else [],
        changes(room.spec, best.spec) if best else {},
    )


def board(room: Room, viewer: str | None = None) -> list[BoardRow]:
    """Every learner, best first (no run yet: last). `viewer` None is the instructor; a learner's view hides
    the others' names (unless the instructor revealed them) and everybody's owner token."""
    jobs = room_runs(room.id)
    rows = [_row(room, who, [r for r in jobs if r.owner == who.owner]) for who in members(room.id)]
    sign = -1.0 if room.higher_is_better else 1.0
    rows.sort(key=lambda row: (row.value is None, sign * (row.value or 0.0), row.name.lower()))
    if viewer is not None:
        for row in rows:
            row.you = row.owner == viewer
            row.name = row.name if room.reveal or row.you else ""
            row.owner = ""
    return rows


def signature(room_id: str) -> tuple:
    """What the board is drawn from, cheaply: a page redraws when it changes (polled by every open board)."""
    with db.read() as conn:
        room = conn.execute(sa.select(db.rooms).where(db.rooms.c.id == room_id)).first()
        jobs = conn.execute(sa.select(R.id, R.status, R.phase).where(R.room == room_id).order_by(R.created)).all()
        people = conn.execute(sa.select(M.owner, M.name).where(M.room == room_id).order_by(M.joined)).all()
        votes = conn.execute(sa.select(sa.func.count()).select_from(db.room_votes).where(V.room == room_id)).scalar()
    if room is None:
        return ("gone",)
    state = (room.frozen, room.reveal, room.pins, room.question)
    # Not the epochs: the board shows settled runs and who is training, so it redraws when a run starts or ends.
    return (state, tuple((j.id, j.status, j.phase) for j in jobs), tuple(people), votes)


def csv_text(room: Room, rows: list[BoardRow]) -> str:
    """The board as CSV (the instructor's export): rank, name, best value, runs, status, what changed."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["rank", "name", room.goal, "runs", "status", "best_run", "changed"])
    for rank, row in enumerate(rows, 1):
        changed = "; ".join(f"{k}: {_plain(a)} -> {_plain(b)}" for k, (a, b) in row.changed.items())
        value = "" if row.value is None else f"{row.value:.4f}"
        writer.writerow([rank, _cell(row.name), value, row.runs, row.status, row.best.id if row.best else "", changed])
    return out.getvalue()


def _cell(text: str) -> str:
    """A learner's text as a spreadsheet cell: a leading = + - @ would make it a formula, so it is quoted."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _plain(value) -> str:
    """A settings-table value in words for a file (a (key, fields) pair: its key's last part and fields)."""
    if isinstance(value, tuple):
        key, fields = value
        return " ".join([key.rsplit(".", 1)[-1], *(str(v) for v in fields.values())])
    return str(value)


# --------------------------------------------------------------------------- pins and "which will win?"


def pin(room_id: str, run_id: str) -> None:
    """Show this run (of this room) to everyone."""
    room = open_room(room_id)
    if room_run(room_id, run_id) is None:
        raise RoomError("room.error.not_in_room")
    if run_id not in room.pins:
        _update(room_id, pins=json.dumps([*room.pins, run_id]))


def unpin(room_id: str, run_id: str) -> None:
    room = open_room(room_id)
    _update(room_id, pins=json.dumps([p for p in room.pins if p != run_id]))


def unpin_gone(room_id: str) -> None:
    """Pins of runs no longer in the room (their learner left) go."""
    try:
        room = open_room(room_id)
    except RoomError:
        return
    kept = [p for p in room.pins if room_run(room_id, p) is not None]
    if kept != room.pins:
        _update(room_id, pins=json.dumps(kept))


def ask(room_id: str, choices: list[str]) -> None:
    """Pose "which will win?" with two or more pinned runs as choices; earlier votes go."""
    room = open_room(room_id)
    choices = list(dict.fromkeys(choices))
    if len(choices) < 2 or not set(choices) <= set(room.pins):
        raise RoomError("room.error.choices")
    with db.transaction() as conn:
        conn.execute(db.room_votes.delete().where(V.room == room_id))
        conn.execute(db.rooms.update().where(db.rooms.c.id == room_id).values(question=json.dumps(vars(Question(choices)))))


def close_question(room_id: str) -> None:
    with db.transaction() as conn:
        conn.execute(db.room_votes.delete().where(V.room == room_id))
        conn.execute(db.rooms.update().where(db.rooms.c.id == room_id).values(question=""))


def reveal_winner(room_id: str) -> None:
    room = open_room(room_id)
    if room.question is not None:
        _update(room_id, question=json.dumps(vars(Question(room.question.choices, revealed=True))))


def vote(room_id: str, owner: str, choice: str) -> None:
    """A learner's guess (a new one replaces theirs). RoomError when not in the room, or no such open choice."""
    room = open_room(room_id)
    if member(room_id, owner) is None:
        raise RoomError("room.error.not_member")
    if room.question is None or room.question.revealed or choice not in room.question.choices:
        raise RoomError("room.error.no_question")
    with db.transaction() as conn:
        conn.execute(db.room_votes.delete().where(V.room == room_id, V.owner == owner))
        conn.execute(db.room_votes.insert().values(room=room_id, owner=owner, choice=choice))


def votes(room_id: str) -> dict[str, int]:
    """Votes per choice."""
    with db.read() as conn:
        rows = conn.execute(sa.select(V.choice, sa.func.count()).where(V.room == room_id).group_by(V.choice)).all()
    return {choice: int(n) for choice, n in rows}


def my_vote(room_id: str, owner: str) -> str | None:
    with db.read() as conn:
        return conn.execute(sa.select(V.choice).where(V.room == room_id, V.owner == owner)).scalar()


def winner(room: Room) -> runs.Run | None:
    """The best of the question's choices on the goal (shown once revealed)."""
    if room.question is None:
        return None
    return best_of(room, [r for r in (room_run(room.id, c) for c in room.question.choices) if r is not None])


def room_for_runs(room_id: str | None, owner: str) -> str:
    """The room a learner's new run is tagged with: the chosen room if they are in it, else none."""
    if not room_id:
        return ""
    try:
        open_room(room_id)
    except RoomError:
        return ""
    return room_id if member(room_id, owner) is not None else ""

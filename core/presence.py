"""Which learners have a browser tab open: written by the web servers, read by the training workers.

A web server knows which of its Streamlit sessions are connected; every few seconds it marks
their owners as seen. A worker whose job was started from a tab stops it once nobody has seen
that owner for `PLAYGROUND_ORPHAN_GRACE` seconds (the tab was closed), whichever web server
the learner was on.

    >>> touch(["ann"]); last_seen("ann") is not None  # doctest: +SKIP
    True
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import sqlalchemy as sa

from core import db

P = db.presence.c


def touch(owners: Iterable[str], now: float | None = None) -> None:
    """Mark these owners as seen now."""
    owners = sorted(set(owners))
    if not owners:
        return
    now = time.time() if now is None else now
    try:
        _write(owners, now)
    except sa.exc.IntegrityError:  # another web server inserted the same owner a moment ago: update it
        _write(owners, now)


def _write(owners: list[str], now: float) -> None:
    with db.transaction() as conn:
        known = set(conn.execute(sa.select(P.owner).where(P.owner.in_(owners))).scalars())
        if known:
            conn.execute(db.presence.update().where(P.owner.in_(known)).values(seen=now))
        fresh = [{"owner": o, "seen": now} for o in owners if o not in known]
        if fresh:
            conn.execute(db.presence.insert(), fresh)


def last_seen(owner: str) -> float | None:
    with db.read() as conn:
        return conn.execute(sa.select(P.seen).where(P.owner == owner)).scalar()

"""The latest spec of each browser owner, kept in the run store so a refresh (or another web server) loses nothing.

A browser refresh starts a new Streamlit session with empty session state; the owner token in
the URL finds the spec again here, whichever web server the browser reaches.

Example:
    >>> remember("owner-1", ExperimentSpec.default_for("iris"))  # doctest: +SKIP
    >>> recall("owner-1").data.name  # doctest: +SKIP
    'iris'
"""

from __future__ import annotations

import time

import sqlalchemy as sa

from core import db
from core.spec import ExperimentSpec, SpecError

W = db.workspaces.c


def remember(owner: str, spec: ExperimentSpec) -> None:
    """Store the owner's current spec (as JSON, so later edits never alias it)."""
    text, now = spec.to_json(), time.time()
    with db.transaction() as conn:
        if not conn.execute(db.workspaces.update().where(W.owner == owner).values(spec=text, updated=now)).rowcount:
            conn.execute(db.workspaces.insert().values(owner=owner, spec=text, updated=now))


def recall(owner: str) -> ExperimentSpec | None:
    with db.read() as conn:
        text = conn.execute(sa.select(W.spec).where(W.owner == owner)).scalar()
    if text is None:
        return None
    try:
        return ExperimentSpec.from_json(text)
    except SpecError:
        return None

"""Train a job exactly as a worker does (claim, train, record into the run store), but in this test's process.

Runs in a private PLAYGROUND_HOME so no pool and no other test's queued job gets in the way.
"""

from __future__ import annotations

import contextlib
import os

from core import db, queue, runs, worker


@contextlib.contextmanager
def private_home(path):
    old = os.environ.get("PLAYGROUND_HOME")
    os.environ["PLAYGROUND_HOME"] = str(path)
    try:
        yield
    finally:
        db.dispose()
        if old is None:
            os.environ.pop("PLAYGROUND_HOME", None)
        else:
            os.environ["PLAYGROUND_HOME"] = old


def record(spec, owner: str) -> runs.Run:
    """Submit, claim and train one job with the worker's own task function; returns the settled run."""
    job_id = queue.submit(spec, owner, watched=False)
    claimed = queue.claim("inline:test")
    assert claimed is not None and claimed.id == job_id, "another job was waiting in this home"
    worker.run_claimed(claimed, "inline:test")
    return queue.get(job_id)

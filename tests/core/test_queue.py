"""The queue in the run store: FIFO across workers, sequences, stops, lost workers, limits (no TensorFlow here)."""

import time

import pytest

from core import db, presence, queue, runs
from core.i18n import Msg
from core.spec import ExperimentSpec
from core.status import Phase, Status


@pytest.fixture(autouse=True, params=["sqlite", pytest.param("postgresql", marks=pytest.mark.cluster)])
def fresh_store(request, tmp_path, monkeypatch):
    """Every test its own database, as a new server would have: SQLite in its home, or a new PostgreSQL database."""
    monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path))
    if request.param == "postgresql":
        monkeypatch.setenv("PLAYGROUND_DATABASE_URL", request.getfixturevalue("postgres").new_database())
    yield request.param
    db.dispose()


def spec(epochs=3):
    s = ExperimentSpec.default_for("moons")
    s.fit.epochs = epochs
    return s


def test_workers_claim_the_oldest_job_first_and_never_the_same_one():
    ids = [queue.submit(spec(), owner=f"learner{i}") for i in range(3)]
    assert [queue.position(queue.get(i)) for i in ids] == [1, 2, 3]
    first, second = queue.claim("host:1"), queue.claim("host:2")
    assert (first.id, second.id) == (ids[0], ids[1])
    assert first.status == Status.RUNNING and first.worker == "host:1" and first.phase == Phase.LOADING
    assert queue.position(queue.get(ids[2])) == 1 and queue.counts() == (2, 1)
    assert queue.claim("host:3").id == ids[2] and queue.claim("host:4") is None


def test_a_sequence_waits_for_its_predecessor_then_joins_the_back_of_the_queue():
    a = queue.submit(spec(), "ann")
    b = queue.submit(spec(), "ann", after=a)  # the trio's second run
    other = queue.submit(spec(), "bob")
    assert queue.position(queue.get(b)) is None  # not waiting for a worker: waiting for `a`
    assert queue.claim("w:1").id == a
    assert queue.claim("w:2").id == other  # b may not start while a runs
    assert queue.claim("w:3") is None
    late = queue.submit(spec(), "cy")
    with db.transaction() as conn:
        queue.settle(conn, a, Status.FINISHED, None)
    assert queue.position(queue.get(b)) == 2  # behind cy, who was waiting already
    assert queue.claim("w:1").id == late and queue.claim("w:3").id == b


def test_stopping_a_queued_job_cancels_it_at_once():
    job = queue.submit(spec(), "ann")
    queue.request_stop(job)
    run = queue.get(job)
    assert run.status == Status.STOPPED and run.phase == Phase.DONE and run.message.key == "job.cancelled"
    assert queue.claim("w:1") is None


def test_stopping_a_running_job_asks_its_worker_with_the_reason():
    job = queue.submit(spec(), "ann")
    queue.claim("w:1")
    assert queue.stop_wanted(job) == (False, None)
    queue.request_stop(job, Msg("job.tab_closed"))
    wanted, reason = queue.stop_wanted(job)
    assert wanted and reason.key == "job.tab_closed"
    assert queue.get(job).status == Status.RUNNING  # the worker settles it, keeping its weights


def test_a_running_job_whose_worker_went_silent_fails_and_keeps_its_epochs():
    job = queue.submit(spec(), "ann")
    queue.claim("w:1")
    with db.transaction() as conn:
        conn.execute(
            db.runs.update().where(db.runs.c.id == job).values(history='{"loss": [0.6, 0.5]}', heartbeat=time.time() - 60)
        )
    assert queue.fail_stale() == [job]
    run = queue.get(job)
    assert run.status == Status.FAILED and run.message.key == "job.worker_lost" and run.history["loss"] == [0.6, 0.5]
    assert queue.fail_stale() == []


def test_a_dead_worker_fails_only_its_own_job():
    mine, theirs = queue.submit(spec(), "ann"), queue.submit(spec(), "bob")
    queue.claim("w:1"), queue.claim("w:2")
    assert queue.fail_worker("w:1", Msg("job.worker_died", {"code": "SIGKILL"})) == [mine]
    assert queue.get(mine).status == Status.FAILED and queue.get(theirs).status == Status.RUNNING
    assert "SIGKILL" in str(queue.get(mine).message)


def test_a_full_queue_refuses_with_the_limit_named(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_MAX_QUEUE", "2")
    a = queue.submit(spec(), "a")
    queue.submit(spec(), "b")
    with pytest.raises(queue.QueueFull) as info:
        queue.submit(spec(), "c")
    assert "PLAYGROUND_MAX_QUEUE" in str(info.value)
    queue.submit(spec(), "a", after=a)  # the next run of a group is not a new arrival: it is let in
    queue.claim("w")
    queue.submit(spec(), "c")  # the queue moved


def test_the_default_queue_fits_a_room(monkeypatch):
    monkeypatch.delenv("PLAYGROUND_MAX_QUEUE", raising=False)
    for i in range(30):  # a room of 30 pressing Train together, two workers busy
        queue.submit(spec(), f"learner{i}")
    assert queue.counts() == (0, 30)


def test_owners_see_their_own_jobs_only():
    a = queue.submit(spec(), "ann")
    queue.submit(spec(), "bob")
    assert [r.id for r in queue.active_for("ann")] == [a]
    assert queue.latest_for("ann").id == a and queue.latest_for("nobody") is None
    assert runs.store().get("bob", a) is None


def test_presence_is_shared_through_the_store():
    assert presence.last_seen("ann") is None
    presence.touch(["ann", "bob"], now=100.0)
    presence.touch(["ann"], now=200.0)
    assert (presence.last_seen("ann"), presence.last_seen("bob")) == (200.0, 100.0)


def test_the_store_is_sqlite_in_wal_mode_by_default_or_the_database_of_the_url(fresh_store, tmp_path):
    if fresh_store == "sqlite":
        assert db.url() == f"sqlite:///{tmp_path / 'runs.sqlite3'}"
        with db.read() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    else:
        assert db.url().startswith("postgresql+psycopg://") and db.engine().dialect.name == "postgresql"
        with db.read() as conn:
            assert conn.exec_driver_sql("SELECT version FROM schema").scalar() == db.SCHEMA_VERSION


def test_workers_claiming_at_once_never_get_the_same_job():
    import threading

    ids = {queue.submit(spec(), f"l{i}", watched=False) for i in range(24)}
    claimed, lock = [], threading.Lock()

    def work(n):
        while (run := queue.claim(f"w:{n}")) is not None:
            with lock:
                claimed.append(run.id)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(claimed) == sorted(ids)  # each once, none left

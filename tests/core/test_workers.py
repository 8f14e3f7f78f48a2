"""The local pool, for real: worker processes, signals, memory, hangs, recycling, closed tabs.

Each pool here belongs to its own PLAYGROUND_HOME (a new server), started the way a web
server starts it (`workers.ensure_pool`), and stopped at the end of its test module.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import db, jobs, presence, queue, workers
from core.spec import ExperimentSpec, LayerSpec
from core.status import Status

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.pool


def wait_for(predicate, timeout=90.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} not reached within {timeout:.0f} s")


def settled(job_id, timeout=120.0):
    return wait_for(lambda: (v := jobs.view(job_id)) is not None and v.settled and v, timeout, f"job {job_id} settled")


def spec(dataset="digits", epochs=2, batch=64, **data):
    s = ExperimentSpec.default_for(dataset)
    s.fit.epochs, s.fit.batch_size = epochs, batch
    for key, value in data.items():
        setattr(s.data, key, value)
    return s


def long_spec():
    return spec(epochs=400, batch=4)  # hundreds of tiny batches: busy long enough to be stopped or killed


def heavy_spec(units, batch, layers=3):
    """A Dense stack of `units` on 8,000 2-D points, `batch` samples per step."""
    s = spec("moons", epochs=3, batch=batch, n_samples=8000)
    s.layers = [LayerSpec.make("Dense", units=units, activation="relu") for _ in range(layers)]
    s.ensure_layer_names()
    return s


def slow_step_spec():
    """Eight 11x11 convolutions of 64 filters on 128x128 pictures: far more than 5 s a step, ~1.1 GB.

    Plain Keras here: eight at a batch of 16 took 5.6 s a step (1.05 GB), so 24 is ~8 s; two such convolutions at
    a batch of 64 measured 1,523 MB in CI, over the pool's 1,500 MB, so memory ended them first. Depth costs
    compute more than memory: the activations shrink layer by layer."""
    s = spec("folder", epochs=1, batch=24, image_height=128, image_width=128)
    s.layers = [LayerSpec.make("Conv2D", filters=64, kernel_size=11) for _ in range(8)]
    s.layers.append(LayerSpec.make("GlobalAveragePooling2D"))
    s.ensure_layer_names()
    return s


def start_pool(monkeypatch, home, **env):
    monkeypatch.setenv("PLAYGROUND_HOME", str(home))
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    workers.ensure_pool(every=0.0)
    wait_for(lambda: len(workers.worker_pids()) == int(os.environ.get("PLAYGROUND_MAX_TRAININGS", "2")), 60, "workers started")


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    start_pool(
        mp, tmp_path_factory.mktemp("pool-home"), PLAYGROUND_MAX_TRAININGS=2, PLAYGROUND_CALIBRATE=0, PLAYGROUND_ORPHAN_GRACE=3
    )
    yield
    workers.shutdown_pool()
    db.dispose()
    mp.undo()


@pytest.fixture(autouse=True)
def nothing_left_running(monkeypatch):
    """Every job a test submitted is stopped at its end, so a test that fails midway (a long job never stopped)
    does not keep the shared pool busy and fail the tests after it too."""
    submitted, submit = [], jobs.submit
    monkeypatch.setattr(jobs, "submit", lambda *a, **k: submitted.append(submit(*a, **k)) or submitted[-1])
    yield
    for job_id in submitted:
        queue.request_stop(job_id)
    for job_id in submitted:
        settled(job_id)


def test_two_trainings_at_once_and_a_fifo_queue(pool):
    ids = [jobs.submit(spec(epochs=2), owner=f"fifo{i}", watched=False) for i in range(4)]
    peak = 0
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        running, _ = queue.counts()
        peak = max(peak, running)
        if all(jobs.view(i).settled for i in ids):
            break
        time.sleep(0.05)
    views = [jobs.view(i) for i in ids]
    assert [v.status for v in views] == [Status.FINISHED] * 4 and peak == 2
    assert views[2].started <= views[3].started  # first come, first served
    assert all(v.evaluation.test_accuracy > 0.2 and v.has_model for v in views)
    assert len({v.worker for v in views}) == 2


def test_two_trainings_share_the_cores_and_one_alone_gets_them_all(pool):
    cores = os.sched_getaffinity(0)
    first, second = (jobs.submit(long_spec(), owner=f"cores{i}", watched=False) for i in range(2))
    wait_for(lambda: all(_training(j) for j in (first, second)), 120, "both training")
    pids = [int(jobs.view(j).worker.rsplit(":", 1)[1]) for j in (first, second)]
    masks = wait_for(
        lambda: (m := [os.sched_getaffinity(p) for p in pids]) and all(len(x) < len(cores) for x in m) and m,
        10,
        "each worker pinned to its share",
    )
    assert not masks[0] & masks[1] and masks[0] | masks[1] == cores  # no two trainings on one core
    queue.request_stop(first)
    wait_for(lambda: os.sched_getaffinity(pids[1]) == cores, 10, "the one left gets every core")
    queue.request_stop(second)
    settled(first), settled(second)


def _training(job_id) -> bool:
    """Running and past its first step (a progress row written mid-epoch, or a whole epoch done)."""
    view = jobs.view(job_id)
    return view.status == Status.RUNNING and bool(view.progress.step or view.epochs_done)


def test_stop_lands_within_a_second_and_keeps_the_weights(pool):
    job = jobs.submit(long_spec(), owner="stopper", watched=False)
    wait_for(lambda: jobs.view(job).epochs_done >= 1, what="one epoch")
    asked = time.monotonic()
    queue.request_stop(job)
    wait_for(lambda: jobs.view(job).status == Status.STOPPED, 10, "stopped")
    assert time.monotonic() - asked < 1.5
    view = settled(job)
    assert view.message.key == "job.stopped" and view.evaluation is not None and view.has_model


def test_a_worker_killed_mid_epoch_fails_its_job_and_the_pool_goes_on(pool):
    doomed = jobs.submit(long_spec(), owner="doomed", watched=False)
    wait_for(lambda: jobs.view(doomed).epochs_done >= 1 and jobs.view(doomed).progress.step > 0, what="mid-epoch")
    before = jobs.view(doomed).epochs_done
    pid = int(jobs.view(doomed).worker.rsplit(":", 1)[1])
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    view = wait_for(lambda: (v := jobs.view(doomed)).status == Status.FAILED and v, 10, "failed")
    assert time.monotonic() - killed < 5
    assert view.message.key == "job.worker_died" and "SIGKILL" in str(view.message)
    assert view.epochs_done >= before  # its finished epochs are kept
    after = jobs.submit(spec(epochs=1), owner="next", watched=False)
    assert settled(after).status == Status.FINISHED  # the next job trains
    wait_for(lambda: len(workers.worker_pids()) == 2 and pid not in workers.worker_pids(), 60, "a replacement worker")


def test_a_closed_tab_stops_its_training(pool):
    job = jobs.submit(long_spec(), owner="leaver", watched=True)  # submitting marks the learner as present
    wait_for(lambda: jobs.view(job).status == Status.RUNNING, what="running")
    # Nobody touches presence any more: the tab is gone. Grace here: 3 s.
    view = wait_for(lambda: (v := jobs.view(job)).settled and v, 30, "stopped for the closed tab")
    assert view.status == Status.STOPPED and view.message.key == "job.tab_closed"


def test_a_present_learner_keeps_training(pool):
    job = jobs.submit(spec(epochs=30, batch=16), owner="stayer", watched=True)
    deadline = time.monotonic() + 120
    while not jobs.view(job).settled and time.monotonic() < deadline:
        presence.touch(["stayer"])  # the web server sees the tab connected
        time.sleep(1.0)
    assert jobs.view(job).status == Status.FINISHED


def test_the_web_side_needs_no_tensorflow(pool):
    """Submit and read a training from a fresh process, as a web server does: TensorFlow is never imported."""
    code = (
        "import sys, time\n"
        "from core import jobs\n"
        "from core.spec import ExperimentSpec\n"
        "s = ExperimentSpec.default_for('iris'); s.fit.epochs = 2\n"
        "job = jobs.submit(s, 'light', watched=False)\n"
        "while not jobs.view(job).settled: time.sleep(0.1)\n"
        "v = jobs.view(job); assert v.status == 'finished' and v.evaluation.n_test > 0, v.message\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))\n"
        "assert not bad, bad[:5]\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture
def strict_pool(tmp_path, monkeypatch):
    """One worker with tight limits: little memory, a short timeout, a short patience for silence."""
    start_pool(
        monkeypatch,
        tmp_path,
        PLAYGROUND_MAX_TRAININGS=1,
        PLAYGROUND_CALIBRATE=0,
        PLAYGROUND_WORKER_MAX_MB=1500,
        PLAYGROUND_JOB_TIMEOUT=25,
        PLAYGROUND_HANG_SECONDS=5,
        PLAYGROUND_WORKER_JOBS=2,
        PLAYGROUND_MAX_PARAMS=300_000_000,
    )
    yield
    workers.shutdown_pool()
    db.dispose()


def test_limits_end_a_worker_and_say_which(strict_pool):
    # 200 M weights: 800 MB more while the model is built, within 2 s (memory ends it, not the 5 s of patience)
    hungry = jobs.submit(heavy_spec(units=4096, batch=32, layers=12), owner="hungry", watched=False)
    view = settled(hungry, 120)
    assert view.status == Status.FAILED and view.message.key == "job.worker_memory", view.message
    stuck = jobs.submit(slow_step_spec(), owner="stuck", watched=False)  # one step of far more than 5 s, little memory
    view = settled(stuck, 120)
    assert view.status == Status.FAILED and view.message.key == "job.worker_hung", view.message
    slow = jobs.submit(long_spec(), owner="slow", watched=False)  # progress all along, but past 25 s
    view = settled(slow, 120)
    assert view.status == Status.FAILED and view.message.key == "job.worker_timeout", view.message
    assert view.epochs_done >= 1  # what it trained before is kept


def test_a_worker_retires_after_its_jobs_and_a_fresh_one_takes_over(strict_pool):
    first_pids = set(workers.worker_pids())
    workers_seen = [settled(jobs.submit(spec(epochs=1), owner="recycle", watched=False)).worker for _ in range(3)]
    assert workers_seen[0] == workers_seen[1] != workers_seen[2]  # PLAYGROUND_WORKER_JOBS=2
    assert not first_pids & set(workers.worker_pids())

import os
import subprocess
import sys
import time

import pytest

from core import runs, settings
from core.i18n import Msg
from core.runs import Run, RunStore
from core.spec import ExperimentSpec
from core.status import Status
from tests.core import inline
from tests.pages.helpers import ROOT

FINISHED = Status.FINISHED


def make_run(run_id="abc123", owner="ann", created=None, **kw):
    spec = ExperimentSpec.default_for("iris")
    spec.recipe = kw.pop("recipe", "")
    return Run(
        run_id,
        owner,
        kw.pop("name", f"run {run_id}"),
        spec,
        kw.pop("status", FINISHED),
        history={"loss": [0.9, 0.5], "accuracy": [0.5, 0.8]},
        metrics={"test_accuracy": 0.75},
        timings={"fit": 1.5},
        created=created or time.time(),
        finished=time.time(),
        message=Msg("job.stopped", {"epoch": 2}),
    )


@pytest.fixture
def store(tmp_path):
    """A new server's run store (its own PLAYGROUND_HOME)."""
    with inline.private_home(tmp_path):
        yield RunStore()


def test_a_run_round_trips_through_the_store(store):
    run = make_run()
    store.save(run)
    again = store.get("ann", "abc123")
    assert again.spec == run.spec and again.history == run.history and again.metrics == run.metrics
    assert again.message == run.message and again.epochs == 2 and again.seconds == 1.5


def test_runs_of_another_session_are_invisible(store):
    store.save(make_run("aaa111", owner="ann"))
    store.save(make_run("bbb222", owner="bob"))
    assert [r.id for r in store.list("ann")] == ["aaa111"]
    assert store.get("ann", "bbb222") is None
    assert not store.rename("ann", "bbb222", "mine now") and not store.delete("ann", "bbb222")
    assert store.get("bob", "bbb222").name == "run bbb222"


def test_list_is_newest_first_and_rename_delete_prune(store):
    for i in range(5):
        store.save(make_run(f"run{i}", created=1000.0 + i))
    assert [r.id for r in store.list("ann")] == ["run4", "run3", "run2", "run1", "run0"]
    assert store.rename("ann", "run2", "  L2   cure ") and store.get("ann", "run2").name == "L2 cure"
    assert not store.rename("ann", "run2", "   ")
    assert store.delete("ann", "run4")
    assert store.prune("ann", keep=2) == ["run1", "run0"]
    assert [r.id for r in store.list("ann")] == ["run3", "run2"]


def test_the_store_persists_across_a_fresh_process(store, tmp_path):
    store.save(make_run("persist1"))
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "from core.runs import RunStore\n"
        "run = RunStore().get('ann', 'persist1')\n"
        "print(run.name, run.history['accuracy'][-1], run.spec.data.name)\n"
    )
    env = {**os.environ, "PLAYGROUND_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert out.stdout.strip() == "run persist1 0.8 iris", out.stderr


def test_run_dirs_stay_inside_the_app_home():
    assert runs.run_dir("abc123").parent == settings.run_files_dir() == settings.home_dir() / "runs"
    for bad in ("../etc", "a/b", "", "..", "x.y"):
        with pytest.raises(ValueError):
            runs.run_dir(bad)


def test_deleting_a_run_deletes_its_files(store):
    store.save(make_run("files1"))
    folder = runs.run_dir("files1")
    folder.mkdir(parents=True)
    (folder / "model.keras").write_bytes(b"PK")
    store.delete("ann", "files1")
    assert not folder.exists()


def test_a_finished_job_is_recorded_with_its_model_and_tensorboard_logs(store):
    spec = ExperimentSpec.default_for("iris")
    spec.fit.epochs, spec.fit.tensorboard = 2, True
    recorded = inline.record(spec, "recorder")
    run = store.get("recorder", recorded.id)
    assert run is not None and run.epochs == 2 and run.status == FINISHED
    assert run.metrics["test_accuracy"] > 0 and run.class_names == ["setosa", "versicolor", "virginica"]
    assert set(run.timings) >= {"fit", "evaluate"}
    folder = runs.run_dir(recorded.id)
    assert (folder / "model.keras").stat().st_size > 0
    assert any(p.name.startswith("events.out.tfevents") for p in (folder / "tensorboard").rglob("*"))
    assert [r.id for r in store.list("recorder")] == [recorded.id]


def test_failed_jobs_are_not_runs(store):
    recorded = inline.record(ExperimentSpec.default_for("mnist"), "nobody")  # offline: fails
    assert recorded.status == Status.FAILED and recorded.message.key == "errors.dataset_unavailable"
    assert store.list("nobody") == []


def test_prune_keeps_active_jobs_and_drops_old_failures(store):
    for i in range(3):
        store.save(make_run(f"old{i}", created=1000.0 + i, status=Status.FAILED))
    store.save(make_run("live1", created=2000.0, status=Status.RUNNING))
    assert store.prune("ann", keep=1) == ["old1", "old0"]
    assert store.get("ann", "live1") is not None and store.get("ann", "old2") is not None

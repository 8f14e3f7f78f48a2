import time

import numpy as np
import pytest

from core.spec import ExperimentSpec, LayerSpec
from core.training import (
    DIVERGED,
    FAILED,
    FINISHED,
    QUEUED,
    RUNNING,
    STOPPED,
    JobRegistry,
    divergence_bound,
    warm_imports,
)

warm_imports()


def small_spec(dataset="digits", epochs=2, **fit):
    spec = ExperimentSpec.default_for(dataset)
    spec.fit.epochs = epochs
    spec.fit.batch_size = fit.pop("batch_size", 64)
    for key, value in fit.items():
        setattr(spec.fit, key, value)
    return spec


def long_spec():
    """Hundreds of tiny batches: stays busy long enough to be stopped or queued behind."""
    return small_spec(epochs=500, batch_size=4)


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


@pytest.fixture
def registry():
    reg = JobRegistry(max_concurrent=1, orphan_grace=0.2)
    yield reg
    reg.liveness = None  # lets the reaper thread end
    reg.stop_all()
    for job in reg._jobs.values():
        job.done.wait(30)


def test_a_job_trains_evaluates_and_records_every_epoch(registry):
    job = registry.submit(small_spec(epochs=3), owner="ann")
    assert job.done.wait(120)
    view = job.snapshot()
    assert view.status == FINISHED and view.settled and view.epochs_done == 3
    assert len(view.history["val_accuracy"]) == 3 and len(view.history["seconds"]) == 3
    assert view.evaluation.test_accuracy > 0.5
    assert view.evaluation.confusion.sum() == view.evaluation.n_test
    assert set(job.timings) == {"load", "build", "setup", "fit", "evaluate"}
    assert view.n_params == job.built.total_params


def test_two_dimensional_jobs_draw_a_decision_map_every_epoch(registry):
    spec = small_spec("moons", epochs=2, batch_size=32)
    job = registry.submit(spec, owner="ann")
    assert job.done.wait(60)
    view = job.snapshot()
    assert view.boundary.shape == (len(job.grid.ys), len(job.grid.xs))
    assert 0.0 <= view.boundary.min() and view.boundary.max() <= 1.0


def test_validation_split_instead_of_the_test_set(registry):
    spec = small_spec(epochs=1)
    spec.data.validation, spec.data.validation_split = "split", 0.25
    job = registry.submit(spec, owner="ann")
    assert job.done.wait(60) and job.snapshot().status == FINISHED
    assert "val_loss" in job.snapshot().history


def test_early_stopping_says_so(registry):
    spec = small_spec(epochs=200, early_stopping=True, patience=1, batch_size=16)
    spec.compile.learning_rate = 0.05  # large steps: the validation loss soon stops improving
    spec.data.validation, spec.data.train_size = "split", 300
    job = registry.submit(spec, owner="ann")
    assert job.done.wait(120)
    view = job.snapshot()
    assert view.status == FINISHED and view.epochs_done < 200
    assert view.message.key == "job.early_stopped_restored"


def test_the_queue_is_fifo_and_reports_positions(registry):
    first = registry.submit(long_spec(), owner="ann")
    wait_for(lambda: first.status == RUNNING)
    second = registry.submit(small_spec(epochs=1), owner="bob")
    third = registry.submit(small_spec(epochs=1), owner="cy")
    assert (second.snapshot().status, second.snapshot().queue_position) == (QUEUED, 1)
    assert third.snapshot().queue_position == 2
    assert registry.counts() == (1, 2)
    first.stop()
    assert second.done.wait(60) and third.done.wait(60)
    assert second.started <= third.started
    assert second.snapshot().status == third.snapshot().status == FINISHED


def test_a_queued_job_can_be_cancelled(registry):
    first = registry.submit(long_spec(), owner="ann")
    wait_for(lambda: first.status == RUNNING)
    queued = registry.submit(small_spec(), owner="bob")
    queued.stop()
    assert queued.done.wait(5)
    assert queued.snapshot().status == STOPPED and queued.snapshot().message.key == "job.cancelled"
    assert queued.built is None
    first.stop()


def test_stop_ends_a_running_job_quickly_and_keeps_its_weights(registry):
    job = registry.submit(long_spec(), owner="ann")
    wait_for(lambda: job.snapshot().epochs_done >= 1)
    asked = time.monotonic()
    job.stop()
    wait_for(lambda: job.status == STOPPED, timeout=5)
    assert time.monotonic() - asked < 2.0
    assert job.done.wait(30)
    view = job.snapshot()
    assert view.message.key == "job.stopped" and view.epochs_done >= 1
    assert view.evaluation is not None  # the stopped model is still evaluated
    assert job.model is not None and job.model.get_layer("dense_1").get_weights()[0].any()


def test_a_learning_rate_that_explodes_ends_with_a_plain_explanation(registry):
    spec = small_spec(epochs=5)
    spec.set_optimizer("sgd")
    spec.compile.learning_rate = 1000.0
    job = registry.submit(spec, owner="ann")
    assert job.done.wait(60)
    view = job.snapshot()
    assert view.status == DIVERGED and view.message.key == "job.diverged"
    assert "1000" in str(view.message) and "try 100" in str(view.message)


def test_a_missing_dataset_fails_with_the_place_to_put_it(registry):
    job = registry.submit(ExperimentSpec.default_for("mnist"), owner="ann")
    assert job.done.wait(30)
    view = job.snapshot()
    assert view.status == FAILED and view.message.key == "errors.dataset_unavailable"


def test_a_stack_that_cannot_be_built_fails_naming_the_layer(registry):
    spec = small_spec()
    spec.layers.append(LayerSpec.make("Conv2D", name="late_conv"))
    job = registry.submit(spec, owner="ann")
    assert job.done.wait(30)
    assert job.snapshot().status == FAILED and "late_conv" in str(job.snapshot().message)


def test_two_jobs_never_share_a_model():
    reg = JobRegistry(max_concurrent=2)
    a, b = reg.submit(small_spec(), owner="ann"), reg.submit(small_spec(), owner="bob")
    assert a.done.wait(60) and b.done.wait(60)
    assert a.model is not b.model
    assert a.model.get_layer("dense_1") is not b.model.get_layer("dense_1")
    assert [layer.name for layer in a.model.layers] == ["input", "rescale", "flatten_1", "dense_1", "dropout_1", "output"]


def test_jobs_are_found_again_by_owner(registry):
    job = registry.submit(small_spec(epochs=1), owner="ann")
    assert registry.latest_for("ann") is job and registry.get(job.id) is job
    assert registry.latest_for("bob") is None
    job.done.wait(60)


def test_orphaned_jobs_are_stopped_after_the_grace_period(registry):
    alive = {"s1": True}
    registry.liveness = lambda sid: alive.get(sid, False)
    job = registry.submit(long_spec(), owner="ann", session_id="s1")
    wait_for(lambda: job.status == RUNNING)
    assert registry.reap_orphans() == []
    alive["s1"] = False  # the tab was closed
    assert registry.reap_orphans(now=100.0) == []  # the grace period starts
    registry.attach(job, "s2")  # ...but a refresh re-attached in time
    alive["s2"] = True
    assert registry.reap_orphans(now=101.0) == []
    alive["s2"] = False
    registry.reap_orphans(now=200.0)
    assert registry.reap_orphans(now=201.0) == [job]
    assert job.done.wait(30)
    assert job.snapshot().status == STOPPED and job.snapshot().message.key == "job.tab_closed"


def test_a_failing_liveness_probe_never_stops_anybody(registry):
    def broken(sid):
        raise RuntimeError("runtime gone")

    registry.liveness = broken
    job = registry.submit(small_spec(epochs=1), owner="ann", session_id="s1")
    registry.reap_orphans(now=0.0)
    assert registry.reap_orphans(now=100.0) == []
    job.done.wait(60)


def test_old_models_of_an_owner_are_released():
    reg = JobRegistry(max_concurrent=1, keep_per_owner=1)
    jobs = [reg.submit(small_spec(epochs=1), owner="ann") for _ in range(3)]
    for job in jobs:
        assert job.done.wait(60)
    assert [job.model is not None for job in jobs] == [False, False, True]
    assert all(job.snapshot().history["loss"] for job in jobs)  # the history stays


def test_divergence_bound_grows_with_the_number_of_classes():
    assert divergence_bound(2) == 1000.0
    assert divergence_bound(10) == pytest.approx(1000 * np.log(10))


def test_eta_uses_epoch_times():
    reg = JobRegistry(max_concurrent=1)
    job = reg.submit(small_spec(epochs=50, batch_size=8), owner="ann")
    wait_for(lambda: job.snapshot().epochs_done >= 1)
    eta = job.snapshot().eta_seconds()
    assert eta is not None and eta > 0
    job.stop()
    job.done.wait(30)
    assert job.snapshot().eta_seconds() is None


def test_finished_jobs_of_closed_tabs_free_their_models(registry):
    alive = {"s1": True, "s2": True}
    registry.liveness = lambda sid: alive.get(sid, False)
    gone = registry.submit(small_spec(epochs=1), owner="ann", session_id="s1")
    kept = registry.submit(small_spec(epochs=1), owner="bob", session_id="s2")
    assert gone.done.wait(60) and kept.done.wait(60)
    registry.orphan_grace = 5.0
    assert registry.release_abandoned() == 0
    alive["s1"] = False  # ann's connection drops...
    t = time.monotonic()
    assert registry.release_abandoned(now=t) == 0 and gone.model is not None  # ...within the grace: kept
    alive["s1"] = True  # ...and comes back
    assert registry.release_abandoned(now=t + 1) == 0 and gone.orphaned_since is None
    alive["s1"] = False  # now she closes the tab
    assert registry.release_abandoned(now=t + 2) == 0
    assert registry.release_abandoned(now=t + 10) == 1
    assert gone.model is None and kept.model is not None
    assert gone.released and not kept.released  # the Train page says where the model file is
    assert gone.snapshot().history  # the curves stay; the run store keeps the model file


def test_the_reaper_frees_the_models_of_tabs_closed_after_the_last_training(registry):
    alive = {"s1": True}
    registry.liveness = lambda sid: alive.get(sid, False)
    job = registry.submit(small_spec(epochs=1), owner="ann", session_id="s1")
    assert job.done.wait(60)
    time.sleep(2.5)  # a reaper round with the tab open: the model stays for the Train page
    assert job.model is not None
    alive["s1"] = False  # the last learner of the workshop closes the tab; nobody trains again
    wait_for(lambda: job.model is None, timeout=10)
    wait_for(lambda: registry._reaper is None, timeout=10)  # nothing left to watch: the reaper rests

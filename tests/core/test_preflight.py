"""Preflight: what a run costs, and the limits that refuse it with a suggestion."""

import pytest

from core import eta, preflight
from core.layer_wiring import Work
from core.spec import ExperimentSpec, LayerSpec


def digits_spec(units: int = 100, epochs: int = 10) -> ExperimentSpec:
    spec = ExperimentSpec.default_for("digits")
    spec.layers = [LayerSpec.make("Flatten"), LayerSpec.make("Dense", units=units, activation="sigmoid")]
    spec.ensure_layer_names()
    spec.fit.epochs = epochs
    return spec


def test_estimate_counts_parameters_memory_samples_and_time():
    spec = digits_spec()
    p = preflight.estimate(spec)
    assert p.params == 64 * 100 + 100 + 100 * 10 + 10  # 8x8 digits: 64-100-10
    assert p.samples > 1000 and p.steps_per_epoch == -(-p.samples // spec.fit.batch_size)
    assert 0 < p.memory_mb < 10
    assert p.batch_seconds is not None and 0 < p.batch_seconds < 0.1
    # The whole run: setup and tracing once, every epoch with its validation, then the evaluation.
    assert p.eta_seconds(10) > p.batch_seconds * p.steps_per_epoch * 10
    assert p.eta_seconds(20) - p.eta_seconds(10) == pytest.approx(10 * p.time.per_epoch)
    assert not p.problems


def test_the_estimate_follows_the_machine_a_worker_measured(monkeypatch):
    spec = digits_spec(epochs=5)
    # A machine slower at everything: per call, per step inside a call, per FLOP and per epoch.
    slow = eta.MachineProfile(step_overhead=0.01, inner_step=0.001, dense_rate=1e9, epoch_overhead=0.2)
    fast = eta.MachineProfile(step_overhead=0.0005, inner_step=0.00005, dense_rate=1e11, epoch_overhead=0.02)
    monkeypatch.setattr(preflight, "machine_profile", lambda: slow)
    slow_epoch = preflight.estimate(spec).time.per_epoch
    monkeypatch.setattr(preflight, "machine_profile", lambda: fast)
    assert preflight.estimate(spec).time.per_epoch < slow_epoch / 3


def test_memory_grows_with_batch_size_and_optimizer_state():
    rows = preflight.estimate(digits_spec())
    spec = digits_spec()
    from core.summary import summarize

    s = summarize(spec)
    small = preflight.memory_mb(s.rows, s.trainable_params, s.total_params, "sgd", 32)
    assert preflight.memory_mb(s.rows, s.trainable_params, s.total_params, "sgd", 512) > small
    assert preflight.memory_mb(s.rows, s.trainable_params, s.total_params, "adam", 32) > small
    assert rows.memory_mb > 0


@pytest.mark.parametrize(
    "variable, value, key, spec_args",
    [
        ("PLAYGROUND_MAX_PARAMS", "1000", "limits.params", {}),
        ("PLAYGROUND_MAX_SAMPLE_EPOCHS", "5000", "limits.sample_epochs", {"epochs": 10}),
        ("PLAYGROUND_MAX_MODEL_MB", "1", "limits.memory", {"units": 4000}),
    ],
)
def test_a_run_over_a_limit_is_refused_with_the_limit_named(monkeypatch, variable, value, key, spec_args):
    monkeypatch.setenv(variable, value)
    spec = digits_spec(**spec_args)
    p = preflight.estimate(spec)
    assert [m.key for m in p.problems] == [key]
    with pytest.raises(preflight.LimitExceeded) as info:
        preflight.check(spec)
    text = str(info.value)
    assert variable in text and f"{int(value):,}" in text
    assert "{" not in info.value.msg.render("ja")


def test_the_suggested_epoch_count_fits_the_limit(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_MAX_SAMPLE_EPOCHS", "5000")
    spec = digits_spec(epochs=10)
    most = preflight.estimate(spec).problems[0].fields["most_epochs"]
    spec.fit.epochs = most
    assert not preflight.estimate(spec).problems


def test_a_run_from_files_counts_reading_them_and_built_in_data_does_not():
    from core import datasets

    folder = ExperimentSpec.default_for("folder")  # the bundled demo pictures: decoded from image files
    moons = ExperimentSpec.default_for("moons")
    datasets.load(folder.data)
    datasets.load(moons.data)
    assert datasets.load_seconds(folder.data) > 0
    assert datasets.load_seconds(moons.data) == 0.0  # generated in memory
    p = preflight.estimate(folder)
    work = dict(batch=folder.fit.batch_size, train=p.samples, val=0, test=0, epochs=1)
    unread = eta.estimate(preflight.machine_profile(), Work(flops=1), **work)
    read = eta.estimate(preflight.machine_profile(), Work(flops=1), **work, loading=datasets.load_seconds(folder.data))
    assert read.total - unread.total == pytest.approx(datasets.load_seconds(folder.data))


def test_transfer_features_count_the_base_running_once_over_every_picture():
    from core import recipes, summary

    spec = recipes.get("transfer-features").build_spec()
    once = summary.summarize(spec).once
    assert once.flops > 1e6 and 0 < once.conv_flops <= once.flops and once.map_values > 0  # millions of FLOPs a picture
    assert once.layers > 15  # the base's own layers, counted inside it (VGG16: 13 convolutions, 5 poolings)
    finetune = summary.summarize(recipes.get("transfer-finetune").build_spec())
    assert finetune.once is None and finetune.work.layers > 15  # its base runs in every step instead, counted there


@pytest.fixture
def measured_machine():
    """This host's profile as a worker's calibration leaves it (the defaults, measured a minute ago); removed after."""
    import time

    from core import db

    def clear(conn):
        conn.execute(db.machines.delete().where(db.machines.c.host == eta.host()))
        conn.execute(db.machine_runs.delete().where(db.machine_runs.c.host == eta.host()))

    with db.transaction() as conn:
        clear(conn)
    profile = eta.MachineProfile(measured=time.time() - 60)
    preflight.save_measured(profile)
    yield profile
    with db.transaction() as conn:
        clear(conn)


def test_finished_runs_teach_the_estimate_this_machine_s_pace(measured_machine):
    spec = digits_spec(epochs=5)
    before = preflight.estimate(spec)
    slow = before.time.per_epoch * 2  # this machine runs this kind of model at half the calibrated speed
    learnt = preflight.learn("r1", spec, "me", [slow + 0.5, slow, slow, slow, slow])
    assert learnt is not None and preflight.machine_profile() == learnt
    assert preflight.estimate(spec).time.per_epoch == pytest.approx(slow, rel=0.15)
    # One epoch teaches nothing of an epoch after the first.
    assert preflight.learn("r2", spec, "me", [slow]) is None


def test_a_run_that_shared_the_machine_teaches_nothing(measured_machine):
    from core import queue

    spec = digits_spec(epochs=5)
    job = queue.submit(spec, "someone-else")
    assert queue.claim("w", "CPU").id == job
    try:
        assert preflight.learn("r1", spec, "me", [1.0, 1.0, 1.0]) is None
        assert preflight.machine_profile() == measured_machine
    finally:
        from core import runs

        runs.store().delete("someone-else", job)

"""Curve diagnosis: each rule on synthetic histories, every fix on a copy, silence on healthy runs."""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from core import diagnosis, i18n
from core.diagnosis import Finding, Fix, diagnose
from core.i18n import Msg
from core.spec import ExperimentSpec, LayerSpec

ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- helpers


def decay(n, start, end, rate=0.3, noise=0.0, seed=0):
    """start -> end exponentially over n epochs, times (1 + noise * N(0, 1))."""
    t = np.arange(n)
    clean = end + (start - end) * np.exp(-rate * t)
    rng = np.random.default_rng(seed)
    return [float(x) for x in clean * (1 + noise * rng.standard_normal(n))]


def rise(n, start, end, rate=0.3, noise=0.0, seed=0):
    """start -> end (upwards) exponentially: accuracies."""
    return decay(n, start, end, rate, noise, seed)


def healthy(n=30, noise=0.0, seed=0, gap=0.02):
    """Both losses fall smoothly and level off; validation follows training with a small gap."""
    loss = decay(n, 0.6, 0.05, 0.25, noise, seed)
    val = decay(n, 0.5, 0.05 + gap, 0.25, noise, seed + 1)
    acc = [min(0.999, x) for x in rise(n, 0.75, 0.985, 0.25, noise / 4, seed + 2)]
    val_acc = [min(0.999, x) for x in rise(n, 0.8, 0.975, 0.25, noise / 4, seed + 3)]
    return {"loss": loss, "val_loss": val, "accuracy": acc, "val_accuracy": val_acc}


def overfit(n=25, best=8, climb=0.04):
    """Training loss keeps falling; validation loss bottoms out at epoch `best` then climbs `climb` per epoch."""
    loss = decay(n, 0.6, 0.01, 0.3)
    val = [0.2 + 0.3 * math.exp(-0.5 * t) for t in range(best)]
    val += [val[-1] * (1 + climb * (k + 1)) for k in range(n - best)]
    acc = [min(0.999, x) for x in rise(n, 0.8, 1.0, 0.3)]
    val_acc = rise(n, 0.85, 0.93, 0.5)
    return {"loss": loss, "val_loss": val, "accuracy": acc, "val_accuracy": val_acc}


def prefixes(history, start=1):
    n = len(history["loss"])
    for k in range(start, n + 1):
        yield k, {key: values[:k] for key, values in history.items()}


def spec_for(dataset="moons", **changes):
    spec = ExperimentSpec.default_for(dataset)
    for key, value in changes.items():
        part, name = key.split("__")
        setattr(getattr(spec, part), name, value)
    return spec


def kinds(findings):
    return [f.kind for f in findings]


def fix(finding: Finding, fix_id: str) -> Fix:
    found = [f for f in finding.fixes if f.id == fix_id]
    assert found, (fix_id, [f.id for f in finding.fixes])
    return found[0]


def assert_applies_to_a_copy(fix_: Fix, spec: ExperimentSpec) -> ExperimentSpec:
    before = spec.to_json()
    new = fix_.apply(spec)
    assert new is not spec
    assert spec.to_json() == before, f"{fix_.id} changed the original spec"
    assert new.to_json() != before, f"{fix_.id} changed nothing"
    ExperimentSpec.from_json(new.to_json())  # still a valid spec
    return new


#: Histories of real Keras runs of this app (the engine's pipeline, CPU), rounded to 4 decimals:
#: name -> {"settings": spec settings, "n_classes": ..., "history": per-epoch lists}.
REAL = json.loads((ROOT / "tests" / "core" / "data" / "recorded_histories.json").read_text())


def real_case(name):
    settings, n_classes, history = (REAL[name][k] for k in ("settings", "n_classes", "history"))
    spec = spec_for(
        settings["dataset"],
        compile__optimizer=settings["optimizer"],
        compile__learning_rate=settings["learning_rate"],
        fit__epochs=settings["epochs"],
        fit__batch_size=settings["batch_size"],
        data__train_size=settings["train_size"],
        fit__early_stopping=settings["early_stopping"],
    )
    return spec, n_classes, history


# --------------------------------------------------------------------------- healthy runs say nothing


HEALTHY_REAL = ["moons", "iris", "breast_80", "digits_overfit_lr01", "wine_sgd", "moons_es", "auto_mpg_regression"]


@pytest.mark.parametrize("name", HEALTHY_REAL)
def test_real_healthy_runs_produce_no_findings_at_any_epoch(name):
    spec, n_classes, history = real_case(name)
    for k, part in prefixes(history):
        assert diagnose(part, spec, "running", n_classes) == [], (name, k)
    assert diagnose(history, spec, "finished", n_classes) == []
    assert diagnose(history, spec, "stopped", n_classes) == []


def test_a_regression_is_judged_by_its_loss_alone():
    """No accuracy to read: a stalled mean squared error is a plateau; one that fell most of the way is not."""
    spec = spec_for("auto_mpg")
    stalled = {"loss": [600.0, 420.0] + [410.0] * 10, "val_loss": [600.0, 430.0] + [415.0] * 10}
    assert kinds(diagnose(stalled, spec, "running", None)) == ["plateau"]
    assert "over half of where it started" in str(diagnose(stalled, spec, "running", None)[0].message)
    learned = {"loss": [600.0, 200.0, 50.0] + [9.0] * 9, "val_loss": [600.0, 210.0, 55.0] + [10.0] * 9}
    assert diagnose(learned, spec, "finished", None) == []
    overfit_mse = {
        "loss": list(decay(20, 600.0, 5.0)),
        "val_loss": [600.0 * 0.6**t + 8 for t in range(10)] + [8 + t for t in range(10)],
    }
    assert "overfitting" in kinds(diagnose(overfit_mse, spec, "running", None))


@pytest.mark.parametrize("noise, seed", [(0.0, 0), (0.01, 1), (0.02, 2), (0.02, 3), (0.03, 4), (0.03, 5)])
@pytest.mark.parametrize("n_classes", [2, 10, None])
def test_synthetic_healthy_runs_with_small_noise_produce_no_findings(noise, seed, n_classes):
    history = healthy(40, noise, seed)
    spec = spec_for("mnist", fit__epochs=40)
    for k, part in prefixes(history):
        assert diagnose(part, spec, "running", n_classes) == [], k
    assert diagnose(history, spec, "finished", n_classes) == []


def test_a_converged_run_on_noisy_data_is_not_a_plateau():
    """Loss flat at 0.3 with 88% accuracy on two overlapping classes: done, not stuck."""
    n = 30
    history = {
        "loss": decay(n, 0.69, 0.30, 0.5),
        "val_loss": decay(n, 0.65, 0.32, 0.5),
        "accuracy": rise(n, 0.6, 0.88, 0.5),
        "val_accuracy": rise(n, 0.6, 0.87, 0.5),
    }
    assert diagnose(history, spec_for("moons", fit__epochs=30), "finished", 2) == []


def test_validation_loss_levelling_off_above_training_is_not_overfitting():
    """A steady gap, or a val_loss a few percent above its minimum, is normal."""
    n = 40
    loss = decay(n, 0.6, 0.02, 0.25)
    val = decay(n, 0.5, 0.12, 0.4)
    val[-6:] = [v * f for v, f in zip(val[-6:], [1.02, 1.04, 1.03, 1.05, 1.04, 1.06], strict=False)]
    history = {"loss": loss, "val_loss": val, "accuracy": rise(n, 0.8, 0.995), "val_accuracy": rise(n, 0.8, 0.96)}
    assert diagnose(history, spec_for("mnist", fit__epochs=40), "finished", 10) == []


@pytest.mark.parametrize(
    "history",
    [
        healthy(2),
        overfit(2),
        {"loss": [0.69, 0.69], "val_loss": [0.69, 0.69], "accuracy": [0.5, 0.5], "val_accuracy": [0.5, 0.5]},
        {"loss": [0.5, 0.9], "val_loss": [0.5, 0.2]},
        {"loss": [0.7], "val_loss": [1.4], "accuracy": [0.4]},
        {"loss": [0.4, 0.7], "val_loss": [0.4, 1.5], "accuracy": [0.9, 0.6], "val_accuracy": [0.9, 0.5]},
    ],
)
@pytest.mark.parametrize("status", ["running", "finished", "stopped"])
def test_one_or_two_epochs_say_nothing_unless_diverging(history, status):
    assert diagnose(history, spec_for("mnist", fit__epochs=2), status, 10) == []


def test_nothing_to_judge():
    spec = spec_for()
    assert diagnose({}, spec) == []
    assert diagnose({"loss": []}, spec, "running", 2) == []
    assert diagnose(overfit(), spec, "queued", 2) == []
    assert diagnose({"loss": [float("nan")]}, spec, "failed", 2) == []


# --------------------------------------------------------------------------- diverging


@pytest.mark.parametrize(
    "history, epoch, curve",
    [
        ({"loss": [0.7, float("nan")]}, 2, "loss"),
        ({"loss": [float("inf")], "val_loss": [0.5]}, 1, "loss"),
        ({"loss": [0.7, 0.5, 0.4], "val_loss": [0.6, float("nan"), float("nan")]}, 2, "val_loss"),
    ],
)
def test_nan_or_inf_is_diverging_from_the_first_epoch(history, epoch, curve):
    spec = spec_for("moons", compile__learning_rate=0.5)
    (finding,) = diagnose(history, spec, "running", 2)
    assert (finding.kind, finding.severity, finding.epoch) == ("diverging", "error", epoch)
    assert finding.message.key == "diagnosis.diverging_nan"
    assert finding.message.fields["curve"] == Msg(f"diagnosis.curve.{curve}") and finding.curve == curve
    assert [f.id for f in finding.fixes] == ["lower_lr"]
    assert assert_applies_to_a_copy(finding.fixes[0], spec).compile.learning_rate == 0.05


def test_a_run_the_trainer_stopped_as_diverged_is_diverging_even_without_history():
    spec = spec_for("moons", compile__optimizer="sgd", compile__learning_rate=20.0)
    for history in ({}, {"loss": [0.6]}, healthy(6)):
        (finding,) = diagnose(history, spec, "diverged", 2)
        assert finding.kind == "diverging" and finding.message.key == "diagnosis.diverging_stopped"
        assert finding.message.fields["lr"] == "20"
        assert fix(finding, "lower_lr").apply(spec).compile.learning_rate == 2.0


def test_a_loss_far_beyond_guessing_is_diverging():
    spec = spec_for("moons", compile__optimizer="sgd", compile__learning_rate=50.0)
    (finding,) = diagnose({"loss": [38.6], "val_loss": [47.8]}, spec, "running", 2)
    assert finding.message.key == "diagnosis.diverging_huge"
    assert finding.message.fields["chance"] == "0.693"
    # Not without the number of classes, nor for mean squared error.
    assert diagnose({"loss": [38.6]}, spec, "running", None) == []
    mse = spec_for("moons", compile__loss="mean_squared_error")
    assert diagnose({"loss": [38.6]}, mse, "running", 2) == []


@pytest.mark.parametrize(
    "loss",
    [
        [0.5, 1.2],  # two epochs: far above the first
        [0.7, 0.5, 0.4, 0.6, 0.9, 1.4],  # a steady climb from the lowest point
        [0.7, 0.45, 0.4, 0.38, 0.45, 0.5, 0.62],
    ],
)
def test_a_climbing_training_loss_is_diverging(loss):
    spec = spec_for("moons", compile__learning_rate=0.3)
    history = {"loss": loss, "val_loss": loss, "accuracy": [0.8] * len(loss), "val_accuracy": [0.8] * len(loss)}
    (finding,) = diagnose(history, spec, "running", 2)
    assert finding.message.key == "diagnosis.diverging_rising"
    assert finding.epoch == len(loss)
    assert fix(finding, "lower_lr").apply(spec).compile.learning_rate == 0.03


def test_tiny_losses_wobbling_upwards_are_not_diverging():
    loss = [0.3, 0.05, 0.01, 0.004, 0.005, 0.007, 0.009]
    history = {
        "loss": loss,
        "val_loss": [0.3, 0.08, 0.05, 0.05, 0.05, 0.05, 0.05],
        "accuracy": [0.95, 0.99, 1, 1, 1, 1, 1],
        "val_accuracy": [0.95, 0.98, 0.985, 0.985, 0.985, 0.985, 0.985],
    }
    assert diagnose(history, spec_for("mnist", fit__epochs=7), "finished", 10) == []


def test_a_blow_up_that_leaves_the_accuracy_at_chance_is_diverging_not_a_plateau():
    spec, n_classes, history = real_case("digits_sgd_lr5")
    (finding,) = diagnose(history, spec, "finished", n_classes)
    assert finding.kind == "diverging" and finding.message.key == "diagnosis.diverging_collapsed"
    assert finding.epoch == 1 and finding.message.fields["chance"] == "2.3"
    assert fix(finding, "lower_lr").apply(spec).compile.learning_rate == 0.5


def test_diverging_hides_the_other_findings():
    history = overfit(20)
    history["loss"][-1] = float("nan")
    assert kinds(diagnose(history, spec_for("mnist"), "running", 10)) == ["diverging"]


# --------------------------------------------------------------------------- overfitting


def test_overfitting_on_an_image_dataset_offers_every_remedy():
    spec = spec_for("mnist", fit__epochs=25)
    spec.layers = [LayerSpec.make("Flatten"), LayerSpec.make("Dense", units=100), LayerSpec.make("Dense", units=100)]
    spec.ensure_layer_names()
    (finding,) = diagnose(overfit(25, best=8), spec, "finished", 10)
    assert (finding.kind, finding.severity, finding.epoch, finding.curve) == ("overfitting", "warning", 8, "val_loss")
    assert finding.message.key == "diagnosis.overfitting"
    assert finding.message.fields["best_epoch"] == 8 and finding.message.fields["since"] == 17
    assert [f.id for f in finding.fixes] == ["add_dropout", "l2", "augment", "early_stopping", "fewer_epochs"]

    new = assert_applies_to_a_copy(fix(finding, "add_dropout"), spec)
    assert [layer.type for layer in new.layers] == ["Flatten", "Dense", "Dense", "Dropout"]
    assert new.layers[-1].params["rate"] == 0.3 and new.layers[-1].name == "dropout_1"

    new = assert_applies_to_a_copy(fix(finding, "l2"), spec)
    assert [layer.params["l2"] for layer in new.layers if layer.type == "Dense"] == [0.01, 0.01]

    new = assert_applies_to_a_copy(fix(finding, "augment"), spec)
    assert new.augment.enabled and new.augment.rotation_range == spec.augment.rotation_range

    new = assert_applies_to_a_copy(fix(finding, "early_stopping"), spec)
    assert new.fit.early_stopping and new.fit.restore_best_weights

    new = assert_applies_to_a_copy(fix(finding, "fewer_epochs"), spec)
    assert new.fit.epochs == 8


def test_overfitting_is_seen_while_running_once_the_rise_is_clear():
    history = overfit(25, best=8, climb=0.04)
    spec = spec_for("mnist", fit__epochs=25)
    seen = [k for k, part in prefixes(history) if kinds(diagnose(part, spec, "running", 10)) == ["overfitting"]]
    first = seen[0]
    assert 8 + diagnosis.OVERFIT_SINCE <= first <= 8 + 5
    assert seen == list(range(first, 26))  # and it stays


def test_overfitting_on_points_offers_no_augmentation_and_raises_an_existing_dropout():
    spec = spec_for("moons", fit__epochs=25)
    spec.add_layer("Dropout", rate=0.1)
    (finding,) = diagnose(overfit(25), spec, "running", 2)
    assert "augment" not in [f.id for f in finding.fixes]
    new = assert_applies_to_a_copy(fix(finding, "raise_dropout"), spec)
    assert len(new.layers) == len(spec.layers)
    assert new.layers[-1].params["rate"] == pytest.approx(0.3)
    assert finding.fixes[0].label.fields == {"layer": "dropout_1", "old": "0.1", "new": "0.3"}


def test_overfitting_after_early_stopping_restored_the_best_weights_is_information():
    spec = spec_for("mnist", fit__epochs=50, fit__early_stopping=True)
    (finding,) = diagnose(overfit(14, best=8, climb=0.05), spec, "finished", 10)
    assert (finding.kind, finding.severity) == ("overfitting", "info")
    assert finding.message.key == "diagnosis.overfitting_early_stopped"
    assert [f.id for f in finding.fixes] == ["raise_dropout", "l2", "augment"]


def test_overfitting_needs_five_epochs_and_a_clear_rise():
    spec = spec_for("mnist")
    assert diagnose(overfit(4, best=1, climb=0.3), spec, "running", 10) == []
    assert diagnose(overfit(20, best=10, climb=0.005), spec, "running", 10) == []  # +5% over 10 epochs
    history = overfit(20, best=10)
    history["loss"] = [0.3] * 20  # training loss not falling: not overfitting
    assert "overfitting" not in kinds(diagnose(history, spec, "running", 10))


# --------------------------------------------------------------------------- underfitting and plateau


def test_plateau_when_the_loss_stops_improving_far_from_a_good_accuracy():
    spec = spec_for("spiral", compile__optimizer="sgd", compile__learning_rate=0.01, fit__epochs=40)
    n = 12
    history = {
        "loss": decay(n, 0.69, 0.667, 0.8),
        "val_loss": decay(n, 0.69, 0.665, 0.8),
        "accuracy": rise(n, 0.55, 0.6, 0.8),
        "val_accuracy": rise(n, 0.55, 0.62, 0.8),
    }
    assert diagnose({k: v[:7] for k, v in history.items()}, spec, "running", 2) == []  # two windows needed
    (finding,) = diagnose(history, spec, "running", 2)
    assert (finding.kind, finding.severity, finding.epoch) == ("plateau", "warning", 12)
    assert finding.message.fields["acc"] == "60%"
    assert [f.id for f in finding.fixes] == ["higher_lr", "adam", "more_units"]

    new = assert_applies_to_a_copy(fix(finding, "higher_lr"), spec)
    assert new.compile.learning_rate == pytest.approx(0.03)
    new = assert_applies_to_a_copy(fix(finding, "adam"), spec)
    assert (new.compile.optimizer, new.compile.learning_rate) == ("adam", 0.001)
    new = assert_applies_to_a_copy(fix(finding, "more_units"), spec)
    assert [layer.params["units"] for layer in new.layers] == [16, 16]
    assert finding.fixes[2].label.fields == {"old": "8, 8", "new": "16, 16"}


def test_underfitting_close_to_chance_after_many_epochs():
    spec = spec_for("mnist", compile__learning_rate=1e-5, fit__epochs=50)
    n = 12
    loss = [2.30 * 0.985**t for t in range(n)]  # still falling, slowly
    history = {
        "loss": loss,
        "val_loss": [x * 1.01 for x in loss],
        "accuracy": [0.1 + 0.005 * t for t in range(n)],
        "val_accuracy": [0.1 + 0.005 * t for t in range(n)],
    }
    assert diagnose({k: v[:9] for k, v in history.items()}, spec, "running", 10) == []
    (finding,) = diagnose(history, spec, "running", 10)
    assert finding.kind == "underfitting" and finding.message.key == "diagnosis.underfitting_chance"
    assert finding.message.fields["chance"] == "10%" and finding.message.fields["classes"] == 10
    assert [f.id for f in finding.fixes] == ["higher_lr", "more_epochs", "more_units"]  # already Adam
    new = assert_applies_to_a_copy(fix(finding, "higher_lr"), spec)
    assert new.compile.learning_rate == 0.001  # straight to Adam's default, more than x3
    new = assert_applies_to_a_copy(fix(finding, "more_epochs"), spec)
    assert new.fit.epochs == 100


def test_underfitting_when_a_finished_run_is_poor_on_both_and_still_improving():
    spec = spec_for("cifar10", fit__epochs=5)
    history = {
        "loss": [2.0, 1.8, 1.7, 1.62, 1.56],
        "val_loss": [1.9, 1.78, 1.7, 1.64, 1.6],
        "accuracy": [0.28, 0.36, 0.40, 0.43, 0.45],
        "val_accuracy": [0.33, 0.37, 0.40, 0.42, 0.44],
    }
    assert diagnose(history, spec_for("cifar10", fit__epochs=20), "running", 10) == []  # 15 epochs to go
    assert diagnose(history, spec_for("cifar10", fit__epochs=20), "stopped", 10) == []  # the learner pressed Stop
    for status in ("finished", "running"):  # running at its last epoch
        (finding,) = diagnose(history, spec, status, 10)
        assert finding.kind == "underfitting" and finding.message.key == "diagnosis.underfitting"
        assert finding.message.fields == {"epochs": 5, "acc": "43%", "val_acc": "42%"}
    assert [f.id for f in finding.fixes] == ["more_units", "more_epochs", "higher_lr"]
    new = assert_applies_to_a_copy(fix(finding, "more_units"), spec)
    assert [layer.params.get("units") for layer in new.layers] == [None, 256, None]
    assert new.fit.epochs == 5
    # A good accuracy is not underfitting, however short the run.
    good = dict(history, accuracy=[0.8, 0.85, 0.88, 0.9, 0.91], val_accuracy=[0.8, 0.84, 0.86, 0.87, 0.88])
    assert diagnose(good, spec, "finished", 10) == []


# --------------------------------------------------------------------------- noisy


def zigzag(n, level, amplitude, trend=0.0):
    return [level * (1 + amplitude * (1 if t % 2 else -1)) * (1 - trend * t) for t in range(n)]


def test_a_jumpy_validation_loss_is_noisy_not_overfitting():
    spec = spec_for("moons", compile__optimizer="sgd", compile__learning_rate=3.0, fit__batch_size=16)
    n = 14
    history = {
        "loss": decay(n, 0.6, 0.2, 0.3),
        "val_loss": zigzag(n, 0.4, 0.35),
        "accuracy": rise(n, 0.8, 0.93),
        "val_accuracy": zigzag(n, 0.85, 0.05),
    }
    history["val_loss"][-1] *= 1.5
    assert diagnose({k: v[:5] for k, v in history.items()}, spec, "running", 2) == []
    (finding,) = diagnose(history, spec, "running", 2)
    assert (finding.kind, finding.severity) == ("noisy", "info")
    assert finding.message.fields["curve"] == Msg("diagnosis.curve.val_loss") and finding.curve == "val_loss"
    assert [f.id for f in finding.fixes] == ["lower_lr", "larger_batch"]
    new = assert_applies_to_a_copy(fix(finding, "lower_lr"), spec)
    assert new.compile.learning_rate == 1.5
    new = assert_applies_to_a_copy(fix(finding, "larger_batch"), spec)
    assert new.fit.batch_size == 32


def test_a_jumpy_training_loss_is_noisy():
    spec = spec_for("mnist", fit__epochs=20)
    n = 12
    history = {
        "loss": zigzag(n, 0.5, 0.4, 0.02),
        "val_loss": decay(n, 0.5, 0.3, 0.3),
        "accuracy": rise(n, 0.8, 0.9),
        "val_accuracy": rise(n, 0.8, 0.9),
    }
    (finding,) = diagnose(history, spec, "running", 10)
    assert finding.kind == "noisy" and finding.message.fields["curve"] == Msg("diagnosis.curve.loss")


def test_real_noisy_run():
    spec, n_classes, history = real_case("digits_sgd_lr05_bs8")
    assert kinds(diagnose(history, spec, "finished", n_classes)) == ["noisy"]


def test_small_wobbles_are_not_noisy():
    n = 20
    history = {"loss": zigzag(n, 0.3, 0.05), "val_loss": zigzag(n, 0.35, 0.04), "accuracy": [0.9] * n, "val_accuracy": [0.88] * n}
    assert diagnose(history, spec_for("mnist"), "running", 10) == []
    tiny = {"loss": zigzag(n, 0.002, 0.4), "val_loss": zigzag(n, 0.01, 0.3), "accuracy": [1.0] * n, "val_accuracy": [0.99] * n}
    assert diagnose(tiny, spec_for("mnist"), "running", 10) == []


# --------------------------------------------------------------------------- the fixes themselves


def test_learning_rate_fixes_respect_the_spec_limits():
    spec = spec_for(compile__learning_rate=1e-7)
    assert diagnosis.lower_lr(spec, 10) is None
    spec = spec_for(compile__learning_rate=3e-7)
    assert diagnosis.lower_lr(spec, 10).apply(spec).compile.learning_rate == 1e-7
    spec = spec_for(compile__learning_rate=0.003)
    new = diagnosis.lower_lr(spec, 10).apply(spec)
    assert new.compile.learning_rate == 0.0003 and spec.compile.learning_rate == 0.003
    assert diagnosis.lower_lr(spec, 10).label == Msg("diagnosis.fix.lower_lr", {"old": "0.003", "new": "0.0003"})
    spec = spec_for(compile__optimizer="sgd", compile__learning_rate=50.0)
    assert diagnosis.higher_lr(spec).apply(spec).compile.learning_rate == 100.0
    spec.compile.learning_rate = 100.0
    assert diagnosis.higher_lr(spec) is None


def test_batch_epoch_and_unit_fixes_are_capped():
    spec = spec_for(fit__batch_size=5000, fit__epochs=700)
    assert diagnosis.larger_batch(spec).apply(spec).fit.batch_size == 8192
    assert diagnosis.more_epochs(spec).apply(spec).fit.epochs == 1000
    spec = spec_for(fit__batch_size=8192, fit__epochs=1000)
    assert diagnosis.larger_batch(spec) is None and diagnosis.more_epochs(spec) is None
    assert diagnosis.fewer_epochs(spec, 1000) is None
    assert diagnosis.fewer_epochs(spec, 0).apply(spec).fit.epochs == 1
    spec.layers = [LayerSpec.make("Dense", units=3000), LayerSpec.make("Dense", units=4096)]
    assert [layer.params["units"] for layer in diagnosis.more_units(spec).apply(spec).layers] == [4096, 4096]
    spec.layers = [LayerSpec.make("Dense", units=4096)]
    assert diagnosis.more_units(spec) is None
    spec.layers = [LayerSpec.make("Flatten")]
    assert diagnosis.more_units(spec) is None and diagnosis.l2_fix(spec) is None


def test_regularisation_fixes_step_up_from_what_is_there():
    spec = spec_for("mnist")
    spec.layers = [LayerSpec.make("Flatten"), LayerSpec.make("Dense", units=64, l2=0.03), LayerSpec.make("Dense", units=64)]
    new = diagnosis.l2_fix(spec).apply(spec)
    assert [layer.params["l2"] for layer in new.layers if layer.type == "Dense"] == [0.09, 0.09]
    assert [layer.params["l2"] for layer in spec.layers if layer.type == "Dense"] == [0.03, 0.0]
    for layer in spec.layers[1:]:
        layer.params["l2"] = 1.0
    assert diagnosis.l2_fix(spec) is None
    spec.layers = [LayerSpec.make("Flatten"), LayerSpec.make("Dropout", rate=0.5)]
    assert diagnosis.dropout_fix(spec) is None
    spec.layers = []
    new = diagnosis.dropout_fix(spec).apply(spec)
    assert [layer.type for layer in new.layers] == ["Dropout"] and spec.layers == []


def test_augmentation_fix_only_where_it_applies():
    assert diagnosis.augment_fix(spec_for("moons")) is None
    assert diagnosis.augment_fix(spec_for("iris")) is None
    assert diagnosis.augment_fix(spec_for("mnist", augment__enabled=True)) is None
    features = spec_for("folder")
    features.transfer.base, features.transfer.mode = "mobilenet", "features"
    assert diagnosis.augment_fix(features) is None
    features.transfer.mode = "finetune"
    assert diagnosis.augment_fix(features) is not None
    # No transform set in the studio: tutorial 003's settings, enabled.
    bare = spec_for("cifar10")
    bare.augment = type(bare.augment)(seed=7)
    new = diagnosis.augment_fix(bare).apply(bare)
    assert new.augment.enabled and new.augment.rotation_range == 30.0 and new.augment.seed == 7
    assert not bare.augment.enabled and bare.augment.rotation_range == 0.0
    # The learner's own transforms are kept.
    own = spec_for("mnist")
    own.augment.rotation_range, own.augment.vertical_flip = 10.0, False
    new = diagnosis.augment_fix(own).apply(own)
    assert new.augment.enabled and new.augment.rotation_range == 10.0 and not new.augment.vertical_flip


def test_early_stopping_fix_turns_on_restoring_the_best_weights():
    spec = spec_for(fit__early_stopping=True, fit__restore_best_weights=False)
    new = diagnosis.early_stopping_fix(spec).apply(spec)
    assert new.fit.early_stopping and new.fit.restore_best_weights and not spec.fit.restore_best_weights
    assert diagnosis.early_stopping_fix(new) is None


def test_fix_is_applied_to_any_copy_independently():
    spec = spec_for("mnist")
    f = diagnosis.dropout_fix(spec)
    first, second = f.apply(spec), f.apply(spec)
    assert first == second and first is not second
    assert first.layers[-1] is not second.layers[-1]


# --------------------------------------------------------------------------- messages


def scenario_findings():
    """Every finding the scenarios above produce, with the spec it was made for."""
    out = []
    cases = [
        ({"loss": [0.7, float("nan")]}, spec_for(), "running", 2),
        ({}, spec_for(), "diverged", 2),
        ({"loss": [38.6]}, spec_for(), "running", 2),
        ({"loss": [0.7, 0.5, 0.4, 0.6, 0.9, 1.4]}, spec_for(), "running", 2),
        (REAL["digits_sgd_lr5"]["history"], spec_for("digits", compile__optimizer="sgd"), "finished", 10),
        (overfit(25), spec_for("mnist", fit__epochs=25), "running", 10),
        (overfit(14, climb=0.05), spec_for("mnist", fit__epochs=50, fit__early_stopping=True), "finished", 10),
        (
            {"loss": [0.68] * 12, "val_loss": [0.68] * 12, "accuracy": [0.6] * 12},
            spec_for("spiral", compile__optimizer="sgd"),
            "running",
            2,
        ),
        ({"loss": [2.3 * 0.985**t for t in range(12)], "accuracy": [0.1] * 12}, spec_for("mnist"), "running", 10),
        ({"loss": [2.0, 1.8, 1.7, 1.62, 1.56], "accuracy": [0.28, 0.36, 0.40, 0.43, 0.45]}, spec_for("cifar10"), "finished", 10),
        ({"loss": decay(14, 0.6, 0.2), "val_loss": zigzag(14, 0.4, 0.35)}, spec_for(), "running", 2),
        ({"loss": [600.0, 420.0] + [410.0] * 10, "mae": [24.0] * 12}, spec_for("auto_mpg"), "running", None),
    ]
    for history, spec, status, n_classes in cases:
        found = diagnose(history, spec, status, n_classes)
        assert found, history
        out += [(f, spec) for f in found]
    return out


def all_msgs(msg: Msg):
    yield msg
    for value in msg.fields.values():
        if isinstance(value, Msg):
            yield from all_msgs(value)


def test_every_kind_and_message_key_is_covered_by_the_scenarios():
    found = scenario_findings()
    assert {f.kind for f, _ in found} == set(diagnosis.KINDS)
    keys = {f.message.key for f, _ in found}
    in_code = set(re.findall(r'"(diagnosis\.[a-z_]+)"', (ROOT / "core" / "diagnosis.py").read_text()))
    assert in_code <= keys | {"diagnosis.curve", "diagnosis.fix"}, in_code - keys


def test_every_message_and_label_exists_in_both_catalogues_and_renders():
    ids = set()
    for finding, spec in scenario_findings():
        assert finding.severity in diagnosis.SEVERITIES
        msgs = list(all_msgs(finding.message))
        for f in finding.fixes:
            ids.add(f.id)
            msgs += list(all_msgs(f.label))
            assert_applies_to_a_copy(f, spec)
        for msg in msgs:
            for lang in i18n.LANGUAGES:
                assert i18n.has(lang, msg.key), (lang, msg.key)
                text = msg.render(lang)  # every placeholder has its field
                assert "{" not in text and msg.key not in text, text
    assert ids <= set(diagnosis.FIX_IDS)
    for fix_id in diagnosis.FIX_IDS:
        for lang in i18n.LANGUAGES:
            assert i18n.has(lang, f"diagnosis.fix.{fix_id}"), (lang, fix_id)
    for kind in diagnosis.KINDS:
        for lang in i18n.LANGUAGES:
            assert i18n.has(lang, f"diagnosis.kind.{kind}")


def test_japanese_uses_the_tutorials_words():
    ja = i18n.catalogue("ja")
    assert ja["diagnosis.kind.overfitting"] == "過学習" and "検証データ" in ja["diagnosis.overfitting"]
    assert "発散" in ja["diagnosis.diverging_rising"] and "学習率" in ja["diagnosis.fix.lower_lr"]
    assert "早期終了" in ja["diagnosis.fix.early_stopping"] and "データ拡張" in ja["diagnosis.fix.augment"]
    assert "バッチサイズ" in ja["diagnosis.fix.larger_batch"] and "L2正則化" in ja["diagnosis.fix.l2"]
    assert "ドロップアウト" in ja["diagnosis.fix.add_dropout"] and "最適化アルゴリズム" in ja["diagnosis.fix.adam"]


def test_messages_do_not_repeat_their_headline():
    """The panel shows the kind in bold before the message: the message must not say it again."""
    for lang in i18n.LANGUAGES:
        catalogue = i18n.catalogue(lang)
        for kind in diagnosis.KINDS:
            headline = catalogue[f"diagnosis.kind.{kind}"]
            for key, text in catalogue.items():
                if key.startswith(f"diagnosis.{kind}"):
                    assert not text.startswith(headline), (lang, key)
        assert not catalogue["diagnosis.noisy"].startswith(("Noisy", "学習が不安定"))


def test_the_module_is_a_leaf():
    source = (ROOT / "core" / "diagnosis.py").read_text()
    imported = set(re.findall(r"^(?:from|import) ([\w.]+)", source, re.M))
    allowed = {"__future__", "math", "dataclasses", "typing", "collections.abc", "numpy", "core.i18n", "core.spec"}
    assert imported <= allowed, imported

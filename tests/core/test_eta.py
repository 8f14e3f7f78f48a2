"""How long a training takes: the machine measured, the estimate before, the pace during."""

import time

import pytest

from core import eta
from core.runs import Progress, Run
from core.spec import ExperimentSpec


def test_the_machine_is_measured_with_real_keras_steps():
    p = eta.calibrate()
    assert 1e-5 < p.step_overhead < 0.1 and 1e-6 < p.inner_step < 0.05 and 1e-5 < p.eval_overhead < 0.1
    assert 1e8 < p.dense_rate < 1e13 and 1e8 < p.conv_rate < 1e13 and p.measured > 0
    assert eta.MachineProfile.from_json(p.to_json()) == p
    # Arithmetic and memory traffic apart: a narrow convolution's time is mostly the values it writes.
    assert 1e-11 <= p.value_cost < 1e-6


def test_small_models_take_bigger_calls_and_big_ones_one_step_each():
    p = eta.MachineProfile()
    mlp = eta.steps_per_execution(p, flops=158_800, conv_share=0.0, batch=100, steps=600)
    cnn = eta.steps_per_execution(p, flops=2 * 9 * 32 * 64 * 24 * 24, conv_share=1.0, batch=512, steps=118)
    assert mlp > 8 and cnn == 1
    assert eta.steps_per_execution(p, flops=10, conv_share=0.0, batch=1, steps=5) == 5  # never more than an epoch has
    # Each call stays short: Stop is checked after every call.
    step = p.step_overhead + 3 * 158_800 * 100 / p.dense_rate
    assert mlp * step <= eta.EXECUTION_SECONDS


def test_the_estimate_counts_every_epoch_validation_and_the_evaluation():
    p = eta.MachineProfile()
    one = eta.estimate(p, flops=158_800, conv_share=0.0, batch=100, train=60_000, val=10_000, test=10_000, epochs=1)
    ten = eta.estimate(p, flops=158_800, conv_share=0.0, batch=100, train=60_000, val=10_000, test=10_000, epochs=10)
    assert ten.total - one.total == pytest.approx(9 * one.per_epoch)
    assert one.total > one.first_epoch > one.per_epoch > 0 and 0 < one.val_share < 0.5 and one.evaluation > 0


def running(history_seconds, step, steps, epoch_started, estimate=None, started=None) -> Run:
    spec = ExperimentSpec.default_for("moons")
    spec.fit.epochs = 10
    run = Run(
        "r",
        "me",
        "r",
        spec,
        "running",
        history={"seconds": history_seconds, "loss": [0.5] * len(history_seconds)},
        estimate=estimate,
        started=started,
    )
    run.progress = Progress(
        epoch=len(history_seconds) + 1,
        epochs=10,
        step=step,
        steps=steps,
        epoch_started=epoch_started,
        updated=epoch_started + (step / steps) * 2.0 if steps else epoch_started,
    )
    return run


def test_the_remaining_time_follows_the_run_s_own_pace():
    now = time.time()
    # Three epochs done at ~2 s (the first slower: tracing); half of the fourth done.
    run = running([5.0, 2.0, 2.0], step=50, steps=100, epoch_started=now - 1.0)
    left = eta.remaining(run, now)
    assert 12 < left < 16  # ~1 s of this epoch + 6 more epochs of 2 s + the evaluation
    # Before any epoch: the batches of the first give the pace.
    early = running([], step=30, steps=100, epoch_started=now - 0.6)
    assert eta.remaining(early, now) == pytest.approx((100 - 30) * 0.02 * 1.25 + 9 * 100 * 0.02 * 1.25, rel=0.05)
    # Nothing yet: what is left of the preflight estimate.
    fresh = running([], step=0, steps=0, epoch_started=0.0, estimate=30.0, started=now - 10)
    assert eta.remaining(fresh, now) == pytest.approx(20.0, abs=0.1)


def test_memory_bound_layers_cost_by_the_values_they_write():
    # small-cnn's first layer: few FLOPs, many values. Its time is mostly memory traffic, which FLOPs alone miss.
    p = eta.MachineProfile()
    flops_only = eta.estimate(p, flops=541_584, conv_share=0.72, batch=64, train=60_000, val=10_000, test=10_000, epochs=1)
    counted = eta.estimate(
        p, flops=541_584, conv_share=0.72, map_values=49_456, batch=64, train=60_000, val=10_000, test=10_000, epochs=1
    )
    assert counted.per_epoch - flops_only.per_epoch == pytest.approx(49_456 * p.value_cost * (60_000 + 10_000 / 3), rel=0.01)

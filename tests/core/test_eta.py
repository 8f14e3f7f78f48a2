"""How long a training takes: the machine measured, the estimate before, the pace during."""

import time
from dataclasses import replace

import pytest

from core import eta
from core.layer_wiring import Work
from core.runs import Progress, Run
from core.spec import ExperimentSpec

MNIST = dict(train=60_000, val=10_000, test=10_000)
MNIST_MLP = Work(flops=158_800, layers=2, variables=4, weights=79_510)  # 784-100-10


@pytest.mark.alone  # its bounds are the machine's rates: another test's load would be measured too
def test_the_machine_is_measured_with_real_keras_steps():
    p = eta.calibrate()
    assert 1e-5 < p.step_overhead < 0.1 and 1e-6 < p.inner_step < 0.05 and 1e-5 < p.eval_overhead < 0.1
    assert 1e8 < p.dense_rate < 1e13 and 1e8 < p.conv_rate < 1e13 and p.measured > 0
    assert eta.MachineProfile.from_json(p.to_json()) == p
    # Arithmetic and memory traffic apart: a narrow convolution's time is mostly the values it writes.
    assert 1e-11 <= p.value_cost < 1e-6
    # Per further layer and per tensor Adam updates: microseconds a step; their tracing: milliseconds or more.
    assert 0 <= p.layer_step < 1e-3 and 0 <= p.update_variable < 1e-3 and 0 <= p.update_weight < 1e-6
    assert 0 <= p.trace_layer < 2 and 0 <= p.trace_update < 2


def test_a_busy_machine_cannot_measure_an_impossible_rate():
    """CI once measured 10 ms a step while other work ran: taken out of a 0.5 s epoch of 32 steps, the overheads
    left nothing, and the dense rate came out at 16 TFLOP/s. The arithmetic keeps a share of the epoch."""
    assert eta.arithmetic_seconds(0.5, 32, 0.001, 0.1) == pytest.approx(0.368)  # quiet: the overheads taken out
    assert eta.arithmetic_seconds(0.5, 32, 0.010, 0.1) == pytest.approx(eta.ARITHMETIC_SHARE * 0.5)
    flops = 3 * 2 * (784 * 512 + 512 * 512 + 512 * 10) * 4096  # the calibration's dense model, one epoch
    assert flops / eta.arithmetic_seconds(0.5, 32, 0.010, 0.1) < 1e12


def test_small_models_take_bigger_calls_and_big_ones_one_step_each():
    p = eta.MachineProfile()
    mlp = eta.steps_per_execution(p, MNIST_MLP, batch=100, steps=600)
    conv = 2 * 9 * 32 * 64 * 24 * 24
    cnn = eta.steps_per_execution(p, Work(flops=conv, conv_flops=conv), batch=512, steps=118)
    assert mlp > 8 and cnn == 1
    assert eta.steps_per_execution(p, Work(flops=10), batch=1, steps=5) == 5  # never more than an epoch has
    # Each call stays short: Stop is checked after every call.
    step = p.step_overhead + 3 * 158_800 * 100 / p.dense_rate
    assert mlp * step <= eta.EXECUTION_SECONDS


def test_the_estimate_counts_every_epoch_validation_and_the_evaluation():
    p = eta.MachineProfile()
    one = eta.estimate(p, MNIST_MLP, batch=100, epochs=1, **MNIST)
    ten = eta.estimate(p, MNIST_MLP, batch=100, epochs=10, **MNIST)
    assert ten.total - one.total == pytest.approx(9 * one.per_epoch)
    assert one.total > one.first_epoch > one.per_epoch > 0 and 0 < one.val_share < 0.5 and one.evaluation > 0


def test_each_layer_and_the_optimizer_s_update_add_to_every_step_and_to_the_tracing():
    p = eta.MachineProfile()
    shallow = eta.estimate(p, MNIST_MLP, batch=32, epochs=1, **MNIST)
    deep = eta.estimate(p, replace(MNIST_MLP, layers=12), batch=32, epochs=1, **MNIST)
    steps = 60_000 // 32
    assert deep.per_epoch - shallow.per_epoch == pytest.approx(steps * 10 * p.layer_step, rel=0.01)
    assert deep.first_epoch - deep.per_epoch == pytest.approx(shallow.first_epoch - shallow.per_epoch + 10 * p.trace_layer)
    adam = eta.estimate(p, MNIST_MLP, batch=32, epochs=1, update=eta.update_cost("adam"), **MNIST)
    update = MNIST_MLP.variables * p.update_variable + MNIST_MLP.weights * p.update_weight
    assert adam.per_epoch - shallow.per_epoch == pytest.approx(steps * update, rel=0.01)
    assert eta.update_cost("sgd") == 0 < eta.update_cost("sgd", momentum=0.9) < eta.update_cost("adam")


def test_the_scales_learnt_from_finished_runs_correct_each_part_and_keep_the_others():
    p = eta.MachineProfile()
    mlp = eta.estimate(p, MNIST_MLP, batch=100, epochs=3, **MNIST)
    cnn = eta.estimate(p, Work(flops=50_000_000, conv_flops=49_000_000, map_values=40_000), batch=128, epochs=3, **MNIST)
    # This machine turned out to run dense layers as estimated, convolutions half as fast, and to trace twice as long.
    slower = dict(zip(eta.PARTS, (1, 1, 1, 2), strict=True))
    observed = [
        {**e.parts, "epoch": sum(e.parts[k] * slower[k] for k in eta.PARTS), "first_extra": 2 * e.parts["trace"]}
        for e in (mlp, cnn)
    ]
    learnt = eta.refit(p, observed)
    assert learnt.conv_scale == pytest.approx(2, rel=0.1) and learnt.dense_scale == pytest.approx(1, rel=0.1)
    assert learnt.trace_scale == pytest.approx(2, rel=0.1)
    again = eta.estimate(learnt, Work(flops=50_000_000, conv_flops=49_000_000, map_values=40_000), batch=128, epochs=3, **MNIST)
    assert again.per_epoch == pytest.approx(observed[1]["epoch"], rel=0.1)
    assert eta.refit(p, []) == p  # nothing learnt yet: the calibration as measured


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
    flops_only = eta.estimate(p, Work(flops=541_584, conv_flops=389_940), batch=64, epochs=1, **MNIST)
    counted = eta.estimate(p, Work(flops=541_584, conv_flops=389_940, map_values=49_456), batch=64, epochs=1, **MNIST)
    assert counted.per_epoch - flops_only.per_epoch == pytest.approx(49_456 * p.value_cost * (60_000 + 10_000 / 3), rel=0.01)

"""Comparisons (core/compare.py): planning the runs, reading values, ranking, and queueing a group all or none."""

from __future__ import annotations

import pytest

from core import compare, jobs, queue, recipes
from core.compare import Axis, Comparison, ComparisonError
from core.runs import Run
from core.spec import ExperimentSpec


def _mnist_mlp() -> ExperimentSpec:
    return recipes.get("batchnorm-mlp").build_spec()


def test_every_setting_applies_to_a_copy_and_reads_back():
    base = ExperimentSpec.default_for("mnist")
    for s in compare.settings_for(base):
        value = compare.suggestions(base, s)[-1]
        spec = base.copy()
        compare.apply(spec, s, value)
        assert compare.current(spec, s) == value, s.id
    assert base.to_json() == ExperimentSpec.default_for("mnist").to_json()  # the base is never changed


def test_activation_leaves_the_linear_layers_before_batchnorm_alone():
    spec = _mnist_mlp()
    compare.apply(spec, compare.setting(spec, "activation"), "tanh")
    kinds = [(layer.type, layer.params.get("activation")) for layer in spec.layers if "activation" in layer.params]
    assert kinds == [("Dense", "linear"), ("Activation", "tanh"), ("Dense", "linear"), ("Activation", "tanh")]


def test_the_tutorial_optimizers_bring_their_keras2_rates():
    spec = recipes.get("intro-mlp").build_spec()
    s = compare.setting(spec, "tutorial_optimizer")
    for name, want in [("adagrad", (0.01, 0.0)), ("adadelta", (1.0, None)), ("sgd_nesterov", (0.01, None))]:
        compare.apply(spec, s, name)
        assert spec.compile.learning_rate == want[0]
        if want[1] is not None:
            assert spec.compile.initial_accumulator == want[1]
    assert spec.compile.nesterov and spec.compile.momentum == 0.9
    compare.apply(spec, s, "sgd")  # back to plain SGD: no momentum left over
    assert (spec.compile.momentum, spec.compile.nesterov) == (0.0, False)


def test_two_axes_make_every_combination_first_axis_slowest_and_an_optimizer_keeps_the_rate_axis():
    base = ExperimentSpec.default_for("moons")
    plan = Comparison(base, (Axis("learning_rate", (0.1, 0.3)), Axis("optimizer", ("sgd", "adam")))).plan()
    assert [(s.compile.learning_rate, s.compile.optimizer) for s in plan] == [
        (0.1, "sgd"),
        (0.1, "adam"),
        (0.3, "sgd"),
        (0.3, "adam"),
    ]
    assert plan[1].compare == [["learning_rate", 0.1], ["optimizer", "adam"]] and all(s.recipe == "" for s in plan)
    again = ExperimentSpec.from_json(plan[1].to_json())
    assert again.compare == plan[1].compare  # the place survives the run store's JSON round trip


@pytest.mark.parametrize(
    ("axes", "key"),
    [
        ((), "compare.error.axes"),
        ((Axis("epochs", (1, 2)), Axis("epochs", (3,))), "compare.error.same_setting"),
        ((Axis("epochs", (3,)),), "compare.error.one_run"),
        ((Axis("learning_rate", tuple(range(1, 6))), Axis("epochs", (1, 2, 3, 4))), "compare.error.too_many"),
        ((Axis("units@nowhere", (1, 2)),), "compare.error.unknown_setting"),
        ((Axis("epochs", (0, 2)),), "compare.error.out_of_range"),
    ],
)
def test_a_comparison_that_cannot_be_planned_says_what_to_change(axes, key):
    with pytest.raises(ComparisonError) as info:
        Comparison(ExperimentSpec.default_for("moons"), axes).plan()
    assert info.value.msg.key == key
    assert not info.value.msg.render("en").startswith("compare.")  # a sentence in the catalogue, not a key
    assert not info.value.msg.render("ja").startswith("compare.")


def test_values_are_read_as_lists_or_ranges():
    spec = ExperimentSpec.default_for("moons")
    batch = compare.setting(spec, "batch_size")
    assert compare.parse_values(batch, "8, 16、 32") == (8, 16, 32)
    assert compare.parse_values(batch, "1..1024 x4") == (1, 10, 102, 1024)  # log-spaced, whole numbers
    epochs = compare.setting(spec, "epochs")
    assert compare.parse_values(epochs, "10..40 x4") == (10, 20, 30, 40)  # evenly
    for text, key in [("fast", "not_number"), ("2.5", "not_number"), ("1..9 xmany", "range"), ("1..9 x17", "count")]:
        with pytest.raises(ComparisonError) as info:
            compare.parse_values(epochs, text)
        assert info.value.msg.key == f"compare.error.{key}"
    with pytest.raises(ComparisonError):
        compare.parse_values(compare.setting(spec, "optimizer"), "sgd..adam")


def _run(i: int, place, val, loss, status="finished") -> Run:
    spec = ExperimentSpec.default_for("moons")
    spec.compare = place
    history = {"loss": [1.0, loss], "val_loss": [1.0, loss], "accuracy": [0.5, val], "val_accuracy": [0.5, val]}
    return Run(f"r{i}", "ann", "n", spec, status, history if status != "queued" else {}, group_id="cmp-x", seq=i)


def test_the_table_ranks_best_first_and_runs_without_figures_last():
    runs = [_run(0, [["epochs", 2]], 0.80, 0.5), _run(1, [["epochs", 5]], 0.90, 0.3), _run(2, [["epochs", 9]], 0, 0, "queued")]
    rows = compare.table(runs, "val_accuracy")
    assert [r["place"] for r in rows] == ["5", "2", "9"]
    assert [r["place"] for r in compare.table(runs, "val_loss")] == ["5", "2", "9"]  # lower loss is better
    csv = compare.table_csv(rows).splitlines()
    assert csv[0].startswith("place,run_id,seq,epochs,status,epochs_trained") and csv[1].startswith("5,r1,1,5,finished,2,")
    assert compare.outcome(runs, "val_accuracy") is None  # one run has not settled: no reveal yet
    assert compare.outcome(runs[:2], "val_loss") == {"2": 0.5, "5": 0.3}
    assert compare.reveal("5", {"2": 0.5, "5": 0.3}, higher_is_better=False) == (("5",), "right")


def test_every_race_plans_on_its_recipe_and_changes_only_its_setting():
    for race in recipes.RACES.values():
        base = recipes.get(race.recipe).build_spec()
        plan = race.plan()
        assert [p.compare for p in plan] == [[[race.axis.setting, v]] for v in race.axis.values]
        for spec in plan:
            assert spec.data.name == base.data.name and len(spec.layers) == len(base.layers)
    sizes = [s.data.train_size for s in recipes.get_race("batch-size-race").plan()]
    assert sizes == [10_000] * 4


def test_a_group_is_queued_all_or_none(monkeypatch):
    base = ExperimentSpec.default_for("moons")
    monkeypatch.setenv("PLAYGROUND_MAX_PARAMS", "200")
    plan = Comparison(base, (Axis("units@dense_1", (4, 64)),)).plan()  # 64 units: over 200 parameters
    before = len(queue.group_of("cmp-owner", "cmp-refused"))
    with pytest.raises(jobs.GroupRefused) as info:
        jobs.submit_group(plan, "cmp-owner", "cmp-refused")
    assert "64" in info.value.msg.render("en") and "PLAYGROUND_MAX_PARAMS" in info.value.msg.render("en")
    assert len(queue.group_of("cmp-owner", "cmp-refused")) == before == 0  # not even the small one was queued

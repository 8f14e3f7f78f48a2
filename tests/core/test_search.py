"""Random and smart search (core/search.py): Optuna's picks from the run store, pruning, and the workers carrying
a search on trial by trial."""

from __future__ import annotations

import json
import time

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from core import db, jobs, queue, runs, search
from core.compare import PRUNED, ComparisonError
from core.i18n import Msg
from core.runs import Run
from core.spec import ExperimentSpec


def _plan(**kw) -> search.SearchPlan:
    base = ExperimentSpec.default_for("iris")
    base.fit.epochs = 3
    ranges = kw.pop("ranges", [("learning_rate", (0.001, 0.3))])
    numbers = {name: not isinstance(values[0], str) for name, values in ranges}
    return search.SearchPlan(base, ranges, numbers=numbers, **kw)


def test_the_plan_round_trips_and_maps_to_optuna_distributions():
    plan = _plan(ranges=[("learning_rate", (0.001, 0.3)), ("batch_size", (8, 64))], trials=5, sampler="random")
    again = search.SearchPlan.from_json(plan.to_json())
    assert again.ranges == plan.ranges and again.trials == 5 and again.base.to_json() == plan.base.to_json()
    dists = search.distributions(plan)
    assert dists["learning_rate"] == FloatDistribution(0.001, 0.3, log=True)  # rates: log-uniform
    assert dists["batch_size"] == IntDistribution(8, 64, log=True)
    words = _plan(ranges=[("optimizer", ("sgd", "adam"))])
    assert search.distributions(words)["optimizer"] == CategoricalDistribution(["sgd", "adam"])


def test_each_trial_draws_its_own_values_and_the_same_ones_when_asked_again():
    plan = _plan(sampler="random")
    drawn = [dict(search.trial_spec(plan, k, []).compare)["learning_rate"] for k in range(4)]
    assert len(set(drawn)) == 4 and all(0.001 <= v <= 0.3 for v in drawn)
    assert dict(search.trial_spec(plan, 2, []).compare)["learning_rate"] == drawn[2]
    spec = search.trial_spec(plan, 0, [])
    assert spec.compile.learning_rate == drawn[0] and spec.recipe == ""


@pytest.mark.parametrize(
    ("kw", "key"),
    [
        ({"trials": 1}, "compare.error.trials"),
        ({"trials": 17}, "compare.error.trials"),
        ({"ranges": [("learning_rate", (0.01,))]}, "compare.error.search_range"),
        ({"ranges": []}, "compare.error.axes"),
    ],
)
def test_a_search_that_cannot_start_says_what_to_change(kw, key):
    with pytest.raises(ComparisonError) as info:
        _plan(**kw).check()
    assert info.value.msg.key == key and not info.value.msg.render("ja").startswith("compare.")


def _trial(owner: str, group: str, i: int, lr: float, curve: list[float], status="finished", message=None) -> Run:
    spec = ExperimentSpec.default_for("iris")
    spec.compare = [["learning_rate", lr]]
    history = {"loss": [1.0] * len(curve), "val_accuracy": curve, "accuracy": curve, "val_loss": [1.0] * len(curve)}
    return Run(f"{group[-6:]}{i}", owner, "t", spec, status, history, message=message, group_id=group, seq=i)


def test_the_median_pruner_stops_a_trial_below_the_finished_ones():
    plan = _plan()
    owner, group = "prune-owner", "cmp-search-prunetest"
    for i, curve in enumerate([[0.6, 0.8, 0.9], [0.5, 0.7, 0.85]]):
        runs.store().save(_trial(owner, group, i, 0.01 * (i + 1), curve))
    runs.store().save(_trial(owner, group, 2, 0.2, [0.3, 0.35], "stopped", Msg(PRUNED, {"epochs": 2})))
    running = _trial(owner, group, 3, 0.05, [], "running")
    assert search.hopeless(plan, running, {"val_accuracy": [0.2, 0.3]})  # below the median at epoch 2
    assert not search.hopeless(plan, running, {"val_accuracy": [0.7, 0.9]})
    assert not search.hopeless(plan, running, {"val_accuracy": [0.1]})  # too early to judge
    study = search._study(plan, queue.group_of(owner, group), 9)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE", "PRUNED"]


def test_the_workers_carry_a_search_on_to_its_last_trial():
    plan = _plan(trials=4, sampler="smart", parallel=2)
    owner, group = "search-owner", "cmp-search-workers"
    first = jobs.start_search(plan, owner, group, watched=False)
    assert len(first) == 2  # one per training slot; the workers queue the rest
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        found = queue.group_of(owner, group)
        if len(found) == 4 and all(r.settled for r in found):
            break
        time.sleep(0.5)
    found = queue.group_of(owner, group)
    assert len(found) == 4, [(r.status, r.message) for r in found]
    assert all(r.status in ("finished", "stopped") for r in found), [(r.status, r.message) for r in found]
    trials = sorted(json.loads(runs.get_blob(r.id, search.BLOB))["trial"] for r in found)
    assert trials == [0, 1, 2, 3]  # each trial number queued exactly once
    rates = [dict(r.spec.compare)["learning_rate"] for r in found]
    assert len(set(rates)) == 4 and all(0.001 <= v <= 0.3 for v in rates)


def test_stop_ends_a_search_and_a_pruned_trial_does_not():
    plan = _plan(trials=6, parallel=2)
    owner, group = "stop-owner", "cmp-search-stopping"
    runs.store().save(_trial(owner, group, 0, 0.01, [0.5], "stopped", Msg("job.stopped_by_user")))
    runs.store().save(_trial(owner, group, 1, 0.02, [0.5], "stopped", Msg(PRUNED, {"epochs": 1})))
    for i in (0, 1):
        with db.transaction() as conn:
            blob = json.dumps({"plan": plan.to_json(), "trial": i}).encode()
            conn.execute(db.run_blobs.insert().values(run_id=f"{group[-6:]}{i}", kind=search.BLOB, data=blob))
    stopped, pruned = queue.group_of(owner, group)
    assert search.after_trial(stopped) is None  # the learner pressed Stop: no trial 2
    successor = search.after_trial(pruned)  # pruned: trial 3 takes its place
    assert successor is not None and json.loads(runs.get_blob(successor, search.BLOB))["trial"] == 3
    jobs.stop(successor, owner, wait=0.1)


def test_a_search_is_under_way_between_two_trials_and_over_after_stop_or_its_last_trial():
    plan = _plan(trials=3, parallel=1)
    done = _trial("o", "cmp-search-going", 0, 0.01, [0.5])
    done.finished = 100.0
    assert search.going(plan, [done], now=105.0)  # its worker is queueing trial 1
    assert not search.going(plan, [done], now=100.0 + search.SUCCESSOR_SECONDS + 1)  # nobody queued it: over
    stopped = _trial("o", "cmp-search-going", 1, 0.02, [0.5], "stopped", Msg("job.stopped_by_user"))
    stopped.finished = 104.0
    assert not search.going(plan, [done, stopped], now=105.0)
    third = _trial("o", "cmp-search-going", 2, 0.03, [0.5])
    third.finished = 104.0
    assert not search.going(plan, [done, _trial("o", "cmp-search-going", 1, 0.02, [0.5]), third], now=105.0)  # all 3

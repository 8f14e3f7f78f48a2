"""Search beyond a grid: random or smart (Optuna's TPE) picks from one or two settings' ranges, hopeless runs
stopped early (Optuna's median pruner).

A search is a comparison whose values are not fixed in advance: a group of runs like any other (their places
are the values each trial drew), so they show, rank and download as one. Its plan travels with each trial (a
run blob), and its state is the run store itself: the Optuna study is rebuilt from the group's runs (their
places and epoch histories) whenever a trial is asked for or an epoch ends. No process holds it, so any worker,
local or on Ray, carries it on, and a web server restart loses nothing.

Trials 0..P-1 start together (P: the training slots); trial k, when it ends, queues trial k+P while the budget
lasts, so every trial number is queued exactly once however many workers finish at the same moment.

Example:
    >>> plan = SearchPlan(ExperimentSpec.default_for("moons"), [("learning_rate", (0.001, 0.3))], trials=6)
    >>> [round(v, 4) for v in [dict(trial_spec(plan, k, []).compare)["learning_rate"] for k in range(2)]]  # doctest: +SKIP
    [0.0066, 0.2059]
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from core import compare, db, preflight, queue, runs
from core.compare import PRUNED, ComparisonError
from core.i18n import Msg
from core.spec import ExperimentSpec
from core.status import Status

log = logging.getLogger(__name__)
optuna.logging.set_verbosity(optuna.logging.WARNING)

SAMPLERS = ("random", "smart")
BLOB = "search"
#: The median pruner waits for this many finished trials, and judges a trial only after this many epochs.
PRUNE_AFTER_TRIALS = 2
PRUNE_AFTER_EPOCHS = 1


@dataclass
class SearchPlan:
    """What to search: a base spec, (setting, (low, high) or choices) ranges, how many trials and how to pick."""

    base: ExperimentSpec
    ranges: list[tuple[str, tuple]]
    trials: int = compare.DEFAULT_TRIALS
    sampler: str = "smart"
    prune: bool = True
    metric: str = "val_accuracy"
    parallel: int = 2
    seed: int = 0
    numbers: dict = field(default_factory=dict)  # setting id -> True when its range is (low, high)

    def to_json(self) -> str:
        raw = {k: getattr(self, k) for k in ("ranges", "trials", "sampler", "prune", "metric", "parallel", "seed", "numbers")}
        return json.dumps({**raw, "base": self.base.to_dict()})

    @classmethod
    def from_json(cls, text: str) -> SearchPlan:
        raw = json.loads(text)
        base = ExperimentSpec.from_dict(raw.pop("base"))
        raw["ranges"] = [(name, tuple(values)) for name, values in raw["ranges"]]
        return cls(base, **raw)

    def check(self) -> None:
        """Raise ComparisonError with what to change."""
        if not 1 <= len(self.ranges) <= 2:
            raise ComparisonError("compare.error.axes")
        if len({name for name, _ in self.ranges}) != len(self.ranges):
            raise ComparisonError("compare.error.same_setting")
        if not compare.MIN_TRIALS <= self.trials <= compare.MAX_RUNS:
            raise ComparisonError("compare.error.trials", least=compare.MIN_TRIALS, most=compare.MAX_RUNS)
        for name, values in self.ranges:
            compare.setting(self.base, name)  # the spec has it
            if len(values) < 2:
                raise ComparisonError("compare.error.search_range", setting=name)


def distributions(plan: SearchPlan) -> dict[str, BaseDistribution]:
    """Optuna's view of the ranges: log-uniform for rates and batch sizes, integers for counts, a choice for words."""
    found: dict[str, BaseDistribution] = {}
    for name, values in plan.ranges:
        s = compare.setting(plan.base, name)
        if plan.numbers.get(name) and s.kind in ("int", "float"):
            low, high = sorted(float(v) for v in values)
            log = s.log and low > 0
            found[name] = (
                IntDistribution(int(low), int(high), log=log) if s.kind == "int" else FloatDistribution(low, high, log=log)
            )
        else:
            found[name] = CategoricalDistribution(list(values))
    return found


def trial_of(run_id: str) -> tuple[SearchPlan, int] | None:
    """The plan and trial number of a run, or None when it is not a trial of a search."""
    blob = runs.get_blob(run_id, BLOB)
    if not blob:
        return None
    raw = json.loads(blob)
    return SearchPlan.from_json(raw["plan"]), int(raw["trial"])


def _values(run, metric: str) -> list[float]:
    return [float(v) for v in run.history.get(metric) or []]


def _study(plan: SearchPlan, group_runs: list, number: int) -> optuna.Study:
    """The study as the store has it: every finished trial complete, every pruned one pruned (with its epochs)."""
    better = compare.METRICS.get(plan.metric, max)
    direction = optuna.study.StudyDirection.MAXIMIZE if better is max else optuna.study.StudyDirection.MINIMIZE
    seed = plan.seed * 1000 + number  # each trial its own draw, the same draw each time it is asked for
    if plan.sampler == "smart":
        sampler: optuna.samplers.BaseSampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=max(2, plan.parallel))
    else:
        sampler = optuna.samplers.RandomSampler(seed=seed)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=PRUNE_AFTER_TRIALS, n_warmup_steps=PRUNE_AFTER_EPOCHS)
    study = optuna.create_study(direction=direction, sampler=sampler, pruner=pruner)
    dists = distributions(plan)
    for run in group_runs:
        values, params = _values(run, plan.metric), dict(run.spec.compare)
        if not values or set(params) != set(dists):
            continue
        state = TrialState.COMPLETE if run.status == Status.FINISHED else None
        if run.status == Status.STOPPED and run.message is not None and run.message.key == PRUNED:
            state = TrialState.PRUNED
        if state is None:
            continue
        study.add_trial(
            create_trial(
                params=params,
                distributions=dists,
                value=values[-1] if state == TrialState.COMPLETE else None,
                intermediate_values=dict(enumerate(values)),
                state=state,
            )
        )
    return study


def _short(value: Any, dist: BaseDistribution) -> Any:
    """A drawn rate as a learner would write it (3 significant digits: 0.00662, not 0.00661764), inside its range."""
    if not isinstance(dist, FloatDistribution):
        return value
    return min(max(float(f"{value:.3g}"), dist.low), dist.high)


def trial_spec(plan: SearchPlan, number: int, group_runs: list) -> ExperimentSpec:
    """Trial `number`'s spec: the base with the values the sampler picks, knowing every trial settled so far."""
    dists = distributions(plan)
    params = _study(plan, group_runs, number).ask(dists).params
    spec = plan.base.copy()
    settings = [compare.setting(plan.base, name) for name, _ in plan.ranges]
    values = {s.id: _short(params[s.id], dists[s.id]) for s in settings}
    for s in sorted(settings, key=lambda s: s.name not in ("optimizer", "tutorial_optimizer")):
        compare.apply(spec, s, s.clean(values[s.id]))
    spec.compare = [[s.id, s.clean(values[s.id])] for s in settings]
    spec.recipe = ""
    return spec


def submit_trial(plan: SearchPlan, number: int, owner: str, group: str, room: str = "", watched: bool = True) -> str:
    """Queue trial `number` (checked against the limits like any run); returns its id."""
    spec = trial_spec(plan, number, queue.group_of(owner, group))
    estimate = preflight.check(spec, owner)
    job_id = queue.submit(spec, owner, group=group, room=room, watched=watched, estimate=estimate.eta_seconds(spec.fit.epochs))
    with db.transaction() as conn:
        conn.execute(
            db.run_blobs.insert().values(
                run_id=job_id, kind=BLOB, data=json.dumps({"plan": plan.to_json(), "trial": number}).encode()
            )
        )
    return job_id


def start(plan: SearchPlan, owner: str, group: str, room: str = "", watched: bool = True) -> list[str]:
    """Queue the first trials (one per training slot); the workers queue the rest as trials end.

    `watched`: the trials stop when the learner's tabs are gone, as a Train press's run does.
    """
    plan.check()
    first = min(plan.trials, plan.parallel)
    return [submit_trial(plan, k, owner, group, room, watched) for k in range(first)]


def after_trial(run) -> str | None:
    """Called by the worker when a job has settled: a trial queues its successor while the budget lasts."""
    found = trial_of(run.id)
    if found is None:
        return None
    plan, number = found
    successor = number + plan.parallel
    if successor >= plan.trials or _stopped_by_someone(queue.get(run.id) or run):  # Stop ends it; pruning does not
        return None
    try:
        return submit_trial(plan, successor, run.owner, run.group_id, run.room, run.watched)
    except preflight.LimitExceeded:
        log.warning("search %s: trial %d is over a limit; the search ends here", run.group_id, successor)
        return None


def hopeless(plan: SearchPlan, run, history: dict) -> bool:
    """Whether Optuna's median pruner would stop this trial now (its curve below the finished trials' median)."""
    values = [float(v) for v in history.get(plan.metric) or []]
    if not plan.prune or not values:
        return False
    others = [r for r in queue.group_of(run.owner, run.group_id) if r.id != run.id]
    study = _study(plan, others, 0)
    params = dict(run.spec.compare)
    me = create_trial(
        params=params, distributions=distributions(plan), intermediate_values=dict(enumerate(values)), state=TrialState.RUNNING
    )
    return bool(study.pruner.prune(study, me))


def pruned_message(epochs: int) -> Msg:
    return Msg(PRUNED, {"epochs": epochs})


#: A settled trial's successor is queued by its worker right after it settles; a page waits this long for it.
SUCCESSOR_SECONDS = 10.0


def going(plan: SearchPlan, group_runs: list, now: float) -> bool:
    """Whether the search is still under way: a trial is queued or training, or one just ended and its worker is
    queueing the next (Stop, a closed tab, or a trial over a limit ends it)."""
    if any(not r.settled for r in group_runs):
        return True
    if len(group_runs) >= plan.trials or any(_stopped_by_someone(r) for r in group_runs):
        return False
    newest = max((r.finished or 0.0 for r in group_runs), default=0.0)
    return now - newest < SUCCESSOR_SECONDS


def _stopped_by_someone(run) -> bool:
    return run.status == Status.STOPPED and (run.message is None or run.message.key != PRUNED)


def plan_of_group(owner: str, group: str) -> SearchPlan | None:
    """The plan of a search group (from its first trial), or None for a grid comparison."""
    for run in queue.group_of(owner, group):
        found = trial_of(run.id)
        if found is not None:
            return found[0]
    return None


def ranges_from(spec: ExperimentSpec, setting_id: str, values: tuple[Any, ...]) -> tuple[tuple, bool]:
    """A searched range from what the builder has: numbers span their smallest to their largest value; words are
    the choices. Returns (range, is_numbers)."""
    s = compare.setting(spec, setting_id)
    if s.kind in ("int", "float"):
        if len(values) < 2 or min(values) == max(values):
            raise ComparisonError("compare.error.search_range", setting=setting_id)
        return (min(values), max(values)), True
    return tuple(values), False

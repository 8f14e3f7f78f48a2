"""Trainings as the pages see them: submit, stop, and read — all through the run store.

A page never holds a job: it submits a spec (checked against the server's limits first),
gets an id, and from then on reads what the worker wrote (`view`). Any web server can serve
any learner, and a web server restart loses nothing.

Optuna (core/search.py) is imported inside the functions that use it: only a search needs it, and the
landing page imports this module.

Example:
    >>> job_id = submit(ExperimentSpec.default_for("moons"), owner="ann")  # doctest: +SKIP
    >>> view(job_id).status  # doctest: +SKIP
    'queued'
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property

from core import eta, preflight, presence, queue, ray_pool, runs, settings, workers
from core.compare import place_text
from core.datasets import DATASETS
from core.evaluation import DecisionMap, Evaluation
from core.i18n import LocalizedError, Msg
from core.network_views import InsideViews
from core.preflight import LimitExceeded
from core.queue import QueueFull  # noqa: F401 - pages catch it from here
from core.spec import ExperimentSpec
from core.status import Phase, Status


class GroupRefused(LocalizedError):
    """One run of a comparison is over a limit, so none of them was queued; the message names the run and the limit."""


def dispatch() -> None:
    """Make sure something will train the queue: a Ray task (when configured), else the local pool of workers."""
    if settings.ray_address():
        ray_pool.dispatch()
        return

    workers.ensure_pool(every=0.0)


def dispatch_soon() -> None:
    """Called on every page run: the local workers are up (and warm) before anybody presses Train."""
    if settings.ray_address():
        return  # Ray starts its tasks when jobs arrive

    workers.ensure_pool()


def submit(
    spec: ExperimentSpec, owner: str, *, watched: bool = True, after: str | None = None, group: str = "", room: str = ""
) -> str:
    """Queue a training for `owner`; returns its id. Raises LimitExceeded or QueueFull with a plain message."""

    estimate = preflight.check(spec, owner)  # over a limit: refused with the limit named
    job_id = queue.submit(
        spec, owner, watched=watched, after=after, group=group, room=room, estimate=estimate.eta_seconds(spec.fit.epochs)
    )
    if watched:
        presence.touch([owner])
    dispatch()
    return job_id


def submit_group(specs: list[ExperimentSpec], owner: str, group: str, *, in_order: bool = False, room: str = "") -> list[str]:
    """Queue a comparison's runs, all or none: every one is checked against the limits before the first is queued.

    They train in parallel as workers come free (`in_order`: one after another, each when the one before it ended).
    Raises GroupRefused naming the run and the limit, or QueueFull.
    """
    estimates = []
    for spec in specs:
        try:
            estimates.append(preflight.check(spec, owner))
        except LimitExceeded as exc:
            raise GroupRefused("compare.error.refused", place=place_text(spec.compare), reason=exc.msg) from exc
    ahead, limit = queue.waiting(), settings.max_queue()
    if not in_order and ahead + len(specs) > limit:
        raise QueueFull("limits.queue_group", runs=len(specs), waiting=ahead, limit=limit)
    ids: list[str] = []
    for spec, estimate in zip(specs, estimates, strict=True):
        after = ids[-1] if in_order and ids else None
        ids.append(queue.submit(spec, owner, after=after, group=group, room=room, estimate=estimate.eta_seconds(spec.fit.epochs)))
    presence.touch([owner])
    dispatch()
    return ids


def start_search(plan, owner: str, group: str, room: str = "", watched: bool = True) -> list[str]:
    """Queue a search's first trials (core/search.py); the workers queue the rest as trials end."""
    from core import search  # Optuna loads only when somebody searches

    try:
        ids = search.start(plan, owner, group, room, watched)
    except LimitExceeded as exc:
        raise GroupRefused("compare.error.refused", place=group, reason=exc.msg) from exc
    presence.touch([owner])
    dispatch()
    return ids


def group(owner: str, group_id: str) -> list[JobView]:
    """The runs of one of the owner's groups, in the order they were queued, as they are now."""
    return [JobView(run, queue.position(run)) for run in queue.group_of(owner, group_id)]


def stop(job_id: str, owner: str, reason: Msg | None = None, wait: float = 2.0) -> None:
    """Ask the owner's job to stop and give it a moment to acknowledge, so the page redraws as Stopped at once."""
    run = queue.get(job_id)
    if run is None or run.owner != owner:
        return
    queue.request_stop(job_id, reason)
    if settings.ray_address():
        ray_pool.cancel_lingering(job_id)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        now = queue.get(job_id)
        if now is None or not now.active:
            return
        time.sleep(0.05)


@dataclass
class JobView:
    """A job as the store has it now, with what a page derives from it (queue place, ETA, blobs on demand)."""

    run: runs.Run
    queue_position: int | None = None
    blobs: dict = field(default_factory=dict)

    def __getattr__(self, name):  # id, spec, status, phase, message, history, progress, ... of the run
        return getattr(self.__dict__["run"], name)

    @property
    def waits_for_previous(self) -> bool:
        return self.run.status == Status.QUEUED and self.queue_position is None and self.run.after_id is not None

    @property
    def epochs_done(self) -> int:
        return self.run.epochs

    @cached_property
    def evaluation(self):

        blob = runs.get_blob(self.run.id, "evaluation") if self.run.phase in (Phase.DONE, Phase.EVALUATING) else None
        return Evaluation.from_blob(blob) if blob else None

    @cached_property
    def decision_map(self):

        if self.run.spec.data.name not in _points_datasets():
            return None
        blob = runs.get_blob(self.run.id, "map")
        return DecisionMap.from_blob(blob) if blob else None

    @cached_property
    def inside(self):

        blob = runs.get_blob(self.run.id, "inside")
        return InsideViews.from_blob(blob) if blob else None

    def weight_history(self) -> list[dict]:
        return runs.weight_history(self.run.id)

    @property
    def has_model(self) -> bool:
        return runs.model_file(self.run.id).exists()

    def eta_seconds(self, now: float | None = None) -> float | None:
        """Seconds left: from the job's own pace once it has one, else the preflight estimate."""

        if self.run.status != Status.RUNNING:
            return None
        return eta.remaining(self.run, time.time() if now is None else now)


def _points_datasets() -> set[str]:

    return {k for k, info in DATASETS.items() if info.kind == "points"}


def view(job_id: str) -> JobView | None:
    """The job now, or None when it does not exist. A running job whose worker went silent is failed here."""
    run = queue.get(job_id)
    if run is None:
        return None
    if run.status == Status.RUNNING and run.heartbeat and time.time() - run.heartbeat > queue.HEARTBEAT_TIMEOUT:
        queue.fail_stale()
        run = queue.get(job_id) or run
    return JobView(run, queue.position(run))


def latest(owner: str) -> JobView | None:
    run = queue.latest_for(owner)
    return view(run.id) if run else None


def unsettled(owner: str) -> list[JobView]:
    """The owner's jobs still queued, training or evaluating, oldest first."""
    return [JobView(run, queue.position(run)) for run in queue.unsettled_for(owner)]


def shown_for(owner: str, preferred: str | None = None) -> JobView | None:
    """The job a learner most wants news of: `preferred` if it is theirs, else the one training now, else the next
    in line, else the newest."""
    if preferred:
        found = view(preferred)
        if found is not None and found.owner == owner:
            return found
    for job in unsettled(owner):
        if job.status == Status.RUNNING:
            return job
    return latest(owner)

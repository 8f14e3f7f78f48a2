"""Before Train: what a run will cost, and whether it fits the server's limits.

Parameters and FLOPs come from the model summary (core/summary.py: no TensorFlow for the
spec's own layers); memory is estimated from them and the layer outputs (weights,
gradients, optimizer slots, and activations kept for the backward pass, in float32); the
time comes from the machine's measured speed (core/eta.py). A run over a limit is refused
with the limit named and a suggestion.

Example:
    >>> p = estimate(spec)  # doctest: +SKIP
    >>> p.params, round(p.memory_mb), round(p.eta_seconds(17))  # doctest: +SKIP
    (79510, 3, 41)
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import numpy as np
import sqlalchemy as sa

from core import datasets, db, eta, settings
from core.i18n import LocalizedError, Msg
from core.layer_wiring import activations
from core.spec import ExperimentSpec
from core.status import Status
from core.summary import summarize

#: Extra float32 tensors per trainable weight that each optimizer keeps (momentum, squares, ...).
OPTIMIZER_SLOTS = {"sgd": 1, "adagrad": 1, "rmsprop": 2, "adam": 2, "adamw": 2, "adadelta": 2}


class LimitExceeded(LocalizedError):
    """A run the server will not start; the message names the limit and what to change."""


@dataclass
class Preflight:
    params: int
    trainable: int
    memory_mb: float
    samples: int  # training samples per epoch (after a validation split)
    steps_per_epoch: int
    time: eta.Estimate | None = None
    problems: list[Msg] = field(default_factory=list)

    @property
    def batch_seconds(self) -> float | None:
        """Seconds of one training step (arithmetic and overhead), as the estimate has it."""
        if self.time is None or not self.steps_per_epoch:
            return None
        return self.time.per_epoch * (1 - self.time.val_share) / self.steps_per_epoch

    def eta_seconds(self, epochs: int) -> float | None:
        """The whole run: setup, tracing, every epoch with its validation, and the evaluation."""
        if self.time is None:
            return None
        return self.time.total + (epochs - self.time.epochs) * self.time.per_epoch


def memory_mb(rows, trainable: int, params: int, optimizer: str, batch_size: int) -> float:
    """Approximate training memory: weights + gradients + optimizer slots + activations (forward and backward)."""
    floats = params + trainable * (1 + OPTIMIZER_SLOTS.get(optimizer, 2)) + 2 * batch_size * activations(rows)
    return floats * 4 / 1e6


def problems(p: Preflight, spec: ExperimentSpec) -> list[Msg]:
    found = []
    if p.params > settings.max_params():
        found.append(Msg("limits.params", {"params": f"{p.params:,}", "limit": f"{settings.max_params():,}"}))
    if p.samples * spec.fit.epochs > settings.max_sample_epochs():
        found.append(
            Msg(
                "limits.sample_epochs",
                {
                    "samples": f"{p.samples:,}",
                    "epochs": spec.fit.epochs,
                    "total": f"{p.samples * spec.fit.epochs:,}",
                    "limit": f"{settings.max_sample_epochs():,}",
                    "most_epochs": max(1, settings.max_sample_epochs() // max(1, p.samples)),
                },
            )
        )
    if p.memory_mb > settings.max_model_mb():
        found.append(Msg("limits.memory", {"mb": f"{p.memory_mb:,.0f}", "limit": f"{settings.max_model_mb():,}"}))
    return found


def machine_profile() -> eta.MachineProfile:
    """The speed a training worker measured on this machine (or, before any has, a 2-core machine's)."""
    try:
        with db.read() as conn:
            row = conn.execute(sa.select(db.machines.c.profile).order_by(db.machines.c.updated.desc()).limit(1)).first()
    except sa.exc.SQLAlchemyError:
        row = None
    return eta.MachineProfile.from_json(row.profile) if row else eta.MachineProfile()


def profile_stale() -> bool:
    """Whether this host's speed was never measured, or too long ago (eta.PROFILE_MAX_AGE)."""
    with db.read() as conn:
        updated = conn.execute(sa.select(db.machines.c.updated).where(db.machines.c.host == eta.host())).scalar()
    return not updated or time.time() - updated >= eta.PROFILE_MAX_AGE


def save_measured(profile: eta.MachineProfile) -> None:
    """This host's speed as a calibration just measured it, in place of the one before (and what it learnt)."""
    with db.transaction() as conn:
        conn.execute(db.machines.delete().where(db.machines.c.host == eta.host()))
        conn.execute(db.machines.insert().values(host=eta.host(), profile=profile.to_json(), updated=time.time()))


def learn(run_id: str, spec: ExperimentSpec, owner: str, seconds: list[float]) -> eta.MachineProfile | None:
    """After a run finished here, alone: its epochs' seconds against the estimate's parts, and this machine's
    scales refitted to its latest runs (eta.refit). None when there is nothing to learn: fewer than two epochs,
    no measured profile, or another run shared the machine (it says nothing of the speed alone)."""
    with db.read() as conn:
        row = conn.execute(sa.select(db.machines.c.profile).where(db.machines.c.host == eta.host())).first()
        others = sa.select(sa.func.count()).where(db.runs.c.status == Status.RUNNING, db.runs.c.id != run_id)
        busy = conn.execute(others).scalar()
    flight = estimate(spec, owner).time if row is not None and not busy and len(seconds) >= 2 else None
    if row is None or flight is None:
        return None
    epoch = float(np.median(seconds[1:]))
    observed = {**flight.parts, "epoch": epoch, "first_extra": max(seconds[0] - epoch, 0.0)}
    profile = eta.MachineProfile.from_json(row.profile)
    mine = db.machine_runs.c.host == eta.host()
    with db.transaction() as conn:
        conn.execute(db.machine_runs.delete().where(db.machine_runs.c.run_id == run_id))
        values = dict(run_id=run_id, host=eta.host(), finished=time.time(), observed=json.dumps(observed))
        conn.execute(db.machine_runs.insert().values(**values))
        # Runs before the machine was measured again were estimated from another calibration.
        conn.execute(db.machine_runs.delete().where(mine, db.machine_runs.c.finished < profile.measured))
        latest = sa.select(db.machine_runs.c.observed).where(mine).order_by(db.machine_runs.c.finished.desc())
        observations = [json.loads(o) for o in conn.execute(latest.limit(eta.OBSERVED_RUNS)).scalars()]
        profile = eta.refit(profile, observations)
        conn.execute(db.machines.update().where(db.machines.c.host == eta.host()).values(profile=profile.to_json()))
    return profile


def estimate(spec: ExperimentSpec, owner: str | None = None) -> Preflight:
    """Parameters, memory, samples and time; `problems` lists the limits exceeded.

    Raises what describing the model raises (ModelBuildError, DatasetUnavailable, ...).
    """

    summary = summarize(spec, owner)
    data = datasets.load(spec.data, owner)
    n = len(data.x_train)
    samples = n if spec.data.validation == "test" else int(np.floor(n * (1 - spec.data.validation_split)))
    val = len(data.x_test) if spec.data.validation == "test" else n - samples
    p = Preflight(
        summary.total_params,
        summary.trainable_params,
        memory_mb(summary.rows, summary.trainable_params, summary.total_params, spec.compile.optimizer, spec.fit.batch_size),
        samples,
        max(1, -(-samples // spec.fit.batch_size)),
    )
    p.problems = problems(p, spec)
    augmented = spec.augment.enabled and data.kind == "image"
    p.time = eta.estimate(
        machine_profile(),
        summary.work,
        batch=spec.fit.batch_size,
        train=samples,
        val=val,
        test=len(data.x_test),
        epochs=spec.fit.epochs,
        update=eta.update_cost(spec.compile.optimizer, spec.compile.momentum),
        augmented=augmented,
        images=data.kind == "image",
        loading=datasets.load_seconds(spec.data),
        once=summary.once,
        once_samples=len(data.x_train) + len(data.x_test),
    )
    return p


def check(spec: ExperimentSpec, owner: str | None = None) -> Preflight:
    """The estimate; raises LimitExceeded for the first limit a run would break."""
    p = estimate(spec, owner)
    if p.problems:
        first = p.problems[0]
        raise LimitExceeded(first.key, **first.fields)
    return p

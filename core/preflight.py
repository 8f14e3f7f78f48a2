"""Before Train: what a run will cost, and whether it fits the server's limits.

Parameters come from the model summary; memory is estimated from them and the layer
outputs (weights, gradients, optimizer slots, and activations kept for the backward
pass, in float32); the ETA comes from timing one real training step on one batch.
A run over a limit is refused with the limit named and a suggestion.

Example:
    >>> p = estimate(spec)  # doctest: +SKIP
    >>> p.params, round(p.memory_mb), p.eta_seconds  # doctest: +SKIP
    (79510, 3, 9.8)
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np

from core import settings
from core.housekeeping import forget_all_reduce_gradients
from core.i18n import LocalizedError, Msg
from core.spec import ExperimentSpec

#: Extra float32 tensors per trainable weight that each optimizer keeps (momentum, squares, ...).
OPTIMIZER_SLOTS = {"sgd": 1, "adagrad": 1, "rmsprop": 2, "adam": 2, "adamw": 2, "adadelta": 2}


class LimitExceeded(LocalizedError):
    """A run the server will not start; the message names the limit and what to change."""


@dataclass
class Preflight:
    params: int
    trainable: int
    memory_mb: float
    samples: int
    steps_per_epoch: int
    batch_seconds: float | None = None
    problems: list[Msg] = field(default_factory=list)

    def eta_seconds(self, epochs: int) -> float | None:
        """Training time for `epochs`, from one timed batch (validation and evaluation not counted)."""
        return None if self.batch_seconds is None else self.batch_seconds * self.steps_per_epoch * epochs


def memory_mb(rows, trainable: int, params: int, optimizer: str, batch_size: int) -> float:
    """Approximate training memory: weights + gradients + optimizer slots + activations (forward and backward)."""
    activations = sum(int(np.prod([d for d in r.output_shape[1:] if d])) for r in rows)
    floats = params + trainable * (1 + OPTIMIZER_SLOTS.get(optimizer, 2)) + 2 * batch_size * activations
    return floats * 4 / 1e6


def _samples(spec: ExperimentSpec, owner: str | None) -> int:
    from core import datasets

    n = len(datasets.load(spec.data, owner).x_train)
    return n if spec.data.validation == "test" else int(np.floor(n * (1 - spec.data.validation_split)))


def problems(p: Preflight, spec: ExperimentSpec) -> list[Msg]:
    found = []
    if p.params > settings.max_params():
        found.append(Msg("limits.params", {"params": f"{p.params:,}", "limit": f"{settings.max_params():,}"}))
    if p.samples * spec.fit.epochs > settings.max_sample_epochs():
        found.append(Msg("limits.sample_epochs", {"samples": f"{p.samples:,}", "epochs": spec.fit.epochs,
                                                   "total": f"{p.samples * spec.fit.epochs:,}",
                                                   "limit": f"{settings.max_sample_epochs():,}",
                                                   "most_epochs": max(1, settings.max_sample_epochs() // max(1, p.samples))}))
    if p.memory_mb > settings.max_model_mb():
        found.append(Msg("limits.memory", {"mb": f"{p.memory_mb:,.0f}", "limit": f"{settings.max_model_mb():,}"}))
    return found


def estimate(spec: ExperimentSpec, owner: str | None = None, time_batch: bool = True) -> Preflight:
    """Parameters, memory, samples and (optionally) one timed batch; `problems` lists the limits exceeded.

    Raises what building the model raises (ModelBuildError, DatasetUnavailable, ...).
    """
    from core.builder import summarize

    summary = summarize(spec, owner)
    samples = _samples(spec, owner)
    p = Preflight(summary.total_params, summary.trainable_params,
                  memory_mb(summary.rows, summary.trainable_params, summary.total_params, spec.compile.optimizer, spec.fit.batch_size),
                  samples, max(1, -(-samples // spec.fit.batch_size)))
    p.problems = problems(p, spec)
    if time_batch and not p.problems:
        p.batch_seconds = batch_seconds(spec, owner)
    return p


def check(spec: ExperimentSpec, owner: str | None = None) -> Preflight:
    """The estimate without timing; raises LimitExceeded for the first limit a run would break."""
    p = estimate(spec, owner, time_batch=False)
    if p.problems:
        first = p.problems[0]
        raise LimitExceeded(first.key, **first.fields)
    return p


_TIMING_LOCK = threading.Lock()


def batch_seconds(spec: ExperimentSpec, owner: str | None = None) -> float:
    """Seconds of one training step on one batch (the second step: the first one traces the graph)."""
    model_part = ExperimentSpec(data=spec.data, layers=spec.layers, compile=spec.compile, transfer=spec.transfer)
    model_part.fit.batch_size = spec.fit.batch_size
    return _batch_seconds(json.dumps(asdict(model_part), sort_keys=True), owner if spec.data.name in ("folder", "csv") else None)


@lru_cache(maxsize=64)
def _batch_seconds(spec_json: str, owner: str | None) -> float:
    from core import datasets
    from core.builder import build_model, targets

    spec = ExperimentSpec.from_json(spec_json)
    data = datasets.load(spec.data, owner)
    if spec.transfer.base and spec.transfer.mode == "features":
        from core import transfer

        data = transfer.feature_stub(spec.transfer, data)  # the head trains on features: time it on their shape
    with _TIMING_LOCK:
        built = build_model(spec, data, load_weights=False)
        n = spec.fit.batch_size
        x = np.resize(data.x_train, (n, *data.x_train.shape[1:])).astype("float32")
        y = targets(np.resize(data.y_train, n), built.plan, data.n_classes)
        try:
            built.model.train_on_batch(x, y)
            started = time.perf_counter()
            built.model.train_on_batch(x, y)
            seconds = time.perf_counter() - started
        finally:
            del built  # never keras.backend.clear_session(): other threads are training
            forget_all_reduce_gradients()
    return seconds

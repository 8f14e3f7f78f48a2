"""What the Model page shows before training: layer rows, parameter counts, FLOPs and a diagram.

For the spec's own layers the summary is plain arithmetic (core/shapes.py): instant, and the
web server never imports TensorFlow for it. A pretrained base (transfer learning) is built
by Keras once, without its weights, and described from the real model. Summaries are cached
per model-shaping part of the spec, so changing the epochs or the augmentation recomputes nothing.

Example:
    >>> s = summarize(ExperimentSpec.default_for("digits"))
    >>> s.total_params, s.flops > 0
    (9610, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from core import datasets, shapes, transfer
from core.builder import build_model
from core.dataset_catalogue import UPLOADED
from core.layer_wiring import LayerRow, Work, diagram, keras_work, rows_work, shape_text
from core.model_rules import LossPlan
from core.spec import ExperimentSpec


@dataclass(frozen=True)
class ModelSummary:
    rows: tuple[LayerRow, ...]
    total_params: int
    trainable_params: int
    plan: LossPlan
    flops: int = 0  # forward FLOPs per sample
    conv_flops: int = 0  # of which in convolutions (they run at another rate than dense layers)
    once: Work | None = None  # per sample, done once before training (transfer features: the base)
    counted: Work | None = None  # a model built by Keras (transfer), counted layer by layer inside the base

    @property
    def work(self) -> Work:
        """What a sample costs a training step (core/eta.py estimates the time from it)."""
        return self.counted or rows_work(self.rows, self.flops, self.conv_flops, self.trainable_params)

    def dot(self, params_label: str = "{params} params") -> str:
        return diagram(self.rows, params_label)

    def records(self) -> list[dict]:
        return [
            {"layer": r.name, "type": r.type, "output shape": shape_text(r.output_shape), "params": r.params} for r in self.rows
        ]


def model_part(spec: ExperimentSpec) -> ExperimentSpec:
    """Only what shapes the model: the key of every cache of summaries and timings."""
    return ExperimentSpec(data=spec.data, layers=spec.layers, compile=spec.compile, transfer=spec.transfer)


def summarize(spec: ExperimentSpec, owner: str | None = None) -> ModelSummary:
    """The spec's model described; raises ModelBuildError (naming the layer), DatasetUnavailable or UploadRefused."""
    return _summarize_json(model_part(spec).to_json(), owner if spec.data.name in UPLOADED else None)


@lru_cache(maxsize=256)
def _summarize_json(spec_json: str, owner: str | None) -> ModelSummary:

    spec = ExperimentSpec.from_json(spec_json)
    data = datasets.load(spec.data, owner)
    if not spec.transfer.base:
        d = shapes.describe(spec, data.input_shape, data.n_outputs, data.kind, data.task)
        return ModelSummary(d.rows, d.total_params, d.trainable_params, d.plan, d.flops, d.conv_flops)
    return _with_keras(spec, data)


def _with_keras(spec: ExperimentSpec, data) -> ModelSummary:
    """Transfer learning: build the model (base without its weights) and read it."""

    # Features mode: the base runs once, not in every step; the head is what trains.
    once = None
    if spec.transfer.mode == "features":
        data, once = transfer.feature_stub(spec.transfer, data)
    built = build_model(spec, data, load_weights=False)
    w = keras_work(built.model)
    rows, plan = tuple(built.rows), built.plan
    summary = ModelSummary(rows, built.total_params, built.trainable_params, plan, w.flops, w.conv_flops, once, w)
    del built  # only the description is kept, not the Keras model
    return summary

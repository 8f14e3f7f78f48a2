"""The rules a model follows, whoever describes or builds it: the output layer and loss for a task,
the names a layer may not take, and the error that names the layer that breaks a rule.

    >>> plan_loss("binary", 2).units, plan_loss("multiclass", 10).loss
    (1, 'sparse_categorical_crossentropy')
"""

from __future__ import annotations

from dataclasses import dataclass

from core.i18n import LocalizedError

RESERVED_NAMES = frozenset(
    {"input", "rescale", "normalize", "output", "to_rgb", "resize", "preprocess", "to_bgr", "imagenet_mean", "base"}
)


class ModelBuildError(LocalizedError):
    """A layer stack that cannot be built; `layer` names the culprit."""

    def __init__(self, key: str, layer: str, **fields):
        super().__init__(key, layer=layer, **fields)
        self.layer = layer


@dataclass(frozen=True)
class LossPlan:
    """How targets, output layer, loss and accuracy metric fit together."""

    loss: str
    units: int
    activation: str
    one_hot: bool  # targets must be one-hot encoded
    metric: str  # the Keras accuracy metric class matching the targets


def plan_loss(task: str, n_classes: int, loss: str = "auto") -> LossPlan:
    """Pick (or check) the loss for a task. Raises ModelBuildError (layer 'output') for a mismatch.

    Two classes get one sigmoid unit (flow_from_directory's class_mode='binary') unless a
    categorical loss is chosen, which gives two softmax units (class_mode='categorical').

    >>> plan_loss("multiclass", 10).loss
    'sparse_categorical_crossentropy'
    """
    if task == "binary" and loss in ("auto", "binary_crossentropy", "mean_squared_error"):
        return LossPlan("binary_crossentropy" if loss == "auto" else loss, 1, "sigmoid", False, "BinaryAccuracy")
    if loss in ("auto", "sparse_categorical_crossentropy"):
        return LossPlan("sparse_categorical_crossentropy", n_classes, "softmax", False, "SparseCategoricalAccuracy")
    if loss in ("categorical_crossentropy", "mean_squared_error"):
        return LossPlan(loss, n_classes, "softmax", True, "CategoricalAccuracy")
    raise ModelBuildError("build.loss_multiclass", "output", loss=loss, n_classes=n_classes)

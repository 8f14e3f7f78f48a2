"""The rules a model follows, whoever describes or builds it: the output layer and loss for a task,
the names a layer may not take, and the error that names the layer that breaks a rule.

    >>> plan_loss("binary", 2).units, plan_loss("multiclass", 10).loss
    (1, 'sparse_categorical_crossentropy')
    >>> plan_loss("regression", 1).loss, plan_loss("regression", 1).headline
    ('mean_squared_error', 'mae')
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
    metric: str  # the Keras accuracy metric class matching the targets ("" for a regression)
    regression: bool = False  # linear outputs, float targets, MAE and RMSE as metrics

    @property
    def headline(self) -> str:
        """The history's key of the figure a learner watches besides the loss: accuracy, or the mean absolute error."""
        return headline_metric(self.regression)


#: The losses a regression may use (Keras names); "auto" is the first.
REGRESSION_LOSSES = ("mean_squared_error", "mean_absolute_error", "huber")
#: Losses that only make sense for classes.
CLASSIFICATION_LOSSES = ("categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy")


def loss_fits(loss: str, regression: bool) -> bool:
    """Whether a loss may be chosen for this kind of task ("auto" always; mean_squared_error for both)."""
    if loss in ("auto", REGRESSION_LOSSES[0]):
        return True
    return loss in REGRESSION_LOSSES if regression else loss not in REGRESSION_LOSSES


def task_name(regression: bool, n_classes: int) -> str:
    """The task `plan_loss` expects for a dataset."""
    if regression:
        return "regression"
    return "binary" if n_classes == 2 else "multiclass"


def headline_metric(regression: bool) -> str:
    return "mae" if regression else "accuracy"


def higher_is_better(metric: str) -> bool:
    """Accuracy grows as a model learns; losses and errors shrink."""
    return metric.endswith("accuracy")


def plan_loss(task: str, n_classes: int, loss: str = "auto") -> LossPlan:
    """Pick (or check) the loss for a task. Raises ModelBuildError (layer 'output') for a mismatch.

    Two classes get one sigmoid unit (flow_from_directory's class_mode='binary') unless a
    categorical loss is chosen, which gives two softmax units (class_mode='categorical').

    >>> plan_loss("multiclass", 10).loss
    'sparse_categorical_crossentropy'
    """
    if task == "regression":  # n_classes: the number of values predicted
        if loss in CLASSIFICATION_LOSSES:
            raise ModelBuildError("build.loss_regression", "output", loss=loss)
        return LossPlan(REGRESSION_LOSSES[0] if loss == "auto" else loss, n_classes, "linear", False, "", regression=True)
    if loss in REGRESSION_LOSSES[1:]:
        raise ModelBuildError("build.loss_classification", "output", loss=loss)
    if task == "binary" and loss in ("auto", "binary_crossentropy", "mean_squared_error"):
        return LossPlan("binary_crossentropy" if loss == "auto" else loss, 1, "sigmoid", False, "BinaryAccuracy")
    if loss in ("auto", "sparse_categorical_crossentropy"):
        return LossPlan("sparse_categorical_crossentropy", n_classes, "softmax", False, "SparseCategoricalAccuracy")
    if loss in ("categorical_crossentropy", "mean_squared_error"):
        return LossPlan(loss, n_classes, "softmax", True, "CategoricalAccuracy")
    raise ModelBuildError("build.loss_multiclass", "output", loss=loss, n_classes=n_classes)

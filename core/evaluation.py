"""What a trained model did: test metrics, confusion matrix, mistakes, 2-D decision maps.

Both travel through the run store as blobs (`to_blob` / `from_blob`), so a page can show
them without the model, the dataset or TensorFlow: the mistakes carry their own pictures
(or feature rows), the decision map its own points.

Example:
    >>> grid = DecisionGrid.around(data.x_train)  # doctest: +SKIP
    >>> grid.evaluate(model, plan).shape  # doctest: +SKIP
    (60, 60)

scikit-learn is imported inside the functions that use it, on purpose:
importing this module (the web server does) loads no TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core import db
from core.builder import predict_classes, predict_values, targets
from core.datasets import Dataset
from core.model_rules import LossPlan

MISTAKES_KEPT = 32  # mistakes shown on the results page (with their pictures)
POINTS_KEPT = 1000  # training points drawn over a decision map
OUTPUTS_KEPT = 10_000  # test samples whose outputs are kept (all of MNIST's): any one can be shown predicted


@dataclass
class DecisionGrid:
    """A regular grid over the 2-D data, where the model's output is drawn each epoch."""

    xs: np.ndarray
    ys: np.ndarray

    @classmethod
    def around(cls, x: np.ndarray, resolution: int = 60, margin: float = 0.15) -> DecisionGrid:
        lo, hi = x.min(axis=0), x.max(axis=0)
        pad = (hi - lo) * margin + 1e-6
        return cls(
            np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution), np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
        )

    @property
    def points(self) -> np.ndarray:
        gx, gy = np.meshgrid(self.xs, self.ys)
        return np.stack([gx.ravel(), gy.ravel()], axis=1).astype("float32")

    def evaluate(self, model, plan: LossPlan) -> np.ndarray:
        """P(class 1) for binary models, else the winning class + confidence in [0, 1) per cell.

        Multi-class maps are encoded as `class + 0.999 * confidence` so one float grid can
        be coloured by class and shaded by certainty. A regression's map is its predicted value.
        """
        shape = (len(self.ys), len(self.xs))
        if plan.regression:
            return predict_values(model, self.points, plan, batch_size=len(self.xs) * len(self.ys))[:, 0].reshape(shape)
        labels, probs = predict_classes(model, self.points, plan, batch_size=len(self.xs) * len(self.ys))
        if plan.units == 1:
            return probs[:, 0].reshape(shape)
        return (labels + 0.999 * probs.max(axis=1)).reshape(shape)


@dataclass
class DecisionMap:
    """One epoch's map with the training points to draw over it: all a page needs for the chart."""

    xs: np.ndarray
    ys: np.ndarray
    z: np.ndarray
    x: np.ndarray  # training points (at most POINTS_KEPT)
    y: np.ndarray
    n_classes: int  # 0: a regression's map (z is the predicted value, y the true values)
    epoch: int = 0

    def to_blob(self) -> bytes:
        return db.pack(
            {"n_classes": self.n_classes, "epoch": self.epoch},
            xs=self.xs,
            ys=self.ys,
            z=self.z.astype("float32"),
            x=self.x.astype("float32"),
            y=self.y,
        )

    @classmethod
    def from_blob(cls, blob: bytes) -> DecisionMap:
        meta, a = db.unpack(blob)
        return cls(a["xs"], a["ys"], a["z"], a["x"], a["y"], int(meta["n_classes"]), int(meta.get("epoch", 0)))


@dataclass
class Evaluation:
    """Test-set results of a finished (or stopped) model, with the samples it got most wrong.

    `outputs` are the model's own outputs for the first OUTPUTS_KEPT test samples (probabilities per class, or
    the predicted values of a regression) and `actual` their labels or values: enough to show any one
    prediction, or a regression's scatter, without the model.
    """

    test_loss: float
    test_accuracy: float | None  # None for a regression
    confusion: np.ndarray  # rows: true class, columns: predicted class (empty for a regression)
    n_test: int
    class_names: tuple[str, ...] = ()
    mistakes: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), "int64"))  # (test index, true, predicted)
    samples: np.ndarray | None = None  # the mistakes' (or worst predictions') pictures or feature rows, in order
    feature_names: tuple[str, ...] = ()
    outputs: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), "float32"))
    actual: np.ndarray = field(default_factory=lambda: np.zeros(0, "int32"))
    test_mae: float | None = None  # a regression's figures
    test_rmse: float | None = None
    worst: np.ndarray = field(default_factory=lambda: np.zeros(0, "int64"))  # a regression's worst test indices
    target_names: tuple[str, ...] = ()

    @property
    def regression(self) -> bool:
        return self.test_mae is not None

    @property
    def n_wrong(self) -> int:
        return int(self.confusion.sum() - np.trace(self.confusion)) if self.confusion.size else 0

    @property
    def images(self) -> bool:
        return self.samples is not None and self.samples.ndim == 4

    @property
    def headline(self) -> float | None:
        """The figure a learner compares: test accuracy, or a regression's test MAE."""
        return self.test_mae if self.regression else self.test_accuracy

    def to_blob(self) -> bytes:
        meta = {
            "test_loss": self.test_loss,
            "test_accuracy": self.test_accuracy,
            "test_mae": self.test_mae,
            "test_rmse": self.test_rmse,
            "n_test": self.n_test,
            "class_names": list(self.class_names),
            "feature_names": list(self.feature_names),
            "target_names": list(self.target_names),
        }
        arrays = {"confusion": self.confusion, "mistakes": self.mistakes, "worst": self.worst}
        arrays.update(outputs=self.outputs, actual=self.actual)
        if self.samples is not None:
            arrays["samples"] = self.samples
        return db.pack(meta, **arrays)

    @classmethod
    def from_blob(cls, blob: bytes) -> Evaluation:
        meta, a = db.unpack(blob)
        number = lambda key: None if meta.get(key) is None else float(meta[key])  # noqa: E731
        return cls(
            float(meta["test_loss"]),
            number("test_accuracy"),
            a["confusion"],
            int(meta["n_test"]),
            tuple(meta.get("class_names") or ()),
            a["mistakes"],
            a.get("samples"),
            tuple(meta.get("feature_names") or ()),
            a.get("outputs", np.zeros((0, 0), "float32")),  # runs evaluated before outputs were kept have none
            a.get("actual", np.zeros(0, "int32")),
            number("test_mae"),
            number("test_rmse"),
            a.get("worst", np.zeros(0, "int64")),
            tuple(meta.get("target_names") or ()),
        )


def evaluate(model, data: Dataset, plan: LossPlan, shown: Dataset | None = None, limit: int = MISTAKES_KEPT) -> Evaluation:
    """Evaluate on the test set and keep the first `limit` mistakes (a regression: its worst predictions) with their samples.

    `shown` is the dataset whose samples the mistakes are shown with, when `data` is not what a
    learner would recognise (transfer learning's features: the pictures they came from).
    """
    source = shown if shown is not None else data
    if plan.regression:
        return _evaluate_regression(model, data, plan, source, limit)
    from sklearn.metrics import confusion_matrix

    y_test = targets(data.y_test, plan, data.n_classes)
    loss, accuracy = model.evaluate(data.x_test, y_test, batch_size=512, verbose=0)
    predicted, probs = predict_classes(model, data.x_test, plan)
    confusion = confusion_matrix(data.y_test, predicted, labels=list(range(data.n_classes)))
    wrong = np.flatnonzero(predicted != data.y_test)[:limit]
    mistakes = (
        np.stack([wrong, data.y_test[wrong], predicted[wrong]], axis=1).astype("int64")
        if len(wrong)
        else np.zeros((0, 3), "int64")
    )
    if plan.units == 1:  # one sigmoid unit: P(class 1); kept as two columns like every other model's
        probs = np.concatenate([1 - probs, probs], axis=1)
    return Evaluation(
        float(loss),
        float(accuracy),
        confusion,
        len(data.y_test),
        tuple(data.class_names),
        mistakes,
        _samples(source, wrong),
        tuple(source.feature_names),
        outputs=probs[:OUTPUTS_KEPT].astype("float16"),
        actual=np.asarray(data.y_test[:OUTPUTS_KEPT]).astype("int32"),
    )


def _samples(source: Dataset, indices: np.ndarray) -> np.ndarray | None:
    return np.asarray(source.x_test[indices]) if source.kind in ("image", "tabular", "points") else None


def _evaluate_regression(model, data: Dataset, plan: LossPlan, source: Dataset, limit: int) -> Evaluation:
    """Loss, MAE and RMSE on the test set, every prediction (for the scatter) and the worst ones."""
    y_test = targets(data.y_test, plan, data.n_outputs)
    loss, mae, rmse = model.evaluate(data.x_test, y_test, batch_size=512, verbose=0)
    predicted = predict_values(model, data.x_test, plan)
    worst = np.argsort(-np.abs(predicted - y_test).sum(axis=1), kind="stable")[:limit].astype("int64")
    return Evaluation(
        float(loss),
        None,
        np.zeros((0, 0), "int64"),
        len(y_test),
        (),
        samples=_samples(source, worst),
        feature_names=tuple(source.feature_names),
        outputs=predicted[:OUTPUTS_KEPT].astype("float32"),
        actual=y_test[:OUTPUTS_KEPT],
        test_mae=float(mae),
        test_rmse=float(rmse),
        worst=worst,
        target_names=tuple(data.target_names),
    )


def decision_map(grid: DecisionGrid, model, plan: LossPlan, data: Dataset, epoch: int) -> DecisionMap:
    keep = slice(0, POINTS_KEPT)
    return DecisionMap(
        grid.xs, grid.ys, grid.evaluate(model, plan), data.x_train[keep], data.y_train[keep], data.n_classes, epoch
    )

"""What a trained model did: test metrics, confusion matrix, mistakes, 2-D decision maps.

Example:
    >>> grid = DecisionGrid.around(data.x_train)  # doctest: +SKIP
    >>> grid.evaluate(model, plan).shape  # doctest: +SKIP
    (60, 60)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.builder import LossPlan, predict_classes, targets
from core.datasets import Dataset


@dataclass
class DecisionGrid:
    """A regular grid over the 2-D data, where the model's output is drawn each epoch."""

    xs: np.ndarray
    ys: np.ndarray

    @classmethod
    def around(cls, x: np.ndarray, resolution: int = 60, margin: float = 0.15) -> "DecisionGrid":
        lo, hi = x.min(axis=0), x.max(axis=0)
        pad = (hi - lo) * margin + 1e-6
        return cls(np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution), np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution))

    @property
    def points(self) -> np.ndarray:
        gx, gy = np.meshgrid(self.xs, self.ys)
        return np.stack([gx.ravel(), gy.ravel()], axis=1).astype("float32")

    def evaluate(self, model, plan: LossPlan) -> np.ndarray:
        """P(class 1) for binary models, else the winning class + confidence in [0, 1) per cell.

        Multi-class maps are encoded as `class + 0.999 * confidence` so one float grid can
        be coloured by class and shaded by certainty.
        """
        labels, probs = predict_classes(model, self.points, plan, batch_size=len(self.xs) * len(self.ys))
        shape = (len(self.ys), len(self.xs))
        if plan.units == 1:
            return probs[:, 0].reshape(shape)
        return (labels + 0.999 * probs.max(axis=1)).reshape(shape)


@dataclass
class Evaluation:
    """Test-set results of a finished (or stopped) model."""

    test_loss: float
    test_accuracy: float
    confusion: np.ndarray  # rows: true class, columns: predicted class
    misclassified: np.ndarray  # test indices the model got wrong (at most `limit`)
    predicted: np.ndarray  # predicted class per test sample
    n_test: int


def evaluate(model, data: Dataset, plan: LossPlan, limit: int = 32) -> Evaluation:
    """Evaluate on the test set and find the mistakes."""
    from sklearn.metrics import confusion_matrix

    y_test = targets(data.y_test, plan, data.n_classes)
    loss, accuracy = model.evaluate(data.x_test, y_test, batch_size=512, verbose=0)
    predicted, _ = predict_classes(model, data.x_test, plan)
    confusion = confusion_matrix(data.y_test, predicted, labels=list(range(data.n_classes)))
    wrong = np.flatnonzero(predicted != data.y_test)[:limit]
    return Evaluation(float(loss), float(accuracy), confusion, wrong, predicted, len(data.y_test))

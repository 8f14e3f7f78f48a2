"""Every dataset the app offers, and what kind of data it is: the one catalogue of names.

Loading lives in core/datasets.py; this leaf holds only the facts a spec, a page or a script
needs without loading anything (so the spec can pick a default model for a dataset).

    >>> DATASETS["iris"].kind, DATASETS["mnist"].n_classes, kind_of("folder")
    ('tabular', 10, 'image')
    >>> DATASETS["plane"].task, DATASETS["plane"].n_outputs
    ('regression', 1)
"""

from __future__ import annotations

from dataclasses import dataclass

#: Datasets made of the learner's own upload (their class names come from the data).
UPLOADED = ("folder", "csv")


@dataclass(frozen=True)
class DatasetInfo:
    key: str
    title: str
    kind: str  # "points" | "tabular" | "image"
    group: str  # "playground" | "sklearn" | "keras"
    class_names: tuple[str, ...]
    files: tuple[str, ...] = ()  # Keras-cache-relative files, for the "place it here" message
    task: str = "classification"  # "classification" | "regression"
    targets: tuple[str, ...] = ()  # regression: what is predicted (one output unit each)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def n_outputs(self) -> int:
        """Units of the output layer: one per class (two classes: one sigmoid unit is the builder's call), one per target."""
        return len(self.targets) if self.task == "regression" else self.n_classes


_DIGITS = tuple(str(i) for i in range(10))
DATASETS: dict[str, DatasetInfo] = {
    info.key: info
    for info in [
        DatasetInfo("moons", "Moons (2-D)", "points", "playground", ("0", "1")),
        DatasetInfo("circles", "Circles (2-D)", "points", "playground", ("0", "1")),
        DatasetInfo("xor", "XOR (2-D)", "points", "playground", ("0", "1")),
        DatasetInfo("spiral", "Spiral (2-D)", "points", "playground", ("0", "1")),
        DatasetInfo("blobs", "Gaussian blobs (2-D, 3 classes)", "points", "playground", ("0", "1", "2")),
        # TensorFlow Playground's two regression sets: the value to predict is a colour over the plane.
        DatasetInfo("plane", "Plane (2-D regression)", "points", "playground", (), task="regression", targets=("value",)),
        DatasetInfo(
            "gaussians", "Multiple Gaussians (2-D regression)", "points", "playground", (), task="regression", targets=("value",)
        ),
        DatasetInfo("iris", "Iris", "tabular", "sklearn", ("setosa", "versicolor", "virginica")),
        DatasetInfo("wine", "Wine", "tabular", "sklearn", ("class_0", "class_1", "class_2")),
        DatasetInfo("breast_cancer", "Breast cancer", "tabular", "sklearn", ("malignant", "benign")),
        DatasetInfo("diabetes", "Diabetes progression", "tabular", "sklearn", (), task="regression", targets=("progression",)),
        DatasetInfo("digits", "Digits (8x8, built in)", "image", "sklearn", _DIGITS),
        DatasetInfo("dummy", "Dummy 3x3 (tutorial 002)", "tabular", "tutorial", ("0", "1", "2")),
        # Learners' own data; class names come from the data (folder names, label values).
        DatasetInfo("folder", "Image folders (kinoko / takenoko demo, or your zip)", "image", "upload", ()),
        DatasetInfo("csv", "Your CSV table", "tabular", "upload", ()),
        DatasetInfo("mnist", "MNIST", "image", "keras", _DIGITS, ("datasets/mnist.npz",)),
        DatasetInfo(
            "fashion_mnist",
            "Fashion-MNIST",
            "image",
            "keras",
            ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
            tuple(
                f"datasets/fashion-mnist/{f}"
                for f in (
                    "train-labels-idx1-ubyte.gz",
                    "train-images-idx3-ubyte.gz",
                    "t10k-labels-idx1-ubyte.gz",
                    "t10k-images-idx3-ubyte.gz",
                )
            ),
        ),
        DatasetInfo(
            "cifar10",
            "CIFAR-10",
            "image",
            "keras",
            ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
            ("datasets/cifar-10-batches-py/",),
        ),
        # The TensorFlow regression tutorials' data: house prices and fuel efficiency.
        DatasetInfo(
            "california_housing",
            "California housing",
            "tabular",
            "keras",
            (),
            ("datasets/california_housing.npz",),
            task="regression",
            targets=("median house value",),
        ),
        DatasetInfo(
            "auto_mpg", "Auto MPG", "tabular", "keras", (), ("datasets/auto-mpg.data",), task="regression", targets=("MPG",)
        ),
    ]
}


def task_of(name: str) -> str:
    """ "classification" | "regression" for a dataset name (uploads classify)."""
    info = DATASETS.get(name)
    return info.task if info is not None else "classification"


def kind_of(name: str) -> str:
    """ "points" | "tabular" | "image" for a dataset name (unknown names count as pictures)."""
    info = DATASETS.get(name)
    return info.kind if info is not None else "image"

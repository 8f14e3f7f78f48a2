"""Datasets: built-in (offline) ones and the classic Keras image sets.

Built in, always offline: TensorFlow-Playground-style 2-D point sets (moons,
circles, XOR, spiral, Gaussian blobs), scikit-learn's iris, wine, breast cancer
and 8x8 digits. Through `keras.datasets`: MNIST, Fashion-MNIST and CIFAR-10,
resolved in this order:

1. `PLAYGROUND_DATA_DIR` (read-only, laid out like the Keras cache): files are
   read directly, so a re-packed `mnist.npz` with the right arrays works even
   though its hash differs from Keras's;
2. the Keras cache (`~/.keras/datasets` or `$KERAS_HOME/datasets`), read the same way;
3. the Keras download (`keras.datasets.<name>.load_data()`), unless offline:
   `PLAYGROUND_OFFLINE=1`, or found out by `core.network` (a quick probe first; a download
   that cannot connect marks the app offline for a while).

When none works, `DatasetUnavailable` says which file to place where.

Images are kept as uint8 (N, height, width, channels) and scaled inside the
model by a `Rescaling` layer, so one copy of the data serves every job.

Example:
    >>> data = load(DataSpec(name="iris", seed=1))
    >>> data.x_train.shape[1], data.n_classes
    (4, 3)

Keras and scikit-learn are imported inside the functions that use them, on purpose:
importing this module (the web server does) loads no TensorFlow.
"""

from __future__ import annotations

import gzip
import pickle
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import numpy as np

from core import array_cache, demo_folders, network, settings, uploads
from core.dataset_catalogue import DATASETS, UPLOADED, DatasetInfo
from core.i18n import LocalizedError, Msg
from core.spec import DataSpec

__all__ = ["DATASETS", "UPLOADED", "DatasetInfo", "Dataset", "load"]


class DatasetUnavailable(LocalizedError):
    """The dataset's files are not here and cannot be downloaded. The message says what to do."""


@dataclass
class Dataset:
    """Arrays ready for `fit`: x as uint8 images or float32 features, y as integer labels."""

    info: DatasetInfo
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    feature_names: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)
    class_names: tuple[str, ...] = ()  # defaults to info.class_names; uploads bring their own
    report: Any = None  # uploads: what was skipped, converted, warned about (FolderImages or CsvTable)

    def __post_init__(self):
        if not self.class_names:
            self.class_names = self.info.class_names

    @property
    def kind(self) -> str:
        return self.info.kind

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def task(self) -> str:
        """'binary' (one sigmoid unit), 'multiclass' (softmax) or 'regression' (linear units, y as floats)."""
        if self.info.task == "regression":
            return "regression"
        return "binary" if self.n_classes == 2 else "multiclass"

    @property
    def regression(self) -> bool:
        return self.info.task == "regression"

    @property
    def n_outputs(self) -> int:
        """Units of the output layer's plan: classes, or predicted values."""
        return self.info.n_outputs if self.regression else self.n_classes

    @property
    def target_names(self) -> tuple[str, ...]:
        return self.info.targets

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.x_train.shape[1:])

    def class_counts(self, split: str = "train") -> np.ndarray:
        """Samples per class (classification only)."""
        y = self.y_train if split == "train" else self.y_test
        return np.bincount(y, minlength=self.n_classes)

    def feature_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of the training features, for a Normalization layer."""
        x = self.x_train.astype("float64")
        return x.mean(axis=0), np.maximum(x.var(axis=0), 1e-12)


# --------------------------------------------------------------------------- 2-D point sets


def make_xor(n: int, noise: float, seed: int):
    """Four quadrants; opposite quadrants share a class (TensorFlow Playground's XOR)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, 2))
    x += np.sign(x) * 0.05  # a small gap on the axes, as TensorFlow Playground leaves
    y = (x[:, 0] * x[:, 1] > 0).astype(int)
    x += rng.normal(0, noise * 0.5, size=x.shape)
    return x, y


def make_spiral(n: int, noise: float, seed: int):
    """Two interleaved spirals (TensorFlow Playground's hardest set)."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for label, delta in ((0, 0.0), (1, np.pi)):
        count = n // 2 if label == 0 else n - n // 2
        r = np.linspace(0.05, 1.0, count)
        t = 1.75 * r * 2 * np.pi + delta
        points = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
        xs.append(points + rng.normal(0, noise * 0.25, size=points.shape))
        ys.append(np.full(count, label))
    order = rng.permutation(n)
    return np.concatenate(xs)[order], np.concatenate(ys)[order]


def make_plane(n: int, noise: float, seed: int):
    """TensorFlow Playground's "plane": the value rises along the diagonal, from -1 to 1."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, 2))
    seen = x + rng.normal(0, noise * 0.5, size=x.shape)  # the value is read at a noisy position, as there
    return x, np.clip((seen[:, 0] + seen[:, 1]) / 2, -1, 1)


#: TensorFlow Playground's six bumps: (centre x, centre y, sign) on a [-1, 1] square.
GAUSSIANS = (
    (-2 / 3, 5 / 12, 1),
    (0, 5 / 12, -1),
    (2 / 3, 5 / 12, 1),
    (-2 / 3, -5 / 12, -1),
    (0, -5 / 12, 1),
    (2 / 3, -5 / 12, -1),
)


def make_gaussians(n: int, noise: float, seed: int):
    """TensorFlow Playground's "multiple gaussians": six bumps up and down; the biggest one at a point wins."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, 2))
    seen = x + rng.normal(0, noise * 0.5, size=x.shape)
    values = np.zeros(n)
    for cx, cy, sign in GAUSSIANS:
        bump = sign * np.clip(1 - np.hypot(seen[:, 0] - cx, seen[:, 1] - cy) / (1 / 3), 0, 1)
        values = np.where(np.abs(bump) > np.abs(values), bump, values)
    return x, values


def _points(name: str, n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """TensorFlow-Playground-like 2-D sets; `noise` is a standard deviation in data units."""
    from sklearn import datasets as skd

    if name in ("plane", "gaussians"):
        x, values = (make_plane if name == "plane" else make_gaussians)(n, noise, seed)
        return x.astype("float32"), values.astype("float32")
    if name == "moons":
        x, y = skd.make_moons(n, noise=noise, random_state=seed)
    elif name == "circles":
        x, y = skd.make_circles(n, noise=noise, factor=0.5, random_state=seed)
    elif name == "blobs":
        x, y = skd.make_blobs(n, centers=3, cluster_std=0.5 + noise * 2, random_state=seed)
    elif name == "xor":
        x, y = make_xor(n, noise, seed)
    elif name == "spiral":
        x, y = make_spiral(n, noise, seed)
    else:
        raise KeyError(name)
    return x.astype("float32"), y.astype("int64")


def _split(x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int):
    from sklearn.model_selection import train_test_split

    if len(y) < 2:
        raise LocalizedError("errors.too_few_samples", count=len(y))
    n_test = int(np.ceil(test_fraction * len(y)))
    can_stratify = False
    if y.dtype.kind in "iu":  # labels; a regression's values are not stratified
        counts = np.bincount(y)
        classes = int((counts > 0).sum())
        # Stratify when every class has two samples and both parts can hold one of each class.
        can_stratify = counts[counts > 0].min() >= 2 and classes <= n_test <= len(y) - classes
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=max(1, min(n_test, len(y) - 1)), random_state=seed, stratify=y if can_stratify else None
    )
    return x_tr, y_tr, x_te, y_te


def _sklearn(name: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    from sklearn import datasets as skd

    if name == "digits":
        bunch = skd.load_digits()
        # 0..16 grey levels -> 0..255 uint8 images, so every image set is scaled the same way.
        images = np.round(bunch.images * (255 / 16)).astype("uint8")[..., None]
        return images, bunch.target.astype("int64"), ()
    if name == "diabetes":  # bundled with scikit-learn: the regression that works offline
        bunch = skd.load_diabetes(scaled=False)
        return bunch.data.astype("float32"), bunch.target.astype("float32"), tuple(bunch.feature_names)
    loader = {"iris": skd.load_iris, "wine": skd.load_wine, "breast_cancer": skd.load_breast_cancer}[name]
    bunch = loader()
    return bunch.data.astype("float32"), bunch.target.astype("int64"), tuple(bunch.feature_names)


# --------------------------------------------------------------------------- Keras datasets


def find_file(relative: str) -> Path | None:
    """The first existing copy of a Keras-cache-relative path: data dir, then Keras cache."""
    for root in (settings.data_dir(), settings.keras_cache_dir()):
        if root is not None and (root / relative).exists():
            return root / relative
    return None


def _read_mnist_npz(path: Path):
    with np.load(path, allow_pickle=False) as d:
        return d["x_train"], d["y_train"], d["x_test"], d["y_test"]


def _read_idx_gz(path: Path, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def _read_fashion(folder: Path):
    y_train = _read_idx_gz(folder / "train-labels-idx1-ubyte.gz", 8)
    x_train = _read_idx_gz(folder / "train-images-idx3-ubyte.gz", 16).reshape(len(y_train), 28, 28)
    y_test = _read_idx_gz(folder / "t10k-labels-idx1-ubyte.gz", 8)
    x_test = _read_idx_gz(folder / "t10k-images-idx3-ubyte.gz", 16).reshape(len(y_test), 28, 28)
    return x_train, y_train, x_test, y_test


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """CIFAR batches are pickles: allow numpy array reconstruction and nothing else."""

    _ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a dataset file")


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as f:
        d = _ArraysOnlyUnpickler(f, encoding="bytes").load()
    data = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return data, np.asarray(d[b"labels"], dtype=np.uint8)


#: CIFAR-10's files in its folder: the five training batches, then the test batch.
CIFAR_BATCHES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch")


def _read_cifar(folder: Path):
    parts = [_read_cifar_batch(folder / batch) for batch in CIFAR_BATCHES[:-1]]
    x_test, y_test = _read_cifar_batch(folder / CIFAR_BATCHES[-1])
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), x_test, y_test


CALIFORNIA_FEATURES = ("MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup", "Latitude", "Longitude")
AUTO_MPG_URL = "http://archive.ics.uci.edu/ml/machine-learning-databases/auto-mpg/auto-mpg.data"
AUTO_MPG_COLUMNS = ("MPG", "Cylinders", "Displacement", "Horsepower", "Weight", "Acceleration", "Model Year", "Origin")
AUTO_MPG_FEATURES = (*AUTO_MPG_COLUMNS[1:-1], "Europe", "Japan", "USA")


def _read_california(path: Path, test_split: float = 0.2, seed: int = 113):
    """keras.datasets.california_housing.load_data(version="large")'s split, from its file; values in $100,000
    (as scikit-learn gives them: dollars would make the squared error a number in the billions)."""
    with np.load(path, allow_pickle=False) as f:
        x, y = f["x"].astype("float32"), (f["y"] / 100_000).astype("float32")
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    x, y = x[order], y[order]
    cut = int(len(x) * (1 - test_split))
    return x[:cut], y[:cut], x[cut:], y[cut:]


def _read_auto_mpg(path: Path):
    """The TensorFlow regression tutorial's preparation: drop unknowns, one-hot Origin, 80 % to train."""
    import pandas as pd

    table = pd.read_csv(path, names=list(AUTO_MPG_COLUMNS), na_values="?", comment="\t", sep=" ", skipinitialspace=True)
    table = table.dropna()
    table["Origin"] = table["Origin"].map({1: "USA", 2: "Europe", 3: "Japan"})
    table = pd.get_dummies(table, columns=["Origin"], prefix="", prefix_sep="", dtype="float32")
    train = table.sample(frac=0.8, random_state=0)
    test = table.drop(train.index)
    features = list(AUTO_MPG_FEATURES)
    return (
        train[features].to_numpy("float32"),
        train["MPG"].to_numpy("float32"),
        test[features].to_numpy("float32"),
        test["MPG"].to_numpy("float32"),
    )


def _local_keras_files(name: str):
    """Arrays read straight from the data dir or the Keras cache, or None if not there."""
    if name in ("california_housing", "auto_mpg"):
        path = find_file(DATASETS[name].files[0])
        return None if path is None else (_read_california if name == "california_housing" else _read_auto_mpg)(path)
    # The image sets are unpacked once and memory-mapped (core/array_cache.py): a process holds only what it reads.
    if name == "mnist":
        path = find_file("datasets/mnist.npz")
        return array_cache.mapped(name, [path], partial(_read_mnist_npz, path)) if path else None
    if name == "fashion_mnist":
        needed = DATASETS[name].files
        if all(find_file(f) for f in needed):
            # All four files must come from one folder so train and test match.
            first = find_file(needed[0])
            if first is None:
                return None
            files = [first.parent / Path(f).name for f in needed]
            return array_cache.mapped(name, files, partial(_read_fashion, first.parent))
        return None
    if name == "cifar10":
        for rel in ("datasets/cifar-10-batches-py", "datasets/cifar-10-batches-py-target/cifar-10-batches-py"):
            path = find_file(rel + "/test_batch")
            if path:
                files = [path.parent / batch for batch in CIFAR_BATCHES]
                return array_cache.mapped(name, files, partial(_read_cifar, path.parent))
        return None
    raise KeyError(name)


def _unavailable(name: str, reason: Msg | str = "") -> DatasetUnavailable:
    where = settings.data_dir()
    roots = ([f"{where}/"] if where else ["$PLAYGROUND_DATA_DIR/"]) + [f"{settings.keras_cache_dir()}/"]
    return DatasetUnavailable(
        "errors.dataset_download_failed" if reason else "errors.dataset_unavailable",
        title=Msg(f"datasets.{name}.title"),
        files=", ".join(DATASETS[name].files),
        roots=" | ".join(roots),
        reason=reason,
    )


def _download_keras(name: str):
    """The real Keras loader: uses its own cache and downloads, once a quick probe says it can connect."""
    answer = network.status()
    if not answer.online:  # Keras's own download has no timeout: never start it offline
        raise _unavailable(name)
    import keras

    if name == "auto_mpg":  # not a Keras dataset: fetched into Keras's cache as the tutorial does, then read
        return _read_auto_mpg(Path(keras.utils.get_file("auto-mpg.data", AUTO_MPG_URL, cache_subdir="datasets")))
    if name == "california_housing":
        return _read_california(
            Path(
                keras.utils.get_file("california_housing.npz", _ORIGINS[name] + "california_housing.npz", cache_subdir="datasets")
            )
        )
    loader = {
        "mnist": keras.datasets.mnist,
        "fashion_mnist": keras.datasets.fashion_mnist,
        "cifar10": keras.datasets.cifar10,
    }[name]
    (x_train, y_train), (x_test, y_test) = loader.load_data()
    return x_train, y_train, x_test, y_test


#: Where Keras downloads each set from (for saying which host could not be reached).
_ORIGINS = {
    "cifar10": "https://www.cs.toronto.edu/",
    "california_housing": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    "auto_mpg": "http://archive.ics.uci.edu/",
}


def _keras_arrays(name: str):
    try:
        arrays = _local_keras_files(name)
    except (OSError, ValueError, KeyError, EOFError, pickle.UnpicklingError) as exc:
        raise DatasetUnavailable("errors.dataset_unreadable", title=Msg(f"datasets.{name}.title"), reason=str(exc)[:200]) from exc
    if arrays is not None:
        return arrays
    if network.known_offline():
        raise _unavailable(name)
    try:
        return _download_keras(name)
    except DatasetUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - any network/IO failure becomes one plain message
        why = network.failed_download(exc, _ORIGINS.get(name, "https://storage.googleapis.com/"))
        raise _unavailable(name, why or (str(exc).splitlines() or [type(exc).__name__])[0][:200]) from exc


def availability(name: str) -> str:
    """'builtin', 'upload' (the learner's own), 'local' (files present), or 'download' (not here: needs the internet).

    Whether the internet is there now: `availability_now`.
    """
    info = DATASETS[name]
    if info.group == "upload":
        return "upload"
    if info.group != "keras":
        return "builtin"
    if name == "fashion_mnist":
        return "local" if all(find_file(f) for f in info.files) else "download"
    if name == "cifar10":
        found = find_file("datasets/cifar-10-batches-py/test_batch") or find_file(
            "datasets/cifar-10-batches-py-target/cifar-10-batches-py/test_batch"
        )
        return "local" if found else "download"
    return "local" if find_file(info.files[0]) else "download"


def availability_now(name: str) -> str:
    """As `availability`, but 'missing' when the files are not here and downloads cannot work now (`core.network`)."""
    found = availability(name)
    return "missing" if found == "download" and not network.can_download() else found


# --------------------------------------------------------------------------- loading


def _readonly(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    out = []
    for a in arrays:
        a = np.ascontiguousarray(a)
        a.setflags(write=False)  # shared by every job: nobody may change it in place
        out.append(a)
    return tuple(out)


#: Seconds this process took to read each dataset from its files the first time: the preflight counts them in a
#: run's setup, as the worker that trains it reads the same files with the same code. Built-in sets take no time.
_LOAD_SECONDS: dict[tuple, float] = {}


def _files_key(spec: DataSpec) -> tuple | None:
    """What identifies a dataset read from files (None: built in, nothing to read)."""
    group = DATASETS[spec.name].group
    if group == "upload":
        return (spec.name, spec.source, spec.image_height, spec.image_width, spec.color_mode, spec.label_column)
    return (spec.name,) if group == "keras" else None


def load_seconds(spec: DataSpec) -> float:
    """Seconds reading this dataset's files took here, the first time (0.0: built in, or not read in this process)."""
    key = _files_key(spec) if spec.name in DATASETS else None
    return _LOAD_SECONDS.get(key, 0.0) if key else 0.0


@lru_cache(maxsize=6)
def _load_full(name: str, n_samples: int, noise: float, test_fraction: float, seed: int) -> Dataset:
    info = DATASETS[name]
    feature_names: tuple[str, ...] = ()
    if info.kind == "points":
        x, y = _points(name, n_samples, noise, seed)
        x_tr, y_tr, x_te, y_te = _split(x, y, test_fraction, seed)
        feature_names = ("x1", "x2")
    elif name == "dummy":
        # Tutorial 002's first network: three samples in, three classes out, one test sample.
        x_tr = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]], "float32")
        y_tr = np.array([2, 1, 0], "int64")
        x_te, y_te = np.array([[0.1, 0.3, 0.5]], "float32"), np.array([2], "int64")
        feature_names = ("x1", "x2", "x3")
    elif info.group == "sklearn":
        x, y, feature_names = _sklearn(name)
        x_tr, y_tr, x_te, y_te = _split(x, y, test_fraction, seed)
    else:
        x_tr, y_tr, x_te, y_te = _keras_arrays(name)
        if x_tr.ndim == 3:
            x_tr, x_te = x_tr[..., None], x_te[..., None]  # grayscale: add the channel axis
        label = "float32" if info.task == "regression" else "int64"
        y_tr, y_te = y_tr.reshape(-1).astype(label), y_te.reshape(-1).astype(label)
        feature_names = {"california_housing": CALIFORNIA_FEATURES, "auto_mpg": AUTO_MPG_FEATURES}.get(name, ())
    x_tr, y_tr, x_te, y_te = _readonly(x_tr, y_tr, x_te, y_te)
    return Dataset(info, x_tr, y_tr, x_te, y_te, feature_names)


def load(spec: DataSpec, owner: str | None = None) -> Dataset:
    """The dataset a DataSpec describes, with its subsets applied (views, no copies).

    Uploaded data is found by `owner` (a session only sees its own uploads).
    Raises KeyError for an unknown name, DatasetUnavailable when files are missing,
    and UploadRefused when an upload cannot be used.
    """
    if spec.name not in DATASETS:
        raise KeyError(f"unknown dataset {spec.name!r}; known: {', '.join(DATASETS)}")
    info = DATASETS[spec.name]
    started = time.perf_counter()
    if info.group == "upload":
        full = _load_upload(spec, owner)
    else:
        synthetic = info.kind == "points"
        split_here = info.group in ("playground", "sklearn")
        full = _load_full(
            spec.name,
            spec.n_samples if synthetic else 0,
            round(spec.noise, 4) if synthetic else 0.0,
            round(spec.test_fraction, 4) if split_here else 0.0,
            spec.seed if split_here else 0,
        )
    key = _files_key(spec)
    if key:
        _LOAD_SECONDS.setdefault(key, time.perf_counter() - started)  # the first call reads; later ones hit caches
    notes = []
    x_tr, y_tr, x_te, y_te = full.x_train, full.y_train, full.x_test, full.y_test
    if spec.train_size and spec.train_size < len(x_tr):
        x_tr, y_tr = x_tr[: spec.train_size], y_tr[: spec.train_size]
    elif spec.train_size:
        notes.append(f"train subset {spec.train_size} is larger than the {len(x_tr)} samples: using all")
    if spec.test_size and spec.test_size < len(x_te):
        x_te, y_te = x_te[: spec.test_size], y_te[: spec.test_size]
    return Dataset(info, x_tr, y_tr, x_te, y_te, full.feature_names, notes, full.class_names, full.report)


# --------------------------------------------------------------------------- uploads and the demo folder

_UPLOAD_CACHE: OrderedDict[tuple, Dataset] = OrderedDict()
_UPLOAD_LOCK = threading.Lock()


def upload_bytes(spec: DataSpec, owner: str | None) -> tuple[str, bytes]:
    """(cache key, bytes) of the folder zip or CSV a spec points at; the demo folder when no source."""

    if spec.name == "folder" and not spec.source:
        return "demo", demo_folders.kinoko_takenoko_zip()
    upload = uploads.store().get(owner, spec.source) if spec.source else None
    if upload is None:
        raise DatasetUnavailable("errors.upload_missing")
    return upload.id, upload.data


def _load_upload(spec: DataSpec, owner: str | None) -> Dataset:

    key, data = upload_bytes(spec, owner)
    cache_key: tuple
    if spec.name == "folder":
        cache_key = (key, spec.image_height, spec.image_width, spec.color_mode, round(spec.test_fraction, 4), spec.seed)
    else:
        cache_key = (key, spec.label_column, round(spec.test_fraction, 4), spec.seed)
    with _UPLOAD_LOCK:
        if cache_key in _UPLOAD_CACHE:
            _UPLOAD_CACHE.move_to_end(cache_key)
            return _UPLOAD_CACHE[cache_key]
    info = DATASETS[spec.name]
    if spec.name == "folder":
        folder = uploads.read_image_zip(data, (spec.image_height, spec.image_width), spec.color_mode)
        if folder.subset is not None:
            train, test = folder.subset == "train", folder.subset == "test"
            parts = (folder.x[train], folder.y[train], folder.x[test], folder.y[test])
        else:
            parts = _split(folder.x, folder.y, spec.test_fraction, spec.seed)
        x_tr, y_tr, x_te, y_te = _readonly(*parts)
        dataset = Dataset(info, x_tr, y_tr, x_te, y_te, class_names=folder.class_names, report=folder)
    else:
        if not spec.label_column:
            raise DatasetUnavailable("errors.pick_label_column")
        table = uploads.read_csv_table(data, spec.label_column)
        parts = _split(table.x, table.y, spec.test_fraction, spec.seed)
        x_tr, y_tr, x_te, y_te = _readonly(*parts)
        dataset = Dataset(
            info, x_tr, y_tr, x_te, y_te, feature_names=table.feature_names, class_names=table.class_names, report=table
        )
    with _UPLOAD_LOCK:
        _UPLOAD_CACHE[cache_key] = dataset
        while len(_UPLOAD_CACHE) > 8:
            _UPLOAD_CACHE.popitem(last=False)
    return dataset


def per_class_indices(data: Dataset, per_class: int) -> dict[int, np.ndarray]:
    """The first few training indices of every class, for a preview grid per class."""
    return {k: np.flatnonzero(data.y_train == k)[:per_class] for k in range(data.n_classes)}


def sample_indices(data: Dataset, count: int, seed: int = 0) -> np.ndarray:
    """A few training indices for a preview grid, spread over the classes."""
    rng = np.random.default_rng(seed)
    count = min(count, len(data.y_train))
    return np.sort(rng.choice(len(data.y_train), size=count, replace=False))

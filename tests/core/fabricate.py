"""Tiny stand-ins for the Keras dataset files, written in Keras's own cache layout.

The arrays are small and random; the point is the file formats and the resolution
order (data dir, Keras cache, download), not the pixels.
"""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np


def mnist_npz(root: Path, n_train: int = 120, n_test: int = 40, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    path = root / "datasets" / "mnist.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        x_train=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        y_train=np.arange(n_train, dtype=np.uint8) % 10,
        x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        y_test=np.arange(n_test, dtype=np.uint8) % 10,
    )
    return path


def _idx(path: Path, array: np.ndarray) -> None:
    if array.ndim == 1:
        header = struct.pack(">II", 2049, len(array))
    else:
        header = struct.pack(">IIII", 2051, *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def fashion_gz(root: Path, n_train: int = 60, n_test: int = 20, seed: int = 1) -> Path:
    rng = np.random.default_rng(seed)
    folder = root / "datasets" / "fashion-mnist"
    folder.mkdir(parents=True, exist_ok=True)
    _idx(folder / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (n_train, 28, 28)))
    _idx(folder / "train-labels-idx1-ubyte.gz", np.arange(n_train) % 10)
    _idx(folder / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (n_test, 28, 28)))
    _idx(folder / "t10k-labels-idx1-ubyte.gz", np.arange(n_test) % 10)
    return folder


def cifar_batches(root: Path, per_batch: int = 10, seed: int = 2, inner: str = "cifar-10-batches-py") -> Path:
    rng = np.random.default_rng(seed)
    folder = root / "datasets" / inner
    folder.mkdir(parents=True, exist_ok=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {
            b"data": rng.integers(0, 256, (per_batch, 3 * 32 * 32), dtype=np.uint8),
            b"labels": [int(v) for v in np.arange(per_batch) % 10],
        }
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f)
    return folder


def zoo_weights(root: Path, key: str, include_top: bool = True) -> Path:
    """Random (untrained) weights of a zoo model, saved under Keras's own file name in `root/models/`.

    Loading them exercises the real path (file lookup, `keras.applications.X(weights=path)`)
    without the real ImageNet weights.
    """
    from core import pretrained

    m = pretrained.get(key)
    path = root / "models" / pretrained.weights_file(m, include_top)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = pretrained.build(m, include_top=include_top, weights=None, input_shape=None if include_top else (m.size, m.size, 3))
    # Keras's application files are legacy HDF5 weights (not `.weights.h5`): write that format.
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return path

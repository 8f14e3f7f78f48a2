"""Keras's image sets unpacked once into plain `.npy` files under the app's home, then read memory-mapped.

`mnist.npz` is compressed and Fashion-MNIST comes gzipped, so reading them the usual way puts all of
their pixels (55 MB for MNIST, 180 MB for CIFAR-10) in the memory of every process that reads them.
The web server only needs the label counts and a few preview pictures; a worker needs every pixel,
but the same ones as its siblings. So the first reader unpacks the arrays into
`home_dir()/arrays/<name>-<stamp>/`, and every reader maps those files: a process holds only the
pages it touches, and the operating system shares them between processes.

The stamp is made from the source files' paths, sizes and times: replacing a file unpacks it anew.
When the home cannot be written (a full disk), the arrays stay in memory as before.

    >>> x_train, y_train, x_test, y_test = mapped("mnist", [path], read_npz)  # doctest: +SKIP
    >>> type(x_train)  # doctest: +SKIP
    <class 'numpy.memmap'>
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from core import settings

#: The four arrays of a Keras image set, in `load_data()`'s order.
NAMES = ("x_train", "y_train", "x_test", "y_test")

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def folder(name: str, sources: Sequence[Path]) -> Path:
    """Where `name`'s arrays unpacked from these source files live (it may not exist yet)."""
    stamp = hashlib.sha256()
    for path in sources:
        info = path.stat()
        stamp.update(f"{path.resolve()}|{info.st_size}|{info.st_mtime_ns}\n".encode())
    return settings.home_dir() / "arrays" / f"{name}-{stamp.hexdigest()[:12]}"


def mapped(name: str, sources: Sequence[Path], read: Callable[[], Arrays]) -> Arrays:
    """The arrays memory-mapped from their unpacked copy, unpacking them with `read()` the first time."""
    where = folder(name, sources)
    try:
        return _open(where)
    except (OSError, ValueError):  # not unpacked yet (or a copy cut short by a crash): unpack it
        pass
    arrays = read()
    try:
        _write(name, where, arrays)
        return _open(where)
    except OSError:  # the home is full or read-only: this process keeps its arrays in memory
        return arrays


def _open(where: Path) -> Arrays:
    x_train, y_train, x_test, y_test = (np.load(where / f"{n}.npy", mmap_mode="r", allow_pickle=False) for n in NAMES)
    return x_train, y_train, x_test, y_test


def _write(name: str, where: Path, arrays: Arrays) -> None:
    """Each file written under a temporary name and renamed: a reader sees a whole file or none."""
    for old in where.parent.glob(f"{name}-*"):
        if old != where:  # an earlier copy of files since replaced
            shutil.rmtree(old, ignore_errors=True)
    where.mkdir(parents=True, exist_ok=True)
    for n, array in zip(NAMES, arrays, strict=True):
        partial = where / f"{n}.{os.getpid()}.partial.npy"
        np.save(partial, np.ascontiguousarray(array), allow_pickle=False)
        os.replace(partial, where / f"{n}.npy")

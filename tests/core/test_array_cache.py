"""The Keras image sets are unpacked once under the app's home and read memory-mapped (core/array_cache.py)."""

import os

import numpy as np
import pytest

from core import array_cache, datasets
from core.spec import DataSpec
from tests.core import fabricate


@pytest.fixture(autouse=True)
def own_home(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path / "data_dir"))
    datasets._load_full.cache_clear()
    yield tmp_path
    datasets._load_full.cache_clear()


def read_npz(path):
    with np.load(path) as d:
        return d["x_train"], d["y_train"], d["x_test"], d["y_test"]


def test_mnist_is_memory_mapped_from_its_unpacked_copy_and_equals_the_file(own_home):
    path = fabricate.mnist_npz(own_home / "data_dir", n_train=50, n_test=20)
    data = datasets.load(DataSpec(name="mnist"))
    x_train, _, x_test, y_test = read_npz(path)
    assert isinstance(data.x_train.base, np.memmap) or isinstance(data.x_train, np.memmap)
    np.testing.assert_array_equal(data.x_train[..., 0], x_train)
    np.testing.assert_array_equal(data.x_test[..., 0], x_test)
    np.testing.assert_array_equal(data.y_test, y_test)
    assert not data.x_train.flags.writeable
    unpacked = array_cache.folder("mnist", [path])
    assert sorted(p.name for p in unpacked.iterdir()) == sorted(f"{n}.npy" for n in array_cache.NAMES)


def test_a_second_process_reads_the_copy_without_unpacking_again(own_home):
    path = fabricate.mnist_npz(own_home / "data_dir", n_train=30)
    calls = []

    def read():
        calls.append(1)
        return read_npz(path)

    first = array_cache.mapped("mnist", [path], read)
    second = array_cache.mapped("mnist", [path], read)
    assert len(calls) == 1
    np.testing.assert_array_equal(first[0], second[0])


def test_a_replaced_source_file_is_unpacked_anew_and_the_old_copy_removed(own_home):
    path = fabricate.mnist_npz(own_home / "data_dir", n_train=30, seed=0)
    old = array_cache.folder("mnist", [path])
    array_cache.mapped("mnist", [path], lambda: read_npz(path))
    fabricate.mnist_npz(own_home / "data_dir", n_train=40, seed=1)
    os.utime(path, ns=(1, 2))  # a different time for certain, however fast the machine
    x_train = array_cache.mapped("mnist", [path], lambda: read_npz(path))[0]
    assert len(x_train) == 40 and not old.exists()


def test_a_copy_cut_short_is_unpacked_again(own_home):
    path = fabricate.mnist_npz(own_home / "data_dir", n_train=30)
    array_cache.mapped("mnist", [path], lambda: read_npz(path))
    (array_cache.folder("mnist", [path]) / "x_test.npy").write_bytes(b"\x93NUMPY cut")
    x_test = array_cache.mapped("mnist", [path], lambda: read_npz(path))[2]
    np.testing.assert_array_equal(x_test, read_npz(path)[2])


def test_a_home_that_cannot_take_the_copy_keeps_the_arrays_in_memory(own_home):
    path = fabricate.mnist_npz(own_home / "data_dir", n_train=30)
    (own_home / "home").mkdir()
    (own_home / "home" / "arrays").write_text("a file where the folder would go")  # any user, root too, fails here
    arrays = array_cache.mapped("mnist", [path], lambda: read_npz(path))
    assert not isinstance(arrays[0], np.memmap) and len(arrays[0]) == 30


@pytest.mark.parametrize("name", ["fashion_mnist", "cifar10"])
def test_fashion_and_cifar_are_mapped_too(own_home, name):
    data_dir = own_home / "data_dir"
    (fabricate.fashion_gz if name == "fashion_mnist" else fabricate.cifar_batches)(data_dir)
    data = datasets.load(DataSpec(name=name))
    assert isinstance(data.x_train.base, np.memmap) or isinstance(data.x_train, np.memmap)
    assert len(data.x_train) == len(data.y_train) > 0
    assert list((own_home / "home" / "arrays").glob(f"{name}-*"))

import os
import pickle

import numpy as np
import pytest

from core import datasets
from core.datasets import DatasetUnavailable, load
from core.spec import DataSpec
from tests.core import fabricate


@pytest.fixture(autouse=True)
def fresh_cache():
    datasets._load_full.cache_clear()
    yield
    datasets._load_full.cache_clear()


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    home = tmp_path / "keras_home"
    home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data_dir"
    folder.mkdir()
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(folder))
    return folder


@pytest.mark.parametrize("name", ["moons", "circles", "xor", "spiral", "blobs"])
def test_point_sets_are_2d_with_the_requested_size_and_seeded(name):
    spec = DataSpec(name=name, n_samples=200, noise=0.1, seed=3)
    data = load(spec)
    assert data.kind == "points" and data.input_shape == (2,)
    assert len(data.y_train) + len(data.y_test) == 200
    assert set(np.unique(data.y_train)) == set(range(data.n_classes))
    datasets._load_full.cache_clear()
    again = load(spec)
    np.testing.assert_array_equal(again.x_train, data.x_train)
    other = load(DataSpec(name=name, n_samples=200, noise=0.1, seed=4))
    assert not np.array_equal(other.x_train, data.x_train)


@pytest.mark.parametrize(
    "name, features, classes, task",
    [("iris", 4, 3, "multiclass"), ("wine", 13, 3, "multiclass"), ("breast_cancer", 30, 2, "binary")],
)
def test_sklearn_tables_load_offline(name, features, classes, task):
    data = load(DataSpec(name=name))
    assert data.input_shape == (features,)
    assert data.n_classes == classes and data.task == task
    assert len(data.feature_names) == features
    assert data.x_train.dtype == np.float32


def test_digits_are_uint8_images_scaled_to_0_255():
    data = load(DataSpec(name="digits"))
    assert data.kind == "image" and data.input_shape == (8, 8, 1)
    assert data.x_train.dtype == np.uint8 and data.x_train.max() == 255


def test_arrays_are_shared_read_only_and_subsets_are_views():
    full = load(DataSpec(name="digits"))
    part = load(DataSpec(name="digits", train_size=500, test_size=100))
    assert len(part.y_train) == 500 and len(part.y_test) == 100
    assert np.shares_memory(part.x_train, full.x_train)
    with pytest.raises(ValueError):
        part.x_train[0, 0, 0, 0] = 1


def test_a_subset_larger_than_the_data_uses_all_and_says_so():
    data = load(DataSpec(name="iris", train_size=10_000))
    assert len(data.y_train) == 112
    assert "larger" in data.notes[0]


def test_loads_are_cached():
    assert load(DataSpec(name="wine")).x_train is load(DataSpec(name="wine")).x_train


def test_mnist_from_the_data_dir_is_read_directly_and_the_folder_is_left_untouched(data_dir):
    fabricate.mnist_npz(data_dir, n_train=120, n_test=40)
    before = sorted((p.relative_to(data_dir), p.stat().st_mtime_ns) for p in data_dir.rglob("*"))
    os.chmod(data_dir, 0o555)  # read-only, as a shared offline folder would be
    try:
        data = load(DataSpec(name="mnist"))
    finally:
        os.chmod(data_dir, 0o755)
    assert data.x_train.shape == (120, 28, 28, 1) and data.x_test.shape == (40, 28, 28, 1)
    assert data.y_train.dtype == np.int64 and data.n_classes == 10
    assert sorted((p.relative_to(data_dir), p.stat().st_mtime_ns) for p in data_dir.rglob("*")) == before
    assert datasets.availability("mnist") == "local"


def test_the_data_dir_comes_before_the_keras_cache(data_dir, keras_home):
    fabricate.mnist_npz(data_dir, n_train=30)
    fabricate.mnist_npz(keras_home, n_train=50)
    assert len(load(DataSpec(name="mnist")).y_train) == 30


def test_the_keras_cache_is_used_when_there_is_no_data_dir(keras_home):
    fabricate.mnist_npz(keras_home, n_train=50)
    assert len(load(DataSpec(name="mnist")).y_train) == 50


def test_fashion_mnist_gz_files(data_dir):
    fabricate.fashion_gz(data_dir, n_train=60, n_test=20)
    data = load(DataSpec(name="fashion_mnist"))
    assert data.x_train.shape == (60, 28, 28, 1) and data.y_test.shape == (20,)
    assert data.class_names[9] == "Ankle boot"


@pytest.mark.parametrize("inner", ["cifar-10-batches-py", "cifar-10-batches-py-target/cifar-10-batches-py"])
def test_cifar10_batches_in_either_keras_layout(keras_home, inner):
    fabricate.cifar_batches(keras_home, per_batch=10, inner=inner)
    data = load(DataSpec(name="cifar10"))
    assert data.x_train.shape == (50, 32, 32, 3) and data.x_test.shape == (10, 32, 32, 3)


def test_a_cifar_pickle_that_asks_for_code_is_refused(keras_home):
    folder = fabricate.cifar_batches(keras_home)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({b"data": os.system, b"labels": []}, f)
    with pytest.raises(DatasetUnavailable, match="could not be read"):
        load(DataSpec(name="cifar10"))


def test_offline_with_nothing_cached_says_which_file_to_put_where(keras_home):
    with pytest.raises(DatasetUnavailable) as info:
        load(DataSpec(name="mnist"))
    message = str(info.value)
    assert "datasets/mnist.npz" in message and str(keras_home) in message and "PLAYGROUND_DATA_DIR" in message
    assert info.value.msg.render("ja").startswith("MNIST はオフラインでは使えません")
    assert datasets.availability("mnist") == "download"


def test_a_corrupt_local_file_is_a_plain_message(data_dir):
    (data_dir / "datasets").mkdir()
    (data_dir / "datasets" / "mnist.npz").write_bytes(b"not a zip file")
    with pytest.raises(DatasetUnavailable, match="could not be read"):
        load(DataSpec(name="mnist"))


def test_a_failed_download_is_a_plain_message(keras_home, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_OFFLINE", "0")

    def no_network(name):
        raise Exception("URL fetch failure on https://storage.googleapis.com/mnist.npz: [Errno -2] Name or service not known")

    monkeypatch.setattr(datasets, "_download_keras", no_network)
    with pytest.raises(DatasetUnavailable, match="The download failed: URL fetch failure"):
        load(DataSpec(name="mnist"))


def test_unknown_dataset_is_a_key_error():
    with pytest.raises(KeyError):
        load(DataSpec(name="imagenet"))


def test_sample_indices_are_seeded_and_in_range():
    data = load(DataSpec(name="digits"))
    a = datasets.sample_indices(data, 24, seed=1)
    assert len(a) == 24 and a.max() < len(data.y_train)
    np.testing.assert_array_equal(a, datasets.sample_indices(data, 24, seed=1))

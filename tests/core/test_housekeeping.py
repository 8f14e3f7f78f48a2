"""TensorFlow's gradient registry must not keep every trained model's graph alive (bench/memory.py)."""

import gc
import threading

import numpy as np
import pytest

from core import housekeeping
from core.housekeeping import _PREFIX, _wraps_all_reduce, forget_all_reduce_gradients
from core.training import FINISHED, JobRegistry, warm_imports

warm_imports()
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.python.framework import ops  # noqa: E402

X = np.random.default_rng(0).random((256, 8)).astype("float32")
Y = (X.sum(axis=1) > 4).astype("int32")


def all_reduce_entries() -> list[str]:
    registry = ops._gradient_registry._registry
    return [k for k, v in list(registry.items()) if k.startswith(_PREFIX) and _wraps_all_reduce(v.get("type"))]


def tiny_model(width: int) -> keras.Model:
    model = keras.Sequential([keras.Input((8,), name="x"), keras.layers.Dense(width, activation="relu", name="hidden"),
                              keras.layers.Dense(2, activation="softmax", name="out")])
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    return model


def operations_alive() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o).__name__ == "Operation")


def test_a_trained_model_leaves_registrations_that_are_dropped_and_its_graph_freed():
    forget_all_reduce_gradients()
    before = operations_alive()
    model = tiny_model(5)
    model.fit(X, Y, epochs=1, batch_size=64, verbose=0)
    assert all_reduce_entries(), "the Keras optimizer step registers an all-reduce gradient when traced"
    del model
    kept = operations_alive() - before
    assert kept > 100  # without housekeeping the traced graph outlives the model
    assert forget_all_reduce_gradients() >= 1
    assert all_reduce_entries() == []
    assert operations_alive() - before < kept / 10


def test_models_still_train_after_and_during_the_cleanup():
    forget_all_reduce_gradients()
    errors, losses = [], []

    def train():
        try:
            history = tiny_model(7).fit(X, Y, epochs=15, batch_size=8, verbose=0)
            losses.extend(history.history["loss"])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    worker = threading.Thread(target=train)
    worker.start()
    while worker.is_alive():  # another training ends and cleans up while this one traces and runs
        forget_all_reduce_gradients()
        worker.join(0.01)
    assert errors == []
    assert np.isfinite(losses).all() and losses[-1] < losses[0]


def test_other_custom_gradients_are_left_alone():
    @tf.custom_gradient
    def clip_gradient(x):
        return tf.identity(x), lambda dy: tf.clip_by_value(dy, -1.0, 1.0)

    @tf.function
    def step(x):
        return clip_gradient(x) * 2.0

    names_before = set(ops._gradient_registry._registry)
    step(tf.constant([1.0, 2.0]))
    ours = {k for k in ops._gradient_registry._registry if k.startswith(_PREFIX)} - names_before
    assert ours, "a custom gradient traced in graph mode registers itself"
    forget_all_reduce_gradients()
    assert ours <= set(ops._gradient_registry._registry)


def test_a_finished_job_leaves_no_registration_behind():
    from core.spec import ExperimentSpec

    registry = JobRegistry(max_concurrent=1, record_runs=False)
    spec = ExperimentSpec.default_for("digits")
    spec.fit.epochs = 1
    for _ in range(2):
        job = registry.submit(spec, owner="ann")
        assert job.done.wait(120) and job.snapshot().status == FINISHED
        assert all_reduce_entries() == []


@pytest.mark.skipif(getattr(housekeeping._LIBC, "malloc_trim", None) is None, reason="no glibc malloc_trim on this platform")
def test_free_memory_in_the_middle_of_the_heap_goes_back_to_the_system():
    blocks = [bytearray(1 << 16) for _ in range(2000)]  # ~130 MB in 64 KiB blocks
    del blocks[1::2]  # holes between live blocks: free() alone cannot return them
    assert housekeeping.give_back_free_memory() is True  # glibc's malloc_trim: 1 when it released memory
    del blocks

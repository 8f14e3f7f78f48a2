import math
import threading

import keras
import numpy as np
import pytest

from core.callbacks import ListSink, LiveCallback, TrainingDiverged, TrainingStopped


def tiny_model(lr=0.05, activation="relu"):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,), name="input")
    x = keras.layers.Dense(8, activation=activation, name="hidden")(inputs)
    outputs = keras.layers.Dense(3, activation="softmax", name="output")(x)
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.SGD(lr), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def tiny_data(n=64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0).astype("int64")


class BatchCounter(keras.callbacks.Callback):
    def __init__(self, stop_event=None, stop_after=None):
        super().__init__()
        self.batches, self.stop_event, self.stop_after = 0, stop_event, stop_after

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        if self.stop_event is not None and self.batches == self.stop_after:
            self.stop_event.set()


def test_records_every_epoch_with_validation_learning_rate_and_time():
    sink, x, y = ListSink(), *tiny_data()
    tiny_model().fit(
        x, y, batch_size=16, epochs=3, validation_data=(x, y), verbose=0, callbacks=[LiveCallback(sink, threading.Event())]
    )
    assert [e["epoch"] for e in sink.epochs] == [1, 2, 3]
    first = sink.epochs[0]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds"} <= set(first)
    assert first["learning_rate"] == pytest.approx(0.05)
    assert all(isinstance(v, float) for v in first.values() if not isinstance(v, int))
    # each epoch announces its start, with the number of batches
    starts = [p for p in sink.progress if p[2] == 0]
    assert [(p[0], p[1], p[3]) for p in starts] == [(1, 3, 4), (2, 3, 4), (3, 3, 4)]


def test_batch_progress_is_throttled():
    sink, x, y = ListSink(), *tiny_data(256)
    tiny_model().fit(
        x, y, batch_size=1, epochs=1, verbose=0, callbacks=[LiveCallback(sink, threading.Event(), progress_interval=3600)]
    )
    assert len(sink.progress) == 1  # only the epoch start: 256 batches, no report due within an hour


def test_stop_event_ends_training_within_one_batch():
    stop = threading.Event()
    counter = BatchCounter(stop, stop_after=5)
    sink, x, y = ListSink(), *tiny_data(256)
    model = tiny_model()
    with pytest.raises(TrainingStopped):
        # the counter runs first and sets the event at batch 5; LiveCallback sees it in the same batch
        model.fit(x, y, batch_size=8, epochs=10, verbose=0, callbacks=[counter, LiveCallback(sink, stop)])
    assert counter.batches == 5
    assert sink.epochs == []  # no half epoch is reported as an epoch
    assert model.get_layer("hidden").get_weights()[0].any()  # the weights trained so far are still there


def test_nan_loss_raises_training_diverged():
    x, y = tiny_data()
    x[3, 0] = np.nan
    sink = ListSink()
    with pytest.raises(TrainingDiverged) as info:
        # tanh, not relu: TensorFlow's fused Dense+ReLU (oneDNN) turns a NaN input into 0
        tiny_model(activation="tanh").fit(
            x, y, batch_size=16, epochs=2, verbose=0, callbacks=[LiveCallback(sink, threading.Event(), progress_interval=0)]
        )
    assert math.isnan(info.value.value) and info.value.epoch == 1


def test_an_exploding_loss_counts_as_diverged():
    x, y = tiny_data()
    with pytest.raises(TrainingDiverged) as info:
        tiny_model(lr=20.0).fit(
            x,
            y,
            batch_size=16,
            epochs=5,
            verbose=0,
            callbacks=[LiveCallback(ListSink(), threading.Event(), progress_interval=0, diverge_above=50.0)],
        )
    assert math.isfinite(info.value.value) and info.value.value > 50


def test_on_epoch_hook_sees_the_model():
    seen = []
    x, y = tiny_data()
    hook = lambda model, epoch: seen.append((model, epoch))  # noqa: E731
    tiny_model().fit(x, y, epochs=2, verbose=0, callbacks=[LiveCallback(ListSink(), threading.Event(), on_epoch=hook)])
    assert [epoch for _, epoch in seen] == [1, 2] and isinstance(seen[0][0], keras.Model)

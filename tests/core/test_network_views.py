"""Looking inside: weight histograms per epoch, feature maps and filters."""

import keras
import numpy as np

from core import charts, network_views
from core.pipeline import run
from core.recorder import MemoryRecorder
from core.spec import ExperimentSpec, LayerSpec
from core.status import Status


def tiny_cnn():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1), name="input")
    x = keras.layers.Rescaling(1 / 255, name="rescale")(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(x)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    x = keras.layers.Flatten(name="flat")(x)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="output")(x))


def test_histograms_count_every_weight():
    model = tiny_cnn()
    hist = network_views.weight_histograms(model)
    assert set(hist) == {"conv", "output"}
    assert hist["conv"]["kernel"].counts.sum() == 3 * 3 * 1 * 4 and hist["conv"]["bias"].counts.sum() == 4
    assert len(hist["output"]["kernel"].edges) == network_views.BINS + 1


def test_the_engine_records_one_histogram_set_per_epoch_plus_the_start():
    spec = ExperimentSpec.default_for("digits")
    spec.layers = [LayerSpec.make("Conv2D", filters=4), LayerSpec.make("Flatten")]
    spec.ensure_layer_names()
    spec.fit.epochs = 3
    recorder = MemoryRecorder(3)
    assert run(spec, "inside", recorder).status == Status.FINISHED
    history = recorder.weights
    assert len(history) == 4 and set(history[0]) == {"conv2d_1", "output"}
    assert not np.array_equal(history[0]["output"]["kernel"].counts, history[-1]["output"]["kernel"].counts)  # they moved
    fig = charts.weight_histogram_figure(history, "conv2d_1", "kernel")
    assert len(fig.data) == 4


def test_feature_maps_and_filters_of_an_image_model():
    model = tiny_cnn()
    assert network_views.conv_layers(model) == ["conv", "pool"]
    picture = np.random.default_rng(0).integers(0, 256, (8, 8, 1)).astype("uint8")
    maps = network_views.feature_maps(model, picture)
    assert [(name, m.shape, m.dtype) for name, m in maps] == [("conv", (6, 6, 4), np.uint8), ("pool", (3, 3, 4), np.uint8)]
    name, filters = network_views.first_filters(model)
    assert name == "conv" and filters.shape == (4, 3, 3) and filters.dtype == np.uint8


def test_models_without_convolutions_have_no_maps():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    assert network_views.feature_maps(model, np.zeros(4)) == [] and network_views.first_filters(model) is None

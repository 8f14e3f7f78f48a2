import json

import pytest

from core.spec import (
    DEFAULT_LEARNING_RATES,
    ExperimentSpec,
    LayerSpec,
    SpecError,
    default_layers,
    layer_prefix,
)

DATASETS = [
    "moons",
    "circles",
    "xor",
    "spiral",
    "blobs",
    "iris",
    "wine",
    "breast_cancer",
    "digits",
    "mnist",
    "fashion_mnist",
    "cifar10",
]


@pytest.mark.parametrize("name", DATASETS)
def test_default_spec_round_trips_through_json(name):
    spec = ExperimentSpec.default_for(name)
    again = ExperimentSpec.from_json(spec.to_json())
    assert again == spec
    assert again.to_json() == spec.to_json()


def test_every_layer_type_round_trips_with_its_parameters():
    spec = ExperimentSpec.default_for("mnist")
    spec.layers = []
    spec.add_layer(
        "Conv2D", filters=16, kernel_size=5, strides=2, padding="same", activation="tanh", l2=0.01, kernel_initializer="he_normal"
    )
    spec.add_layer("MaxPooling2D", pool_size=3, strides=1, padding="same")
    spec.add_layer("AveragePooling2D")
    spec.add_layer("BatchNormalization")
    spec.add_layer("InceptionBlock", filters=8)
    spec.add_layer("ResidualBlock", filters=8, kernel_size=3)
    spec.add_layer("GlobalAveragePooling2D")
    spec.add_layer("Activation", activation="sigmoid")
    spec.add_layer("Dense", units=10, activation="linear", l2=0.03)
    spec.add_layer("Dropout", rate=0.3)
    spec.add_layer("Flatten")
    raw = json.loads(spec.to_json())
    assert [layer["type"] for layer in raw["layers"]][:2] == ["Conv2D", "MaxPooling2D"]
    assert raw["layers"][0]["params"] == {
        "filters": 16,
        "kernel_size": 5,
        "strides": 2,
        "padding": "same",
        "activation": "tanh",
        "l2": 0.01,
        "kernel_initializer": "he_normal",
        "bias_initializer": "zeros",
    }
    assert ExperimentSpec.from_dict(raw) == spec


def test_layer_names_are_explicit_and_unique():
    spec = ExperimentSpec.default_for("digits")
    spec.add_layer("Dense")
    spec.add_layer("Dense")
    names = [layer.name for layer in spec.layers]
    assert names == ["flatten_1", "dense_1", "dropout_1", "dense_2", "dense_3"]
    spec.remove_layer("dense_2")
    spec.add_layer("Dense")
    assert [layer.name for layer in spec.layers][-1] == "dense_2"  # the freed name is reused


def test_move_layer_up_and_down_and_clamps_at_the_ends():
    spec = ExperimentSpec.default_for("digits")
    spec.move_layer("dropout_1", -1)
    assert [layer.name for layer in spec.layers] == ["flatten_1", "dropout_1", "dense_1"]
    spec.move_layer("flatten_1", -1)
    assert spec.layers[0].name == "flatten_1"
    spec.move_layer("dense_1", 1)
    assert spec.layers[-1].name == "dense_1"


def test_duplicate_names_in_json_are_refused():
    raw = ExperimentSpec.default_for("moons").to_dict()
    raw["layers"][1]["name"] = raw["layers"][0]["name"]
    with pytest.raises(SpecError, match="unique"):
        ExperimentSpec.from_dict(raw)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda r: r["layers"].append({"type": "LSTM"}), "unknown layer type"),
        (lambda r: r["layers"][0]["params"].update(units=0), "at least"),
        (lambda r: r["layers"][0]["params"].update(units="many"), "must be a int"),
        (lambda r: r["layers"][0]["params"].update(activation="softplusplus"), "must be one of"),
        (lambda r: r["layers"][0]["params"].update(colour="red"), "unknown parameter"),
        (lambda r: r["fit"].update(epochs=0), "outside"),
        (lambda r: r["fit"].update(batch_size=1.5), "expected int"),
        (lambda r: r["compile"].update(optimizer="lbfgs"), "must be one of"),
        (lambda r: r["data"].update(validation="train"), "must be one of"),
        (lambda r: r["data"].update(train_size=0), "at least 1"),
        (lambda r: r.update(extra=1), "unknown field"),
        (lambda r: r["fit"].update(turbo=True), "unknown field"),
        (lambda r: r["fit"].update(early_stopping="yes"), "expected bool"),
    ],
)
def test_bad_specs_get_a_message_naming_the_field(mutate, message):
    raw = ExperimentSpec.default_for("moons").to_dict()
    mutate(raw)
    with pytest.raises(SpecError, match=message):
        ExperimentSpec.from_dict(raw)


def test_not_json_is_a_spec_error():
    with pytest.raises(SpecError, match="not valid JSON"):
        ExperimentSpec.from_json("{layers: [")


def test_optional_sizes_accept_null():
    raw = ExperimentSpec.default_for("mnist").to_dict()
    raw["data"]["train_size"] = 500
    raw["data"]["test_size"] = None
    spec = ExperimentSpec.from_dict(raw)
    assert spec.data.train_size == 500 and spec.data.test_size is None


def test_switching_optimizer_takes_its_keras3_default_learning_rate():
    spec = ExperimentSpec.default_for("digits")
    spec.set_optimizer("sgd")
    assert (spec.compile.optimizer, spec.compile.learning_rate) == ("sgd", 0.01)
    spec.set_optimizer("adadelta")
    assert spec.compile.learning_rate == DEFAULT_LEARNING_RATES["adadelta"] == 0.001
    with pytest.raises(SpecError):
        spec.set_optimizer("lbfgs")


def test_defaults_fit_the_kind_of_data():
    assert [layer.type for layer in default_layers("image")][0] == "Flatten"
    assert all(layer.type != "Flatten" for layer in default_layers("points"))
    assert ExperimentSpec.default_for("iris").data.standardize is True
    assert ExperimentSpec.default_for("moons").data.standardize is False


def test_layer_prefix_matches_keras_naming():
    assert layer_prefix("MaxPooling2D") == "max_pooling2d"
    assert layer_prefix("Conv2D") == "conv2d"
    assert layer_prefix("BatchNormalization") == "batch_normalization"
    assert layer_prefix("GlobalAveragePooling2D") == "global_average_pooling2d"


def test_make_fills_defaults_and_cleans_types():
    layer = LayerSpec.make("Dense", units="12")
    assert layer.params == {
        "units": 12,
        "activation": "relu",
        "l2": 0.0,
        "kernel_initializer": "glorot_uniform",
        "bias_initializer": "zeros",
    }

import numpy as np
import pytest

from core import datasets
from core.builder import build_model, targets
from core.datasets import load
from core.model_rules import ModelBuildError, plan_loss
from core.spec import ExperimentSpec, LayerSpec
from core.summary import summarize
from tests.core import fabricate


@pytest.fixture
def mnist_dir(tmp_path, monkeypatch):
    fabricate.mnist_npz(tmp_path, n_train=64, n_test=16)
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path))
    datasets._load_full.cache_clear()
    yield tmp_path
    datasets._load_full.cache_clear()


def spec_with(dataset: str, *layers: LayerSpec) -> ExperimentSpec:
    spec = ExperimentSpec.default_for(dataset)
    spec.layers = list(layers)
    spec.ensure_layer_names()
    return spec


def test_two_layer_net_of_tutorial_001_has_79510_params(mnist_dir):
    spec = spec_with("mnist", LayerSpec.make("Flatten"), LayerSpec.make("Dense", units=100, activation="sigmoid"))
    built = build_model(spec, load(spec.data))
    assert built.total_params == 79_510
    assert [(r.name, r.params) for r in built.rows] == [
        ("input", 0),
        ("rescale", 0),
        ("flatten_1", 0),
        ("dense_1", 78_500),
        ("output", 1_010),
    ]
    assert built.model.get_layer("output").activation.__name__ == "softmax"


def test_iris_summary_matches_tutorial_002_403_params():
    spec = spec_with("iris", LayerSpec.make("Dense", units=50, activation="sigmoid"))
    spec.data.standardize = False  # the tutorial feeds raw measurements
    built = build_model(spec, load(spec.data))
    assert built.total_params == 403
    assert "normalize" not in [r.name for r in built.rows]


def test_standardize_adds_a_normalization_layer_from_the_training_data():
    spec = spec_with("wine", LayerSpec.make("Dense", units=8))
    spec.data.standardize = True
    data = load(spec.data)
    built = build_model(spec, data)
    out = built.model.get_layer("normalize")(data.x_train)
    assert np.allclose(np.mean(np.asarray(out), axis=0), 0, atol=1e-4)


def test_deeper_cnn_of_tutorial_002_has_keras_param_counts(mnist_dir):
    spec = spec_with(
        "mnist",
        LayerSpec.make("Conv2D", filters=32, kernel_size=3),
        LayerSpec.make("Conv2D", filters=64, kernel_size=3),
        LayerSpec.make("MaxPooling2D", pool_size=2),
        LayerSpec.make("Dropout", rate=0.25),
        LayerSpec.make("Flatten"),
        LayerSpec.make("Dense", units=128),
        LayerSpec.make("Dropout", rate=0.5),
    )
    built = build_model(spec, load(spec.data))
    assert built.total_params == 1_199_882  # the well-known Keras mnist_cnn example
    shapes = {r.name: r.output_shape for r in built.rows}
    assert shapes["max_pooling2d_1"] == (None, 12, 12, 64)


def test_inception_block_builds_three_towers_and_concatenates_channels(mnist_dir):
    spec = spec_with(
        "mnist",
        LayerSpec.make("Conv2D", filters=32, kernel_size=3),
        LayerSpec.make("MaxPooling2D"),
        LayerSpec.make("InceptionBlock", filters=64),
        LayerSpec.make("Flatten"),
    )
    built = build_model(spec, load(spec.data))
    block = [r for r in built.rows if r.block == "inception_block_1"]
    assert [r.type for r in block].count("Conv2D") == 5 and block[-1].type == "Concatenate"
    assert block[-1].output_shape == (None, 13, 13, 192)
    # Same parameter count as the tutorial's model (its concatenation axis does not change it).
    towers = (32 * 64 + 64) * 2 + (64 * 9 * 64 + 64) + (64 * 25 * 64 + 64) + (32 * 64 + 64)
    assert built.total_params == 320 + towers + (13 * 13 * 192 * 10 + 10)
    dot = built.dot()
    assert 'subgraph "cluster_inception_block_1"' in dot
    assert '"inception_block_1_1x1_a" -> "inception_block_1_3x3"' in dot


def test_residual_block_adds_a_shortcut_and_projects_when_channels_differ(mnist_dir):
    spec = spec_with(
        "mnist",
        LayerSpec.make("Conv2D", filters=32, kernel_size=3),
        LayerSpec.make("MaxPooling2D"),
        LayerSpec.make("ResidualBlock", filters=32),
        LayerSpec.make("ResidualBlock", filters=16),
        LayerSpec.make("Flatten"),
    )
    built = build_model(spec, load(spec.data))
    names = [r.name for r in built.rows]
    assert "residual_block_1_projection" not in names  # 32 -> 32: identity shortcut as in the tutorial
    assert "residual_block_2_projection" in names
    add = next(r for r in built.rows if r.name == "residual_block_1")
    assert add.type == "Add" and sorted(add.inputs) == ["max_pooling2d_1", "residual_block_1_conv"]


def test_conv_after_flatten_is_refused_naming_the_layer(mnist_dir):
    spec = spec_with("mnist", LayerSpec.make("Flatten"), LayerSpec.make("Conv2D"))
    with pytest.raises(ModelBuildError) as info:
        build_model(spec, load(spec.data))
    assert info.value.layer == "conv2d_1"
    assert "after 'flatten_1' (Flatten)" in str(info.value)
    assert "conv2d_1" in info.value.msg.render("ja")


def test_conv_on_tabular_data_is_refused():
    spec = spec_with("iris", LayerSpec.make("Conv2D"))
    with pytest.raises(ModelBuildError, match="this dataset gives each sample as a flat vector") as info:
        build_model(spec, load(spec.data))
    assert "flattening layer" not in str(info.value)  # there is none to move it above


def test_pooling_below_1x1_is_refused_naming_the_layer():
    spec = spec_with("digits", *[LayerSpec.make("MaxPooling2D") for _ in range(4)], LayerSpec.make("Flatten"))
    with pytest.raises(ModelBuildError) as info:
        build_model(spec, load(spec.data))
    assert info.value.layer == "max_pooling2d_4" and "1 x 1" in str(info.value)


def test_a_kernel_bigger_than_the_image_is_refused():
    spec = spec_with("digits", LayerSpec.make("Conv2D", kernel_size=9), LayerSpec.make("Flatten"))
    with pytest.raises(ModelBuildError, match="9x9 kernel"):
        build_model(spec, load(spec.data))


def test_a_strided_conv_that_shrinks_to_nothing_is_refused():
    spec = spec_with(
        "digits",
        LayerSpec.make("Conv2D", kernel_size=3, strides=4),
        LayerSpec.make("Conv2D", kernel_size=3),
        LayerSpec.make("Flatten"),
    )
    with pytest.raises(ModelBuildError) as info:
        build_model(spec, load(spec.data))
    assert info.value.layer == "conv2d_2"


def test_images_without_flatten_are_refused_at_the_output():
    spec = spec_with("digits", LayerSpec.make("Dense", units=4))
    with pytest.raises(ModelBuildError, match="add Flatten"):
        build_model(spec, load(spec.data))


def test_reserved_names_are_refused():
    spec = spec_with("iris", LayerSpec.make("Dense", name="output"))
    with pytest.raises(ModelBuildError, match="reserved"):
        build_model(spec, load(spec.data))


@pytest.mark.parametrize(
    "task, classes, loss, expected",
    [
        ("binary", 2, "auto", ("binary_crossentropy", 1, "sigmoid", False)),
        ("binary", 2, "mean_squared_error", ("mean_squared_error", 1, "sigmoid", False)),
        ("binary", 2, "categorical_crossentropy", ("categorical_crossentropy", 2, "softmax", True)),  # class_mode categorical
        ("multiclass", 10, "auto", ("sparse_categorical_crossentropy", 10, "softmax", False)),
        ("multiclass", 3, "categorical_crossentropy", ("categorical_crossentropy", 3, "softmax", True)),
        ("multiclass", 3, "mean_squared_error", ("mean_squared_error", 3, "softmax", True)),
    ],
)
def test_loss_plans(task, classes, loss, expected):
    plan = plan_loss(task, classes, loss)
    assert (plan.loss, plan.units, plan.activation, plan.one_hot) == expected


def test_binary_crossentropy_on_several_classes_is_refused():
    with pytest.raises(ModelBuildError, match="is for two classes, but this dataset has 3"):
        plan_loss("multiclass", 3, "binary_crossentropy")


def test_targets_follow_the_plan():
    y = np.array([0, 2, 1])
    assert targets(y, plan_loss("multiclass", 3, "categorical_crossentropy"), 3).tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    assert targets(y, plan_loss("multiclass", 3), 3) is y
    assert targets(np.array([0, 1]), plan_loss("binary", 2), 2).dtype == np.float32


def test_each_optimizer_gets_its_learning_rate_explicitly():
    for name, lr in [("sgd", 0.1), ("adagrad", 0.01), ("rmsprop", 0.001), ("adam", 0.002), ("adamw", 0.003), ("adadelta", 1.0)]:
        spec = spec_with("iris", LayerSpec.make("Dense", units=4))
        spec.compile.optimizer, spec.compile.learning_rate = name, lr
        spec.compile.momentum = 0.9 if name == "sgd" else 0.0
        model = build_model(spec, load(spec.data)).model
        assert type(model.optimizer).__name__.lower() == name
        assert float(np.asarray(model.optimizer.learning_rate)) == pytest.approx(lr)
    assert float(np.asarray(build_model(spec_with("iris"), load(spec.data)).model.optimizer.learning_rate)) > 0


def test_summarize_is_cached_and_describes_without_keeping_the_model():
    spec = spec_with("iris", LayerSpec.make("Dense", units=5))
    first = summarize(spec)
    assert first is summarize(spec.copy())
    assert first.total_params == 4 * 5 + 5 + 5 * 3 + 3  # normalize holds its mean/variance as constants
    assert [r["layer"] for r in first.records()][-1] == "output"


def test_two_builds_never_share_a_model():
    spec = spec_with("iris", LayerSpec.make("Dense", units=5))
    data = load(spec.data)
    a, b = build_model(spec, data).model, build_model(spec, data).model
    assert a is not b and a.get_layer("dense_1") is not b.get_layer("dense_1")
    np.testing.assert_array_equal(a.get_layer("dense_1").get_weights()[0], b.get_layer("dense_1").get_weights()[0])  # same seed

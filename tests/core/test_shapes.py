"""The summary without Keras (core/shapes.py) must say exactly what Keras says of the same model."""

import random

import numpy as np
import pytest

from core import shapes
from core.builder import build_model
from core.datasets import DATASETS, Dataset
from core.model_rules import ModelBuildError
from core.spec import ExperimentSpec, LayerSpec

L = LayerSpec.make


def fake_data(input_shape, n_classes, kind):
    x = np.zeros((4, *input_shape), "uint8" if kind == "image" else "float32")
    y = np.arange(4) % n_classes
    info = DATASETS["digits" if kind == "image" else "iris"]
    return Dataset(
        info,
        x,
        y,
        x,
        y,
        class_names=tuple(str(i) for i in range(n_classes)),
        feature_names=tuple(f"f{i}" for i in range(input_shape[-1])) if kind != "image" else (),
    )


def spec_of(layers, dataset="digits", standardize=False, loss="auto"):
    spec = ExperimentSpec.default_for(dataset)
    spec.layers = layers
    spec.data.standardize = standardize
    spec.compile.loss = loss
    spec.ensure_layer_names()
    return spec


def same_as_keras(spec, input_shape, n_classes, kind="image"):
    ours = shapes.describe(spec, input_shape, n_classes, kind)
    keras = build_model(spec, fake_data(input_shape, n_classes, kind))
    assert [(r.name, r.type, r.output_shape, r.params, r.inputs, r.block) for r in ours.rows] == [
        (r.name, r.type, r.output_shape, r.params, r.inputs, r.block) for r in keras.rows
    ]
    assert (ours.total_params, ours.trainable_params) == (keras.total_params, keras.trainable_params)
    assert ours.plan == keras.plan
    return ours


CASES = {
    "mlp": ([L("Flatten"), L("Dense", units=50, activation="sigmoid"), L("Dense", units=20)], (28, 28, 1), 10),
    "batchnorm": (
        [L("Flatten"), L("Dense", units=50), L("BatchNormalization"), L("Activation", activation="relu"), L("Dropout", rate=0.3)],
        (8, 8, 1),
        10,
    ),
    "deeper_cnn": (
        [
            L("Conv2D", filters=32),
            L("Conv2D", filters=64),
            L("MaxPooling2D"),
            L("Dropout"),
            L("Flatten"),
            L("Dense", units=128),
            L("Dropout", rate=0.5),
        ],
        (28, 28, 1),
        10,
    ),
    "strides_same": (
        [
            L("Conv2D", filters=8, kernel_size=5, strides=2, padding="same"),
            L("AveragePooling2D", pool_size=3, strides=2, padding="same"),
            L("GlobalAveragePooling2D"),
        ],
        (60, 90, 3),
        2,
    ),
    "odd_pool": (
        [L("Conv2D", filters=4, kernel_size=3, strides=3), L("MaxPooling2D", pool_size=3, strides=1), L("Flatten")],
        (17, 23, 3),
        3,
    ),
    "inception": ([L("Conv2D", filters=32), L("MaxPooling2D"), L("InceptionBlock", filters=64), L("Flatten")], (28, 28, 1), 10),
    "residual_same": ([L("Conv2D", filters=32), L("ResidualBlock", filters=32, kernel_size=3), L("Flatten")], (12, 12, 1), 10),
    "residual_projection": (
        [L("Conv2D", filters=16), L("ResidualBlock", filters=32, kernel_size=5), L("GlobalAveragePooling2D")],
        (12, 12, 3),
        2,
    ),
    "dense_on_images_then_flatten": ([L("Dense", units=3), L("Flatten")], (5, 4, 2), 4),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_image_models_match_keras(name):
    layers, shape, classes = CASES[name]
    same_as_keras(spec_of(layers), shape, classes)


@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("loss", ["auto", "categorical_crossentropy", "mean_squared_error"])
def test_tabular_models_match_keras(standardize, loss):
    spec = spec_of(
        [L("Dense", units=32, l2=0.01), L("Dropout", rate=0.1), L("Dense", units=7, activation="tanh")], "iris", standardize, loss
    )
    for classes in (2, 3):
        same_as_keras(spec, (4,), classes, "tabular")


def test_random_stacks_match_keras_or_fail_the_same_way():
    """Random image stacks: the same rows, or the same refusal naming the same layer."""
    rng = random.Random(3)
    kinds = [
        "Conv2D",
        "MaxPooling2D",
        "AveragePooling2D",
        "Dropout",
        "BatchNormalization",
        "Activation",
        "ResidualBlock",
        "InceptionBlock",
        "Dense",
    ]
    for _ in range(25):
        layers = []
        for kind in rng.sample(kinds, rng.randint(1, 4)):
            params = {}
            if kind == "Conv2D":
                params = dict(
                    filters=rng.choice([2, 4]),
                    kernel_size=rng.choice([1, 3, 5]),
                    strides=rng.choice([1, 2]),
                    padding=rng.choice(["valid", "same"]),
                )
            elif kind in ("MaxPooling2D", "AveragePooling2D"):
                params = dict(pool_size=rng.choice([2, 3]), strides=rng.choice([0, 1, 2]), padding=rng.choice(["valid", "same"]))
            elif kind in ("ResidualBlock", "InceptionBlock"):
                params = dict(filters=rng.choice([2, 4]))
            elif kind == "Dense":
                params = dict(units=3)
            layers.append(L(kind, **params))
        layers.append(L(rng.choice(["Flatten", "GlobalAveragePooling2D"])))
        spec = spec_of(layers)
        shape = (rng.choice([5, 9, 16]), rng.choice([5, 11]), rng.choice([1, 3]))
        try:
            ours = shapes.describe(spec, shape, 3)
        except ModelBuildError as exc:
            with pytest.raises(ModelBuildError) as theirs:
                build_model(spec, fake_data(shape, 3, "image"))
            assert (theirs.value.msg.key, theirs.value.layer) == (exc.msg.key, exc.layer), [layer.short() for layer in layers]
            continue
        assert ours.total_params == same_as_keras(spec, shape, 3).total_params


@pytest.mark.parametrize(
    "layers, key, layer",
    [
        ([L("Flatten"), L("Conv2D")], "build.needs_image", "conv2d_1"),
        ([L("Conv2D", kernel_size=11)], "build.kernel_too_big", "conv2d_1"),
        ([L("MaxPooling2D"), L("MaxPooling2D"), L("MaxPooling2D"), L("MaxPooling2D")], "build.pool_too_big", "max_pooling2d_4"),
        ([L("Conv2D")], "build.needs_flat_output", "conv2d_1"),
    ],
)
def test_refusals_name_the_layer_like_the_builder(layers, key, layer):
    spec = spec_of(layers)
    with pytest.raises(ModelBuildError) as info:
        shapes.describe(spec, (8, 8, 1), 10)
    assert (info.value.msg.key, info.value.layer) == (key, layer)


def test_conv_on_features_is_refused_without_talk_of_flattening():
    spec = spec_of([L("Conv2D")], "iris")
    with pytest.raises(ModelBuildError) as info:
        shapes.describe(spec, (4,), 3, "tabular")
    assert info.value.msg.key == "build.needs_image_data"


def test_flops_count_multiply_adds_twice():
    spec = spec_of([L("Flatten"), L("Dense", units=100, activation="sigmoid")])
    d = shapes.describe(spec, (28, 28, 1), 10)
    dense = 2 * 784 * 100 + 2 * 100 * 10
    assert dense <= d.flops <= dense + 3 * 784 + 300 and d.conv_flops == 0
    conv = shapes.describe(spec_of([L("Conv2D", filters=32, kernel_size=3), L("Flatten")]), (28, 28, 1), 10)
    assert conv.conv_flops == 2 * 9 * 1 * 32 * 26 * 26


def test_the_module_needs_no_tensorflow():
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys; from core import shapes, summary; from core.spec import ExperimentSpec;"
        "s = summary.summarize(ExperimentSpec.default_for('digits')); assert s.total_params > 0;"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, sorted(m for m in sys.modules if 'keras' in m)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]

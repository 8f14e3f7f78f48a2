"""The model zoo, classification, Grad-CAM and own models, offline with fabricated weights."""

import io

import numpy as np
import pytest
from PIL import Image

from core import images, own_models, pretrained, transfer
from core.spec import TransferSpec
from tests.core import fabricate


@pytest.fixture(scope="module")
def zoo_dir(tmp_path_factory):
    """A read-only data dir holding untrained MobileNet(alpha=0.25) weights under Keras's file names."""
    root = tmp_path_factory.mktemp("zoo")
    fabricate.zoo_weights(root, "mobilenet_0.25", include_top=True)
    fabricate.zoo_weights(root, "mobilenet_0.25", include_top=False)
    mp = pytest.MonkeyPatch()
    mp.setenv("PLAYGROUND_DATA_DIR", str(root))
    yield root
    mp.undo()


def picture(mode: str = "RGB", size=(120, 90)) -> Image.Image:
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    return img if mode == "RGB" else img.convert(mode)


def test_every_issue_model_is_in_the_zoo_with_keras_file_names():
    keys = {
        "mobilenet_0.25",
        "mobilenet_0.5",
        "mobilenet_0.75",
        "mobilenet_1.0",
        "mobilenet_v2",
        "efficientnet_b0",
        "resnet50",
        "vgg16",
        "vgg19",
        "inception_v3",
        "xception",
        "densenet121",
    }
    assert keys <= set(pretrained.ZOO)
    assert pretrained.weights_file(pretrained.ZOO["mobilenet_0.75"]) == "mobilenet_7_5_224_tf.h5"
    assert pretrained.weights_file(pretrained.ZOO["mobilenet_0.75"], include_top=False) == "mobilenet_7_5_224_tf_no_top.h5"
    assert pretrained.weights_file(pretrained.ZOO["vgg16"]) == "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
    assert pretrained.ZOO["inception_v3"].size == 299 and pretrained.ZOO["vgg16"].params_m == 138.4


def test_missing_weights_offline_name_the_file_and_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path))
    m = pretrained.ZOO["resnet50"]
    assert pretrained.availability(m) == "missing"
    with pytest.raises(pretrained.WeightsUnavailable) as info:
        pretrained.load("resnet50")
    text = str(info.value)
    assert "resnet50_weights_tf_dim_ordering_tf_kernels.h5" in text and str(tmp_path / "models") in text


def test_loads_from_the_data_dir_and_classifies_with_class_names(zoo_dir):
    assert pretrained.availability(pretrained.ZOO["mobilenet_0.25"]) == "local"
    loaded = pretrained.load("mobilenet_0.25")
    prediction, seen = loaded.classify_picture(picture(), top=5)
    assert seen.shape == (224, 224, 3)
    assert len(prediction.top) == 5
    names = {name for _, name in pretrained.class_index().values()}
    assert all(label in names for label, _, _ in prediction.top)
    probs = [p for _, p, _ in prediction.top]
    assert probs == sorted(probs, reverse=True) and 0 <= probs[-1] <= probs[0] <= 1
    assert all(0 <= index < 1000 for _, _, index in prediction.top)


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK", "I;16"])
def test_any_image_mode_is_classified(zoo_dir, mode):
    buffer = io.BytesIO()
    img = picture("L") if mode == "I;16" else picture(mode)
    if mode == "I;16":
        img = Image.fromarray(np.asarray(img, dtype=np.uint16) * 257)  # a 16-bit grayscale PNG
    img.save(buffer, format="TIFF" if mode == "CMYK" else "PNG")
    decoded = images.decode(buffer.getvalue(), "rgb").image
    prediction, seen = pretrained.load("mobilenet_0.25").classify_picture(decoded, top=3)
    assert seen.shape == (224, 224, 3) and len(prediction.top) == 3


def test_decode_names_match_the_class_index():
    probs = np.zeros(1000, "float32")
    probs[954] = 0.9
    probs[950] = 0.1
    (wnid, name, p), second = pretrained.decode(probs, top=2)
    assert (name, round(p, 3)) == ("banana", 0.9) and second[1] == "orange"


@pytest.mark.parametrize("module", ["mobilenet", "vgg16", "densenet"])  # tf, caffe and torch preprocessing
def test_preprocessing_layers_equal_preprocess_input(module):
    import keras

    m = next(z for z in pretrained.ZOO.values() if z.module == module)
    inputs = keras.Input((5, 7, 3))
    x = inputs
    for layer in transfer._preprocess_layers(keras, m, "model"):
        x = layer(x)
        if layer.name == "to_bgr":
            layer.set_weights([np.eye(3, dtype="float32")[::-1].reshape(1, 1, 3, 3)])
    model = keras.Model(inputs, x)
    image = np.random.default_rng(1).integers(0, 256, (2, 5, 7, 3)).astype("float32")
    expected = pretrained.application(m).preprocess_input(image.copy())
    np.testing.assert_allclose(np.asarray(model.predict_on_batch(image)), expected, rtol=1e-4, atol=1e-3)


def tiny_cnn(units: int = 3):
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3), name="input")
    x = keras.layers.Rescaling(1 / 255, name="rescale")(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(units, activation="softmax" if units > 1 else "sigmoid", name="output")(x)
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize("units", [3, 1])
def test_gradcam_shape_and_range(units):
    from core.gradcam import gradcam, last_conv_layer

    model = tiny_cnn(units)
    batch = np.random.default_rng(2).integers(0, 256, (1, 16, 16, 3)).astype("float32")
    assert last_conv_layer(model) == "conv"
    heat, explained = gradcam(model, batch)
    assert heat.shape == (14, 14) and heat.dtype == np.float32
    assert float(heat.min()) >= 0.0 and float(heat.max()) <= 1.0
    assert explained in range(max(units, 2))
    overlay = images.heat_overlay(batch[0].astype("uint8"), heat)
    assert overlay.shape == (16, 16, 3) and overlay.dtype == np.uint8


def test_gradcam_needs_a_convolution():
    import keras

    from core.gradcam import gradcam

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))
    with pytest.raises(ValueError):
        gradcam(model, np.zeros((1, 4), "float32"))


def saved(model, tmp_path, name="model.keras") -> bytes:
    path = tmp_path / name
    model.save(path)
    return path.read_bytes()


def test_an_uploaded_model_classifies_and_explains(tmp_path):
    own = own_models.from_upload(saved(tiny_cnn(), tmp_path), "my model.keras")
    assert (own.height, own.width, own.channels, own.flat) == (16, 16, 3, False)
    prediction, seen = own.classify(picture(), preprocess="none", top=2)
    assert seen.shape == (16, 16, 3) and len(prediction.top) == 2
    assert own.heatmap(prediction.input, prediction.top[0][2]).shape == (14, 14)


def test_a_lambda_layer_is_refused_by_safe_mode(tmp_path):
    import keras

    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Lambda(lambda t: t * 2.0)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(x)))
    for name in ("lambda.keras", "lambda.h5"):
        with pytest.raises(own_models.ModelRefused) as info:
            own_models.from_upload(saved(model, tmp_path, name), name)
        assert info.value.reason == "lambda", info.value


def test_unknown_custom_objects_are_refused(tmp_path):
    import keras

    @keras.saving.register_keras_serializable(package="elsewhere")
    class Doubler(keras.layers.Layer):
        def call(self, x):
            return x * 2.0

    inputs = keras.Input((16, 16, 3))
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(Doubler()(inputs))))
    data = saved(model, tmp_path, "custom.keras")
    keras.saving.get_custom_objects().pop("elsewhere>Doubler", None)  # the app does not know this class
    with pytest.raises(own_models.ModelRefused) as info:
        own_models.from_upload(data, "custom.keras")
    assert info.value.reason == "custom_object", info.value


def test_models_that_do_not_take_pictures_are_refused(tmp_path):
    import keras

    inputs = keras.Input((5,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
    with pytest.raises(own_models.ModelRefused) as info:
        own_models.from_upload(saved(model, tmp_path), "features.keras")
    assert info.value.reason == "input_shape"


def test_a_flattened_mnist_mlp_is_fed_a_flattened_grayscale_picture(tmp_path):
    import keras

    inputs = keras.Input((784,))
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(inputs))
    own = own_models.from_upload(saved(model, tmp_path), "mlp.keras")
    assert (own.height, own.width, own.channels, own.flat) == (28, 28, 1, True)
    batch, seen = own.prepare(picture(), invert=True, preprocess="unit")
    assert batch.shape == (1, 784) and float(batch.max()) <= 1.0 and seen.shape == (28, 28, 1)


@pytest.mark.parametrize(
    "data, name, reason",
    [
        (b"", "empty.keras", "not_a_model"),
        (b"hello", "notes.txt", "not_a_model"),
        (b"not a zip", "broken.keras", "unreadable"),
    ],
)
def test_bad_model_files_get_a_reason(data, name, reason):
    with pytest.raises(own_models.ModelRefused) as info:
        own_models.from_upload(data, name)
    assert info.value.reason == reason


def test_oversized_model_files_are_refused_before_reading(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_MAX_UPLOAD_MB", "1")
    with pytest.raises(own_models.ModelRefused) as info:
        own_models.from_upload(b"0" * 2_000_000, "big.keras")
    assert info.value.reason == "too_big"


def test_uploaded_model_files_never_outlive_loading(tmp_path):
    from core import settings

    before = set(settings.temp_dir().iterdir())
    own_models.from_upload(saved(tiny_cnn(), tmp_path), "../../escape.keras")
    assert set(settings.temp_dir().iterdir()) == before


def test_the_code_is_plain_keras():
    code = pretrained.code(pretrained.ZOO["mobilenet_0.75"], top=3)
    assert 'mobilenet.MobileNet(alpha=0.75, weights="imagenet")' in code and "predict_on_batch" in code
    compile(code, "code", "exec")


def test_transfer_spec_round_trips_and_validates():
    from core.spec import ExperimentSpec, SpecError

    spec = ExperimentSpec.default_for("folder")
    spec.transfer = TransferSpec(base="vgg16", mode="finetune", frozen=15, preprocess="rescale")
    assert ExperimentSpec.from_json(spec.to_json()) == spec
    raw = spec.to_dict()
    raw["transfer"]["mode"] = "melt"
    with pytest.raises(SpecError):
        ExperimentSpec.from_dict(raw)

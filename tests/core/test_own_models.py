"""Uploaded models as learners bring them: real files saved by Keras, every common way of building one.

Each model is saved with `model.save(...)` (.keras and legacy .h5), read back through
`own_models.from_upload` as the Classify page does, classified, and explained with Grad-CAM.
"""

import numpy as np
import pytest
from PIL import Image

from core import own_models, pretrained
from core.gradcam import gradcam, has_conv, last_conv_layer

SIDE = 24


def picture(size=(50, 40)) -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def upload(model, tmp_path, suffix: str, name: str | None = None) -> own_models.OwnModel:
    path = tmp_path / f"model{suffix}"
    model.save(path)
    return own_models.from_upload(path.read_bytes(), name or f"learner{suffix}")


def layers():
    import keras

    keras.utils.set_random_seed(1)
    return keras, keras.layers


def sequential_cnn(with_input: bool, classes: int = 4):
    keras, L = layers()
    body = [
        L.Conv2D(6, 3, activation="relu", name="conv_a"),
        L.MaxPooling2D(),
        L.Conv2D(8, 3, activation="relu", name="conv_b"),
        L.Flatten(),
        L.Dense(classes, activation="softmax"),
    ]
    if with_input:
        return keras.Sequential([keras.Input((SIDE, SIDE, 3)), *body])
    model = keras.Sequential(body)  # the shape comes from a first call, as `fit` would give it
    model(np.zeros((1, SIDE, SIDE, 3), "float32"))
    return model


def sequential_mlp():
    keras, L = layers()
    return keras.Sequential(
        [keras.Input((28, 28, 1)), L.Flatten(), L.Dense(16, activation="relu"), L.Dense(10, activation="softmax")]
    )


def functional_cnn():
    keras, L = layers()
    inputs = keras.Input((SIDE, SIDE, 3))
    x = L.Conv2D(6, 3, activation="relu", name="conv")(inputs)
    skip = L.Conv2D(6, 1, name="skip")(inputs)
    x = L.Add()([L.Cropping2D(1)(skip), x])  # a branch: not a plain chain
    return keras.Model(inputs, L.Dense(3, activation="softmax")(L.GlobalAveragePooling2D()(x)))


def nested_spatial_base():
    """A functional model around a Sequential base whose output is still a feature map."""
    keras, L = layers()
    base = keras.Sequential([keras.Input((SIDE, SIDE, 3)), L.Conv2D(6, 3, activation="relu"), L.Conv2D(6, 3)], name="base")
    inputs = keras.Input((SIDE, SIDE, 3))
    return keras.Model(inputs, L.Dense(3, activation="softmax")(L.GlobalAveragePooling2D()(base(inputs))))


def nested_pooled_base(outer: str):
    """A base that pools inside (as `pooling="avg"` does), under a Sequential or functional head."""
    keras, L = layers()
    base = keras.Sequential(
        [keras.Input((SIDE, SIDE, 3)), L.Rescaling(1 / 255), L.Conv2D(6, 3, activation="relu"), L.GlobalAveragePooling2D()],
        name="pooled_base",
    )
    if outer == "sequential":
        return keras.Sequential([keras.Input((SIDE, SIDE, 3)), base, L.Dense(5, activation="softmax")])
    inputs = keras.Input((SIDE, SIDE, 3))
    return keras.Model(inputs, L.Dense(5)(base(inputs)))  # logits: no softmax


CNNS = {
    "sequential_with_input": lambda: sequential_cnn(True),
    "sequential_without_input": lambda: sequential_cnn(False),
    "functional": functional_cnn,
    "nested_spatial": nested_spatial_base,
    "nested_pooled_in_sequential": lambda: nested_pooled_base("sequential"),
    "nested_pooled_in_functional": lambda: nested_pooled_base("functional"),
}


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("kind", list(CNNS))
def test_every_kind_of_cnn_classifies_with_gradcam(tmp_path, kind, suffix):
    own = upload(CNNS[kind](), tmp_path, suffix)
    assert (own.height, own.width, own.channels, own.flat) == (SIDE, SIDE, 3, False)
    prediction, seen = own.classify(picture(), top=3)
    assert seen.shape == (SIDE, SIDE, 3) and len(prediction.top) == 3
    probs = [p for _, p, _ in prediction.top]
    assert probs == sorted(probs, reverse=True) and probs[-1] >= 0 and probs[0] <= 1
    heat = own.heatmap(prediction.input, prediction.top[0][2])
    assert heat.ndim == 2 and min(heat.shape) > 1 and heat.dtype == np.float32
    assert float(heat.min()) >= 0 and float(heat.max()) <= 1
    assert own.heatmap(prediction.input, prediction.top[1][2]).shape == heat.shape  # the probe is reused


def test_the_sequential_replay_gives_the_models_own_scores(tmp_path):
    from core.gradcam import probe

    own = upload(sequential_cnn(False), tmp_path, ".keras")
    batch, _ = own.prepare(picture())
    features, scores = probe(own.model)(batch)
    np.testing.assert_allclose(np.asarray(scores), own.model.predict_on_batch(batch), rtol=1e-5, atol=1e-6)
    assert tuple(features.shape)[1:] == tuple(own.model.get_layer("conv_b").output.shape)[1:]


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_sequential_mlp_classifies_and_gradcam_says_it_needs_a_convolution(tmp_path, suffix):
    own = upload(sequential_mlp(), tmp_path, suffix)
    assert (own.height, own.width, own.channels) == (28, 28, 1)
    prediction, _ = own.classify(picture(), invert=True, top=5)
    assert len(prediction.top) == 5
    assert last_conv_layer(own.model) is None and not has_conv(own.model)
    with pytest.raises(ValueError, match="no convolutional layer"):
        own.heatmap(prediction.input, prediction.top[0][2])


def test_a_spatial_input_alone_is_not_a_convolution():
    keras, L = layers()
    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, L.Dense(2, activation="softmax")(L.Flatten()(L.Rescaling(1 / 255)(inputs))))
    assert last_conv_layer(model) is None
    with pytest.raises(ValueError):
        gradcam(model, np.zeros((1, 8, 8, 1), "float32"))


def test_a_thousand_class_upload_shows_imagenet_names(tmp_path):
    keras, L = layers()
    model = keras.Sequential(
        [keras.Input((SIDE, SIDE, 3)), L.Conv2D(4, 3), L.GlobalAveragePooling2D(), L.Dense(1000, activation="softmax")]
    )
    own = upload(model, tmp_path, ".h5")
    names = {name for _, name in pretrained.class_index().values()}
    assert own.class_names[954] == "banana" and len(own.class_names) == 1000
    prediction, _ = own.classify(picture(), top=5)
    assert all(label in names for label, _, _ in prediction.top)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_model_with_two_outputs_is_refused_at_upload(tmp_path, suffix):
    keras, L = layers()
    inputs = keras.Input((SIDE, SIDE, 3))
    x = L.Flatten()(inputs)
    model = keras.Model(inputs, [L.Dense(10, activation="softmax")(x), L.Dense(1, activation="sigmoid")(x)])
    with pytest.raises(own_models.ModelRefused) as info:
        upload(model, tmp_path, suffix)
    assert info.value.reason == "outputs" and "2 outputs" in str(info.value)
    assert info.value.msg.render("ja").startswith("このモデルには出力が 2 個")


def test_a_refusal_names_the_upload_never_the_temporary_file(tmp_path):
    from tests.hardening import corpus

    for data in (corpus.model_h5_weights_only(), corpus.good_h5()[:3000], corpus.model_truncated()):
        with pytest.raises(own_models.ModelRefused) as info:
            own_models.from_upload(data, "folder/my [model].h5" if data[:4] != b"PK\x03\x04" else "my [model].keras")
        for lang in ("en", "ja"):
            text = info.value.msg.render(lang)
            assert "upload-" not in text and "tmp" not in text, text
    with pytest.raises(own_models.ModelRefused) as info:
        own_models.from_upload(corpus.model_h5_weights_only(), "weights\nonly.h5")
    assert "in the file at weights only.h5" in str(info.value)


PIXELS = np.array([[[[0.0, 127.5, 255.0]]]], "float32")  # one RGB pixel


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("unit", [0.0, 0.5, 1.0]),
        ("tf", [-1.0, 0.0, 1.0]),
        ("caffe", [255.0 - 103.939, 127.5 - 116.779, 0.0 - 123.68]),  # BGR order, minus the mean
        ("torch", [(0 - 0.485) / 0.229, (0.5 - 0.456) / 0.224, (1 - 0.406) / 0.225]),
        ("none", [0.0, 127.5, 255.0]),
    ],
)
def test_preprocessing_modes(mode, expected):
    np.testing.assert_allclose(own_models.preprocess_pixels(PIXELS, mode)[0, 0, 0], expected, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("mode", ["tf", "caffe", "torch"])
def test_preprocessing_matches_keras_preprocess_input(mode):
    from keras.applications import imagenet_utils

    x = np.random.default_rng(3).integers(0, 256, (2, 4, 5, 3)).astype("float32")
    expected = imagenet_utils.preprocess_input(x.copy(), mode=mode)
    np.testing.assert_allclose(own_models.preprocess_pixels(x, mode), expected, rtol=1e-5, atol=1e-3)


def test_unknown_preprocessing_is_an_error():
    with pytest.raises(ValueError, match="unknown preprocessing"):
        own_models.preprocess_pixels(PIXELS, "divide")


def test_the_preprocessing_choice_reaches_the_model(tmp_path):
    own = upload(sequential_cnn(True), tmp_path, ".keras")
    assert own.default_preprocess == "unit"
    batches = {mode: own.prepare(picture(), preprocess=mode)[0] for mode in own_models.PREPROCESSING}
    assert float(batches["unit"].max()) <= 1.0 and float(batches["tf"].min()) >= -1.0 and float(batches["none"].max()) > 1.0
    assert float(batches["caffe"].min()) < 0 and batches["caffe"].dtype == np.float32


def test_a_model_that_rescales_inside_gets_raw_pixels_by_default(tmp_path):
    own = upload(nested_pooled_base("sequential"), tmp_path, ".keras")
    assert own.default_preprocess == "none"
    batch, _ = own.prepare(picture())
    assert float(batch.max()) > 1.0


def test_logits_become_probabilities():
    probs = own_models.as_probabilities(np.array([2.0, -1.0, 0.5]))
    assert probs.sum() == pytest.approx(1.0) and probs.argmax() == 0
    assert own_models.as_probabilities(np.array([0.8])).tolist() == pytest.approx([0.2, 0.8])
    assert own_models.as_probabilities(np.array([3.0]))[1] == pytest.approx(1 / (1 + np.exp(-3.0)))
    assert own_models.as_probabilities(np.array([0.1, 0.7, 0.2])).tolist() == pytest.approx([0.1, 0.7, 0.2])

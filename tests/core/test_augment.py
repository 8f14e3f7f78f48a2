"""ImageDataGenerator in the studio and in training: same settings, same seed, same images."""

import keras
import numpy as np
import pytest

from core import augment, datasets, demo_folders
from core.pipeline import first_training_batch, train, training_input
from core.spec import AugmentSpec, DataSpec, ExperimentSpec, LayerSpec
from core.status import Status

IMAGE = demo_folders.preview()[0]
TUTORIAL = AugmentSpec(width_shift_range=0.3, rotation_range=30, zoom_range=0.3, horizontal_flip=True, vertical_flip=True)


def test_the_grid_repeats_for_a_seed_and_changes_with_the_seed():
    first = augment.variants(IMAGE, TUTORIAL, 6, seed=1)
    assert first.shape == (6, *IMAGE.shape) and first.dtype == np.uint8
    np.testing.assert_array_equal(first, augment.variants(IMAGE, TUTORIAL, 6, seed=1))
    assert not np.array_equal(first, augment.variants(IMAGE, TUTORIAL, 6, seed=2))
    assert len({v.tobytes() for v in first}) == 6  # six different variants


@pytest.mark.parametrize(
    "change",
    [
        dict(rotation_range=45),
        dict(width_shift_range=0.4),
        dict(height_shift_range=0.4),
        dict(shear_range=40),
        dict(zoom_range=0.5),
        dict(channel_shift_range=80),
        dict(brightness_min=0.3, brightness_max=1.8),
        dict(horizontal_flip=True),
        dict(vertical_flip=True),
    ],
)
def test_each_control_changes_the_grid(change):
    plain = augment.variants(IMAGE, AugmentSpec(), 4, seed=3)
    np.testing.assert_array_equal(plain, np.stack([IMAGE] * 4))  # all off: the picture itself
    assert not np.array_equal(plain, augment.variants(IMAGE, AugmentSpec(**change), 4, seed=3))


def test_fill_mode_and_cval_decide_the_uncovered_corners():
    shifted = dict(width_shift_range=0.5, height_shift_range=0.5)
    white = augment.variants(IMAGE, AugmentSpec(fill_mode="constant", cval=255, **shifted), 4, seed=5)
    reflect = augment.variants(IMAGE, AugmentSpec(fill_mode="reflect", **shifted), 4, seed=5)
    assert (white == 255).all(axis=-1).sum() > (reflect == 255).all(axis=-1).sum()


def test_generator_arguments_and_the_code_match_the_settings():
    spec = AugmentSpec(rotation_range=30, brightness_min=0.8, brightness_max=1.2, fill_mode="constant", cval=10, rescale=1 / 255)
    assert augment.generator_kwargs(spec) == {
        "rotation_range": 30,
        "brightness_range": (0.8, 1.2),
        "fill_mode": "constant",
        "cval": 10,
        "rescale": 1 / 255,
    }
    assert "rescale" not in augment.generator_kwargs(spec, for_training=True)  # the model rescales itself
    code = augment.code(spec)
    assert "tf.keras.preprocessing.image.ImageDataGenerator(" in code and "rotation_range=30" in code
    namespace = {}
    exec(code.split("batches =")[0], namespace)  # the snippet runs
    assert namespace["datagen"].rotation_range == 30


def test_normalisation_on_a_batch():
    batch = np.stack(demo_folders.preview()).astype("float32")
    out, stats = augment.normalise_batch(batch, AugmentSpec(samplewise_center=True, samplewise_std_normalization=True))
    assert abs(stats["mean_after"]) < 1e-3 and abs(stats["std_after"] - 1) < 1e-3
    assert np.allclose(out.reshape(len(out), -1).mean(axis=1), 0, atol=1e-3)
    _, featurewise = augment.normalise_batch(batch, AugmentSpec(featurewise_center=True), fit_on=batch)
    assert abs(featurewise["mean_after"]) < 1e-2 and featurewise["mean_before"] > 50


def test_batches_are_deterministic_even_with_worker_threads():
    data = datasets.load(DataSpec(name="folder"))
    x, y = data.x_train[:64], data.y_train[:64]
    one = augment.flow(x, y, TUTORIAL, 16, seed=7, workers=1)
    two = augment.flow(x, y, TUTORIAL, 16, seed=7, workers=4)
    for i in range(len(one)):
        np.testing.assert_array_equal(one[i][0], two[i][0])
    one.on_epoch_end()
    assert not np.array_equal(one[0][0], two[0][0])  # a new epoch: new order and new transforms


def test_the_preview_shows_exactly_the_batches_fit_consumes():
    spec = ExperimentSpec.default_for("folder")
    spec.layers = [LayerSpec.make("Flatten", name="flatten_1")]
    spec.augment = AugmentSpec(
        enabled=True, **{k: getattr(TUTORIAL, k) for k in ("width_shift_range", "rotation_range", "zoom_range")}
    )
    spec.fit.batch_size = 32
    data = datasets.load(spec.data)
    from core.builder import build_model

    built = build_model(spec, data)
    train_input = training_input(spec, data, built.plan)
    assert train_input.augmented
    batches = train_input.args[0]
    seen = {}
    original = type(batches).__getitem__

    def recording(self, idx):
        out = original(self, idx)
        if self.epoch == 0:
            seen[idx] = out[0]
        return out

    type(batches).__getitem__ = recording
    try:
        built.model.fit(*train_input.args, epochs=1, verbose=0, **train_input.kwargs)
    finally:
        type(batches).__getitem__ = original
    preview, labels, names = first_training_batch(spec)
    np.testing.assert_array_equal(seen[0], preview)
    assert names == ("kinoko", "takenoko") and len(labels) == 32


def test_training_with_augmentation_runs_through_the_engine():
    spec = ExperimentSpec.default_for("folder")
    spec.layers = [LayerSpec.make("Conv2D", filters=4, strides=2), LayerSpec.make("GlobalAveragePooling2D")]
    spec.ensure_layer_names()
    spec.augment.enabled = True
    spec.fit.epochs, spec.fit.batch_size = 2, 32
    spec.data.validation = "split"
    outcome = train(spec, owner="aug")
    assert outcome.status == Status.FINISHED and len(outcome.history["loss"]) == 2 and "val_loss" in outcome.history


def test_no_augmentation_for_tables_or_when_everything_is_off():
    spec = ExperimentSpec.default_for("iris")
    spec.augment = AugmentSpec(enabled=True, rotation_range=30)
    data = datasets.load(spec.data)
    from core.model_rules import plan_loss

    assert not training_input(spec, data, plan_loss(data.task, data.n_classes)).augmented
    assert first_training_batch(ExperimentSpec.default_for("folder")) is None  # not enabled
    assert augment.is_identity(AugmentSpec(rescale=0.5))


def test_validation_split_is_the_same_with_and_without_augmentation():
    spec = ExperimentSpec.default_for("folder")
    spec.data.validation, spec.data.validation_split = "split", 0.25
    data = datasets.load(spec.data)
    from core.model_rules import plan_loss

    plan = plan_loss(data.task, data.n_classes)
    plain = training_input(spec, data, plan)
    spec.augment.enabled = True
    augmented = training_input(spec, data, plan)
    np.testing.assert_array_equal(plain.kwargs["validation_data"][0], augmented.kwargs["validation_data"][0])
    assert len(plain.args[0]) == int(np.floor(len(data.x_train) * 0.75)) == len(augmented.args[0].x)
    assert isinstance(augmented.args[0], keras.utils.PyDataset)

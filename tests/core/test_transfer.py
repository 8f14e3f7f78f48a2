"""Transfer learning: a pretrained base under the layer stack, in both of the tutorial's ways."""

import keras
import numpy as np
import pytest

from core import own_models, pipeline, recipes, runs, summary, transfer
from core.recorder import MemoryRecorder
from core.spec import DataSpec, ExperimentSpec, TransferSpec
from core.status import Status
from tests.core import fabricate, inline


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("zoo")
    fabricate.zoo_weights(root, "mobilenet_0.25", include_top=False)
    fabricate.zoo_weights(root, "mobilenet_0.75", include_top=False)
    mp = pytest.MonkeyPatch()
    mp.setenv("PLAYGROUND_DATA_DIR", str(root))
    yield root
    mp.undo()
    transfer.clear_features()


def spec_for(mode: str, dataset: str = "digits", frozen: int = 15, **data) -> ExperimentSpec:
    spec = ExperimentSpec.default_for(dataset)
    spec.data = DataSpec(name=dataset, **data)
    spec.layers = transfer.head_layers("gap", 16, 0.2)
    spec.transfer = TransferSpec(base="mobilenet_0.25", mode=mode, frozen=frozen)
    spec.fit.epochs, spec.fit.batch_size = 1, 64
    spec.ensure_layer_names()
    return spec


def run(spec):
    outcome = pipeline.train(spec, owner="transfer-test")
    return outcome


def test_features_mode_trains_only_the_head_on_cached_features(data_dir):
    transfer._FEATURES.clear()  # another test of this process may have computed these features (other weights)
    spec = spec_for("features")
    described = summary.summarize(spec)
    assert described.rows[0].output_shape == (None, 1, 1, 256)  # 8x8 digits -> 32x32 -> MobileNet 0.25's last map
    assert described.total_params == described.trainable_params  # only the head
    first = run(spec)
    assert first.status == Status.FINISHED, first.message
    assert "features" in first.timings and first.model.input_shape == (None, 1, 1, 256)
    again = run(spec)  # the next run of the head reuses the features
    assert again.status == Status.FINISHED and again.timings["features"] < first.timings["features"]
    assert first.evaluation.images  # the mistakes are shown with the pictures, not the features


def test_finetune_freezes_the_first_layers_and_counts_trainable_parameters(data_dir):
    counts = {}
    for frozen in (0, 40, 1000):
        s = summary.summarize(spec_for("finetune", frozen=frozen))
        counts[frozen] = (s.total_params, s.trainable_params)
        names = [r.name for r in s.rows]
        assert names[:4] == ["input", "to_rgb", "resize", "preprocess"] and "base" in names
    assert counts[0][0] == counts[40][0] == counts[1000][0]
    assert counts[0][1] > counts[40][1] > counts[1000][1]  # more frozen, fewer trainable
    assert transfer.base_layer_count(TransferSpec(base="mobilenet_0.25")) == 86


def test_a_finetuned_run_is_saved_and_loads_safely_for_classifying(data_dir, tmp_path):
    spec = spec_for("finetune", frozen=80)
    spec.data.train_size, spec.data.test_size = 64, 32
    with inline.private_home(tmp_path):
        recorded = inline.record(spec, "transfer-test")
        assert recorded.status == Status.FINISHED, recorded.message
        run_record = runs.store().get("transfer-test", recorded.id)
        own = own_models.from_run(run_record, "transfer-test")
    assert (own.height, own.width, own.channels) == (8, 8, 1) and len(own.class_names) == 10


def test_stop_while_computing_features(data_dir):
    spec = spec_for("features")
    spec.data.test_fraction = 0.5
    transfer.clear_features()
    recorder = MemoryRecorder(1)
    recorder.stop()  # Stop before the base has seen the pictures
    outcome = pipeline.run(spec, "stopper", recorder)
    assert outcome.status == Status.STOPPED and outcome.message.key == "job.stopped"


def test_transfer_needs_pictures(data_dir):
    spec = spec_for("features", dataset="iris")
    with pytest.raises(transfer.TransferError):
        summary.summarize(spec)


def test_caffe_preprocessing_survives_saving(data_dir, tmp_path):
    """VGG-style preprocessing is built from layers (no Lambda), so the model reloads in safe mode."""
    inputs = keras.Input((8, 8, 3))
    from core.layer_wiring import Graph
    from core.pretrained import ZOO

    g = Graph(keras, inputs)
    x = inputs
    for layer in transfer._preprocess_layers(keras, ZOO["vgg16"], "model"):
        x = g.add(layer, x)
        if layer.name == "to_bgr":
            layer.set_weights([np.eye(3, dtype="float32")[::-1].reshape(1, 1, 3, 3)])
    model = keras.Model(inputs, x)
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True, compile=False)
    image = np.full((1, 8, 8, 3), [10.0, 20.0, 30.0], "float32")
    np.testing.assert_allclose(
        np.asarray(again.predict_on_batch(image))[0, 0, 0], [30 - 103.939, 20 - 116.779, 10 - 123.68], atol=1e-3
    )


def test_transfer_recipes_fall_back_to_the_weights_that_are_here(data_dir):
    spec = recipes.get("transfer-finetune").build_spec()
    assert spec.transfer.base == "mobilenet_0.75" and spec.transfer.frozen == 80 and spec.augment.enabled
    assert recipes.get("transfer-features").spec.transfer.base == "vgg16"  # the tutorial's own choice stays the default


def test_head_reads_back():
    layers = transfer.head_layers("flatten", 256, 0.5)
    assert transfer.read_head(layers) == ("flatten", 256, 0.5)
    assert transfer.read_head(layers[:2]) == ("flatten", 256, 0.0)
    assert transfer.read_head(layers[::-1]) is None

"""One job from start to end, in this process: what it records, how it ends, what it keeps."""

import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from core import pipeline
from core.evaluation import DecisionMap, Evaluation
from core.recorder import MemoryRecorder
from core.spec import ExperimentSpec, LayerSpec
from core.status import Phase, Status


def small_spec(dataset="digits", epochs=2, **fit):
    spec = ExperimentSpec.default_for(dataset)
    spec.fit.epochs = epochs
    spec.fit.batch_size = fit.pop("batch_size", 64)
    for key, value in fit.items():
        setattr(spec.fit, key, value)
    return spec


def run(spec, owner="ann"):
    recorder = MemoryRecorder(spec.fit.epochs)
    return pipeline.run(spec, owner, recorder), recorder


def test_a_job_trains_evaluates_and_records_every_epoch():
    outcome, rec = run(small_spec(epochs=3))
    assert outcome.status == Status.FINISHED and rec.phase == Phase.EVALUATING
    assert len(rec.history["val_accuracy"]) == 3 and len(rec.history["seconds"]) == 3
    assert len(rec.weights) == 4  # before training, then after every epoch
    ev = rec.evaluation
    assert ev.test_accuracy > 0.5 and ev.confusion.sum() == ev.n_test
    assert ev.class_names == tuple(str(i) for i in range(10))
    assert set(outcome.timings) == {"load", "build", "setup", "fit", "evaluate"}
    assert outcome.n_params == outcome.model.count_params()
    assert rec.inside is None  # an MLP has no feature maps to show


def test_an_image_cnn_keeps_what_its_layers_see():
    spec = small_spec(epochs=1)
    spec.layers = [LayerSpec.make("Conv2D", filters=4), LayerSpec.make("MaxPooling2D"), LayerSpec.make("Flatten")]
    spec.ensure_layer_names()
    _, rec = run(spec)
    from core.network_views import InsideViews

    seen = InsideViews.from_blob(rec.inside.to_blob())
    assert seen.images.shape == (8, 8, 8, 1) and [name for name, _ in seen.maps] == ["conv2d_1", "max_pooling2d_1"]
    assert seen.maps[0][1].shape == (8, 6, 6, 4) and seen.filters[0] == "conv2d_1"


def test_the_evaluation_travels_with_the_mistakes_pictures():
    outcome, rec = run(small_spec(epochs=1))
    ev = Evaluation.from_blob(rec.evaluation.to_blob())
    assert ev.n_wrong == rec.evaluation.n_wrong and len(ev.mistakes) == min(ev.n_wrong, 32)
    assert ev.images and ev.samples.shape[1:] == (8, 8, 1) and ev.samples.dtype == np.uint8
    index, true, predicted = ev.mistakes[0]
    assert true != predicted and (ev.samples[0] == outcome.data.x_test[index]).all()


def test_folder_data_keeps_its_own_class_names():
    spec = ExperimentSpec.default_for("folder")
    spec.data.image_height, spec.data.image_width = 16, 16
    spec.fit.epochs = 1
    outcome, rec = run(spec)
    assert outcome.status == Status.FINISHED
    assert rec.evaluation.class_names == ("kinoko", "takenoko")
    assert pipeline.metrics_of(outcome)["class_names"] == ["kinoko", "takenoko"]


def test_two_dimensional_jobs_draw_a_decision_map_every_epoch():
    outcome, rec = run(small_spec("moons", epochs=2, batch_size=32))
    found = DecisionMap.from_blob(rec.decision_map.to_blob())
    assert found.epoch == 2 and found.z.shape == (len(found.ys), len(found.xs))
    assert found.z.min() >= 0.0 and found.z.max() <= 1.0 and found.n_classes == 2 and len(found.x) == len(found.y) > 0


def test_validation_split_instead_of_the_test_set():
    spec = small_spec(epochs=1)
    spec.data.validation, spec.data.validation_split = "split", 0.25
    outcome, rec = run(spec)
    assert outcome.status == Status.FINISHED and "val_loss" in rec.history


def test_early_stopping_says_so():
    spec = small_spec(epochs=200, early_stopping=True, patience=1, batch_size=16)
    spec.compile.learning_rate = 0.05  # large steps: the validation loss soon stops improving
    spec.data.validation, spec.data.train_size = "split", 300
    outcome, rec = run(spec)
    assert outcome.status == Status.FINISHED and len(rec.history["loss"]) < 200
    assert outcome.message.key == "job.early_stopped_restored"


def test_stop_ends_a_running_job_within_a_batch_and_keeps_its_weights():
    spec = small_spec(epochs=500, batch_size=4)
    recorder = MemoryRecorder(500)
    result = {}
    thread = threading.Thread(target=lambda: result.update(outcome=pipeline.run(spec, "ann", recorder)))
    thread.start()
    deadline = time.monotonic() + 120
    while not recorder.history.get("loss") and time.monotonic() < deadline:
        time.sleep(0.05)
    asked = time.monotonic()
    recorder.stop()
    thread.join(60)
    outcome = result["outcome"]
    assert outcome.status == Status.STOPPED and outcome.message.key == "job.stopped"
    assert time.monotonic() - asked < 30
    assert recorder.evaluation is not None  # the stopped model is still evaluated
    assert outcome.model.get_layer("dense_1").get_weights()[0].any()


def test_a_learning_rate_that_explodes_ends_with_a_plain_explanation():
    spec = small_spec(epochs=5)
    spec.set_optimizer("sgd")
    spec.compile.learning_rate = 1000.0
    outcome, rec = run(spec)
    assert outcome.status == Status.DIVERGED and outcome.message.key == "job.diverged"
    assert "1000" in str(outcome.message) and "try 100" in str(outcome.message)
    assert rec.evaluation is None  # nothing worth evaluating


def test_a_missing_dataset_fails_with_the_place_to_put_it():
    outcome, _ = run(ExperimentSpec.default_for("mnist"))
    assert outcome.status == Status.FAILED and outcome.message.key == "errors.dataset_unavailable"


def test_a_stack_that_cannot_be_built_fails_naming_the_layer():
    spec = small_spec()
    spec.layers.append(LayerSpec.make("Conv2D", name="late_conv"))
    outcome, _ = run(spec)
    assert outcome.status == Status.FAILED and "late_conv" in str(outcome.message)


def test_two_jobs_never_share_a_model():
    a, b = pipeline.train(small_spec(epochs=1)), pipeline.train(small_spec(epochs=1))
    assert a.model is not b.model and a.model.get_layer("dense_1") is not b.model.get_layer("dense_1")
    assert [layer.name for layer in a.model.layers] == ["input", "rescale", "flatten_1", "dense_1", "dropout_1", "output"]


def test_divergence_bound_grows_with_the_number_of_classes_or_the_targets_size():
    classes = lambda k: SimpleNamespace(regression=False, n_classes=k)  # noqa: E731
    assert pipeline.divergence_bound(classes(2)) == 1000.0
    assert pipeline.divergence_bound(classes(10)) == pytest.approx(1000 * np.log(10))
    mpg = SimpleNamespace(regression=True, y_train=np.array([20.0, 30.0]))  # predicting 0 costs mean(y^2) = 650
    assert pipeline.divergence_bound(mpg) == pytest.approx(650_000)


def test_the_quiet_input_trains_exactly_as_fit_on_arrays():
    """Same shuffles, losses and weights as a plain `fit` on the arrays (without the autotuner it returns at once)."""
    import keras

    from core import builder, datasets

    spec = small_spec("digits", epochs=3, batch_size=32)
    data = datasets.load(spec.data)
    results = []
    for quiet in (False, True):
        keras.utils.set_random_seed(3)
        built = builder.build_model(spec, data)
        train_input = pipeline.training_input(spec, data, built.plan)
        if quiet:
            train_input = pipeline.quiet_input(train_input)
        history = built.model.fit(*train_input.args, epochs=3, verbose=0, **train_input.kwargs).history
        results.append((history["loss"], history["val_loss"], [w.numpy() for w in built.model.weights]))
    (loss, val, weights), (quiet_loss, quiet_val, quiet_weights) = results
    assert quiet_loss == loss and quiet_val == val
    assert all(np.array_equal(a, b) for a, b in zip(weights, quiet_weights, strict=True))

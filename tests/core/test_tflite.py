"""Models that leave the browser: TensorFlow Lite gives Keras's answers, and the "use this model" snippets run."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from core import export, pipeline, snippet
from core.spec import ExperimentSpec

Interpreter = pytest.importorskip("ai_edge_litert.interpreter").Interpreter


@pytest.fixture(scope="module")
def trained():
    """The digits set's default model (8x8 pictures, Rescaling inside), trained for two epochs in this process."""
    spec = ExperimentSpec.default_for("digits")
    spec.fit.epochs = 2
    outcome = pipeline.train(spec)
    return spec, outcome


def litert_top1(content: bytes, images: np.ndarray) -> np.ndarray:
    interpreter = Interpreter(model_content=content)
    given, answer = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(given["index"], list(images.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(given["index"], images.astype("float32"))
    interpreter.invoke()
    return np.argmax(interpreter.get_tensor(answer["index"]), axis=1)


def test_litert_gives_the_same_top1_as_keras_on_the_test_images(trained):
    _, outcome = trained
    images = np.asarray(outcome.data.x_test, dtype="float32")
    keras_top1 = np.argmax(outcome.model.predict_on_batch(images), axis=1)
    content = export.tflite_bytes(outcome.model)
    assert content[4:8] == b"TFL3"  # a TensorFlow Lite flatbuffer
    assert len(images) > 300 and np.array_equal(litert_top1(content, images), keras_top1)


@pytest.mark.parametrize("suffix", [".keras", ".tflite"])
def test_the_use_this_model_snippet_predicts_a_picture_as_keras_does(trained, tmp_path, suffix):
    spec, outcome = trained
    model_file = tmp_path / f"run{suffix}"
    if suffix == ".keras":
        outcome.model.save(model_file)
    else:
        model_file.write_bytes(export.tflite_bytes(outcome.model))
    picture = outcome.data.x_test[7]
    Image.fromarray(picture[..., 0]).save(tmp_path / "picture.png")
    expected = outcome.data.class_names[int(np.argmax(outcome.model.predict_on_batch(picture[None].astype("float32"))))]
    code = snippet.use_model(spec, model_file.name, list(outcome.data.class_names))
    (tmp_path / "use_model.py").write_text(code)
    done = subprocess.run(
        [sys.executable, "use_model.py", "picture.png"], cwd=tmp_path, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1].startswith(f"{expected} ("), done.stdout


def test_a_saved_run_model_converts_from_its_file(trained, tmp_path):
    _, outcome = trained
    outcome.model.save(tmp_path / "model.keras")
    content = export.run_tflite(tmp_path / "model.keras")
    images = np.asarray(outcome.data.x_test[:50], dtype="float32")
    assert np.array_equal(litert_top1(content, images), np.argmax(outcome.model.predict_on_batch(images), axis=1))

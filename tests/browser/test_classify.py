"""The Classify page in a real browser: a zoo model on an uploaded picture, and a broken picture beside it;
the first visit with no weights and no network; plain-Keras Sequential uploads with Grad-CAM.

No real ImageNet weights are needed: a module-scoped server gets a private
`PLAYGROUND_DATA_DIR` holding random MobileNet (alpha 0.25) weights under Keras's own
file name, fabricated by tests/core/fabricate.py in a subprocess (so this test process
never imports TensorFlow). The answers are meaningless; the page's machinery is not.
Uploaded models are saved by Keras itself, in a subprocess too.

The session's server runs with PLAYGROUND_OFFLINE=1 (tests/conftest.py); one more server
runs without it, its network probe pointed at a closed loopback port: it must find out by
itself that it cannot download (a refusal in microseconds, never the real network).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import CHARTS_JS, PYTHON, ROOT, new_page, start_server

pytestmark = pytest.mark.browser

MODEL_KEY = "mobilenet_0.25"
MODEL_LABEL = "MobileNet (alpha 0.25)"
UPLOADER = "Pictures (jpg, png, webp, bmp, gif)"  # en.toml classify.images
FIRST_RESULT_TIMEOUT_MS = 120_000  # TensorFlow import + building the model + Grad-CAM's first trace, on a busy machine

FABRICATE = """
import sys
from pathlib import Path
from core import pretrained
from tests.core.fabricate import zoo_weights
path = zoo_weights(Path(sys.argv[1]), sys.argv[2], include_top=True)
pretrained.build(pretrained.get(sys.argv[2]), include_top=True, weights=path)  # Keras itself must load the file
print(path)
"""


@pytest.fixture(scope="module")
def zoo_server(tmp_path_factory):
    """A server of its own whose PLAYGROUND_DATA_DIR holds fabricated MobileNet 0.25 weights."""
    data_dir = tmp_path_factory.mktemp("zoo-data")
    python = str(PYTHON) if PYTHON.exists() else sys.executable
    made = subprocess.run(
        [python, "-c", FABRICATE, str(data_dir), MODEL_KEY],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, f"could not fabricate the weights:\n{made.stderr[-3000:]}"
    assert (data_dir / "models" / "mobilenet_2_5_224_tf.h5").is_file(), made.stdout
    # The conftest's Server copies os.environ when it starts: set the variable just for that moment.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PLAYGROUND_DATA_DIR", str(data_dir))
        server = start_server(tmp_path_factory.mktemp("streamlit-zoo"), "zoo-server")
    yield server
    server.stop()


@pytest.fixture
def zoo_page(request, browser, zoo_server):
    """A new learner on the zoo server; a failed test prints that server's log."""
    page = new_page(browser, zoo_server.url)
    yield page
    reports = (getattr(request.node, f"rep_{when}", None) for when in ("setup", "call"))
    if any(report is not None and report.failed for report in reports):
        print(f"\n----- zoo streamlit server log (tail) -----\n{zoo_server.log_tail()}")
    page.context.close()


def wait_one_top5_chart(page, timeout: float) -> None:
    """Exactly one "Top 5" chart whose one trace has 5 bars (polling: Streamlit re-mounts charts on reruns)."""
    predicate = """(charts) => {
      const top = charts.filter(c => c.title === 'Top 5');
      return top.length === 1 && top[0].traces.length === 1 && top[0].traces[0].n === 5;
    }"""
    try:
        page.wait_for_function(f"() => ({predicate})(({CHARTS_JS})())", polling=250, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - say what the page showed instead
        raise AssertionError(
            f"no single 'Top 5' chart with 5 bars within {timeout / 1000:.0f} s; charts: {page.evaluate(CHARTS_JS)}"
        ) from exc


RUNNING_JS = """() => document.querySelector(
  '[data-testid="stStatusWidgetRunningIcon"], [data-testid="stStatusWidgetRunningManIcon"]') !== null"""


def wait_idle(page, timeout: float) -> None:
    """Until the script run is over (no "running" icon in the header): the page's last elements are drawn."""
    page.wait_for_function(f"() => !({RUNNING_JS})()", polling=250, timeout=timeout)


def test_classify_an_uploaded_picture_and_survive_a_broken_one(zoo_page, tmp_path):
    page = zoo_page
    good = tmp_path / "good.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)).save(good)
    bad = tmp_path / "bad.png"
    bad.write_bytes(rng.integers(0, 256, 2048, dtype=np.uint8).tobytes())

    page.goto("/classify")
    page.get_by_role("heading", name="Classify pictures", level=1).wait_for()
    main = page.get_by_test_id("stMain")
    model_box = main.get_by_role("combobox", name="Model", exact=True)
    model_box.wait_for()
    expect(model_box).to_have_value(MODEL_LABEL)  # the default is the first model whose weights are here
    # Before any upload the page classifies the bundled sample: the model loads (TensorFlow import included).
    expect(main.get_by_text(re.compile(rf"^{re.escape(MODEL_LABEL)} ready \(loaded in"))).to_be_visible(
        timeout=FIRST_RESULT_TIMEOUT_MS
    )

    uploader = main.get_by_test_id("stFileUploader").filter(has_text=UPLOADER)
    uploader.locator("input[type=file]").set_input_files(str(good))
    captions = main.get_by_test_id("stImageCaption")
    expect(captions.filter(has_text=re.compile(r"^good\.png$"))).to_have_count(1, timeout=FIRST_RESULT_TIMEOUT_MS)
    expect(main.get_by_text("No picture yet: showing the bundled sample.", exact=False)).to_have_count(0)
    wait_one_top5_chart(page, FIRST_RESULT_TIMEOUT_MS)
    expect(captions.filter(has_text=re.compile(r"^Grad-CAM: \S"))).to_have_count(1, timeout=FIRST_RESULT_TIMEOUT_MS)
    wait_idle(page, FIRST_RESULT_TIMEOUT_MS)
    wait_one_top5_chart(page, 10_000)
    expect(page.get_by_test_id("stException")).to_have_count(0)

    # A corrupt file beside it: a plain warning naming it, and the good picture's result stays.
    uploader.locator("input[type=file]").set_input_files(str(bad))
    expect(uploader.get_by_text("bad.png")).to_be_visible()
    expect(uploader.get_by_text("good.png")).to_be_visible()  # added beside it, not instead of it
    warning = main.get_by_test_id("stAlert").filter(has_text="bad.png")
    expect(warning).to_have_count(1, timeout=60_000)
    wait_idle(page, 60_000)
    expect(warning.get_by_test_id("stAlertContentWarning").get_by_test_id("stMarkdownContainer")).to_have_text(
        re.compile(r"^bad\.png: \S")
    )  # a warning, not an error
    expect(main.get_by_test_id("stAlertContentError")).to_have_count(0)
    expect(captions.filter(has_text=re.compile(r"^good\.png$"))).to_have_count(1)
    wait_one_top5_chart(page, 60_000)
    expect(captions.filter(has_text=re.compile(r"^Grad-CAM: \S"))).to_have_count(1)
    expect(page.get_by_test_id("stException")).to_have_count(0)


# --------------------------------------------------------------------------- no weights, no network


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def detecting_server(tmp_path_factory):
    """A server without PLAYGROUND_OFFLINE whose network probe meets a closed loopback port (refused at once)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("PLAYGROUND_OFFLINE", raising=False)
        mp.delenv("PLAYGROUND_DATA_DIR", raising=False)
        mp.setenv("PLAYGROUND_PROBE_HOST", f"127.0.0.1:{closed_port()}")
        server = start_server(tmp_path_factory.mktemp("streamlit-detecting"), "detecting-server")
    yield server
    server.stop()


def keras_models_folder() -> str:
    return str(Path(os.environ["KERAS_HOME"]) / "models")


def first_visit_without_weights(page, why: str) -> None:
    """Opens Classify: a plain info box says which file goes where (and why it cannot download); no error, no bar."""
    page.goto("/classify")
    page.get_by_role("heading", name="Classify pictures", level=1).wait_for()
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("combobox", name="Model", exact=True)).to_have_value("MobileNet (alpha 0.75)")
    info = main.get_by_test_id("stAlertContentInfo").filter(has_text="mobilenet_7_5_224_tf.h5")
    expect(info).to_have_count(1, timeout=60_000)
    wait_idle(page, 60_000)
    text = info.inner_text()
    assert f"Put the file mobilenet_7_5_224_tf.h5 into the folder {keras_models_folder()} " in text, text
    assert why in text and "reload this page" in text, text
    expect(main.get_by_test_id("stAlertContentError")).to_have_count(0)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(main.get_by_test_id("stProgress")).to_have_count(0)
    expect(main.get_by_text("Something went wrong", exact=False)).to_have_count(0)
    expect(main.get_by_text("downloads on first use", exact=False)).to_have_count(0)


def test_first_visit_with_no_weights_offline_says_where_to_put_which_file(page):
    first_visit_without_weights(page, "PLAYGROUND_OFFLINE=1 is set")


def test_first_visit_with_no_weights_finds_out_by_itself_that_it_is_offline(browser, detecting_server):
    page = new_page(browser, detecting_server.url)
    try:
        first_visit_without_weights(page, "refused the connection")
    except BaseException:
        print(f"\n----- detecting server log (tail) -----\n{detecting_server.log_tail()}")
        raise
    finally:
        page.context.close()


# --------------------------------------------------------------------------- uploaded plain-Keras models

SAVE_MODELS = """
import sys
from pathlib import Path
import keras
keras.utils.set_random_seed(0)
L = keras.layers
folder = Path(sys.argv[1])
cnn = keras.Sequential([keras.Input((32, 32, 3)), L.Conv2D(8, 3, activation="relu"), L.MaxPooling2D(),
                        L.Conv2D(8, 3, activation="relu"), L.Flatten(), L.Dense(10, activation="softmax")])
cnn.save(folder / "sequential.keras")
cnn.save(folder / "sequential.h5")
import h5py
from keras.src.legacy.saving import legacy_h5_format
with h5py.File(folder / "[docs](example.com).h5", "w") as f:  # weights only: Keras cannot read it as a model
    legacy_h5_format.save_weights_to_hdf5_group(f, cnn)
"""


@pytest.fixture(scope="module")
def model_files(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    python = str(PYTHON) if PYTHON.exists() else sys.executable
    made = subprocess.run(
        [python, "-c", SAVE_MODELS, str(folder)], cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=300
    )
    assert made.returncode == 0, f"could not save the models:\n{made.stderr[-3000:]}"
    return folder


MODEL_UPLOADER = "A Keras model file (.keras or .h5)"  # en.toml classify.model_upload


def upload_model(page, path: Path) -> None:
    main = page.get_by_test_id("stMain")
    uploader = main.get_by_test_id("stFileUploader").filter(has_text=MODEL_UPLOADER)
    uploader.locator("input[type=file]").set_input_files(str(path))
    expect(uploader.get_by_role("button", name=f"Remove {path.name}", exact=True)).to_be_visible()  # long names are cut


def test_plain_keras_sequential_uploads_classify_with_gradcam(page, model_files, tmp_path):
    picture = tmp_path / "[pic](example.com).png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 48, 3), dtype=np.uint8)).save(picture)
    page.goto("/classify")
    page.get_by_role("heading", name="Classify pictures", level=1).wait_for()
    main = page.get_by_test_id("stMain")
    main.get_by_text("upload a .keras model", exact=True).click()
    expect(main.get_by_role("switch", name="Show where it looked (Grad-CAM)")).to_be_checked()
    main.get_by_test_id("stFileUploader").filter(has_text=UPLOADER).locator("input[type=file]").set_input_files(str(picture))
    captions = main.get_by_test_id("stImageCaption")
    for name in ("sequential.keras", "sequential.h5"):
        upload_model(page, model_files / name)
        expect(main.get_by_text("Input 32x32x3, 10 classes.", exact=True)).to_be_visible(timeout=FIRST_RESULT_TIMEOUT_MS)
        wait_idle(page, FIRST_RESULT_TIMEOUT_MS)
        wait_one_top5_chart(page, FIRST_RESULT_TIMEOUT_MS)
        expect(captions.filter(has_text=re.compile(r"^Grad-CAM: \S"))).to_have_count(1, timeout=FIRST_RESULT_TIMEOUT_MS)
        expect(captions.filter(has_text=re.compile(r"^\[pic\]\(example\.com\)\.png$"))).to_have_count(1)
        expect(main.locator('[data-testid="stImageCaption"] a')).to_have_count(0)  # the name is text, not a link
        expect(main.get_by_test_id("stAlertContentError")).to_have_count(0)
        expect(main.get_by_test_id("stAlertContentInfo")).to_have_count(0)  # not "Grad-CAM needs a convolutional layer"
        expect(page.get_by_test_id("stException")).to_have_count(0)
    assert main.get_by_role("radio", name="0..1 (divided by 255)").is_checked()

    # A file Keras cannot read as a model: refused in plain words, naming the upload (as text), never the temp file.
    upload_model(page, model_files / "[docs](example.com).h5")
    error = main.get_by_test_id("stAlertContentError")
    expect(error).to_have_count(1, timeout=60_000)
    wait_idle(page, 60_000)
    text = error.inner_text()
    assert "could not be read as a Keras model" in text and "[docs](example.com).h5" in text, text
    assert "upload-" not in text and "/tmp" not in text, text
    expect(error.locator("a")).to_have_count(0)
    expect(page.get_by_test_id("stException")).to_have_count(0)

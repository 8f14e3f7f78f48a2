"""The Classify page in a real browser: a zoo model on an uploaded picture, and a broken picture beside it.

No real ImageNet weights are needed: a module-scoped server gets a private
`PLAYGROUND_DATA_DIR` holding random MobileNet (alpha 0.25) weights under Keras's own
file name, fabricated by tests/core/fabricate.py in a subprocess (so this test process
never imports TensorFlow). The answers are meaningless; the page's machinery is not.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

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
    made = subprocess.run([python, "-c", FABRICATE, str(data_dir), MODEL_KEY], cwd=ROOT, env=dict(os.environ),
                          capture_output=True, text=True, timeout=300)
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
        raise AssertionError(f"no single 'Top 5' chart with 5 bars within {timeout / 1000:.0f} s; "
                             f"charts: {page.evaluate(CHARTS_JS)}") from exc


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
    if not model_box.input_value().startswith(MODEL_LABEL):  # the default is the first model whose weights are here
        model_box.click()
        page.keyboard.type(MODEL_LABEL)
        page.keyboard.press("Enter")
    expect(model_box).to_have_value(f"{MODEL_LABEL} · weights here")
    # Before any upload the page classifies the bundled sample: the model loads (TensorFlow import included).
    expect(main.get_by_text(re.compile(rf"^{re.escape(MODEL_LABEL)} ready \(loaded in"))).to_be_visible(
        timeout=FIRST_RESULT_TIMEOUT_MS)

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
    expect(warning.get_by_test_id("stAlertContentWarning").get_by_test_id("stMarkdownContainer")).to_have_text(re.compile(r"^bad\.png: \S"))  # a warning, not an error
    expect(main.get_by_test_id("stAlertContentError")).to_have_count(0)
    expect(captions.filter(has_text=re.compile(r"^good\.png$"))).to_have_count(1)
    wait_one_top5_chart(page, 60_000)
    expect(captions.filter(has_text=re.compile(r"^Grad-CAM: \S"))).to_have_count(1)
    expect(page.get_by_test_id("stException")).to_have_count(0)

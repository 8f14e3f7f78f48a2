"""The walk a learner takes, to the end: every recipe family from the Recipes page to its results, and
every export of a run opened with the real tool.

The server is a newcomer's: no `PLAYGROUND_OFFLINE`, no network (its probe meets a closed loopback
port, so it must find out by itself), its own home and training workers, and `../shared/data` as its
data folder when that folder is on this machine (CI has it). Recipes that need MNIST, Fashion-MNIST
or the MobileNet weights are skipped, with the reason, where it is absent; the bundled data walks
always. Long recipes are loaded, shortened (fewer epochs, a training subset) and trained, as a
learner in a hurry would; short ones train in one click at the tutorial's settings.
"""

from __future__ import annotations

import ast
import json
import re
import socket
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PYTHON, ROOT, App, new_page, start_server

pytestmark = pytest.mark.browser

SHARED = ROOT.parent / "shared" / "data" / "keras_home"
HAVE_DATA = (SHARED / "datasets" / "mnist.npz").is_file() and (SHARED / "models" / "mobilenet_7_5_224_tf_no_top.h5").is_file()
needs_data = pytest.mark.skipif(not HAVE_DATA, reason=f"{SHARED} (real MNIST, Fashion-MNIST, MobileNet 0.75) is not here")
RESULT_TIMEOUT_MS = 240_000
DOWNLOADS = ("History (CSV)", "History (JSON)", "Model (.keras)", "Script (.py)")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def walk_server(tmp_path_factory):
    env = {
        "PLAYGROUND_HOME": str(tmp_path_factory.mktemp("walk-home")),
        "PLAYGROUND_OFFLINE": "",
        "PLAYGROUND_PROBE_HOST": f"127.0.0.1:{closed_port()}",
        "PLAYGROUND_DATA_DIR": str(SHARED) if HAVE_DATA else "",
    }
    server = start_server(tmp_path_factory.mktemp("streamlit-walk"), "walk-server", env)
    yield server
    server.stop()


@pytest.fixture
def walker(request, browser, walk_server):
    page = new_page(browser, walk_server.url)
    yield Walker(page)
    reports = (getattr(request.node, f"rep_{when}", None) for when in ("setup", "call"))
    if any(report is not None and report.failed for report in reports):
        shots = ROOT / "test-artifacts"
        shots.mkdir(exist_ok=True)
        page.set_viewport_size({"width": 1400, "height": 3000})
        page.screenshot(path=str(shots / f"{request.node.name}.png"))  # what the learner saw
        print(f"\n----- walk server log (tail) -----\n{walk_server.log_tail()}")
    page.context.close()


class Walker(App):
    """A learner on the Recipes, Data, Train and Runs pages."""

    def recipes(self) -> None:
        self.page.goto("/recipes")
        self.page.get_by_role("heading", name="Tutorial recipes", level=1).wait_for()

    def train_recipe(self, recipe_id: str) -> None:
        """Press Train on a recipe's card: the Train page opens with the job under way."""
        self.recipes()
        self.page.locator(f".st-key-train-{recipe_id} button").click()
        self.page.get_by_role("heading", name="Train", exact=True, level=1).wait_for()

    def load_recipe(self, recipe_id: str, epochs: int, train_size: int | None = None) -> None:
        """Load a recipe, use fewer training samples (Data page) and epochs (Train page), then Train."""
        self.recipes()
        self.page.locator(f".st-key-load-{recipe_id} button").click()
        self.page.get_by_text("Loaded", exact=False).first.wait_for()
        if train_size:
            self.nav("Data")
            field = self.page.get_by_role("spinbutton", name="Training samples to use (0 = all)")
            field.fill(str(train_size))
            field.press("Enter")
            expect(field).to_have_value(str(train_size))
        self.nav("Train")
        self.set_epochs(epochs)
        self.start_training()

    def results(self, epochs: int) -> str:
        """Wait for the results of a settled run; check everything a learner expects there."""
        status = self.wait_status(r"^(Finished|Stopped|Failed|Diverged)\b", RESULT_TIMEOUT_MS)
        assert status.startswith(f"Finished · {epochs} of {epochs} epochs"), status
        main = self.main
        main.get_by_role("heading", name="Results on the test set").wait_for(timeout=60_000)
        expect(main.get_by_test_id("stMetricLabel").filter(has_text=re.compile(r"^Test accuracy$"))).to_have_count(1)
        self.wait_charts("cs => cs.some(c => c.title === 'Confusion matrix')", "a confusion matrix")
        expect(main.get_by_text(re.compile(r"^\d+ mistakes?$"))).to_have_count(1)
        for label in DOWNLOADS:
            expect(main.get_by_role("button", name=label, exact=True)).to_have_count(1)
        self.no_errors()
        return status

    def mistakes_are_pictures(self) -> None:
        captions = self.main.get_by_test_id("stImageCaption").filter(has_text=re.compile(r"^true .+ → .+$"))
        expect(captions.first).to_be_visible()

    def no_errors(self) -> None:
        page = self.page
        expect(page.get_by_test_id("stException")).to_have_count(0)
        expect(page.get_by_text("Something went wrong", exact=False)).to_have_count(0)
        expect(self.main.get_by_test_id("stAlertContentError")).to_have_count(0)


# --------------------------------------------------------------------------- the bundled data


def test_folder_mlp_in_one_click_to_its_results(walker):
    walker.train_recipe("folder-mlp")  # tutorial 000, at its own settings: 30 epochs on the kinoko/takenoko pictures
    walker.results(30)
    walker.mistakes_are_pictures()
    walker.wait_charts("cs => cs.some(c => c.title === 'Confusion matrix' && c.traces.length === 1)", "the confusion matrix")
    assert walker.page.get_by_test_id("stMain").get_by_text("kinoko", exact=False).count() > 0  # the folders' own names


def test_folder_cnn_with_augmentation(walker):
    walker.load_recipe("folder-cnn-augmented", epochs=2)
    walker.results(2)
    walker.mistakes_are_pictures()


def test_transfer_features_says_what_is_missing_or_trains(walker):
    walker.train_recipe("transfer-features")
    status = walker.wait_status(r"^(Finished|Failed)\b", RESULT_TIMEOUT_MS)
    if HAVE_DATA:  # VGG16's weights cannot be fetched here: the recipe trains on MobileNet 0.75, which is on disk
        walker.results(10)
        walker.mistakes_are_pictures()  # the pictures, not the features the head saw
        expect(walker.main.get_by_text("so this run uses MobileNet (alpha 0.75) instead", exact=False)).to_have_count(1)
    else:  # nothing to train on: the Train page says why, in plain words
        assert status.startswith("Failed"), status
        error = walker.main.get_by_test_id("stAlertContentError")
        expect(error).to_have_count(1)
        assert "mobilenet_7_5_224_tf_no_top.h5" in error.inner_text() and "cannot be downloaded now" in error.inner_text()
        expect(walker.page.get_by_text("Something went wrong", exact=False)).to_have_count(0)


def test_every_export_opens_in_the_real_tool(walker, tmp_path):
    """History (pandas), model (Keras load_model, safe mode), TensorBoard logs (EventAccumulator), script (compile)."""
    walker.page.goto("/data")
    walker.page.get_by_role("heading", name="Data", level=1).wait_for()
    walker.nav("Train")
    walker.page.get_by_text("TensorBoard logs").click()
    walker.set_epochs(3)
    walker.start_training()
    walker.results(3)
    walker.nav("Runs")
    walker.page.get_by_text("Every finished or stopped training", exact=False).wait_for()
    walker.page.locator('[data-testid="stDataFrame"] canvas').first.wait_for()
    box = walker.page.locator('[data-testid="stDataFrame"]').first.bounding_box()
    walker.page.mouse.click(box["x"] + 18, box["y"] + 50)  # the first row's checkbox
    files = {}
    for label in (*DOWNLOADS, "TensorBoard logs (zip)"):
        button = walker.main.get_by_role("button", name=label, exact=True)
        button.wait_for(timeout=60_000)
        with walker.page.expect_download() as info:
            button.click()
        path = tmp_path / info.value.suggested_filename
        info.value.save_as(path)
        files[label] = path
    check = f"""
import json, sys, zipfile, tempfile, pathlib
import pandas as pd, keras
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
csv = pd.read_csv({str(files["History (CSV)"])!r}); js = pd.read_json({str(files["History (JSON)"])!r})
assert len(csv) == len(js) == 3 and {{"loss", "val_loss", "accuracy"}} <= set(csv.columns), csv.columns
model = keras.saving.load_model({str(files["Model (.keras)"])!r}, safe_mode=True)
logs = pathlib.Path(tempfile.mkdtemp()); zipfile.ZipFile({str(files["TensorBoard logs (zip)"])!r}).extractall(logs)
events = [p for p in logs.rglob("events.out.tfevents*") if "train" in str(p)]
acc = EventAccumulator(str(events[0].parent)); acc.Reload()
print(json.dumps({{"params": model.count_params(), "tags": sorted(acc.Tags()["tensors"] + acc.Tags()["scalars"])}}))
"""
    done = subprocess.run(
        [str(PYTHON) if PYTHON.exists() else sys.executable, "-c", check], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["params"] > 0 and any("loss" in tag for tag in found["tags"]), found
    source = files["Script (.py)"].read_text()
    compile(source, "moons.py", "exec")
    assert "keras.callbacks.TensorBoard(" in source and "tensorboard" in ast.get_docstring(ast.parse(source))


# --------------------------------------------------------------------------- the tutorials' own data


@needs_data
def test_two_layer_net_mlp(walker):
    walker.load_recipe("two-layer-net", epochs=1, train_size=6000)
    walker.results(1)
    walker.mistakes_are_pictures()


@needs_data
def test_small_cnn(walker):
    walker.load_recipe("small-cnn", epochs=1, train_size=3000)
    walker.results(1)


@needs_data
def test_residual_block_functional(walker):
    walker.load_recipe("residual-block", epochs=1, train_size=2000)
    walker.results(1)


@needs_data
def test_transfer_finetune_on_mobilenet(walker):
    walker.load_recipe("transfer-finetune", epochs=1)
    walker.results(1)


@needs_data
def test_fashion_mnist_one_epoch_in_one_click(walker):
    walker.recipes()
    walker.page.locator(".st-key-epochs-fashion-mlp button[role=radio]").filter(has_text=re.compile(r"^1$")).click()
    walker.page.locator(".st-key-train-fashion-mlp button").click()
    walker.page.get_by_role("heading", name="Train", exact=True, level=1).wait_for()
    walker.results(1)
    assert walker.main.get_by_text("Ankle boot", exact=False).count() + walker.main.get_by_text("Shirt", exact=False).count() > 0


@needs_data
def test_the_overfitting_trio_to_its_reveal(walker):
    walker.recipes()
    walker.page.get_by_test_id("stRadio").get_by_text("Overfitting: 500 samples", exact=False).click()  # the guess
    walker.page.get_by_role("button", name="Train the overfitting trio", exact=False).first.click()
    walker.page.get_by_role("heading", name="Runs", exact=True, level=1).wait_for()
    reveal = walker.main.get_by_test_id("stAlertContainer").filter(has_text=re.compile("Score: [01] of 1"))
    expect(reveal).to_have_count(1, timeout=RESULT_TIMEOUT_MS * 2)
    expect(walker.main.get_by_text("No runs yet", exact=False)).to_have_count(0)
    walker.no_errors()


def test_regression_recipe_to_its_scatter_and_one_prediction(walker):
    """Tutorial 004's regression in one click. Auto MPG is not on this machine: it trains on Diabetes, says so,
    and claims no comparison with the tutorial's figure."""
    walker.train_recipe("regression-mlp")
    status = walker.wait_status(r"^(Finished|Stopped|Failed|Diverged)\b", RESULT_TIMEOUT_MS)
    assert status.startswith("Finished"), status  # early stopping ends it well before 1000 epochs
    main = walker.main
    main.get_by_role("heading", name="Results on the test set").wait_for(timeout=60_000)
    expect(main.get_by_test_id("stMetricLabel").filter(has_text="Test MAE")).to_have_count(1)
    expect(main.get_by_test_id("stMetricLabel").filter(has_text=re.compile(r"^Test accuracy$"))).to_have_count(0)
    expect(main.get_by_test_id("stMetricLabel").filter(has_text="tutorial")).to_have_count(0)
    walker.wait_charts("cs => cs.some(c => c.title.startsWith('Predicted vs actual'))", "the predicted-vs-actual scatter")
    walker.wait_charts("cs => cs.some(c => c.title.startsWith('Errors'))", "the residuals")
    expect(main.get_by_text(re.compile(r"^The \d+ worst predictions$"))).to_have_count(1)
    field = main.get_by_role("spinbutton", name=re.compile("Test sample"))
    field.fill("5")
    field.press("Enter")
    expect(main.get_by_text("x_test[5]", exact=False)).to_have_count(1)
    expect(main.get_by_text(re.compile(r"The model predicts .+ progression; the true value is"))).to_have_count(1)
    walker.no_errors()


@needs_data
def test_fashion_mnist_predict_one_names_the_class_in_japanese(walker):
    walker.recipes()
    walker.page.locator(".st-key-epochs-fashion-mlp button[role=radio]").filter(has_text=re.compile(r"^1$")).click()
    walker.page.locator(".st-key-train-fashion-mlp button").click()
    walker.results(1)
    walker.page.locator('[data-testid="stSidebar"]').get_by_text("日本語", exact=True).click()
    main = walker.main
    main.get_by_role("heading", name="1件を予測する").wait_for(timeout=60_000)
    japanese = ("Tシャツ", "ズボン", "セーター", "ドレス", "コート", "サンダル", "シャツ", "スニーカー", "バッグ", "ブーツ")
    verdict = main.get_by_text(re.compile(r"^モデルの答えは")).first
    expect(verdict).to_be_visible()
    assert any(word in verdict.inner_text() for word in japanese), verdict.inner_text()
    expect(main.get_by_test_id("stImageCaption").filter(has_text=re.compile(r"^テストデータ 0$"))).to_have_count(1)
    walker.no_errors()

"""Training in a real browser: live charts, page switches, Stop, and a refresh that re-attaches.

Every test is a new learner (a new browser context). The server trains at most two
jobs at a time and queues the rest, so each test stops its long trainings before it ends.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import FINISH_TIMEOUT_MS, FIRST_EPOCH_TIMEOUT_MS

pytestmark = pytest.mark.browser

LONG = 300  # epochs: far more than any test waits for
SHORT = 10  # epochs of the run trained to the end (the default 40 take ~80 s while unit tests share the CPU)
STOP_SECONDS = 3.0  # from pressing Stop to the status line saying so


def test_train_default_dataset_until_finished(app):
    page = app.page
    app.open_train()
    page.get_by_text(re.compile(r"^Moons \(2-D\) · ")).wait_for()  # the default dataset and model
    page.get_by_text("Nothing trained yet. Press Train to start.").wait_for()
    assert app.loss_epochs() == -1  # no chart before training
    epochs = SHORT
    app.set_epochs(epochs)

    app.start_training()
    assert app.wait_loss_epochs(2, FIRST_EPOCH_TIMEOUT_MS) >= 2
    assert re.match(rf"^Running · Epoch \d+/{epochs}\b", app.status()) or app.status().startswith("Finished")
    expect(app.train_button).to_be_disabled()

    titles = [c["title"] for c in app.charts()]
    assert "Accuracy" in titles and any(t.startswith("Decision map") for t in titles), titles  # moons is 2-D

    app.wait_status(r"^Finished\b", FINISH_TIMEOUT_MS)
    assert app.status().startswith(f"Finished · {epochs} of {epochs} epochs")
    page.get_by_role("heading", name="Results on the test set").wait_for()
    expect(page.get_by_role("button", name="History (CSV)", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Model (.keras)", exact=True)).to_be_visible()
    expect(app.train_button).to_be_enabled()
    expect(app.stop_button).to_be_disabled()

    # The final charts hold every epoch, for the training and the validation data.
    assert app.loss_epochs() == epochs
    for chart in app.charts():
        if chart["title"] in ("Loss", "Accuracy"):
            assert {t["name"]: t["n"] for t in chart["traces"]} == {"training": epochs, "validation": epochs}, chart


def test_training_goes_on_while_the_learner_is_on_another_page(app):
    page = app.page
    app.open_train()
    app.set_epochs(LONG)
    app.start_training()
    before = app.wait_loss_epochs(1, FIRST_EPOCH_TIMEOUT_MS)
    assert f"/{LONG}" in app.status()
    token = app.token

    app.nav("Data")
    # The sidebar of the Data page follows the job; wait there until more epochs have passed.
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_role("link", name="Open the training charts").wait_for()
    page.wait_for_function(
        """(n) => [...document.querySelectorAll('[data-testid="stSidebar"] [data-testid="stCaptionContainer"]')]
                 .some(c => { const m = c.textContent.match(/Epoch (\\d+)\\/\\d+/); return m && +m[1] > n + 2; })""",
        arg=before, polling=250, timeout=30_000,
    )
    assert app.token == token

    app.nav("Train")
    after = app.wait_loss_epochs(before + 1)
    assert after > before, (before, after)
    status = app.status()
    assert status.startswith("Running") and f"/{LONG}" in status, status
    assert app.token == token

    app.stop_training()


def test_stop_keeps_the_chart_and_offers_the_model(app):
    page = app.page
    app.open_train()
    app.set_epochs(LONG)
    app.start_training()
    app.wait_loss_epochs(2, FIRST_EPOCH_TIMEOUT_MS)

    app.stop_button.click()
    pressed = time.monotonic()
    app.wait_status(r"^Stopped\b", STOP_SECONDS * 1000)
    print(f"Stopped {time.monotonic() - pressed:.2f} s after pressing Stop")
    assert re.match(rf"^Stopped · \d+ of {LONG} epochs", app.status()), app.status()
    assert app.loss_epochs() >= 2
    page.get_by_text(re.compile(r"^Stopped during epoch \d+; the weights trained so far are kept\.$")).wait_for()

    model = page.get_by_role("button", name="Model (.keras)", exact=True)
    model.wait_for()
    expect(app.train_button).to_be_enabled()
    assert app.loss_epochs() >= 2  # the curves stay after the results appear
    with page.expect_download() as info:
        model.click()
    download = info.value
    assert download.suggested_filename.endswith(".keras")
    data = open(download.path(), "rb").read()
    assert len(data) > 1000 and data[:2] == b"PK", (len(data), data[:8])


def test_browser_refresh_reattaches_to_the_running_job(app):
    page = app.page
    app.open_train()
    app.set_epochs(LONG)
    app.start_training()
    before = app.wait_loss_epochs(1, FIRST_EPOCH_TIMEOUT_MS)
    token = app.token
    assert token

    page.reload()
    app.train_button.wait_for()
    assert app.token == token
    # Without pressing Train again: the job is shown running and its chart keeps everything so far.
    app.wait_status(rf"^Running · Epoch \d+/{LONG}\b")
    assert app.wait_loss_epochs(before) >= before
    expect(app.train_button).to_be_disabled()
    expect(app.stop_button).to_be_enabled()

    app.stop_training()

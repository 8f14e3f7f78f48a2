"""A comparison in a real browser, to its end: two values of one setting, trained as a group, ranked, revealed."""

from __future__ import annotations

import re

import pandas
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import App

pytestmark = pytest.mark.browser

RESULT_TIMEOUT_MS = 180_000


def pick(app: App, label: str, option: str) -> None:
    """Choose an option of the selectbox with this label."""
    app.main.get_by_test_id("stSelectbox").filter(has_text=label).click()
    app.page.get_by_role("option", name=option, exact=True).click()


def test_a_two_value_comparison_to_its_table_and_reveal(page):
    app = App(page)
    page.goto("/compare")
    page.get_by_role("heading", name="Compare", exact=True, level=1).wait_for()
    expect(app.main.get_by_text("No comparison yet", exact=False)).to_be_visible()
    pick(app, "Setting 1", "Epochs")
    values = page.locator(".st-key-cmp-values-0-epochs-en input")  # the field of the setting just picked
    values.fill("2, 5")
    values.press("Enter")
    train = app.main.get_by_role("button", name="Train 2 runs")
    expect(train).to_be_visible()
    pick(app, "Your guess", "5")
    train.click()

    # Both runs' curves overlay on one chart each (a colour per value), then the reveal once both have ended.
    reveal = app.main.get_by_test_id("stAlertContainer").filter(has_text=re.compile(r"Score: [01] of 1"))
    expect(reveal).to_have_count(1, timeout=RESULT_TIMEOUT_MS)
    app.wait_charts(
        "cs => cs.some(c => c.title === 'Accuracy'"
        " && ['2 (training)', '5 (training)'].every(n => c.traces.some(t => t.name === n)))",
        "one Accuracy chart with both runs",
    )
    grid = app.main.get_by_test_id("stDataFrame")
    expect(grid).to_have_count(1)
    with page.expect_download() as info:
        app.main.get_by_role("button", name="Results (CSV)").click()
    table = pandas.read_csv(info.value.path())
    assert sorted(table["epochs"]) == [2, 5] and list(table["status"]) == ["finished", "finished"], table
    assert table["val_accuracy"].is_monotonic_decreasing, table  # best first
    assert [str(p) for p in table["place"]] == [str(e) for e in table["epochs"]]  # each run's place is its value
    expect(app.main.get_by_role("heading", name="Results, best validation accuracy first")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(app.main.get_by_test_id("stAlertContentError")).to_have_count(0)

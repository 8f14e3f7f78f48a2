"""Own images and recipes in a real browser: upload a zip, preview it, train with augmentation; train a recipe."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.core import zips

pytestmark = pytest.mark.browser


def choose(page, label_text: str, option: str) -> None:
    """Pick an option in the Streamlit selectbox whose label is `label_text`."""
    box = page.get_by_test_id("stSelectbox").filter(has_text=label_text).first
    box.click()
    page.keyboard.type(option)
    page.keyboard.press("Enter")


def test_upload_a_zip_preview_it_and_train_with_augmentation(app, tmp_path):
    page = app.page
    files = zips.class_folders(classes=("apple", "banana"), per_class=12, size=(45, 30))
    files["fruit/apple/broken.jpg"] = b"\xff\xd8\xff not really a jpeg"
    files["fruit/notes.txt"] = b"hello"
    archive = tmp_path / "fruit.zip"
    archive.write_bytes(zips.make_zip(files))

    page.goto("/data")
    choose(page, "Dataset", "Image folders")
    page.get_by_text("Upload a zip of class folders").wait_for()
    page.locator("input[type=file]").first.set_input_files(str(archive))

    # The preview: a row per class, counts, and what was skipped and why.
    page.get_by_text("24 images in 2 classes", exact=False).wait_for(timeout=60_000)
    page.get_by_text("2 files skipped").wait_for()
    # st.dataframe draws on a canvas; its accessible grid holds the cell texts.
    expect(page.locator("td[role=gridcell]", has_text="fruit/apple/broken.jpg")).to_have_count(1)
    expect(page.locator("td[role=gridcell]", has_text="not inside a class folder")).to_have_count(1)
    captions = page.get_by_test_id("stImageCaption")
    expect(captions.filter(has_text="apple")).not_to_have_count(0)
    expect(captions.filter(has_text="banana")).not_to_have_count(0)

    # Train one epoch with the studio's augmentation, through the live engine.
    app.nav("Train")
    page.get_by_text("Data augmentation").click()
    page.get_by_text("Augment training data").first.click()
    page.get_by_text("Show the first batch fit will see").click()
    expect(page.get_by_test_id("stImageCaption").filter(has_text=re.compile("^(apple|banana)$")).first).to_be_visible(
        timeout=60_000
    )
    app.set_epochs(1)
    app.start_training()
    status = app.wait_status(r"^Finished\b", app.FINISH_TIMEOUT_MS)
    assert status.startswith("Finished · 1 of 1 epochs"), status
    page.get_by_role("heading", name="Results on the test set").wait_for()


def test_train_a_recipe_in_one_click_and_compare_with_the_tutorial(app):
    page = app.page
    page.goto("/recipes")
    page.get_by_role("heading", name="Tutorial recipes").wait_for()
    page.locator(".st-key-train-iris").get_by_role("button", name="Train", exact=True).click()
    page.get_by_role("heading", name="Train", exact=True, level=1).wait_for()
    page.get_by_text(re.compile(r"Recipe Iris 4-50-3\. The tutorial reports: test accuracy ~0\.947")).wait_for()
    status = app.wait_status(r"^Finished\b", app.FINISH_TIMEOUT_MS)
    assert status.startswith("Finished · 20 of 20 epochs"), status
    expect(page.get_by_text(re.compile(r"^Test accuracy vs the tutorial \(0\.947\)$"))).to_be_visible()

    app.nav("Runs")
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    expect(page.get_by_text("Train the overfitting trio")).to_be_visible()


def test_the_augmentation_studio_rerolls_and_shows_its_code(app):
    page = app.page
    page.goto("/augment")
    page.get_by_role("heading", name="Augmentation studio").wait_for()
    grid = page.get_by_test_id("stImageContainer")  # one per image of the st.image list
    expect(grid).to_have_count(12, timeout=60_000)
    before = [grid.nth(i).locator("img").get_attribute("src") for i in range(3)]
    page.get_by_role("button", name="Reroll").click()
    expect(grid.first.locator("img")).not_to_have_attribute("src", before[0], timeout=30_000)
    code = page.get_by_test_id("stMain").get_by_test_id("stCode").first  # the sidebar has a share link in a code box too
    expect(code).to_contain_text("tf.keras.preprocessing.image.ImageDataGenerator(")
    expect(code).to_contain_text("rotation_range=30")

"""A workshop room in real browsers: an instructor creates it, two learners join and train, the board follows.

Three browser contexts (the instructor and two learners) on the session's one server; the learners
train the default moons setup for one and two epochs, so the whole walk takes well under a minute
on a quiet machine.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import App, new_page

pytestmark = pytest.mark.browser

BOARD_TIMEOUT_MS = 60_000  # the board polls every 2 s; a learner's run shows once it has settled


def create_room(teacher: Page, title: str) -> tuple[str, str]:
    """The instructor's Create room in the sidebar; returns (learners' link, instructor's link)."""
    teacher.goto("/")
    sidebar = teacher.get_by_test_id("stSidebar")
    sidebar.get_by_text("Workshop room", exact=True).click()
    field = sidebar.get_by_role("textbox", name="Room title")
    field.fill(title)
    field.press("Enter")
    sidebar.get_by_role("button", name="Create room").click()
    teacher.get_by_role("heading", name="Workshop room", level=1).wait_for()
    teacher.get_by_text("Learners' link").wait_for()
    links = [text.strip() for text in teacher.locator("code").all_inner_texts() if "/board?room=" in text]
    learners = [link for link in links if "key=" not in link]
    instructors = [link for link in links if "key=" in link]
    assert len(learners) == 1 and len(instructors) == 1, links
    return learners[0], instructors[0]


def join_and_train(page: Page, link: str, name: str, epochs: int) -> App:
    """A learner opens the room link, picks a display name, goes to Train and starts a short run."""
    page.goto(link)
    field = page.get_by_role("textbox", name="Your display name")
    field.fill(name)
    field.press("Enter")
    page.get_by_role("button", name="Join the room").click()
    page.get_by_text("You are in this room as").wait_for()
    page.get_by_test_id("stMain").get_by_role("link", name="Go and train").click()
    app = App(page)
    app.train_button.wait_for()
    app.set_epochs(epochs)
    app.start_training()
    return app


def board_csv(teacher: Page) -> list[dict]:
    with teacher.expect_download() as info:
        teacher.get_by_role("button", name="Board (CSV)").click()
    return list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))


def test_an_instructor_runs_a_room_two_learners_train_and_a_pinned_run_reaches_everyone(browser, server):
    server.cold = False
    teacher, ann, ben, stranger = (new_page(browser, server.url) for _ in range(4))
    try:
        learners_link, _ = create_room(teacher, "Moons race")
        ann_app = join_and_train(ann, learners_link, "Ann", 2)
        ben_app = join_and_train(ben, learners_link, "Ben", 1)
        for app, epochs in ((ann_app, 2), (ben_app, 1)):
            app.wait_status(rf"^Finished · {epochs} of {epochs} epochs", app.FINISH_TIMEOUT_MS)

        # The live board: both learners, their best runs and what they changed from the starting setup (40 epochs).
        for name in ("Ann", "Ben"):
            expect(teacher.locator("td[role=gridcell]", has_text=re.compile(rf"^{name}$"))).to_have_count(
                1, timeout=BOARD_TIMEOUT_MS
            )
        for epochs in (2, 1):  # both best runs are on the board (its CSV is what the last refresh showed)
            cell = teacher.locator("td[role=gridcell]", has_text=f"epochs: 40 → {epochs}")
            expect(cell).to_have_count(1, timeout=BOARD_TIMEOUT_MS)
        rows = {row["name"]: row for row in board_csv(teacher)}
        assert set(rows) == {"Ann", "Ben"}, rows
        assert rows["Ann"]["changed"] == "epochs: 40 -> 2" and rows["Ben"]["changed"] == "epochs: 40 -> 1"
        assert all(row["runs"] == "1" and 0.0 <= float(row["val_accuracy"]) <= 1.0 for row in rows.values())

        # The instructor opens Ann's run and shows it to everyone; Ben's board shows it with its settings.
        teacher.get_by_test_id("stSelectbox").filter(has_text="Open the runs of").first.click()
        teacher.keyboard.type("Ann")
        teacher.keyboard.press("Enter")
        teacher.get_by_role("button", name="Show this to everyone").click()
        teacher.get_by_text("Everyone sees this run (pinned).").wait_for()
        ben.get_by_test_id("stSidebarNav").get_by_role("link", name="Room board").click()
        ben.get_by_role("heading", name="Shown to everyone").wait_for(timeout=BOARD_TIMEOUT_MS)
        expect(ben.locator("td[role=gridcell]", has_text="Ben (you)")).to_have_count(1)
        expect(ben.locator("td[role=gridcell]", has_text=re.compile(r"^Ann$"))).to_have_count(0)  # names hidden
        expect(ben.get_by_role("button", name="Freeze the board")).to_have_count(0)

        # The learners' link, even with a made-up key, never opens the instructor's view.
        stranger.goto(learners_link + "&key=guessed")
        stranger.get_by_text("cannot open the instructor's view").wait_for()
        expect(stranger.get_by_role("button", name="Freeze the board")).to_have_count(0)
    finally:
        for page in (teacher, ann, ben, stranger):
            page.context.close()

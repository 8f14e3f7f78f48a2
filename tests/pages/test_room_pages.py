"""The workshop room's pages: create from the sidebar, join by the learners' link, the board for each side."""

import time

import pytest
from streamlit.testing.v1 import AppTest

from core import rooms, runs
from core.spec import ExperimentSpec
from core.status import Phase, Status
from tests.pages.helpers import ROOT, TIMEOUT, texts


def open_board(room_id: str, key: str = "", owner: str = "") -> AppTest:
    """A new browser tab opening a room link (the instructor's when `key` is given)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["lang"] = "en"
    at.query_params["room"] = room_id
    if key:
        at.query_params["key"] = key
    if owner:
        at.query_params["u"] = owner
    at.run()
    at.switch_page("pages/board.py").run()
    assert not at.exception, at.exception
    return at


def finished_run(room_id: str, owner: str, value: float, lr: float = 0.01) -> runs.Run:
    spec = ExperimentSpec.default_for("moons")
    spec.compile.learning_rate = lr
    run = runs.Run(
        runs.new_id(),
        owner,
        f"moons {value}",
        spec,
        Status.FINISHED,
        history={"loss": [0.6, 0.4], "val_accuracy": [0.5, value]},
        metrics={"val_accuracy": value},
        created=time.time(),
        finished=time.time(),
        phase=Phase.DONE,
        room=room_id,
    )
    runs.store().save(run)
    return run


@pytest.fixture
def room():
    created, key = rooms.create(ExperimentSpec.default_for("moons"), "Moons race", "val_accuracy")
    yield created, key
    rooms.delete(created.id)


def buttons(at: AppTest) -> list[str]:
    return [b.label for b in at.button]


def test_an_instructor_creates_a_room_from_the_sidebar_and_gets_both_links():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["lang"] = "en"
    at.run()
    at.sidebar.text_input(key="room_title").input("Friday class")
    at.sidebar.button(key="room_create").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Workshop room"
    links = [c.value for c in at.code if "/board?room=" in c.value]
    assert len(links) == 2 and "key=" not in links[0] and "key=" in links[1]
    room_id = at.session_state["room"]["id"]
    assert rooms.open_room(room_id).title == "Friday class"
    assert "Freeze the board" in buttons(at)
    rooms.delete(room_id)


def test_a_learner_joins_with_a_name_and_sees_the_board_without_other_names(room):
    created, _ = room
    rooms.join(created.id, "other-learner", "Zoe")
    finished_run(created.id, "other-learner", 0.9)
    at = open_board(created.id)
    assert "Freeze the board" not in buttons(at)  # the learners' link is not the instructor's view
    at.text_input(key="room_join_name").input("   ").run()
    at.button[[b.label for b in at.button].index("Join the room")].click().run()
    assert any("Type a display name first" in e.value for e in at.error)
    at.text_input(key="room_join_name").input("x" * 41).run()
    at.button[buttons(at).index("Join the room")].click().run()
    assert any("at most 40" in e.value for e in at.error)
    at.text_input(key="room_join_name").input("**Bo**").run()
    at.button[buttons(at).index("Join the room")].click().run()
    assert not at.exception, at.exception
    assert "\\*\\*Bo\\*\\*" in texts(at)  # plain text: the stars are shown, not read as bold
    board = at.dataframe[0].value
    assert list(board["name"]) == ["learner #1", "**Bo** (you)"]
    assert "Zoe" not in board.to_string()
    assert at.session_state["spec"] == created.spec  # joined: the room's starting setup


def test_the_instructor_sees_names_runs_and_changes_and_pins_a_run_learners_then_see(room):
    created, key = room
    rooms.join(created.id, "ann", "Ann")
    rooms.join(created.id, "bob", "Bob")
    best = finished_run(created.id, "ann", 0.92, lr=0.1)
    finished_run(created.id, "bob", 0.81)
    at = open_board(created.id, key)
    board = at.dataframe[0].value
    assert list(board["name"]) == ["Ann", "Bob"] and list(board["runs"]) == [1, 1]
    assert list(board["validation accuracy"]) == [0.92, 0.81]
    assert "learning rate: 0.01 → 0.1" in board["changed from the starting setup"][0]
    assert list(board["status"]) == ["idle", "idle"]
    at.selectbox(key="board_learner").select("Ann").run()  # open Ann's runs: her best first, read-only
    assert not at.exception, at.exception
    assert any("learning rate" in str(d.value) for d in at.dataframe[1:])  # the run's settings against the start
    at.button(key=f"pin_{best.id}").click().run()
    assert rooms.open_room(created.id).pins == [best.id]
    learner = open_board(created.id, owner="bob")
    assert "Shown to everyone" in [s.value for s in learner.subheader]
    assert any("moons 0.92" in m.value.replace("\\", "") for m in learner.markdown)  # escaped: plain text
    assert "Reveal names" not in buttons(learner)


def test_the_learners_link_with_a_made_up_key_is_refused_as_instructor(room):
    created, _ = room
    at = open_board(created.id, key="not-the-key")
    assert any("cannot open the instructor's view" in e.value for e in at.error)
    assert "Freeze the board" not in buttons(at) and not at.dataframe
    assert "room" not in at.query_params  # the bad link is forgotten


def test_a_bad_or_deleted_room_link_says_so(room):
    at = open_board("0123456789abcdef")
    assert any("There is no such room" in e.value for e in at.error)
    at = open_board("not a room!")
    assert any("not a room link" in e.value for e in at.error)


def test_which_will_win_freeze_reveal_rename_and_remove_from_the_instructors_board(room):
    created, key = room
    rooms.join(created.id, "ann", "Ann")
    rooms.join(created.id, "bob", "Bob")
    low, high = finished_run(created.id, "ann", 0.6), finished_run(created.id, "bob", 0.8)
    rooms.pin(created.id, low.id)
    rooms.pin(created.id, high.id)
    teacher = open_board(created.id, key)
    teacher.multiselect(key="board_choices").select(teacher.multiselect(key="board_choices").options[0])
    teacher.multiselect(key="board_choices").select(teacher.multiselect(key="board_choices").options[1]).run()
    teacher.button[buttons(teacher).index("Ask the room")].click().run()
    assert rooms.open_room(created.id).question.choices == [low.id, high.id]

    learner = open_board(created.id, owner="bob")
    learner.button(key=f"vote_{high.id}").click().run()
    assert rooms.votes(created.id) == {high.id: 1}
    teacher.run()
    assert any("**1** votes" in m.value for m in teacher.markdown)
    teacher.button[buttons(teacher).index("Reveal the winner")].click().run()
    learner.run()
    assert any("The winner" in s.value and "moons 0" in s.value for s in learner.success)

    teacher.button[buttons(teacher).index("Freeze the board")].click().run()
    assert rooms.open_room(created.id).frozen and "Unfreeze the board" in buttons(teacher)
    teacher.button[buttons(teacher).index("Reveal names")].click().run()
    learner.run()
    assert list(learner.dataframe[0].value["name"]) == ["Bob (you)", "Ann"]
    teacher.text_input(key="member_name.ann").input("Annie").run()
    teacher.button(key="rename_ann").click().run()
    teacher.button(key="remove_bob").click().run()
    assert [m.name for m in rooms.members(created.id)] == ["Annie"]
    learner.run()
    assert "Join the room" in buttons(learner)  # removed: the room link asks for a name again


def test_an_expired_room_link_says_the_room_has_closed():
    created, _ = rooms.create(ExperimentSpec.default_for("moons"), "old", "val_accuracy", now=time.time() - 49 * 3600)
    at = open_board(created.id)
    assert any("This room has closed" in e.value and "48 hours" in e.value for e in at.error)


def test_the_board_without_a_room_says_how_to_get_one_in_japanese():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["lang"] = "ja"
    at.run()
    at.switch_page("pages/board.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "ワークショップルーム"
    assert any("ワークショップルーム" in i.value for i in at.info)


def test_a_learner_leaves_and_the_instructor_deletes_the_room():
    created, key = rooms.create(ExperimentSpec.default_for("moons"), "short", "val_accuracy")
    rooms.join(created.id, "cleo", "Cleo")
    theirs = finished_run(created.id, "cleo", 0.7)
    learner = open_board(created.id, owner="cleo")
    learner.button[buttons(learner).index("Leave the room")].click().run()
    assert rooms.members(created.id) == [] and "room" not in learner.query_params
    assert runs.store().get("cleo", theirs.id).room == ""  # still Cleo's run, no longer the room's
    teacher = open_board(created.id, key)
    teacher.button(key="room_delete_confirm").click().run()
    assert not teacher.exception, teacher.exception
    assert any("were deleted" in s.value for s in teacher.success)
    with pytest.raises(rooms.RoomError):
        rooms.open_room(created.id)

"""Workshop rooms: create, join, rename, remove, leave, delete, expiry, isolation, the key, the board, the CSV."""

import time

import pytest

from core import rooms, runs, share
from core.runs import Run, RunStore
from core.spec import ExperimentSpec
from core.status import Phase, Status
from tests.core import inline


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.cluster)])
def home(request, tmp_path, monkeypatch):
    """A new server's run store: SQLite in its own PLAYGROUND_HOME, or a new PostgreSQL database (several replicas)."""
    if request.param == "postgresql":
        monkeypatch.setenv("PLAYGROUND_DATABASE_URL", request.getfixturevalue("postgres").new_database())
    with inline.private_home(tmp_path):
        yield tmp_path


def start() -> ExperimentSpec:
    return ExperimentSpec.default_for("moons")


def room_run(room_id, owner, value, *, lr=None, status=Status.FINISHED, created=None, finished=None, run_id=None):
    """A settled (or active) run of `owner` in the room with `val_accuracy` = value."""
    spec = start()
    if lr is not None:
        spec.compile.learning_rate = lr
    run = Run(
        run_id or runs.new_id(),
        owner,
        f"run {value}",
        spec,
        status,
        history={"loss": [0.9, 0.5], "val_accuracy": [value / 2, value]},
        metrics={"val_accuracy": value},
        created=created or time.time(),
        finished=finished or time.time(),
        phase=Phase.DONE if status not in (Status.RUNNING, Status.QUEUED) else Phase.TRAINING,
        room=room_id,
    )
    RunStore().save(run)
    return run


def test_create_gives_two_links_and_only_the_key_opens_the_instructor_view(home):
    room, key = rooms.create(start(), "  Moons   race ", "val_accuracy", share.Classroom({"layers"}, {"augment"}))
    assert room.title == "Moons race" and len(key) >= 20
    opened = rooms.open_room(room.id)  # the learners' link: no key
    assert opened.spec == start() and opened.classroom.locked == {"layers"} and opened.classroom.hidden == {"augment"}
    assert rooms.open_room(room.id, key).id == room.id
    for wrong in ("", "x", key[:-1], room.id):
        with pytest.raises(rooms.RoomError) as err:
            rooms.open_room(room.id, wrong)
        assert err.value.msg.key == "room.error.wrong_key"


@pytest.mark.parametrize("link, reason", [("", "bad_link"), ("../etc", "bad_link"), ("0123abcd0123abcd", "unknown")])
def test_bad_room_links_say_why(home, link, reason):
    with pytest.raises(rooms.RoomError) as err:
        rooms.open_room(link)
    assert err.value.msg.key == f"room.error.{reason}"


def test_join_rename_and_names_are_plain_checked_text(home):
    room, _ = rooms.create(start(), "", "val_accuracy")
    assert rooms.join(room.id, "ann-token", "  Ann\x00  <b>K</b> ").name == "Ann <b>K</b>"  # kept as text, shown escaped
    with pytest.raises(rooms.RoomError) as err:
        rooms.join(room.id, "bob-token", "   ")
    assert err.value.msg.key == "room.error.name_empty"
    with pytest.raises(rooms.RoomError) as err:
        rooms.join(room.id, "bob-token", "b" * (rooms.NAME_MAX + 1))
    assert err.value.msg.key == "room.error.name_long" and err.value.msg.fields["limit"] == rooms.NAME_MAX
    with pytest.raises(rooms.RoomError) as err:
        rooms.join(room.id, "bob-token", "ann <B>k</B>")
    assert err.value.msg.key == "room.error.name_taken"
    rooms.join(room.id, "bob-token", "Bob")
    rooms.rename(room.id, "bob-token", "Robert")
    assert [m.name for m in rooms.members(room.id)] == ["Ann <b>K</b>", "Robert"]
    with pytest.raises(rooms.RoomError):
        rooms.rename(room.id, "nobody", "Zed")


def test_leave_and_remove_take_a_learner_off_the_board_and_keep_their_runs_private(home):
    room, _ = rooms.create(start(), "", "val_accuracy")
    rooms.join(room.id, "ann", "Ann")
    rooms.join(room.id, "bob", "Bob")
    ann_run = room_run(room.id, "ann", 0.8)
    rooms.pin(room.id, ann_run.id)
    rooms.leave(room.id, "ann")
    assert [r.name for r in rooms.board(room)] == ["Bob"]
    assert RunStore().get("ann", ann_run.id).room == ""  # still hers, no longer the room's
    assert rooms.open_room(room.id).pins == []
    rooms.remove(room.id, "bob")
    assert rooms.board(room) == [] and rooms.room_for_runs(room.id, "bob") == ""


def test_delete_removes_the_room_and_its_runs_only(home):
    room, _ = rooms.create(start(), "", "val_accuracy")
    rooms.join(room.id, "ann", "Ann")
    theirs = room_run(room.id, "ann", 0.8)
    outside = room_run("", "ann", 0.5)
    runs.run_dir(theirs.id).mkdir(parents=True)
    assert rooms.delete(room.id) == 1
    assert RunStore().get("ann", theirs.id) is None and not runs.run_dir(theirs.id).exists()
    assert RunStore().get("ann", outside.id) is not None
    with pytest.raises(rooms.RoomError) as err:
        rooms.open_room(room.id)
    assert err.value.msg.key == "room.error.unknown"


def test_a_room_expires_after_the_configured_hours(home, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_ROOM_HOURS", "2")
    now = time.time()
    room, _ = rooms.create(start(), "", "val_accuracy", now=now)
    rooms.join(room.id, "ann", "Ann")
    run = room_run(room.id, "ann", 0.8)
    assert room.expires == pytest.approx(now + 2 * 3600)
    rooms.open_room(room.id, now=now + 3600)
    with pytest.raises(rooms.RoomError) as err:
        rooms.open_room(room.id, now=now + 2 * 3600 + 1)
    assert err.value.msg.key == "room.error.expired" and err.value.msg.fields["hours"] == 2
    assert RunStore().get("ann", run.id) is None
    other, _ = rooms.create(start(), "", "val_accuracy", now=now)
    assert rooms.purge_expired(now + 3 * 3600) == [other.id]


def test_nothing_of_one_room_is_visible_from_another(home):
    first, _ = rooms.create(start(), "", "val_accuracy")
    second, second_key = rooms.create(start(), "", "val_accuracy")
    rooms.join(first.id, "ann", "Ann")
    rooms.join(second.id, "bob", "Bob")
    ann_run = room_run(first.id, "ann", 0.9)
    room_run(second.id, "bob", 0.6)
    assert [r.name for r in rooms.board(second)] == ["Bob"]
    assert rooms.room_run(second.id, ann_run.id) is None
    with pytest.raises(rooms.RoomError):
        rooms.pin(second.id, ann_run.id)
    with pytest.raises(rooms.RoomError):
        rooms.open_room(first.id, second_key)  # one room's key is not another's
    assert rooms.room_for_runs(second.id, "ann") == "" and rooms.room_for_runs(first.id, "ann") == first.id


def test_board_rows_rank_best_runs_and_show_status_curve_and_changes(home):
    room, _ = rooms.create(start(), "", "val_accuracy")
    for owner, name in (("ann", "Ann"), ("bob", "Bob"), ("cy", "Cy")):
        rooms.join(room.id, owner, name)
    room_run(room.id, "ann", 0.7)
    best = room_run(room.id, "ann", 0.9, lr=0.5)
    room_run(room.id, "bob", 0.8)
    room_run(room.id, "bob", 0.0, status=Status.RUNNING)
    room_run(room.id, "cy", 0.0, status=Status.QUEUED)
    rows = rooms.board(room)
    assert [(r.name, r.runs, r.status) for r in rows] == [("Ann", 2, "idle"), ("Bob", 1, "training"), ("Cy", 0, "queued")]
    assert rows[0].best.id == best.id and rows[0].value == 0.9 and rows[0].curve == [0.45, 0.9]
    assert rows[0].changed == {"learning_rate": (f"{start().compile.learning_rate:g}", "0.5")} and rows[1].changed == {}
    learner = rooms.board(room, viewer="bob")
    assert [(r.name, r.you, r.owner) for r in learner] == [("", False, ""), ("Bob", True, ""), ("", False, "")]
    rooms.reveal_names(room.id, True)
    assert [r.name for r in rooms.board(rooms.open_room(room.id), viewer="bob")] == ["Ann", "Bob", "Cy"]


def test_a_frozen_board_and_a_deadline_ignore_later_runs(home):
    room, _ = rooms.create(start(), "", "val_accuracy")
    rooms.join(room.id, "ann", "Ann")
    room_run(room.id, "ann", 0.6, finished=time.time() - 10)
    rooms.freeze(room.id, True)
    room_run(room.id, "ann", 0.9, finished=time.time() + 5)
    assert rooms.board(rooms.open_room(room.id))[0].value == 0.6
    rooms.freeze(room.id, False)
    assert rooms.board(rooms.open_room(room.id))[0].value == 0.9
    late, _ = rooms.create(start(), "", "val_accuracy", deadline=time.time() - 1)
    rooms.join(late.id, "ann", "Ann")
    room_run(late.id, "ann", 0.9)
    assert rooms.board(late)[0].runs == 0


def test_pins_question_votes_and_the_winner(home):
    room, _ = rooms.create(start(), "", "val_accuracy")
    rooms.join(room.id, "ann", "Ann")
    rooms.join(room.id, "bob", "Bob")
    low, high = room_run(room.id, "ann", 0.6), room_run(room.id, "bob", 0.8)
    with pytest.raises(rooms.RoomError) as err:
        rooms.ask(room.id, [low.id, high.id])  # not pinned yet
    assert err.value.msg.key == "room.error.choices"
    rooms.pin(room.id, low.id)
    rooms.pin(room.id, high.id)
    rooms.ask(room.id, [low.id, high.id])
    rooms.vote(room.id, "ann", high.id)
    rooms.vote(room.id, "bob", low.id)
    rooms.vote(room.id, "bob", high.id)  # changed their mind: one vote each
    with pytest.raises(rooms.RoomError) as err:
        rooms.vote(room.id, "stranger", high.id)
    assert err.value.msg.key == "room.error.not_member"
    assert rooms.votes(room.id) == {high.id: 2} and rooms.my_vote(room.id, "bob") == high.id
    rooms.reveal_winner(room.id)
    opened = rooms.open_room(room.id)
    assert opened.question.revealed and rooms.winner(opened).id == high.id
    with pytest.raises(rooms.RoomError):
        rooms.vote(room.id, "ann", low.id)  # revealed: no more guesses
    rooms.close_question(room.id)
    assert rooms.open_room(room.id).question is None and rooms.votes(room.id) == {}


def test_the_board_exports_as_csv(home):
    room, _ = rooms.create(start(), "", "val_accuracy")
    rooms.join(room.id, "ann", '=Ann, "the" 1+1')  # a spreadsheet would run a leading "=": written as text
    rooms.join(room.id, "bob", "Bob")
    best = room_run(room.id, "ann", 0.9, lr=0.5)
    lines = rooms.csv_text(room, rooms.board(room)).splitlines()
    assert lines[0] == "rank,name,val_accuracy,runs,status,best_run,changed"
    assert lines[1] == f'1,"\'=Ann, ""the"" 1+1",0.9000,1,idle,{best.id},learning_rate: 0.01 -> 0.5'
    assert lines[2] == "2,Bob,,0,idle,,"


def test_the_signature_moves_when_the_board_does(home):
    room, _ = rooms.create(start(), "", "val_accuracy")
    before = rooms.signature(room.id)
    rooms.join(room.id, "ann", "Ann")
    after_join = rooms.signature(room.id)
    room_run(room.id, "ann", 0.5)
    assert len({before, after_join, rooms.signature(room.id)}) == 3
    assert rooms.signature("nosuchroom") == ("gone",)

"""A workshop room on the page: creating one, joining it, and its live board (the instructor's and the learners').

Everything about a room is in the run store (core/rooms.py); this tab keeps only which room it
is in and, in the instructor's tab, the key from the instructor's link. Every instructor action
opens the room with that key again, so a learner's tab cannot do any of them.
"""

from __future__ import annotations

import time

import streamlit as st

from core import rooms, runs
from core.i18n import Plain
from ui import keys, polling, runs_view, state
from ui.state import t


def current() -> tuple[rooms.Room, bool] | None:
    """This tab's room and whether it is the instructor's; a bad link says why (and is forgotten)."""
    choice = state.room_choice()
    if not choice:
        st.info(t("room.none"), icon=":material/groups:")
        return None
    try:
        return rooms.open_room(choice["id"], choice["key"] or None), bool(choice["key"])
    except rooms.RoomError as exc:
        st.error(state.say(exc.msg), icon=":material/block:")
        state.forget_room()
        return None


def _instructor_room() -> rooms.Room:
    """The room, opened with this tab's key: every instructor action goes through here."""
    choice = state.room_choice() or {"id": "", "key": ""}
    return rooms.open_room(choice["id"], choice["key"] or "\0")  # no key is a wrong key here


def live(room_id: str) -> None:
    """Redraw the board when anything on it changed (a run, a learner, a pin, a vote), polled in a fragment."""

    def line():
        st.caption(t("room.live", time=time.strftime("%H:%M:%S")))
        return rooms.signature(room_id)

    polling.follow(line, drawn=rooms.signature(room_id), active=True, every=polling.BOARD_POLL_SECONDS)


def header(room: rooms.Room) -> None:
    st.subheader(t("room.heading", title=Plain(room.title)))
    parts = [t("room.goal_line", goal=t(f"room.goal.{room.goal}"))]
    if room.deadline:
        parts.append(t("room.deadline_line", time=time.strftime("%H:%M", time.localtime(room.deadline))))
    parts.append(t("room.expires_line", time=time.strftime("%Y-%m-%d %H:%M", time.localtime(room.expires))))
    st.caption(" · ".join(parts))
    if room.frozen:
        st.warning(t("room.frozen_note"), icon=":material/ac_unit:")


# --------------------------------------------------------------------------- the table


def _changed(row: rooms.BoardRow) -> str:
    return "; ".join(f"{t(f'settings.{k}')}: {runs_view.cell(a)} → {runs_view.cell(b)}" for k, (a, b) in row.changed.items())


def _name(row: rooms.BoardRow, rank: int) -> str:
    if row.you:
        return t("room.you", name=row.name) if row.name else t("room.you_plain")
    return row.name or t("room.anonymous", rank=rank)


def table(room: rooms.Room, rows: list[rooms.BoardRow]) -> None:
    """The board: rank, name, best on the goal, runs, status, what changed, a small curve."""
    goal = t(f"room.goal.{room.goal}")
    data = [
        {
            t("room.col_rank"): rank,
            t("room.col_name"): _name(row, rank),
            goal: None if row.value is None else round(row.value, 4),
            t("room.col_runs"): row.runs,
            t("room.col_status"): t(f"room.status.{row.status}"),
            t("room.col_changed"): _changed(row) or t("room.unchanged") if row.best else "",
            t("room.col_curve"): row.curve,
        }
        for rank, row in enumerate(rows, 1)
    ]
    config = {t("room.col_curve"): st.column_config.LineChartColumn(width="small")}
    st.dataframe(data, hide_index=True, width="stretch", column_config=config, key="board_table")
    training = sum(row.status == "training" for row in rows)
    st.caption(t("room.summary", learners=len(rows), runs=sum(row.runs for row in rows), training=training))


def pick_learner(rows: list[rooms.BoardRow]) -> rooms.BoardRow | None:
    """The learner whose runs the instructor opens (a picker: the table's rows are for reading)."""
    named = {row.name: row for row in rows if row.runs}
    if not named:
        return None
    choice = st.selectbox(t("room.open_learner"), list(named), index=None, placeholder=t("room.pick_hint"), key="board_learner")
    return named.get(choice) if choice else None


def sort_and_filter(rows: list[rooms.BoardRow]) -> list[rooms.BoardRow]:
    """The instructor's view of the board: a name filter, statuses, and the order."""
    find, statuses, order = st.columns([2, 2, 1])
    text = find.text_input(t("room.filter"), key="board_filter").strip().lower()
    labels = {t(f"room.status.{s}"): s for s in rooms.STATUSES}
    chosen = {labels[s] for s in statuses.multiselect(t("room.filter_status"), list(labels), key=f"board_status_{state.lang()}")}
    orders = {t(f"room.sort.{o}"): o for o in ("best", "name", "runs")}
    how = orders[order.selectbox(t("room.sort_by"), list(orders), key=f"board_sort_{state.lang()}")]
    shown = [r for r in rows if text in r.name.lower() and (not chosen or r.status in chosen)]
    if how == "name":
        shown.sort(key=lambda r: r.name.lower())
    elif how == "runs":
        shown.sort(key=lambda r: -r.runs)
    return shown


# --------------------------------------------------------------------------- runs on the board


def run_label(room: rooms.Room, run: runs.Run) -> str:
    value = rooms.goal_value(room, run)
    return f"{run.name} · {t(f'room.goal.{room.goal}')} {'-' if value is None else f'{value:.4f}'}"


def show_run(room: rooms.Room, run: runs.Run, key: str) -> None:
    """One run, read-only: its curves and what it changed from the starting setup."""
    runs_view.compare([(run.name, run.history)], key=key)
    runs_view.spec_diff([(t("room.start_setup"), room.spec), (run.name, run.spec)], key=f"{key}_diff")


def open_run(room: rooms.Room, row: rooms.BoardRow) -> None:
    """The instructor opens any run of the picked learner (their best first) and may show it to everyone."""
    theirs = [r for r in rooms.room_runs(room.id) if r.owner == row.owner and rooms.counts(room, r)]
    if not theirs:
        st.caption(t("room.no_runs_yet"))
        return
    theirs.sort(key=lambda r: r.id != (row.best.id if row.best else ""))
    labels = {run_label(room, r): r for r in theirs}
    run = labels[st.selectbox(t("room.open_run", name=Plain(row.name)), list(labels), key=f"board_run_{row.owner}")]
    show_run(room, run, key=f"open_{run.id}")
    if run.id in room.pins:
        st.caption(t("room.already_pinned"))
    else:
        st.button(t("room.pin"), icon=":material/push_pin:", on_click=_pin, args=(run.id,), key=f"pin_{run.id}")


def _pin(run_id: str) -> None:
    rooms.pin(_instructor_room().id, run_id)


def _unpin(run_id: str) -> None:
    rooms.unpin(_instructor_room().id, run_id)


def pinned(room: rooms.Room, instructor: bool) -> list[runs.Run]:
    """The runs the instructor shows to everyone, with their settings; returns them."""
    shown = [r for r in (rooms.room_run(room.id, p) for p in room.pins) if r is not None]
    if not shown:
        return []
    st.subheader(t("room.pinned_title"))
    for run in shown:
        with st.container(border=True):
            st.markdown(f"**{t('room.pinned_run', label=Plain(run_label(room, run)))}**")
            show_run(room, run, key=f"pinned_{run.id}")
            if instructor:
                st.button(t("room.unpin"), icon=":material/close:", on_click=_unpin, args=(run.id,), key=f"unpin_{run.id}")
    return shown


# --------------------------------------------------------------------------- "which will win?"


def _ask(labels: dict[str, str]) -> None:
    chosen = [labels[c] for c in st.session_state.get(keys.BOARD_CHOICES) or []]
    try:
        rooms.ask(_instructor_room().id, chosen)
    except rooms.RoomError as exc:
        st.session_state[keys.BOARD_ERROR] = exc.msg


def _reveal_winner() -> None:
    rooms.reveal_winner(_instructor_room().id)


def _close_question() -> None:
    rooms.close_question(_instructor_room().id)


def _vote(room_id: str, choice: str) -> None:
    rooms.vote(room_id, state.owner(), choice)


def question(room: rooms.Room, shown: list[runs.Run], instructor: bool) -> None:
    """The room's predict-then-reveal: the instructor asks, learners vote, the board counts, reveal names the winner."""
    labels = {run_label(room, r): r.id for r in shown}
    q = room.question
    if q is None:
        if instructor and len(shown) >= 2:
            st.subheader(t("room.question_title"))
            st.multiselect(t("room.question_choices"), list(labels), key=keys.BOARD_CHOICES)
            st.button(t("room.ask"), icon=":material/help:", on_click=_ask, args=(labels,))
        return
    st.subheader(t("room.question_title"))
    st.markdown(t("room.question_text"))
    names = {r.id: run_label(room, r) for r in shown}
    counted = rooms.votes(room.id)
    for choice in q.choices:
        st.markdown(t("room.votes_line", label=Plain(names.get(choice, choice)), count=counted.get(choice, 0)))
    if q.revealed:
        won = rooms.winner(room)
        st.success(t("room.winner", label=Plain(run_label(room, won))) if won else t("room.no_winner"), icon=":material/trophy:")
    if instructor:
        left, right = st.columns(2)
        left.button(t("room.reveal_winner"), on_click=_reveal_winner, disabled=q.revealed, icon=":material/visibility:")
        right.button(t("room.close_question"), on_click=_close_question, icon=":material/close:")
    elif not q.revealed:
        mine = rooms.my_vote(room.id, state.owner())
        for choice in q.choices:
            label = t("room.vote_for", label=Plain(names.get(choice, choice)))
            st.button(
                label,
                key=f"vote_{choice}",
                on_click=_vote,
                args=(room.id, choice),
                type="primary" if choice == mine else "secondary",
            )


# --------------------------------------------------------------------------- the instructor's controls


def links(room: rooms.Room, key: str) -> None:
    with st.expander(t("room.links_title"), icon=":material/link:", expanded=True):
        st.markdown(t("room.learner_link"))
        st.code(state.room_link(room.id), language=None, wrap_lines=True)
        st.markdown(t("room.instructor_link"))
        st.code(state.room_link(room.id, key), language=None, wrap_lines=True)


def _freeze(frozen: bool) -> None:
    rooms.freeze(_instructor_room().id, frozen)


def _reveal(reveal: bool) -> None:
    rooms.reveal_names(_instructor_room().id, reveal)


def _delete() -> None:
    rooms.delete(_instructor_room().id)
    state.forget_room()
    st.session_state[keys.BOARD_DELETED] = True


def controls(room: rooms.Room, rows: list[rooms.BoardRow]) -> None:
    """Freeze, reveal names, the CSV, delete."""
    a, b, c, d = st.columns(4, vertical_alignment="bottom")
    frozen = bool(room.frozen)
    a.button(t("room.unfreeze" if frozen else "room.freeze"), on_click=_freeze, args=(not frozen,), icon=":material/ac_unit:")
    b.button(
        t("room.hide_names" if room.reveal else "room.reveal_names"),
        on_click=_reveal,
        args=(not room.reveal,),
        icon=":material/badge:",
    )
    c.download_button(
        t("room.export_csv"),
        rooms.csv_text(room, rows),
        file_name=f"room-{room.id}.csv",
        mime="text/csv",
        icon=":material/download:",
    )
    with d.popover(t("room.delete"), icon=":material/delete:"):
        st.caption(t("room.delete_warning"))
        st.button(t("room.delete_confirm"), on_click=_delete, type="primary", key="room_delete_confirm")


def _rename(owner: str) -> None:
    try:
        rooms.rename(_instructor_room().id, owner, st.session_state.get(keys.member_name(owner), ""))
    except rooms.RoomError as exc:
        st.session_state[keys.BOARD_ERROR] = exc.msg


def _remove(owner: str) -> None:
    rooms.remove(_instructor_room().id, owner)


def members(room: rooms.Room) -> None:
    """Rename or remove a learner (their display names are theirs to choose, the room's to moderate)."""
    people = rooms.members(room.id)
    if not people:
        return
    with st.expander(t("room.members_title", count=len(people)), icon=":material/group:"):
        for who in people:
            name, rename, remove = st.columns([3, 1, 1], vertical_alignment="bottom")
            name.text_input(t("room.member_name"), value=who.name, key=keys.member_name(who.owner))
            rename.button(t("room.rename"), key=f"rename_{who.owner}", on_click=_rename, args=(who.owner,))
            remove.button(t("room.remove"), key=f"remove_{who.owner}", on_click=_remove, args=(who.owner,))


def show_board_error() -> None:
    msg = st.session_state.pop(keys.BOARD_ERROR, None)
    if msg is not None:
        st.error(state.say(msg), icon=":material/block:")


def instructor_board(room: rooms.Room) -> None:
    choice = state.room_choice() or {"key": ""}
    header(room)
    show_board_error()
    links(room, choice["key"])
    rows = rooms.board(room)
    controls(room, rows)
    st.subheader(t("room.board_title", count=len(rows)))
    table(room, sort_and_filter(rows))
    picked = pick_learner(rows)
    if picked is not None:
        open_run(room, picked)
    shown = pinned(room, instructor=True)
    question(room, shown, instructor=True)
    members(room)


# --------------------------------------------------------------------------- the learner's side


def _join(room: rooms.Room) -> None:
    try:
        rooms.join(room.id, state.owner(), st.session_state.get(keys.JOIN_NAME, ""))
    except rooms.RoomError as exc:
        st.session_state[keys.BOARD_ERROR] = exc.msg
        return
    state.replace_spec(room.spec.copy())  # the room's starting setup, locked and hidden as the instructor chose
    st.session_state[keys.CLASSROOM] = room.classroom


def _leave(room_id: str) -> None:
    rooms.leave(room_id, state.owner())
    state.forget_room()
    state.forget_classroom()


def join_form(room: rooms.Room) -> None:
    st.markdown(t("room.join_intro", title=Plain(room.title)))
    show_board_error()
    st.text_input(t("room.display_name"), key=keys.JOIN_NAME, help=t("room.display_name_help", limit=rooms.NAME_MAX))
    st.button(t("room.join"), type="primary", icon=":material/login:", on_click=_join, args=(room,))


def learner_board(room: rooms.Room) -> None:
    me = rooms.member(room.id, state.owner())
    header(room)
    if me is None:
        join_form(room)
        return
    st.markdown(t("room.you_are", name=Plain(me.name)))
    go, leave = st.columns([3, 1])
    go.page_link("pages/train.py", label=t("room.go_train"), icon=":material/monitoring:")
    leave.button(t("room.leave"), icon=":material/logout:", on_click=_leave, args=(room.id,))
    rows = rooms.board(room, viewer=state.owner())
    st.subheader(t("room.board_title", count=len(rows)))
    if not room.reveal:
        st.caption(t("room.names_hidden"))
    table(room, rows)
    shown = pinned(room, instructor=False)
    question(room, shown, instructor=False)

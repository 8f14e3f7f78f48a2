"""The sidebar on every page: language switch and this learner's training status.

The status is a small fragment that polls while a job runs, so a learner on the
Data or Model page still sees the epoch count and can jump back to the charts.
"""

from __future__ import annotations

import time

import streamlit as st

from core import jobs, rooms, share
from core.i18n import LANGUAGES
from ui import keys, polling, state
from ui.state import t


def _language_switch() -> None:
    current = state.lang()
    choice = st.segmented_control(
        t("sidebar.language"), list(LANGUAGES), default=current, format_func=LANGUAGES.__getitem__, key="lang_switch"
    )
    if choice and choice != current:
        state.set_lang(choice)
        st.rerun()


def _job_status() -> bool:
    """The job the learner most wants news of: the one training now, else the next in line, else the newest.
    Returns whether it is still active: when that changes, the page redraws (ui/polling.py)."""
    view = jobs.shown_for(state.owner())
    if view is None:
        return False
    if view.status == "queued":
        st.caption(t("sidebar.queued", position=view.queue_position) if view.queue_position else t("sidebar.waiting_previous"))
    elif view.status == "running":
        st.caption(t("train.progress", epoch=view.progress.epoch, epochs=view.progress.epochs))
        st.progress(min(view.epochs_done / max(view.progress.epochs, 1), 1.0))
    else:
        st.caption(t(f"status.{view.status}"))
    st.page_link("pages/train.py", label=t("sidebar.open_train"), icon=":material/monitoring:")
    return view.active


def _controls(prefix: str) -> tuple[list[str], list[str]]:
    """The controls to lock and to hide (a classroom link, a workshop room)."""
    # Options are the translated labels themselves (a format_func calling t() would run outside the page's language).
    controls = {t(f"share.control.{c}"): c for c in share.CONTROLS}
    picked = [
        [
            controls[c]
            for c in st.multiselect(
                t(f"share.{what}"), list(controls), key=keys.controls(prefix, what, state.lang()), help=t(f"help.share.{what}")
            )
        ]
        for what in ("lock", "hide")
    ]
    return picked[0], picked[1]


def _room() -> None:
    """Create a workshop room from the current setup, or (in a room) the way back to its board."""
    with st.expander(t("room.sidebar_title"), icon=":material/groups:"):
        choice = state.room_choice()
        if choice:
            st.caption(t("room.sidebar_instructor" if choice["key"] else "room.sidebar_learner"))
            st.page_link("pages/board.py", label=t("room.open_board"), icon=":material/leaderboard:")
            return
        st.caption(t("room.sidebar_hint"))
        st.text_input(t("room.title_field"), key=keys.ROOM_TITLE, max_chars=rooms.TITLE_MAX)
        goals = {t(f"room.goal.{g}"): g for g in rooms.GOALS}
        st.selectbox(t("room.goal_field"), list(goals), key=keys.room_goal(state.lang()))
        st.number_input(
            t("room.deadline_field"), min_value=0, max_value=rooms.DEADLINE_MAX_MINUTES, value=0, key=keys.ROOM_DEADLINE
        )
        _controls("room")
        st.button(t("room.create"), icon=":material/add:", key="room_create", on_click=_create_room, args=(goals,))


def _create_room(goals: dict[str, str]) -> None:
    """Create: the fields' values as they are at the click (read here, not bound when the button was drawn)."""
    controls = {t(f"share.control.{c}"): c for c in share.CONTROLS}
    picked = {
        what: {controls[c] for c in st.session_state.get(keys.controls("room", what, state.lang())) or []}
        for what in ("lock", "hide")
    }
    minutes = int(st.session_state.get(keys.ROOM_DEADLINE) or 0)
    room, key = rooms.create(
        state.spec(),
        st.session_state.get(keys.ROOM_TITLE) or t("room.default_title"),
        goals[st.session_state[keys.room_goal(state.lang())]],
        share.Classroom(picked["lock"], picked["hide"], "train"),
        time.time() + minutes * 60 if minutes else None,
    )
    state.choose_room(room.id, key)  # this tab is the room's instructor
    st.session_state[keys.GO_TO] = state.BOARD_PAGE  # app.py opens the board


def _share(page: str) -> None:
    """Copy link (this setup in another browser) and, for instructors, a classroom link."""

    # Widget keys carry the language: their labels are translated options.
    with st.expander(t("share.title"), icon=":material/share:"):
        st.caption(t("share.copy_hint"))
        st.code(state.link(page), language=None, wrap_lines=True)
        st.markdown(f"**{t('share.classroom')}**")
        pages = {t(f"nav.{p}"): p for p in share.PAGES}
        locked, hidden = _controls("share")
        here = t(f"nav.{page}") if page in share.PAGES else t("nav.home")
        opens = pages[st.selectbox(t("share.page"), list(pages), index=list(pages).index(here), key=f"share_page_{state.lang()}")]
        if locked or hidden:
            room = share.Classroom(set(locked), set(hidden), opens)
            st.code(state.link(opens, room), language=None, wrap_lines=True)


def render(show_job_status: bool = True, page: str = "home") -> None:
    with st.sidebar:
        _language_switch()
        _share(page)
        _room()
        if show_job_status:
            shown = jobs.shown_for(state.owner())
            active = shown is not None and shown.active
            polling.follow(_job_status, drawn=active, active=active, every=polling.SIDEBAR_POLL_SECONDS)

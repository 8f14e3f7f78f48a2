"""Board page: a workshop room, live — the instructor's view (their link has the key), or a learner's."""

import streamlit as st

from ui import keys, rooms_view, state
from ui.state import t

state.require_app()

st.title(t("room.page_title"))
if st.session_state.pop(keys.BOARD_DELETED, False):
    st.success(t("room.deleted"), icon=":material/delete:")
found = rooms_view.current()
if found is None:
    st.stop()
room, instructor = found
rooms_view.live(room.id)
if instructor:
    rooms_view.instructor_board(room)
else:
    rooms_view.learner_board(room)

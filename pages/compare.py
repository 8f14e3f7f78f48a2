"""Compare page: one or two settings, several values each, trained together and ranked — races included."""

import streamlit as st

from ui import compare_view, state
from ui.state import t

state.require_app()

st.title(t("compare.title"))
st.caption(t("compare.intro"))

with st.container(border=True):
    compare_view.builder(state.spec())

group = compare_view.shown_group()
if group is None:
    st.info(t("compare.empty"), icon=":material/info:")
    st.stop()
compare_view.results(group)

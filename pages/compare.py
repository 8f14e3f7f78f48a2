"""Compare page: one or two settings, several values each, trained together and ranked — races included."""

import streamlit as st

from ui import compare_view, state
from ui.state import t

state.require_app()

st.title(t("compare.title"))
st.caption(t("compare.intro"))

group = compare_view.shown_group()
# The builder is open until there is a comparison to look at; then the comparison comes first.
with st.expander(t("compare.new"), expanded=group is None, icon=":material/add_chart:"):
    compare_view.builder(state.spec())

if group is None:
    st.info(t("compare.empty"), icon=":material/info:")
    st.stop()
compare_view.results(group)

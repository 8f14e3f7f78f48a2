"""Landing page: what the playground is and where to start. Imports no TensorFlow."""

import streamlit as st

from ui import state
from ui.state import t

state.require_app()

st.title(t("home.title"))
st.markdown(t("home.intro"))

spec = state.spec()
cols = st.columns(3)
for col, (page, icon, key) in zip(
    cols,
    [
        ("pages/data.py", ":material/dataset:", "data"),
        ("pages/model.py", ":material/account_tree:", "model"),
        ("pages/train.py", ":material/monitoring:", "train"),
    ],
    strict=False,
):
    with col.container(border=True):
        st.markdown(f"**{t(f'home.step_{key}_title')}**")
        st.caption(t(f"home.step_{key}_text"))
        st.page_link(page, label=t(f"home.step_{key}_link"), icon=icon)

st.info(t("home.current", dataset=spec.data.name, layers=len(spec.layers), optimizer=spec.compile.optimizer))
st.markdown(t("home.offline_note"))

with st.container(border=True):
    st.markdown(f"**{t('room.home_title')}**")
    st.markdown(t("room.home_text"))
    st.page_link("pages/board.py", label=t("room.home_link"), icon=":material/leaderboard:")

"""Augmentation studio: every ImageDataGenerator transform on a picture, the code, and training with it."""

import streamlit as st

from core import augment
from ui import augment_view, keys, state
from ui.state import t
from ui.widgets import bound

state.require_app()

st.title(t("augment.title"))
st.caption(t("augment.intro"))

spec = state.spec()
a = spec.augment

settings, preview = st.columns([1, 2], gap="large")
with settings:
    bound(st.checkbox, t("augment.use_in_training"), a, "enabled", help=t("help.augment.enabled"))
    st.button(
        t("augment.tutorial_settings"), icon=":material/menu_book:", on_click=augment_view.load_tutorial_settings, args=(spec,)
    )
    augment_view.controls(a)

with preview:
    image = augment_view.source_image(spec)
    count_col, reroll_col = st.columns([3, 1], vertical_alignment="bottom")
    count = count_col.slider(t("augment.count"), **augment_view.GRID_SIZES, key="augment_count")
    reroll_col.button(t("augment.reroll"), icon=":material/casino:", width="stretch", on_click=augment_view.reroll, args=(a,))
    if image is not None:
        augment_view.grid(image, a, count, st.session_state.get(keys.AUGMENT_SEED, a.seed))
    st.subheader(t("augment.code"))
    st.code(augment.code(a), language="python")
    st.subheader(t("augment.normalisation"))
    augment_view.normalisation_demo(spec, a)

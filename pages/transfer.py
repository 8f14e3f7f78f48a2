"""Transfer learning: an ImageNet network's knowledge under a small head of your own (tutorial 003, 4.4)."""

import streamlit as st

from core import datasets, pretrained, recipes
from ui import keys, recipes_view, state, transfer_view
from ui.state import t
from ui.widgets import bound

state.require_app()

st.title(t("transfer.title"))
st.caption(t("transfer.intro"))

spec = state.spec()
tr = spec.transfer

cards = st.columns(2)
for column, recipe_id in zip(cards, ("transfer-features", "transfer-finetune"), strict=False):
    with column:
        recipes_view.card(recipes.get(recipe_id))

if datasets.DATASETS[spec.data.name].kind != "image":
    st.info(t("transfer.needs_images"), icon=":material/info:")
    st.button(t("transfer.use_demo"), icon=":material/folder:", on_click=transfer_view.use_demo_folders, args=(spec,))
    st.stop()

settings_col, summary_col = st.columns([1, 1], gap="large")
with settings_col:
    st.toggle(
        t("transfer.enabled"),
        value=bool(tr.base),
        key=keys.TRANSFER_ENABLED,
        on_change=transfer_view.toggle,
        args=(spec,),
        help=t("help.transfer.enabled"),
    )
    if tr.base:
        bound(
            st.selectbox,
            t("transfer.base"),
            tr,
            "base",
            options=list(pretrained.ZOO),
            format_func=transfer_view.base_label,
            help=t("help.transfer.base"),
        )
        bound(
            st.radio,
            t("transfer.mode"),
            tr,
            "mode",
            options=["features", "finetune"],
            horizontal=True,
            format_func=lambda m: t(f"transfer.mode_{m}"),
            help=t("help.transfer.mode"),
        )
        if tr.mode == "finetune":
            bound(
                st.slider,
                t("transfer.frozen"),
                tr,
                "frozen",
                max_value=transfer_view.layer_count(tr),  # the base's own layer count
                help=t("help.transfer.frozen"),
            )
        bound(
            st.radio,
            t("transfer.preprocess"),
            tr,
            "preprocess",
            options=["model", "rescale"],
            horizontal=True,
            format_func=lambda p: t(f"transfer.preprocess_{p}"),
            help=t("help.transfer.preprocess"),
        )
        transfer_view.head_editor(spec)

with summary_col:
    if tr.base:
        transfer_view.summary(spec)
        st.page_link("pages/train.py", label=t("transfer.go_train"), icon=":material/monitoring:")

"""Classify: pretrained ImageNet networks (or your own model) on your pictures, and where they looked."""

import streamlit as st

from core import pretrained
from ui import classify_view, state
from ui.state import t

state.require_app()

st.title(t("classify.title"))
st.caption(t("classify.intro"))

SOURCES = ("zoo", "run", "upload")
source = st.radio(
    t("classify.source"), SOURCES, format_func=lambda s: t(f"classify.source_{s}"), horizontal=True, key="classify_source"
)
left, right = st.columns([2, 1])
with left:
    classifier = {
        "zoo": classify_view.zoo_classifier,
        "run": classify_view.run_classifier,
        "upload": classify_view.upload_classifier,
    }[source]()
with right:
    top = st.slider(t("classify.top_k"), **classify_view.TOP_K, key="classify_top")
    explain = st.toggle(t("classify.gradcam"), value=True, key="classify_gradcam", help=t("help.classify.gradcam"))
    invert, preprocess = False, None
    if source != "zoo":
        invert = st.checkbox(t("classify.invert"), key="classify_invert", help=t("help.classify.invert"))
    if source == "upload":
        preprocess = classify_view.preprocess_choice()

pictures = classify_view.pictures()
if classifier is not None:
    for name, picture in pictures:
        classify_view.result(classifier, name, picture, top, explain, invert, preprocess)

if source == "zoo" and classifier is not None:
    with st.expander(t("classify.code")):
        st.code(pretrained.code(classifier.info, top), language="python")

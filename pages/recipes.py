"""Recipes page: every experiment of the five tutorials, one click away, with the tutorial's figure."""

import streamlit as st

from core import recipes
from ui import compare_view, recipes_view, state
from ui.state import t

state.require_app()

st.title(t("recipebook.page_title"))
st.caption(t("recipebook.page_intro"))

with st.container(border=True):
    st.markdown(f"**{t('recipebook.trio_title')}**")
    st.caption(t("recipebook.trio_text"))
    recipes_view.guess_widget("overfitting")
    st.button(
        t("recipebook.trio_button"),
        icon=":material/stacked_line_chart:",
        on_click=recipes_view.train_group,
        args=("overfitting",),
    )

st.subheader(t("races.title"))
st.caption(t("races.intro"))
columns = st.columns(2)
for i, race in enumerate(recipes.RACES.values()):
    with columns[i % 2]:
        compare_view.race_card(race)

for tutorial, items in recipes.by_tutorial().items():
    st.subheader(t(f"tutorials.{tutorial}"))
    columns = st.columns(2)
    for i, recipe in enumerate(items):
        with columns[i % 2]:
            recipes_view.card(recipe)

"""Runs page: every finished or stopped run, compared side by side, with its downloads and code."""

import streamlit as st

from core import jobs, runs
from core.i18n import Plain, markdown_escape
from ui import polling, recipes_view, results_view, runs_view, state
from ui.state import t

state.require_app()

st.title(t("runs.title"))
st.caption(t("runs.intro"))


def active_lines() -> tuple:
    """Jobs still queued or training (e.g. the overfitting trio), a line each; returns what their curves show."""
    views = jobs.unsettled(state.owner())
    for view in views:
        p = view.progress
        where = t("train.progress", epoch=p.epoch, epochs=p.epochs) if view.status == "running" else t("runs.waiting")
        st.markdown(f"**{markdown_escape(view.spec.recipe or view.spec.data.name)}** · {t(f'status.{view.status}')} · {where}")
    return drawn(views)


def drawn(views) -> tuple:
    return tuple((v.id, v.status, v.epochs_done) for v in views)


state.watch()
live = jobs.unsettled(state.owner())
jobs_active = bool(live)
polling.follow(active_lines, drawn=drawn(live), active=jobs_active)
# Their curves so far: redrawn when an epoch ended (the lines above poll; these do not).
runs_view.compare([(v.spec.recipe or v.spec.data.name, v.history) for v in live if v.history], key="live")
st.button(
    t("recipebook.trio_button"),
    icon=":material/stacked_line_chart:",
    on_click=recipes_view.train_group,
    args=("overfitting",),
    disabled=jobs_active,
)

all_runs = runs.store().list(state.owner())
recipes_view.reveal_panel("overfitting", all_runs)
if not all_runs:
    st.info(t("runs.empty_active" if jobs_active else "runs.empty"), icon=":material/info:")
    st.stop()

st.subheader(t("runs.table_title"))
chosen = runs_view.table(all_runs)
if not chosen:
    st.caption(t("runs.pick"))
    st.stop()

runs_view.delete_button(chosen)
st.subheader(t("runs.compare_title"))
runs_view.compare([(f"{i + 1}. {run.name}", run.history) for i, run in enumerate(chosen)])
runs_view.settings_diff(chosen)
if len(chosen) == 1:
    st.subheader(t("runs.run_title", name=Plain(chosen[0].name)))
    runs_view.actions(chosen[0])
    evaluation = runs_view.evaluation_of(chosen[0])
    if evaluation is not None:
        results_view.predict_one(chosen[0].spec, evaluation, chosen[0].id)

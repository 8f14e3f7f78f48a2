"""Train page: press Train, watch the loss and accuracy curves grow epoch by epoch, Stop any time.

Training runs in a background job (see core/training.py); this page only starts
it, stops it, and redraws its snapshot once a second in a fragment.
"""

import streamlit as st

from core import datasets, recipes
from ui import inside_view, recipes_view, state, train_view
from ui.state import t
from ui.widgets import bound

POLL_SECONDS = 1.0

state.require_app()

st.title(t("train.title"))
st.caption(t("train.intro"))

spec = state.spec()
f = spec.fit

with st.container(border=True):
    a, b, c, d = st.columns(4)
    with a:
        bound(st.number_input, t("train.epochs"), f, "epochs", min_value=1, max_value=1000, help=t("help.epochs"))
    with b:
        bound(st.number_input, t("train.batch_size"), f, "batch_size", min_value=1, max_value=8192, help=t("help.batch_size"))
    with c:
        bound(st.number_input, t("train.seed"), f, "seed", min_value=0, max_value=2**31 - 1, help=t("help.seed"))
    with d:
        bound(st.checkbox, t("train.early_stopping"), f, "early_stopping", help=t("help.early_stopping"))
        if f.early_stopping:
            bound(st.number_input, t("train.patience"), f, "patience", min_value=0, max_value=100, help=t("help.patience"))
            bound(st.checkbox, t("train.restore_best"), f, "restore_best_weights", help=t("help.restore_best"))
        bound(st.checkbox, t("train.tensorboard"), f, "tensorboard", help=t("help.tensorboard"))

if datasets.DATASETS[spec.data.name].kind == "image":
    train_view.augmentation_panel(spec)

recipe = recipes.RECIPES.get(spec.recipe)
if recipe is not None:
    reported = recipe.reported_for(f.epochs)
    st.info(t("train.recipe_line", title=t(f"recipes.{recipe.id}.title"),
              figure=recipes_view.reported_text(reported) if reported else t(f"recipebook.criterion.{recipe.criterion or 'none'}")),
            icon=":material/menu_book:")

problem = train_view.preflight(spec)

job = state.current_job()
busy = job is not None and job.snapshot().active


go, stop, _ = st.columns([1, 1, 4])
go.button(t("train.train"), type="primary", icon=":material/play_arrow:", disabled=busy or problem is not None,
          on_click=state.start_job, args=(spec,), width="stretch")
stop.button(t("train.stop"), icon=":material/stop:", disabled=not busy, on_click=state.stop_job, args=(job,), width="stretch")


def live_panel(job_id: str) -> None:
    job = state.registry().get(job_id)
    if job is None:
        return
    view = job.snapshot()
    st.markdown(train_view.status_line(view))
    st.progress(train_view.progress_fraction(view))
    train_view.message(view)
    train_view.live_charts(view, job)
    train_view.diagnosis_panel(view)
    if view.settled and st.session_state.get("polling_job") == job_id:
        st.session_state["polling_job"] = None
        st.rerun()  # the job ended: one full redraw shows the results and stops polling


job = state.current_job()
if job is None:
    st.info(t("train.no_job_blocked" if problem is not None else "train.no_job"), icon=":material/info:")
else:
    view = job.snapshot()
    st.session_state["polling_job"] = None if view.settled else job.id
    st.fragment(live_panel, run_every=None if view.settled else POLL_SECONDS)(job.id)
    if view.settled:
        known = job.data.class_names if job.data is not None else datasets.DATASETS[view.spec.data.name].class_names
        train_view.results(job, view, state.class_names(view.spec.data.name, known))
        inside_view.panel(job, settled=True)

"""Train page: press Train, watch the loss and accuracy curves grow epoch by epoch, Stop any time.

Training runs in a worker process (see core/workers.py); this page only submits it, stops
it, and redraws what the run store says of it once a second in a fragment.
"""

from functools import partial

import streamlit as st

from core import datasets, jobs, pretrained, recipes
from ui import inside_view, polling, recipes_view, state, train_view
from ui.state import t
from ui.widgets import bound

state.require_app()

st.title(t("train.title"))
st.caption(t("train.intro"))

spec = state.spec()
f = spec.fit

with st.container(border=True):
    a, b, c, d = st.columns(4)
    with a:
        bound(st.number_input, t("train.epochs"), f, "epochs", help=t("help.epochs"))
    with b:
        bound(st.number_input, t("train.batch_size"), f, "batch_size", help=t("help.batch_size"))
    with c:
        bound(st.number_input, t("train.seed"), f, "seed", help=t("help.seed"))
    with d:
        bound(st.checkbox, t("train.early_stopping"), f, "early_stopping", help=t("help.early_stopping"))
        if f.early_stopping:
            bound(st.number_input, t("train.patience"), f, "patience", help=t("help.patience"))
            bound(st.checkbox, t("train.restore_best"), f, "restore_best_weights", help=t("help.restore_best"))
        bound(st.checkbox, t("train.tensorboard"), f, "tensorboard", help=t("help.tensorboard"))

if datasets.DATASETS[spec.data.name].kind == "image":
    train_view.augmentation_panel(spec)

recipe = recipes.RECIPES.get(spec.recipe)
if recipe is not None:
    reported = recipe.reported_for(f.epochs)
    st.info(
        t(
            "train.recipe_line",
            title=t(f"recipes.{recipe.id}.title"),
            figure=recipes_view.reported_text(reported) if reported else t(f"recipebook.criterion.{recipe.criterion or 'none'}"),
        ),
        icon=":material/menu_book:",
    )
    if recipe.uses_fallback(spec):  # the tutorial's base is not here: say which one trains instead
        st.caption(
            t(
                "train.fallback_base",
                wanted=pretrained.get(recipe.spec.transfer.base).label,
                used=pretrained.get(spec.transfer.base).label,
            )
        )

problem = train_view.preflight(spec)

job = state.current_job()
busy = job is not None and job.active

go, stop, _ = st.columns([1, 1, 4])
go.button(
    t("train.train"),
    type="primary",
    icon=":material/play_arrow:",
    disabled=busy or problem is not None,
    on_click=state.start_job,
    args=(spec,),
    width="stretch",
)
stop.button(
    t("train.stop"),
    icon=":material/stop:",
    disabled=not busy,
    on_click=state.stop_job,
    args=(job.id if job else "",),
    width="stretch",
)


def status_panel(job_id: str) -> tuple:
    """Polled every second: the status line and the progress bar. Returns what the charts are drawn from, so
    they are redrawn once per epoch (ui/polling.py), not per poll."""
    view = jobs.view(job_id)
    if view is None:
        return ()
    st.markdown(train_view.status_line(view))
    st.progress(train_view.progress_fraction(view))
    if view.worker:
        st.caption(t("train.ran_on", device=view.device or "CPU", worker=":".join(view.worker.split(":")[:2])))
    return train_view.drawn_state(view)


if job is None:
    st.info(t("train.no_job_blocked" if problem is not None else "train.no_job"), icon=":material/info:")
else:
    every = train_view.poll_every(job)
    polling.follow(partial(status_panel, job.id), drawn=train_view.drawn_state(job), active=not job.settled, every=every)
    train_view.message(job)
    train_view.live_charts(job)
    train_view.diagnosis_panel(job)
    if job.settled:
        train_view.results(job)
        inside_view.panel(job)

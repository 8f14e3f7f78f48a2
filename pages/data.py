"""Data page: pick a dataset (or upload your own), choose how much of it to use, and look at it."""

import numpy as np
import streamlit as st

from core import charts, datasets, images
from core.i18n import LocalizedError
from core.spec import ExperimentSpec
from ui import keys, state, upload_view
from ui.state import t
from ui.widgets import bound, optional_count

state.require_app()

st.title(t("data.title"))
st.caption(t("data.intro"))

spec = state.spec()
d = spec.data


def on_dataset_change():
    """A new kind of data (images vs features, classes vs values) needs a new kind of model: reset it and its training."""
    new = datasets.DATASETS[d.name]
    new_kind = new.kind
    if (new.kind, new.task) != st.session_state.get(keys.DATA_KIND_BEFORE):
        fresh = ExperimentSpec.default_for(d.name)
        fresh.data = d
        d.standardize = new_kind == "tabular"
        state.replace_spec(fresh)
        st.toast(t("data.model_reset", kind=t(f"kind.{new_kind}")))


def dataset_label(key: str) -> str:
    mark = {"builtin": "", "upload": "", "local": " ✓", "download": " ⬇"}[datasets.availability(key)]
    return f"{t(f'datasets.{key}.title')}{mark}"


st.session_state[keys.DATA_KIND_BEFORE] = (datasets.DATASETS[d.name].kind, datasets.DATASETS[d.name].task)
left, right = st.columns([1, 2])
with left:
    bound(
        st.selectbox,
        t("data.dataset"),
        d,
        "name",
        options=list(datasets.DATASETS),
        format_func=dataset_label,
        after=on_dataset_change,
        help=t("help.dataset"),
    )
    info = datasets.DATASETS[d.name]
    st.caption(t(f"datasets.{d.name}.about"))
    if d.name == "folder":
        upload_view.folder_controls(spec)
    elif d.name == "csv":
        upload_view.csv_controls(spec)
    if info.kind == "points":
        bound(st.slider, t("data.n_samples"), d, "n_samples", help=t("help.n_samples"))
        bound(st.slider, t("data.noise"), d, "noise", help=t("help.noise"))
    if info.group in ("playground", "sklearn", "upload"):
        bound(
            st.slider,
            t("data.test_fraction"),
            d,
            "test_fraction",
            help=t("help.test_fraction"),
        )
    optional_count(t("data.train_size"), d, "train_size", t("help.train_size"))
    optional_count(t("data.test_size"), d, "test_size", t("help.test_size"))
    bound(
        st.radio,
        t("data.validation"),
        d,
        "validation",
        options=["test", "split"],
        format_func=lambda v: t(f"data.source_{v}"),
        help=t("help.validation"),
    )
    if d.validation == "split":
        bound(st.slider, t("data.validation_split"), d, "validation_split")
    if info.kind != "image":
        bound(st.checkbox, t("data.standardize"), d, "standardize", help=t("help.standardize"))
    bound(st.number_input, t("data.seed"), d, "seed", help=t("help.data_seed"))

with right:
    try:
        with st.spinner(t("data.loading")):
            data = datasets.load(d, state.owner())
    except LocalizedError as exc:
        st.warning(state.say(exc.msg), icon=":material/cloud_off:")
        st.stop()
    names = state.class_names(d.name, data.class_names)
    a, b, c = st.columns(3)
    a.metric(t("data.train_samples"), f"{len(data.y_train):,}")
    b.metric(t("data.test_samples"), f"{len(data.y_test):,}")
    c.metric(t("data.input_shape"), " x ".join(map(str, data.input_shape)))
    for note in data.notes:
        st.caption(note)
    upload_view.report(data)
    st.subheader(t("data.preview"))
    if data.kind == "image":
        for k, idx in datasets.per_class_indices(data, 8 if data.n_classes <= 4 else 3).items():
            st.image([images.for_display(data.x_train[i]) for i in idx], caption=[names[k]] * len(idx), width=72)
        st.page_link("pages/augment.py", label=t("data.go_augment"), icon=":material/auto_awesome:")
    elif data.kind == "points":
        st.plotly_chart(charts.points_figure(data.x_train, data.y_train, names), width="stretch")
    else:
        import pandas as pd

        frame = pd.DataFrame(np.asarray(data.x_train[:20]), columns=list(data.feature_names))
        labels = [round(float(v), 4) for v in data.y_train[:20]] if data.regression else [names[k] for k in data.y_train[:20]]
        frame.insert(0, data.target_names[0] if data.regression else t("data.label"), labels)
        st.dataframe(frame, hide_index=True, height=260)
    if data.regression:  # values, not classes: how they spread
        target = data.target_names[0]
        st.plotly_chart(
            charts.histogram_figure(data.y_train, t("data.values_title", target=target), target, t("data.samples")),
            width="stretch",
        )
    else:
        st.plotly_chart(
            charts.class_counts_figure(data.class_counts(), names, t("data.counts_title"), t("data.class"), t("data.samples")),
            width="stretch",
        )

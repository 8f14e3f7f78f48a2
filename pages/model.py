"""Model page: stack layers, pick the optimizer and loss, and see the summary before training."""

import streamlit as st

from core import datasets
from core.i18n import LocalizedError
from core.model_rules import ModelBuildError, loss_fits, plan_loss, task_name
from core.spec import LOSSES, OPTIMIZERS, SCHEDULES
from core.summary import summarize
from ui import keys, state
from ui.layers import layer_editor
from ui.state import t
from ui.widgets import bound

state.require_app()

st.title(t("model.title"))
st.caption(t("model.intro"))

spec = state.spec()
info = datasets.DATASETS[spec.data.name]
c = spec.compile


def use_optimizer_default_rate() -> None:
    """A new optimizer starts from its own Keras default learning rate."""
    spec.set_optimizer(c.optimizer)
    st.session_state.pop(keys.bound("CompileSpec", "learning_rate"), None)


# The summary first (cached per model-shaping setting): its plan says what the output layer is, uploads included.
try:
    summary, problem = summarize(spec, state.owner()), None
except LocalizedError as exc:  # ModelBuildError names the layer; otherwise the data is missing or an upload unreadable
    summary, problem = None, exc


def output_text() -> str:
    try:
        plan = (
            summary.plan
            if summary is not None
            else plan_loss(task_name(info.task == "regression", info.n_classes), info.n_outputs, c.loss)
        )
        return t("model.output_line", units=plan.units, activation=plan.activation, loss=plan.loss)
    except ModelBuildError as exc:
        return t("model.output_line_invalid", error=state.say(exc.msg))


stack, settings = st.columns([3, 2], gap="large")
with stack:
    st.subheader(t("model.layers"))
    preprocess = t("model.rescale_line") if info.kind == "image" else (t("model.normalize_line") if spec.data.standardize else "")
    layer_editor(
        spec, info.kind, t("model.input_line", dataset=t(f"datasets.{info.key}.title"), preprocess=preprocess), output_text()
    )

with settings:
    st.subheader(t("model.compile"))
    bound(
        st.selectbox,
        t("model.optimizer"),
        c,
        "optimizer",
        options=list(OPTIMIZERS),
        format_func=lambda o: t(f"optimizer.{o}"),
        help=t("help.optimizer"),
        after=use_optimizer_default_rate,
    )
    bound(
        st.number_input,
        t("model.learning_rate"),
        c,
        "learning_rate",
        format="%g",
        help=t("help.learning_rate"),
    )
    bound(
        st.selectbox,
        t("model.schedule"),
        c,
        "schedule",
        options=list(SCHEDULES),
        format_func=lambda v: t(f"schedule.{v}"),
        help=t("help.schedule"),
    )
    if c.schedule == "keras2_decay":
        bound(st.number_input, t("model.decay"), c, "decay", format="%g", help=t("help.decay"))
    if c.schedule in ("step", "exponential", "plateau"):
        factor, every = st.columns(2)
        with factor:
            bound(st.slider, t("model.schedule_factor"), c, "schedule_factor", help=t("help.schedule_factor"))
        with every:
            label = "model.schedule_patience" if c.schedule == "plateau" else "model.schedule_epochs"
            bound(st.number_input, t(label), c, "schedule_epochs", help=t("help.schedule_epochs"))
    if c.optimizer in ("sgd", "rmsprop"):
        bound(st.slider, t("model.momentum"), c, "momentum", help=t("help.momentum"))
    if c.optimizer == "sgd":
        bound(st.checkbox, t("model.nesterov"), c, "nesterov", help=t("help.nesterov"))
    if c.optimizer == "adamw":
        bound(
            st.number_input,
            t("model.weight_decay"),
            c,
            "weight_decay",
            format="%g",
            help=t("help.weight_decay"),
        )
    bound(
        st.selectbox,
        t("model.loss"),
        c,
        "loss",
        options=[loss for loss in LOSSES if loss_fits(loss, info.task == "regression") or loss == c.loss],
        format_func=lambda v: t("model.loss_auto") if v == "auto" else v,
        help=t("help.loss"),
    )

st.divider()
st.subheader(t("model.summary"))
if isinstance(problem, ModelBuildError):
    st.error(state.say(problem.msg), icon=":material/error:")
    st.stop()
if problem is not None or summary is None:  # the data is missing or an upload cannot be read
    st.warning(state.say(problem.msg), icon=":material/cloud_off:")
    st.stop()

a, b, c2 = st.columns(3)
a.metric(t("model.total_params"), f"{summary.total_params:,}")
b.metric(t("model.trainable_params"), f"{summary.trainable_params:,}")
c2.metric(t("model.layer_count"), len(summary.rows))
table, diagram = st.columns([3, 2])
# An HTML table: a grid (st.dataframe) repaints about 200 ms after every edit.
table.table(
    [
        {
            t("model.col_layer"): r["layer"],
            t("model.col_type"): r["type"],
            t("model.col_shape"): r["output shape"],
            t("model.col_params"): r["params"],
        }
        for r in summary.records()
    ],
    border="horizontal",
    hide_index=True,
)
diagram.graphviz_chart(summary.dot(t("model.diagram_params")), width="content")
st.page_link("pages/train.py", label=t("model.go_train"), icon=":material/play_arrow:")

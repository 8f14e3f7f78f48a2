"""After training: the test figures, what the model got wrong, and any one test sample predicted.

Everything here is drawn from the run's evaluation blob (core/analysis.Evaluation): the worker
kept the model's outputs for the test samples, so the page needs neither the model nor TensorFlow.
The test pictures themselves come from the dataset, loaded as the Data page loads it.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from core import charts, datasets, images, recipes
from core.evaluation import Evaluation
from core.i18n import LocalizedError
from core.recipes import Reported
from core.spec import ExperimentSpec
from ui import keys, state
from ui.state import t

PREDICT_CODE = """x = np.expand_dims(x_test[{index}], 0)  # a batch of one sample
probabilities = model.predict(x)[0]
print(np.argmax(probabilities))  # {argmax} -> "{name}\""""
PREDICT_CODE_REGRESSION = """x = np.expand_dims(x_test[{index}], 0)  # a batch of one sample
print(model.predict(x)[0])  # [{value}]"""


def metrics(ev: Evaluation, history: dict, reported: Reported | None) -> None:
    """The test figures in a row, with the tutorial's own figure beside them when the recipe has one."""
    a, b, c, d = st.columns(4)
    if ev.regression:
        a.metric(t("results.test_mae"), f"{ev.test_mae:.4g}")
        b.metric(t("results.test_rmse"), f"{ev.test_rmse:.4g}")
    else:
        a.metric(t("results.test_accuracy"), f"{ev.test_accuracy:.4f}")
        b.metric(t("results.test_loss"), f"{ev.test_loss:.4f}")
    c.metric(t("results.test_samples"), f"{ev.n_test:,}")
    ours = recipes.ours(reported.metric, history, ev.headline) if reported else None
    if reported is None or ours is None:
        return
    metric = t(f"metric.{reported.metric}")
    difference = ours - reported.value
    d.metric(
        t("results.vs_tutorial", metric=metric[:1].upper() + metric[1:], value=f"{reported.value:g}"),
        f"{ours:.4f}" if not ev.regression else f"{ours:.4g}",
        delta=t("results.difference", delta=f"{difference:+.3g}")
        if ev.regression
        else t("results.points", delta=f"{difference * 100:+.2f}"),
        delta_color="off",
    )


def mistakes(ev: Evaluation, names: list[str]) -> None:
    """The first mistakes, with the pictures (or feature values) they were made on."""
    st.markdown(f"**{t('results.mistakes', count=ev.n_wrong)}**")
    shown = ev.mistakes[:16]
    if not len(shown):
        return
    caption = [t("results.true_pred", true=names[true], pred=names[pred]) for _, true, pred in shown]
    if ev.images:
        st.image([images.for_display(img) for img in np.asarray(ev.samples)[: len(shown)]], caption=caption, width=80)
        return
    rows = [
        {t("results.index"): int(i), t("results.true"): names[true], t("results.predicted"): names[pred]}
        for i, true, pred in shown
    ]
    _with_features(rows, ev)
    st.dataframe(rows, hide_index=True)


def _with_features(rows: list[dict], ev: Evaluation) -> None:
    if ev.samples is not None and ev.feature_names:
        for row, sample in zip(rows, ev.samples, strict=False):
            row.update({name: round(float(v), 4) for name, v in zip(ev.feature_names, sample, strict=False)})


def classification(ev: Evaluation, names: list[str]) -> None:
    matrix, wrong = st.columns([1, 1])
    matrix.plotly_chart(
        charts.confusion_figure(ev.confusion, names, t("results.confusion"), t("results.predicted"), t("results.true")),
        key="chart_confusion",
        width="stretch",
    )
    with wrong:
        mistakes(ev, names)


def regression(ev: Evaluation) -> None:
    """Predicted vs actual with the diagonal, how the errors spread, and the worst predictions."""
    target = ev.target_names[0] if ev.target_names else t("results.value")
    actual, predicted = np.asarray(ev.actual)[:, 0], np.asarray(ev.outputs)[:, 0]
    scatter, spread = st.columns([1, 1])
    scatter.plotly_chart(
        charts.predicted_vs_actual_figure(
            actual,
            predicted,
            t("results.predicted_vs_actual"),
            t("results.actual_of", target=target),
            t("results.predicted_of", target=target),
        ),
        key="chart_scatter",
        width="stretch",
    )
    spread.plotly_chart(
        charts.histogram_figure(predicted - actual, t("results.residuals"), t("results.residual"), t("data.samples")),
        key="chart_residuals",
        width="stretch",
    )
    st.markdown(f"**{t('results.worst', count=min(len(ev.worst), 16))}**")
    rows = [
        {
            t("results.index"): int(i),
            t("results.actual_of", target=target): round(float(actual[i]), 4) if i < len(actual) else None,
            t("results.predicted_of", target=target): round(float(predicted[i]), 4) if i < len(predicted) else None,
        }
        for i in ev.worst[:16]
    ]
    _with_features(rows, ev)
    st.dataframe(rows, hide_index=True)


def predict_one(spec: ExperimentSpec, ev: Evaluation, run_id: str) -> None:
    """Tutorial 004's last step: one test sample, what the model says of it, and the Keras lines that do it."""
    if not len(ev.outputs):
        return
    st.subheader(t("predict.title"))
    count = len(ev.outputs)
    key = keys.predict_index(run_id)
    pick, dice = st.columns([3, 1], vertical_alignment="bottom")
    if dice.button(t("predict.random"), key=f"{key}.dice", icon=":material/casino:", width="stretch"):
        st.session_state[key] = int(np.random.default_rng().integers(count))
    index = int(pick.number_input(t("predict.index", count=f"{count:,}"), min_value=0, max_value=count - 1, key=key))
    shown, sample = st.columns([1, 2])
    with shown:
        _show_sample(spec, ev, index)
    with sample:
        if ev.regression:
            _predicted_value(ev, index)
        else:
            _probabilities(spec, ev, index)


def _show_sample(spec: ExperimentSpec, ev: Evaluation, index: int) -> None:
    """The test sample itself: its picture, or its feature values (from the dataset, as the Data page loads it)."""
    try:
        data = datasets.load(spec.data, state.owner())
    except LocalizedError as exc:
        st.caption(state.say(exc.msg))
        return
    if index >= len(data.x_test):
        return
    x = data.x_test[index]
    if data.kind == "image":
        st.image(images.for_display(x), caption=t("predict.sample", index=index), width=160)
    else:
        st.dataframe(
            [
                {t("predict.feature"): name, t("predict.value"): round(float(v), 4)}
                for name, v in zip(data.feature_names, x, strict=False)
            ],
            hide_index=True,
        )


def _probabilities(spec: ExperimentSpec, ev: Evaluation, index: int) -> None:
    names = state.class_names(spec.data.name, list(ev.class_names))
    probs = [float(p) for p in ev.outputs[index]]
    best, truth = int(np.argmax(probs)), int(ev.actual[index])
    verdict = "predict.right" if best == truth else "predict.wrong"
    st.markdown(t(verdict, predicted=names[best], true=names[truth], p=f"{probs[best]:.1%}"))
    st.plotly_chart(
        charts.probabilities_figure(probs, names, t("predict.probabilities"), truth),
        key=f"chart_predict.{index}",
        width="stretch",
    )
    st.code(PREDICT_CODE.format(index=index, argmax=best, name=names[best]), language="python")


def _predicted_value(ev: Evaluation, index: int) -> None:
    target = ev.target_names[0] if ev.target_names else t("results.value")
    value, truth = float(ev.outputs[index, 0]), float(ev.actual[index, 0])
    st.markdown(
        t("predict.value_line", target=target, predicted=f"{value:.4g}", true=f"{truth:.4g}", error=f"{value - truth:+.3g}")
    )
    st.code(PREDICT_CODE_REGRESSION.format(index=index, value=f"{value:.4g}"), language="python")

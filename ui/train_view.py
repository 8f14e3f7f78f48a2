"""How a job looks on the Train page: status line, live charts, and the results after training."""

from __future__ import annotations

import streamlit as st

from core import charts, datasets, diagnosis, images, recipes
from core import preflight as pre
from core.i18n import LocalizedError
from core.jobs import JobView
from core.model_rules import headline_metric
from core.pipeline import first_training_batch
from core.status import Phase, Status
from ui import downloads, keys, polling, results_view, state
from ui.state import t
from ui.widgets import bound


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def status_line(view: JobView) -> str:
    """'**Running** · Epoch 3/20 · batch 120/469 · ETA 0:42' and the like."""
    parts = [f"**{t(f'status.{view.status}')}**"]
    p = view.progress
    if view.status == Status.QUEUED:
        parts.append(
            t("train.queue_position", position=view.queue_position) if view.queue_position else t("sidebar.waiting_previous")
        )
    elif view.status == Status.RUNNING:
        if view.phase != Phase.TRAINING:
            parts.append(t(f"phase.{view.phase}"))
            if view.phase == Phase.FEATURES and p.steps:
                parts.append(t("train.images_done", done=p.step, total=p.steps))
        elif p.epochs:
            parts.append(t("train.progress", epoch=p.epoch, epochs=p.epochs))
            if p.steps:
                parts.append(t("train.batch", step=p.step, steps=p.steps))
            eta = view.eta_seconds()
            if eta is not None:
                parts.append(t("train.eta", eta=_clock(eta)))
    else:
        parts.append(t("train.epochs_done", done=view.epochs_done, epochs=view.spec.fit.epochs))
        if view.phase == Phase.EVALUATING:
            parts.append(t("phase.evaluating"))
    return " · ".join(parts)


def progress_fraction(view: JobView) -> float:
    p = view.progress
    if not p.epochs:
        return 0.0
    within = p.step / p.steps if p.steps and view.status == Status.RUNNING and view.phase == Phase.TRAINING else 0.0
    return float(min((view.epochs_done + within) / p.epochs, 1.0))


def augmentation_panel(spec) -> None:
    """Train with the studio's augmentation, and look at the first batch `fit` will consume."""

    with st.expander(t("train.augment_title"), icon=":material/auto_awesome:", expanded=spec.augment.enabled):
        bound(st.checkbox, t("augment.use_in_training"), spec.augment, "enabled", help=t("help.augment.enabled"))
        st.page_link("pages/augment.py", label=t("train.open_studio"), icon=":material/auto_awesome:")
        if spec.augment.enabled and st.toggle(t("train.show_first_batch"), key="show_first_batch"):
            try:
                batch = first_training_batch(spec, state.owner())
            except LocalizedError as exc:
                st.warning(state.say(exc.msg))
                return
            if batch is None:
                st.caption(t("train.augment_identity"))
                return
            x, labels, names = batch
            shown = [
                images.for_display(
                    images.stretch_for_display(img) if spec.augment.samplewise_center or spec.augment.featurewise_center else img
                )
                for img in x[:16]
            ]
            st.image(shown, caption=[names[k] for k in labels[:16]], width=90)


def tutorial_figure(view: JobView):
    """The tutorial's reported figure for this job's recipe and epoch count, if any."""
    recipe = recipes.RECIPES.get(view.spec.recipe)
    if recipe is None or not recipe.compares_with_tutorial(view.spec):
        return None
    return recipe.reported_for(view.spec.fit.epochs)


def drawn_state(view: JobView) -> tuple:
    """What the page drew the charts and messages from, and how often it polls: when it changes, the page redraws."""
    return view.status, view.phase, view.epochs_done, view.message.key if view.message else "", poll_every(view)


def poll_every(view: JobView) -> float:
    """Seconds between the page's polls of this job (ui/polling.every): by its place while it waits in the queue."""
    return polling.every(view.queue_position if view.status == Status.QUEUED else None)


def _figure(name: str, view: JobView, build, revision: object = None):
    """Figures change only when an epoch ends: rebuild them then, not on every poll. `revision` is what the figure is
    drawn from when that is not the epoch count (the decision map's own epoch).

    The same figure gives the same chart spec, and Streamlit then leaves the chart in the browser as it is (the
    reader's zoom included); a changed one is a new chart element, so rebuild only what changed."""
    cache = st.session_state.setdefault(keys.FIGURES, {})
    key = (name, view.id, view.epochs_done if revision is None else revision, view.settled, state.lang())
    if cache.get(name, (None,))[0] != key:
        cache[name] = (key, build())
    return cache[name][1]


def live_charts(view: JobView) -> None:
    """Loss and accuracy, train vs validation, per epoch; for 2-D data the decision map beside them."""
    # While training the axis spans the planned epochs (where the run is going); once settled, the epochs it
    # ran (early stopping or Stop can end 1000 planned epochs at 51, and the curves would sit in a corner).
    epochs = view.epochs_done if view.settled and view.epochs_done else view.spec.fit.epochs
    reported = tutorial_figure(view)
    found = view.decision_map
    columns = st.columns([1, 1, 1] if found is not None else [1, 1])
    loss = _figure(
        "loss",
        view,
        lambda: charts.history_figure(
            view.history, "loss", t("chart.loss"), t("chart.epoch"), t("chart.train"), t("chart.validation"), epochs
        ),
    )
    headline = headline_metric(view.spec.regression)  # accuracy, or a regression's mean absolute error
    accuracy = _figure(
        headline,
        view,
        lambda: charts.history_figure(
            view.history,
            headline,
            t(f"chart.{headline}"),
            t("chart.epoch"),
            t("chart.train"),
            t("chart.validation"),
            epochs,
            reference=reported.value if reported else None,
            reference_name=t("chart.tutorial", metric=t(f"metric.{reported.metric}")) if reported else "",
        ),
    )
    columns[0].plotly_chart(loss, key="chart_loss", width="stretch")
    columns[1].plotly_chart(accuracy, key=f"chart_{headline}", width="stretch")
    if found is not None:
        names = state.class_names(view.spec.data.name, [str(k) for k in range(found.n_classes)])  # none: a regression
        boundary = _figure(
            "boundary",
            view,
            lambda: charts.decision_boundary_figure(
                found.xs,
                found.ys,
                found.z,
                found.x,
                found.y,
                found.n_classes,
                t("chart.boundary" if found.n_classes else "chart.value_map"),
                names,
            ),
            revision=(found.epoch, tuple(names)),
        )
        columns[2].plotly_chart(boundary, key="chart_boundary", width="stretch")
    rates = view.history.get("learning_rate")
    if view.spec.compile.schedule != "none" and rates:  # a schedule: show where the rate went
        figure = _figure(
            "learning_rate",
            view,
            lambda: charts.learning_rate_figure(rates, t("chart.learning_rate"), t("chart.epoch"), epochs),
        )
        st.columns(2)[0].plotly_chart(figure, key="chart_learning_rate", width="stretch")


def message(view: JobView) -> None:
    if view.message is None:
        return
    text = state.say(view.message)
    if view.status in (Status.DIVERGED, Status.FAILED):
        st.error(text, icon=":material/error:")
    else:
        st.info(text, icon=":material/info:")


def results(view: JobView) -> None:
    """Test figures, what went wrong (or a regression's scatter), one sample predicted, and the downloads."""
    ev = view.evaluation
    if ev is None:
        return
    st.subheader(t("results.title"))
    results_view.metrics(ev, view.history, tutorial_figure(view))
    if ev.regression:
        results_view.regression(ev)
    else:
        results_view.classification(ev, state.class_names(view.spec.data.name, list(ev.class_names)))
    results_view.predict_one(view.spec, ev, view.id)
    downloads.panel(view.run)


def preflight(spec) -> str | None:
    """The setup line and the preflight estimate next to Train; returns the problem that blocks Train, if any."""

    try:
        p = pre.estimate(spec, state.owner())
    except LocalizedError as exc:
        problem = state.say(exc.msg)
        st.error(problem, icon=":material/error:")
        st.page_link("pages/model.py", label=t("train.fix_model"), icon=":material/account_tree:")
        return problem
    st.caption(
        t(
            "train.setup",
            dataset=t(f"datasets.{spec.data.name}.title"),
            params=f"{p.params:,}",
            optimizer=t(f"optimizer.{spec.compile.optimizer}"),
            lr=f"{spec.compile.learning_rate:g}",
            batch=spec.fit.batch_size,
            epochs=spec.fit.epochs,
        )
    )
    eta = p.eta_seconds(spec.fit.epochs)
    memory = t("train.memory_mb", mb=f"{p.memory_mb:,.0f}") if p.memory_mb >= 1 else t("train.memory_small")
    st.caption(
        t(
            "train.preflight",
            memory=memory,
            samples=f"{p.samples:,}",
            ms=f"{p.batch_seconds * 1000:.1f}" if p.batch_seconds is not None else "-",
            eta=_clock(eta) if eta is not None else "-",
            epochs=spec.fit.epochs,
        )
    )
    with st.expander(t("explain.title"), icon=":material/school:"):
        val = (
            t("explain.val_test")
            if spec.data.validation == "test"
            else t("explain.val_split", fraction=spec.data.validation_split)
        )
        st.markdown(
            t(
                "explain.steps",
                samples=f"{p.samples:,}",
                batch=spec.fit.batch_size,
                steps=f"{p.steps_per_epoch:,}",
                epochs=spec.fit.epochs,
                updates=f"{p.steps_per_epoch * spec.fit.epochs:,}",
                validation=val,
                optimizer=t(f"optimizer.{spec.compile.optimizer}"),
                lr=f"{spec.compile.learning_rate:g}",
            )
        )
    if p.problems:
        text = "\n\n".join(state.say(m) for m in p.problems)
        st.error(text, icon=":material/block:")
        return text
    return None


def _apply_fix(fix, spec) -> None:
    state.replace_spec(fix.apply(spec))
    st.toast(t("diagnosis.applied"))


def diagnosis_panel(view: JobView) -> None:
    """What the curves say so far, in plain words, with one-click changes to try (applied to the next run)."""

    n_classes = view.metrics.get("n_classes") or (len(view.class_names) or None)
    if n_classes is None:
        info = datasets.DATASETS.get(view.spec.data.name)
        n_classes = info.n_classes if info is not None and info.n_classes else None
    findings = diagnosis.diagnose(view.history, view.spec, view.status, n_classes)
    if not findings:
        return
    show = {"error": st.error, "warning": st.warning, "info": st.info}
    for finding in findings:
        show[finding.severity](
            f"**{t(f'diagnosis.kind.{finding.kind}')}** · {state.say(finding.message)}", icon=":material/stethoscope:"
        )
        if finding.fixes:
            row = st.container(horizontal=True, gap="small")  # buttons as wide as their labels, wrapping when needed
            for fix in finding.fixes[:4]:
                row.button(
                    state.say(fix.label),
                    key=f"diag-{view.id}-{finding.kind}-{fix.id}",
                    on_click=_apply_fix,
                    args=(fix, view.spec),
                    width="content",
                    help=t("diagnosis.try").rstrip(":："),
                )

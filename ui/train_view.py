"""How a job looks on the Train page: status line, live charts, and the results after training."""

from __future__ import annotations

import streamlit as st

from core import charts, codegen, export, images, recipes
from core.i18n import LocalizedError
from core.training import DIVERGED, FAILED, QUEUED, RUNNING, JobView
from ui import state
from ui.state import t


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def status_line(view: JobView) -> str:
    """'**Running** · Epoch 3/20 · batch 120/469 · ETA 0:42' and the like."""
    parts = [f"**{t(f'status.{view.status}')}**"]
    p = view.progress
    if view.status == QUEUED:
        parts.append(t("train.queue_position", position=view.queue_position) if view.queue_position
                     else t("sidebar.waiting_previous"))
    elif view.status == RUNNING:
        if view.phase != "training":
            parts.append(t(f"phase.{view.phase.replace(' ', '_')}"))
            if view.phase == "computing features" and p.steps:
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
        if view.phase == "evaluating":
            parts.append(t("phase.evaluating"))
    return " · ".join(parts)


def progress_fraction(view: JobView) -> float:
    p = view.progress
    if not p.epochs:
        return 0.0
    within = p.step / p.steps if p.steps and view.status == RUNNING else 0.0
    return float(min((view.epochs_done + within) / p.epochs, 1.0))


def augmentation_panel(spec) -> None:
    """Train with the studio's augmentation, and look at the first batch `fit` will consume."""
    from core.training import first_training_batch
    from ui.widgets import bound

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
            shown = [images.for_display(images.stretch_for_display(img) if spec.augment.samplewise_center or
                                        spec.augment.featurewise_center else img) for img in x[:16]]
            st.image(shown, caption=[names[k] for k in labels[:16]], width=90)


def tutorial_figure(view: JobView):
    """The tutorial's reported figure for this job's recipe and epoch count, if any."""
    recipe = recipes.RECIPES.get(view.spec.recipe)
    return recipe.reported_for(view.spec.fit.epochs) if recipe else None


def _figure(name: str, view: JobView, build):
    """Figures change only when an epoch ends: rebuild them then, not on every poll.

    Building a Plotly figure holds the GIL for ~8 ms, time the training thread loses;
    the fragment polls every second, so caching keeps the page's cost per epoch, not per second.
    """
    cache = st.session_state.setdefault("figure_cache", {})
    key = (name, view.id, view.epochs_done, state.lang())
    if cache.get(name, (None,))[0] != key:
        cache[name] = (key, build())
    return cache[name][1]


def live_charts(view: JobView, job) -> None:
    """Loss and accuracy, train vs validation, per epoch; for 2-D data the decision map beside them."""
    epochs = view.spec.fit.epochs
    reported = tutorial_figure(view)
    grid, data = job.grid, job.data
    with_map = view.boundary is not None and grid is not None and data is not None
    columns = st.columns([1, 1, 1] if with_map else [1, 1])
    loss = _figure("loss", view, lambda: charts.history_figure(
        view.history, "loss", t("chart.loss"), t("chart.epoch"), t("chart.train"), t("chart.validation"), epochs))
    accuracy = _figure("accuracy", view, lambda: charts.history_figure(
        view.history, "accuracy", t("chart.accuracy"), t("chart.epoch"), t("chart.train"), t("chart.validation"), epochs,
        reference=reported.value if reported else None,
        reference_name=t("chart.tutorial", metric=t(f"metric.{reported.metric}")) if reported else ""))
    columns[0].plotly_chart(loss, key="chart_loss", width="stretch")
    columns[1].plotly_chart(accuracy, key="chart_accuracy", width="stretch")
    if with_map:
        boundary = _figure("boundary", view, lambda: charts.decision_boundary_figure(
            grid.xs, grid.ys, view.boundary, data.x_train, data.y_train, data.n_classes, t("chart.boundary")))
        columns[2].plotly_chart(boundary, key="chart_boundary", width="stretch")


def message(view: JobView) -> None:
    if view.message is None:
        return
    text = state.say(view.message)
    if view.status in (DIVERGED, FAILED):
        st.error(text, icon=":material/error:")
    else:
        st.info(text, icon=":material/info:")


def results(job, view: JobView, class_names: list[str]) -> None:
    """Test metrics, confusion matrix, mistakes and downloads of a finished or stopped job."""
    ev, data = view.evaluation, job.data
    if ev is None or data is None:
        return
    st.subheader(t("results.title"))
    a, b, c, d = st.columns(4)
    a.metric(t("results.test_accuracy"), f"{ev.test_accuracy:.4f}")
    b.metric(t("results.test_loss"), f"{ev.test_loss:.4f}")
    c.metric(t("results.test_samples"), f"{ev.n_test:,}")
    reported = tutorial_figure(view)
    ours = recipes.ours(reported.metric, view.history, ev.test_accuracy) if reported else None
    if ours is not None:
        metric = t(f"metric.{reported.metric}")
        d.metric(t("results.vs_tutorial", metric=metric[:1].upper() + metric[1:], value=f"{reported.value:g}"), f"{ours:.4f}",
                 delta=t("results.points", delta=f"{(ours - reported.value) * 100:+.2f}"), delta_color="off")
    matrix, mistakes = st.columns([1, 1])
    matrix.plotly_chart(
        charts.confusion_figure(ev.confusion, class_names, t("results.confusion"), t("results.predicted"), t("results.true")),
        key="chart_confusion", width="stretch",
    )
    with mistakes:
        st.markdown(f"**{t('results.mistakes', count=int((ev.predicted != data.y_test).sum()))}**")
        if data.kind == "image" and len(ev.misclassified):
            shown = ev.misclassified[:16]
            st.image([images.for_display(data.x_test[i]) for i in shown],
                     caption=[t("results.true_pred", true=class_names[data.y_test[i]], pred=class_names[ev.predicted[i]]) for i in shown],
                     width=80)
        elif len(ev.misclassified):
            rows = [{t("results.index"): int(i), t("results.true"): class_names[data.y_test[i]],
                     t("results.predicted"): class_names[ev.predicted[i]]} for i in ev.misclassified[:16]]
            st.dataframe(rows, hide_index=True)
    downloads(job, view)


def downloads(job, view: JobView) -> None:
    left, right, code = st.columns(3)
    left.download_button(t("results.download_history"), export.history_csv(view.history), file_name=f"history-{view.id}.csv",
                         mime="text/csv", icon=":material/download:", width="stretch")
    model = job.model
    if model is not None:
        right.download_button(t("results.download_model"), lambda: export.model_bytes(model), file_name=f"model-{view.id}.keras",
                              mime="application/octet-stream", icon=":material/download:", width="stretch")
    elif view.settled and job.released:
        right.caption(t("results.model_freed"))
    source = codegen.script(view.spec, data_name=state.data_file_name(view.spec),
                            n_classes=job.data.n_classes if job.data is not None else None)
    code.download_button(t("runs.download_script"), source, file_name=codegen.file_name(view.spec), mime="text/x-python",
                         icon=":material/code:", width="stretch")
    with st.expander(t("runs.show_code"), icon=":material/code:"):
        st.code(source, language="python")


def preflight(spec) -> str | None:
    """The setup line and the preflight estimate next to Train; returns the problem that blocks Train, if any."""
    from core import preflight as pre

    try:
        with st.spinner(t("train.estimating")):
            p = pre.estimate(spec, state.owner())
    except LocalizedError as exc:
        problem = state.say(exc.msg)
        st.error(problem, icon=":material/error:")
        st.page_link("pages/model.py", label=t("train.fix_model"), icon=":material/account_tree:")
        return problem
    st.caption(t("train.setup", dataset=t(f"datasets.{spec.data.name}.title"), params=f"{p.params:,}",
                 optimizer=t(f"optimizer.{spec.compile.optimizer}"), lr=f"{spec.compile.learning_rate:g}",
                 batch=spec.fit.batch_size, epochs=spec.fit.epochs))
    eta = p.eta_seconds(spec.fit.epochs)
    memory = t("train.memory_mb", mb=f"{p.memory_mb:,.0f}") if p.memory_mb >= 1 else t("train.memory_small")
    st.caption(t("train.preflight", memory=memory, samples=f"{p.samples:,}",
                 ms=f"{p.batch_seconds * 1000:.0f}" if p.batch_seconds is not None else "-",
                 eta=_clock(eta) if eta is not None else "-", epochs=spec.fit.epochs))
    with st.expander(t("explain.title"), icon=":material/school:"):
        val = t("explain.val_test") if spec.data.validation == "test" else t("explain.val_split", fraction=spec.data.validation_split)
        st.markdown(t("explain.steps", samples=f"{p.samples:,}", batch=spec.fit.batch_size, steps=f"{p.steps_per_epoch:,}",
                      epochs=spec.fit.epochs, updates=f"{p.steps_per_epoch * spec.fit.epochs:,}", validation=val,
                      optimizer=t(f"optimizer.{spec.compile.optimizer}"), lr=f"{spec.compile.learning_rate:g}"))
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
    from core import datasets, diagnosis

    info = datasets.DATASETS.get(view.spec.data.name)
    n_classes = info.n_classes if info is not None and info.n_classes else None
    findings = diagnosis.diagnose(view.history, view.spec, view.status, n_classes)
    if not findings:
        return
    show = {"error": st.error, "warning": st.warning, "info": st.info}
    for finding in findings:
        show[finding.severity](f"**{t(f'diagnosis.kind.{finding.kind}')}** · {state.say(finding.message)}",
                               icon=":material/stethoscope:")
        if finding.fixes:
            row = st.container(horizontal=True, gap="small")  # buttons as wide as their labels, wrapping when needed
            for fix in finding.fixes[:4]:
                row.button(state.say(fix.label), key=f"diag-{view.id}-{finding.kind}-{fix.id}", on_click=_apply_fix,
                           args=(fix, view.spec), width="content", help=t("diagnosis.try").rstrip(":："))

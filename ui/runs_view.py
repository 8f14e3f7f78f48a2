"""How stored runs look: the table to pick from, overlaid curves, a settings diff, per-run actions."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from core import charts, recipes, runs
from core.evaluation import Evaluation
from core.i18n import Plain
from core.spec import ExperimentSpec, settings_table
from ui import downloads, keys, state
from ui.state import t


def _pct(value) -> str:
    return "" if value is None else f"{value:.4f}"


def _reported(run: runs.Run) -> str:
    if not run.spec.recipe or run.spec.recipe not in recipes.RECIPES:
        return ""
    recipe = recipes.get(run.spec.recipe)
    reported = recipe.reported_for(run.spec.fit.epochs) if recipe.compares_with_tutorial(run.spec) else None
    return f"{t(f'metric.{reported.metric}')} {reported.value:g}" if reported else ""


#: The figures of the table: a classification's accuracies; a regression's errors (columns shown when such runs exist).
CLASSIFICATION_FIGURES = ("train_accuracy", "val_accuracy", "test_accuracy")
REGRESSION_FIGURES = ("val_mae", "test_mae")


def figures_for(all_runs: list[runs.Run]) -> tuple[str, ...]:
    kinds = {run.spec.regression for run in all_runs}
    return (CLASSIFICATION_FIGURES if False in kinds or not kinds else ()) + (REGRESSION_FIGURES if True in kinds else ())


def table(all_runs: list[runs.Run]) -> list[runs.Run]:
    """The runs as a selectable table; returns the selected runs."""
    figures = figures_for(all_runs)
    rows = [
        {
            t("runs.col_name"): run.name,
            t("runs.col_status"): t(f"status.{run.status}"),
            t("runs.col_dataset"): t(f"datasets.{run.spec.data.name}.title"),
            t("runs.col_epochs"): run.epochs,
            **{t(f"metric.{figure}"): _pct(run.metrics.get(figure)) for figure in figures},
            t("runs.col_tutorial"): _reported(run),
            t("runs.col_seconds"): round(run.seconds, 1),
            t("runs.col_when"): time.strftime("%Y-%m-%d %H:%M", time.localtime(run.created)),
        }
        for run in all_runs
    ]
    # The start time and the name are the columns a learner reads whole: never cut them.
    config = {
        t("runs.col_when"): st.column_config.TextColumn(width="medium"),
        t("runs.col_name"): st.column_config.TextColumn(width="medium"),
        **{
            t(key): st.column_config.Column(width="small")
            for key in ("runs.col_status", "runs.col_epochs", *(f"metric.{figure}" for figure in figures), "runs.col_seconds")
        },
    }
    event = st.dataframe(
        rows,
        hide_index=True,
        on_select="rerun",
        selection_mode="multi-row",
        key="runs_table",
        width="stretch",
        column_config=config,
    )
    return [all_runs[i] for i in event.selection.rows if i < len(all_runs)]


def compare(series: list[tuple[str, dict]], key: str = "compare") -> None:
    """Accuracy (a regression's MAE) and loss of several runs, one chart each: dotted = training, solid = validation."""
    if not series:  # nothing to draw: empty axes would only look broken
        return
    metrics = [m for m in ("accuracy", "mae") if any(m in history for _, history in series)] or ["accuracy"]
    metrics.append("loss")
    for column, metric in zip(st.columns(len(metrics)), metrics, strict=True):
        column.plotly_chart(
            charts.compare_figure(
                series, metric, t(f"chart.{metric}"), t("chart.epoch"), t("chart.train"), t("chart.validation")
            ),
            key=f"{key}_{metric}",
            width="stretch",
        )


def cell(value) -> str:
    """A settings-table value in the reader's language."""
    if isinstance(value, tuple):
        return t(value[0], **value[1])
    return str(value)


def settings_diff(chosen: list[runs.Run]) -> None:
    """A table of the runs' settings; rows where they differ are highlighted."""
    spec_diff([(run.name, run.spec) for run in chosen])


def spec_diff(named: list[tuple[str, ExperimentSpec]], key: str | None = None) -> None:
    """A table of named setups' settings (runs, a room's starting setup); rows where they differ are highlighted."""
    tables = [settings_table(spec) for _, spec in named]
    keys = list(dict.fromkeys(k for table_ in tables for k in table_))
    frame = pd.DataFrame(
        {
            f"{i + 1}. {name}": [cell(table_.get(k, "-")) for k in keys]
            for i, ((name, _), table_) in enumerate(zip(named, tables, strict=True))
        },
        index=[t(f"settings.{k}") for k in keys],
    )
    differs = frame.nunique(axis=1) > 1
    styled = frame.style.apply(lambda row: ["background-color: #fff3b0" if differs[row.name] else "" for _ in row], axis=1)
    st.dataframe(styled, width="stretch", key=key)
    count = int(differs.sum())
    st.caption(t("runs.diff_caption_one") if count == 1 else t("runs.diff_caption", count=count))


def evaluation_of(run: runs.Run) -> Evaluation | None:
    """The run's test-set results as its worker stored them, or None (stopped before the evaluation, or failed)."""
    blob = runs.get_blob(run.id, "evaluation")
    return Evaluation.from_blob(blob) if blob else None


def _rename(run: runs.Run) -> None:
    runs.store().rename(state.owner(), run.id, st.session_state.get(keys.rename(run.id), ""))


def _delete(run_ids: list[str]) -> None:
    for run_id in run_ids:
        runs.store().delete(state.owner(), run_id)


def _load(run: runs.Run) -> None:
    state.replace_spec(run.spec.copy())
    st.toast(t("runs.loaded", name=Plain(run.name)))


def delete_button(chosen: list[runs.Run]) -> None:
    st.button(t("runs.delete", count=len(chosen)), icon=":material/delete:", on_click=_delete, args=([r.id for r in chosen],))


def actions(run: runs.Run) -> None:
    """Rename, load into the editor, downloads and the code of one run."""
    name, rename, load = st.columns([3, 1, 1], vertical_alignment="bottom")
    name.text_input(t("runs.name"), value=run.name, key=keys.rename(run.id), max_chars=80)
    rename.button(t("runs.rename"), key=f"do_rename.{run.id}", on_click=_rename, args=(run,), width="stretch")
    load.button(t("runs.load"), key=f"load_run.{run.id}", icon=":material/edit:", on_click=_load, args=(run,), width="stretch")
    if run.message is not None:
        st.caption(state.say(run.message))
    downloads.panel(run)

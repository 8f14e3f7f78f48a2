"""Everything a run can be taken home as, in one row of buttons (the Train page's results and the Runs page).

History as CSV and JSON (pandas reads both), the model as `.keras` (Keras's `load_model`) and as
TensorFlow Lite (converted on the click, for LiteRT on a phone or a board) with a "use this model"
snippet for each, the TensorBoard logs as a zip (when the run wrote them), and the plain-Keras
script that reproduces the run, with its code shown below.
"""

from __future__ import annotations

import streamlit as st

from core import codegen, export, runs, snippet
from ui import state
from ui.state import t


def panel(run: runs.Run) -> None:
    """The download buttons of one run and its script's code."""
    folder = runs.run_dir(run.id)
    cols = st.columns(6)
    cols[0].download_button(
        t("results.download_history"),
        export.history_csv(run.history),
        file_name=f"{run.id}-history.csv",
        mime="text/csv",
        icon=":material/download:",
        key=f"dl_csv.{run.id}",
        width="stretch",
    )
    cols[1].download_button(
        t("runs.download_json"),
        export.history_json(run.history),
        file_name=f"{run.id}-history.json",
        mime="application/json",
        icon=":material/download:",
        key=f"dl_json.{run.id}",
        width="stretch",
    )
    model = runs.model_file(run.id)
    if model.exists():
        _model_buttons(run, cols[2], cols[3])
    logs = folder / "tensorboard"
    if logs.is_dir():
        cols[4].download_button(
            t("runs.download_tensorboard"),
            lambda: export.folder_zip(logs) or b"",
            file_name=f"{run.id}-tensorboard.zip",
            mime="application/zip",
            icon=":material/download:",
            key=f"dl_tb.{run.id}",
            width="stretch",
        )
    n_classes = run.metrics.get("n_classes")
    source = codegen.script(run.spec, run.name, state.data_file_name(run.spec), n_classes if isinstance(n_classes, int) else None)
    cols[5].download_button(
        t("runs.download_script"),
        source,
        file_name=codegen.file_name(run.spec),
        mime="text/x-python",
        icon=":material/code:",
        key=f"dl_py.{run.id}",
        width="stretch",
    )
    if codegen.reproduction_note(run.spec):
        st.caption(t("results.script_note_uploads"))
    with st.expander(t("runs.show_code"), icon=":material/code:"):
        st.code(source, language="python")
    if model.exists():
        use_model(run)


def _model_buttons(run: runs.Run, keras_col, tflite_col) -> None:
    """The model as `.keras`, and as TensorFlow Lite (converted only when that button is clicked)."""
    model = runs.model_file(run.id)
    keras_col.download_button(
        t("results.download_model"),
        model.read_bytes,
        file_name=f"{run.id}.keras",
        mime="application/octet-stream",
        icon=":material/download:",
        key=f"dl_model.{run.id}",
        width="stretch",
    )
    tflite_col.download_button(
        t("model_export.download_tflite"),
        lambda: export.run_tflite(model),
        file_name=f"{run.id}.tflite",
        mime="application/octet-stream",
        icon=":material/phone_android:",
        key=f"dl_tflite.{run.id}",
        width="stretch",
    )


def use_model(run: runs.Run) -> None:
    """The "use this model" snippets, next to the model downloads: load, prepare one input as training did, predict."""
    regression = run.metrics.get("task") == "regression"
    with st.expander(t("model_export.use_model"), icon=":material/play_circle:"):
        st.caption(t("model_export.use_model_note"))
        for tab, name in zip(
            st.tabs(["Keras (.keras)", "LiteRT (.tflite)"]), (f"{run.id}.keras", f"{run.id}.tflite"), strict=True
        ):
            tab.code(snippet.use_model(run.spec, name, run.class_names, regression), language="python")

"""The learner's own data on the Data page: a zip of class folders or a CSV, and what the loader made of it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import demo_folders, uploads
from core.i18n import LocalizedError
from core.spec import COLOR_MODES, ExperimentSpec
from ui import keys, state
from ui.state import t
from ui.widgets import bound

KIND = {"folder": "images", "csv": "csv"}


def _store_upload(spec: ExperimentSpec, key: str) -> None:
    """Keep a freshly uploaded file (in memory, for this owner only) and point the spec at it."""
    file = st.session_state.get(key)
    if file is None:
        return
    upload = uploads.store().put(state.owner(), KIND[spec.data.name], file.name, file.getvalue())
    spec.data.source = upload.id
    if spec.data.name == "csv":
        try:
            spec.data.label_column = uploads.read_csv_columns(upload.data)[-1]
        except LocalizedError:
            spec.data.label_column = ""
    st.session_state.pop(keys.bound("DataSpec", "source"), None)
    st.session_state.pop(keys.bound("DataSpec", "label_column"), None)
    state.commit()


def _source_picker(spec: ExperimentSpec) -> None:
    mine = [u for u in uploads.store().list(state.owner()) if u.kind == KIND[spec.data.name]]
    options = ([""] if spec.data.name == "folder" else []) + [u.id for u in mine]
    if spec.data.source and spec.data.source not in options:
        # Gone: a server restart, or the memory bound for uploads (core.uploads.UploadStore) dropped it.
        st.warning(t("errors.upload_missing"), icon=":material/upload_file:")
        spec.data.source = ""
    names = {u.id: u.filename for u in mine}
    if options:
        bound(
            st.selectbox,
            t("data.source"),
            spec.data,
            "source",
            options=options,
            format_func=lambda v: names.get(v, t("data.demo_folder")),
        )


def folder_controls(spec: ExperimentSpec) -> None:
    """Upload, size, colour mode and class mode for image folders (flow_from_directory semantics)."""
    d = spec.data
    st.file_uploader(
        t("data.upload_zip"),
        type=["zip"],
        key="upload.zip",
        help=t("help.upload_zip"),
        on_change=_store_upload,
        args=(spec, "upload.zip"),
    )
    _source_picker(spec)
    h, w = st.columns(2)
    with h:
        bound(st.number_input, t("data.image_height"), d, "image_height", help=t("help.target_size"))
    with w:
        bound(st.number_input, t("data.image_width"), d, "image_width", help=t("help.target_size"))
    bound(
        st.radio,
        t("data.color_mode"),
        d,
        "color_mode",
        options=list(COLOR_MODES),
        horizontal=True,
        format_func=lambda v: t(f"data.color_{v}"),
        help=t("help.color_mode"),
    )
    if spec.compile.loss in ("auto", "categorical_crossentropy"):
        bound(
            st.radio,
            t("data.class_mode"),
            spec.compile,
            "loss",
            options=["auto", "categorical_crossentropy"],
            horizontal=True,
            format_func=lambda v: t("data.class_mode_binary") if v == "auto" else t("data.class_mode_categorical"),
            help=t("help.class_mode"),
            key=f"{keys.WIDGET_PREFIX}class_mode",
        )
    st.download_button(
        t("data.download_demo"),
        demo_folders.kinoko_takenoko_zip,
        file_name="kinoko_takenoko.zip",
        mime="application/zip",
        icon=":material/download:",
        help=t("help.download_demo"),
    )


def csv_controls(spec: ExperimentSpec) -> None:
    """Upload a CSV and pick the label column; numeric columns become the features."""
    st.file_uploader(
        t("data.upload_csv"),
        type=["csv", "txt"],
        key="upload.csv",
        help=t("help.upload_csv"),
        on_change=_store_upload,
        args=(spec, "upload.csv"),
    )
    _source_picker(spec)
    upload = uploads.store().get(state.owner(), spec.data.source) if spec.data.source else None
    if upload is None:
        return
    try:
        columns = uploads.read_csv_columns(upload.data)
    except LocalizedError as exc:
        st.error(state.say(exc.msg), icon=":material/error:")
        return
    if spec.data.label_column not in columns:
        spec.data.label_column = columns[-1]
    bound(st.selectbox, t("data.label_column"), spec.data, "label_column", options=columns, help=t("help.label_column"))


def report(data) -> None:
    """What the loader skipped, converted and warns about."""
    found = data.report
    if found is None:
        return
    for warning in found.warnings:
        st.warning(state.say(warning), icon=":material/warning:")
    if isinstance(found, uploads.FolderImages):
        st.caption(
            t(
                "data.folder_summary",
                images=len(found.y),
                classes=len(found.class_names),
                converted=found.converted,
                rotated=found.rotated,
                resized=found.resized,
            )
        )
        if found.skipped:
            with st.expander(
                t("data.skipped", count=len(found.skipped)), icon=":material/block:", expanded=len(found.skipped) <= 10
            ):
                st.dataframe(
                    pd.DataFrame(
                        {
                            t("data.file"): [s.name for s in found.skipped],
                            t("data.reason"): [s.reason.render(state.lang()) for s in found.skipped],
                        }
                    ),
                    hide_index=True,
                    width="stretch",
                )

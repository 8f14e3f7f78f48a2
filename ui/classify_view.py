"""The Classify page's parts: pick a classifier (zoo, a run, an upload), the pictures, one result row."""

from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st

from core import charts, images, pretrained, settings
from core.i18n import LocalizedError
from ui import state
from ui.state import t

SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "sample.png"
IMAGE_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "gif"]


def _error(exc: LocalizedError) -> None:
    st.error(exc.msg.render(state.lang()), icon=":material/error:")


# --------------------------------------------------------------------------- the zoo


def zoo_rows() -> list[dict]:
    """The model zoo as table rows, with whether each one's weights are here right now."""
    return [{
        t("classify.col_model"): m.label,
        t("classify.col_size"): f"{m.size}x{m.size}",
        t("classify.col_params"): f"{m.params_m:g} M",
        t("classify.col_weights"): f"{m.weights_mb:g} MB",
        t("classify.col_top1"): f"{m.top1:.1%}",
        t("classify.col_available"): t(f"classify.availability.{pretrained.availability(m)}"),
    } for m in pretrained.ZOO.values()]


@st.cache_resource(max_entries=3, show_spinner=False)
def _zoo_model(key: str) -> pretrained.LoadedZooModel:
    """One loaded copy per model for the whole server: sessions share it (its calls are serialised)."""
    return pretrained.load(key)


def zoo_classifier():
    """The zoo picker; returns a loaded model or None (with the reason shown)."""
    keys = list(pretrained.ZOO)
    local = [k for k in keys if pretrained.availability(pretrained.ZOO[k]) == "local"]
    if "classify_model" not in st.session_state:
        st.session_state["classify_model"] = local[0] if local else "mobilenet_0.75"
    key = st.selectbox(t("classify.model"), keys, key="classify_model",
                       format_func=lambda k: f"{pretrained.ZOO[k].label} · {t('classify.availability.' + pretrained.availability(pretrained.ZOO[k]))}",
                       help=t("help.classify.model"))
    with st.expander(t("classify.zoo_table")):
        st.dataframe(zoo_rows(), hide_index=True, width="stretch")
    m = pretrained.ZOO[key]
    try:
        if pretrained.availability(m) == "download":
            bar = st.progress(0.0, text=t("classify.downloading", file=m.file))
            pretrained.resolve_weights(m, progress=lambda done, total: bar.progress(min(1.0, done / total) if total else 0.0,
                                                                                     text=t("classify.downloading", file=m.file)))
            bar.empty()
        with st.spinner(t("classify.loading", model=m.label)):
            loaded = _zoo_model(key)
    except LocalizedError as exc:
        _error(exc)
        return None
    st.caption(t("classify.loaded", model=m.label, seconds=f"{loaded.load_seconds:.1f}"))
    return loaded


# --------------------------------------------------------------------------- own models


@st.cache_resource(max_entries=4, show_spinner=False)
def _run_model(run_id: str, owner: str):
    from core import own_models, runs

    run = runs.store().get(owner, run_id)
    if run is None:
        raise LocalizedError("own_model.no_model_file")
    return own_models.from_run(run, owner)


def run_classifier():
    """A model trained here: the learner picks one of their runs."""
    from core import runs

    mine = [r for r in runs.store().list(state.owner()) if r.status in ("finished", "stopped")]
    if not mine:
        st.info(t("classify.no_runs"), icon=":material/info:")
        return None
    by_id = {r.id: r for r in mine}
    run_id = st.selectbox(t("classify.run"), list(by_id), format_func=lambda i: by_id[i].name, key="classify_run")
    try:
        return _run_model(run_id, state.owner())
    except LocalizedError as exc:
        _error(exc)
        return None


def upload_classifier():
    """A `.keras` / `.h5` file from the learner, kept for this session only."""
    from core import own_models

    upload = st.file_uploader(t("classify.model_upload"), type=["keras", "h5", "hdf5"], key="classify_model_file",
                              help=t("help.classify.model_upload"))
    if upload is None:
        return None
    data = upload.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    cached = st.session_state.get("classify_own_upload")
    if cached is None or cached[0] != digest:
        try:
            with st.spinner(t("classify.loading", model=upload.name)):
                cached = (digest, own_models.from_upload(data, upload.name))
        except LocalizedError as exc:
            _error(exc)
            return None
        st.session_state["classify_own_upload"] = cached
    own = cached[1]
    st.caption(t("classify.own_shape", height=own.height, width=own.width, channels=own.channels, classes=len(own.class_names)))
    return own


# --------------------------------------------------------------------------- pictures


def pictures() -> list[tuple[str, object]]:
    """(name, decoded PIL image) for every picture given; refusals are shown, the rest go on."""
    files = st.file_uploader(t("classify.images"), type=IMAGE_TYPES, accept_multiple_files=True, key="classify_images",
                             help=t("help.classify.images"))
    raw = [(f.name, f.getvalue()) for f in files or []]
    if st.toggle(t("classify.camera"), key="classify_camera_on"):
        shot = st.camera_input(t("classify.camera_take"), key="classify_camera")
        if shot is not None:
            raw.append((t("classify.camera_name"), shot.getvalue()))
    if not raw:
        st.caption(t("classify.using_sample"))
        raw = [(SAMPLE.name, SAMPLE.read_bytes())]
    out = []
    for name, data in raw:
        try:
            out.append((name, images.decode(data, "rgb", max_pixels=settings.max_image_pixels()).image))
        except LocalizedError as exc:
            st.warning(f"**{name}**: {exc.msg.render(state.lang())}", icon=":material/warning:")
    return out


# --------------------------------------------------------------------------- one result


def result(classifier, name: str, picture, top: int, explain: bool, invert: bool = False, divide: bool = False) -> None:
    """The picture, its top-k chart, and (optionally) the Grad-CAM heatmap of the best class."""
    if isinstance(classifier, pretrained.LoadedZooModel):
        prediction, seen = classifier.classify_picture(picture, top)
    else:
        prediction, seen = classifier.classify(picture, invert=invert, divide_by_255=divide, top=top)
    labels = [label.replace("_", " ") for label, _, _ in prediction.top]
    cols = st.columns([1, 2, 1] if explain else [1, 2])
    cols[0].image(images.for_display(seen), caption=name, width="stretch")
    cols[1].plotly_chart(charts.top_k_figure(labels, [p for _, p, _ in prediction.top], title=t("classify.chart_title", k=top),
                                             x_title=t("classify.probability")), key=f"topk-{name}-{id(picture)}")
    cols[1].caption(t("classify.timing", ms=f"{prediction.seconds * 1000:.0f}"))
    if explain:
        try:
            heat = classifier.heatmap(prediction.input, prediction.top[0][2])
            cols[2].image(images.heat_overlay(seen, heat), caption=t("classify.gradcam_caption", label=labels[0]), width="stretch")
        except ValueError:
            cols[2].info(t("classify.gradcam_needs_conv"), icon=":material/info:")

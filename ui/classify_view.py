"""The Classify page's parts: pick a classifier (zoo, a run, an upload), the pictures, one result row."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import streamlit as st

from core import charts, images, network, own_models, pretrained, runs, settings
from core.i18n import LocalizedError, Msg
from ui import keys, state
from ui.state import t

SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "sample.png"
TOP_K = {"min_value": 1, "max_value": 10, "value": 5}  # how many classes a result shows
IMAGE_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "gif"]
DEFAULT_MODEL = "mobilenet_0.75"  # the transfer recipes' offline base: the one to put in place first
# Markdown that a name could trigger: links, images, code, emphasis, HTML, maths, emoji and autolinks (`:`, `@`,
# `www.`), tables; `_` only at a word's edge (inside a word it is literal); list and heading marks at the start.
_MARKUP = re.compile(r"([\\`*\[\]()<>~$|{}!&:@]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|(?i:(?<=\bwww)\.))")
_LEADING = re.compile(r"^([-+#=>]|\d+(?=[.)]))")


def plain(text: str) -> str:
    """`text` shown as itself in Markdown: a file name like `[docs](https://example.com)` stays text, never a link."""
    escaped = _MARKUP.sub(r"\\\1", " ".join(str(text).split()))
    return _LEADING.sub(lambda m: "\\" + m.group(1) if not m.group(1).isdigit() else m.group(1) + "\\", escaped)


def _plain_fields(msg: Msg) -> Msg:
    return Msg(
        msg.key,
        {k: plain(v) if isinstance(v, str) else _plain_fields(v) if isinstance(v, Msg) else v for k, v in msg.fields.items()},
    )


def _render(msg: Msg) -> str:
    """A message in the reader's language, its texts from outside (names, paths, errors) as plain text."""
    return _plain_fields(msg).render(state.lang())


def _error(exc: LocalizedError) -> None:
    st.error(_render(exc.msg), icon=":material/error:")


# --------------------------------------------------------------------------- the zoo


def availability_text(m: pretrained.ZooModel) -> str:
    """'weights here', 'downloads on first use' (only when downloads can work now) or where to put which file."""
    found = pretrained.availability(m)
    if found == "missing":
        return t("classify.availability_where", file=m.file, folder=str(pretrained.weights_folder()))
    return t(f"classify.availability.{found}")


def zoo_rows() -> list[dict]:
    """The model zoo as table rows, with whether each one's weights are here right now."""
    return [
        {
            t("classify.col_model"): m.label,
            t("classify.col_on_disk"): availability_text(m),
            t("classify.col_size"): f"{m.size}x{m.size}",
            t("classify.col_params"): f"{m.params_m:g} M",
            t("classify.col_weights"): f"{m.weights_mb:g} MB",
            t("classify.col_top1"): f"{m.top1:.1%}",
        }
        for m in pretrained.ZOO.values()
    ]


@st.cache_resource(max_entries=3, show_spinner=False)
def _zoo_model(key: str) -> pretrained.LoadedZooModel:
    """One loaded copy per model for the whole server: sessions share it (its calls are serialised)."""
    return pretrained.load(key)


def _pick_model() -> pretrained.ZooModel:
    """The model selectbox; the first visit opens on a model whose weights are here.

    Its labels never change (availability does, e.g. when a download fails): a selectbox whose
    option labels change between runs loses the learner's choice. Availability is in the table.
    """
    models = list(pretrained.ZOO)
    if keys.CLASSIFY_MODEL not in st.session_state:
        local = [k for k in models if pretrained.availability(pretrained.ZOO[k]) == "local"]
        st.session_state[keys.CLASSIFY_MODEL] = local[0] if local else DEFAULT_MODEL
    key = st.selectbox(
        t("classify.model"),
        models,
        key=keys.CLASSIFY_MODEL,
        help=t("help.classify.model"),
        format_func=lambda k: pretrained.ZOO[k].label,
    )
    with st.expander(t("classify.zoo_table")):
        st.dataframe(
            zoo_rows(),
            hide_index=True,
            width="stretch",
            column_config={t("classify.col_on_disk"): st.column_config.TextColumn(width="large")},
        )
        st.caption(t("classify.weights_folder", folder=plain(str(pretrained.weights_folder()))))
    return pretrained.ZOO[key or DEFAULT_MODEL]


def _not_here(m: pretrained.ZooModel) -> None:
    """A plain note: the weights are not here and cannot be downloaded now; which file goes where."""
    why = network.status().why or Msg("network.switch")
    st.info(
        _render(
            Msg(
                "classify.not_here_info",
                {"model": m.label, "file": m.file, "why": why, "folder": str(pretrained.weights_folder())},
            )
        ),
        icon=":material/download_for_offline:",
    )


def _download(m: pretrained.ZooModel) -> bool:
    """Download the weights with a progress bar that always ends; a failure says why. True when they are here."""
    bar = st.progress(0.0, text=t("classify.downloading", file=m.file))

    def progress(done: int, total: int) -> None:
        text = t(
            "classify.downloading_bytes", file=m.file, done=f"{done / 1e6:.1f}", total=f"{total / 1e6:.1f}" if total else "?"
        )
        bar.progress(min(1.0, done / total) if total else 0.0, text=text)

    try:
        pretrained.resolve_weights(m, progress=progress)
    except pretrained.WeightsUnavailable as exc:
        bar.empty()
        st.warning(_render(exc.msg), icon=":material/cloud_off:")
        return False
    finally:
        bar.empty()
    return True


def zoo_classifier():
    """The zoo picker; returns a loaded model or None (with the reason shown)."""
    m = _pick_model()
    found = pretrained.availability(m)
    if found == "missing":
        _not_here(m)
        return None
    if found == "download" and not _download(m):
        return None
    try:
        with st.spinner(t("classify.loading", model=m.label)):
            loaded = _zoo_model(m.key)
    except LocalizedError as exc:
        _error(exc)
        return None
    st.caption(t("classify.loaded", model=m.label, seconds=f"{loaded.load_seconds:.1f}"))
    return loaded


# --------------------------------------------------------------------------- own models


@st.cache_resource(max_entries=4, show_spinner=False)
def _run_model(run_id: str, owner: str):

    run = runs.store().get(owner, run_id)
    if run is None:
        raise LocalizedError("own_model.no_model_file")
    return own_models.from_run(run, owner)


def run_classifier():
    """A model trained here: the learner picks one of their runs."""

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

    upload = st.file_uploader(
        t("classify.model_upload"), type=["keras", "h5", "hdf5"], key="classify_model_file", help=t("help.classify.model_upload")
    )
    if upload is None:
        return None
    data = upload.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    cached = st.session_state.get(keys.CLASSIFY_UPLOAD)
    if cached is None or cached[0] != digest:
        try:
            with st.spinner(t("classify.loading", model=plain(upload.name))):
                cached = (digest, own_models.from_upload(data, upload.name))
        except LocalizedError as exc:
            _error(exc)
            return None
        st.session_state[keys.CLASSIFY_UPLOAD] = cached
        st.session_state[keys.CLASSIFY_PREPROCESS] = cached[1].default_preprocess  # a new model: its likely pixels
    own = cached[1]
    st.caption(t("classify.own_shape", height=own.height, width=own.width, channels=own.channels, classes=len(own.class_names)))
    return own


def preprocess_choice() -> str:
    """How the pixels reach an uploaded model: 0..1, -1..1, caffe, torch, or raw."""

    return st.radio(
        t("classify.preprocess"),
        own_models.PREPROCESSING,
        key=keys.CLASSIFY_PREPROCESS,
        format_func=lambda mode: t(f"classify.preprocess_{mode}"),
        help=t("help.classify.preprocess"),
    )


# --------------------------------------------------------------------------- pictures


def pictures() -> list[tuple[str, object]]:
    """(name, decoded PIL image) for every picture given; refusals are shown, the rest go on."""
    files = st.file_uploader(
        t("classify.images"), type=IMAGE_TYPES, accept_multiple_files=True, key="classify_images", help=t("help.classify.images")
    )
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
            st.warning(f"**{plain(name)}**: {_render(exc.msg)}", icon=":material/warning:")
    return out


# --------------------------------------------------------------------------- one result


def result(classifier, name: str, picture, top: int, explain: bool, invert: bool = False, preprocess: str | None = None) -> None:
    """The picture, its top-k chart, and (optionally) the Grad-CAM heatmap of the best class."""
    if isinstance(classifier, pretrained.LoadedZooModel):
        prediction, seen = classifier.classify_picture(picture, top)
    else:
        prediction, seen = classifier.classify(picture, invert=invert, preprocess=preprocess, top=top)
    labels = [label.replace("_", " ") for label, _, _ in prediction.top]
    cols = st.columns([1, 2, 1] if explain else [1, 2])
    cols[0].image(images.for_display(seen), caption=plain(name), width="stretch")
    cols[1].plotly_chart(
        charts.top_k_figure(
            labels, [p for _, p, _ in prediction.top], title=t("classify.chart_title", k=top), x_title=t("classify.probability")
        ),
        key=f"topk-{name}-{id(picture)}",
    )
    cols[1].caption(t("classify.timing", ms=f"{prediction.seconds * 1000:.0f}"))
    if explain:
        try:
            heat = classifier.heatmap(prediction.input, prediction.top[0][2])
            cols[2].image(
                images.heat_overlay(seen, heat), caption=t("classify.gradcam_caption", label=plain(labels[0])), width="stretch"
            )
        except ValueError:
            cols[2].info(t("classify.gradcam_needs_conv"), icon=":material/info:")

"""The augmentation studio's parts: the ImageDataGenerator controls, the source image, the grids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from core import augment, datasets, export, images, settings
from core.i18n import LocalizedError
from core.spec import FILL_MODES, AugmentSpec, ExperimentSpec, tutorial_augmentation
from ui import keys, state
from ui.state import t
from ui.widgets import bound, declared_bounds

SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "sample.png"
STUDIO_MAX_SIDE = 256  # uploads are shrunk to this for a fast preview
GRID_SIZES = {"min_value": 4, "max_value": 32, "value": 12, "step": 4}  # pictures in the studio's grid


def _slider(a: AugmentSpec, name: str) -> None:
    """One transform's slider; its range and step are the field's own (core/spec.py)."""
    bound(st.slider, t(f"augment.param.{name}"), a, name, help=t(f"help.augment.{name}"))


def _checkbox(a: AugmentSpec, name: str) -> None:
    bound(st.checkbox, t(f"augment.param.{name}"), a, name, help=t(f"help.augment.{name}"))


def _brightness(a: AugmentSpec) -> None:
    """`brightness_range` as one range slider (darkest .. brightest factor), written back to both fields."""
    classroom = state.classroom()
    if classroom.is_hidden("brightness_min"):
        return
    key = keys.bound("AugmentSpec", "brightness_range")
    if key not in st.session_state:
        st.session_state[key] = (min(a.brightness_min, a.brightness_max), max(a.brightness_min, a.brightness_max))

    def write_back() -> None:
        if key in st.session_state:  # not cleared by a spec replaced in this rerun
            a.brightness_min, a.brightness_max = (float(v) for v in st.session_state[key])
            state.commit()

    st.slider(
        t("augment.param.brightness_range"),
        **declared_bounds(a, "brightness_min", st.slider),
        key=key,
        on_change=write_back,
        help=t("help.augment.brightness_range"),
        disabled=classroom.is_locked("brightness_min"),
    )


def controls(a: AugmentSpec) -> None:
    """Every ImageDataGenerator transform, grouped as the Keras docs describe them."""
    with st.expander(t("augment.geometry"), icon=":material/open_with:", expanded=True):
        _slider(a, "rotation_range")
        _slider(a, "width_shift_range")
        _slider(a, "height_shift_range")
        _slider(a, "shear_range")
        _slider(a, "zoom_range")
        _checkbox(a, "horizontal_flip")
        _checkbox(a, "vertical_flip")
    with st.expander(t("augment.colour"), icon=":material/palette:"):
        _slider(a, "channel_shift_range")
        _brightness(a)
    with st.expander(t("augment.fill"), icon=":material/format_color_fill:"):
        bound(
            st.selectbox, t("augment.param.fill_mode"), a, "fill_mode", options=list(FILL_MODES), help=t("help.augment.fill_mode")
        )
        if a.fill_mode == "constant":
            _slider(a, "cval")
    with st.expander(t("augment.normalisation"), icon=":material/tune:"):
        bound(
            st.number_input,
            t("augment.param.rescale"),
            a,
            "rescale",
            format="%g",
            help=t("help.augment.rescale"),
        )
        for name in ("featurewise_center", "featurewise_std_normalization", "samplewise_center", "samplewise_std_normalization"):
            _checkbox(a, name)


def load_tutorial_settings(spec: ExperimentSpec) -> None:
    spec.augment = tutorial_augmentation(enabled=spec.augment.enabled)
    state.replace_spec(spec)


def source_image(spec: ExperimentSpec) -> np.ndarray | None:
    """The picture to augment: the bundled sample, one from the current dataset, or an upload."""
    choice = st.radio(
        t("augment.source"),
        ["sample", "dataset", "upload"],
        horizontal=True,
        key="augment_source",
        format_func=lambda v: t(f"augment.source_{v}"),
    )
    if choice == "sample":
        return images.to_array(images.decode(SAMPLE.read_bytes()).image)
    if choice == "dataset":
        try:
            data = datasets.load(spec.data, state.owner())
        except LocalizedError as exc:
            st.warning(state.say(exc.msg), icon=":material/cloud_off:")
            return None
        if data.kind != "image":
            st.info(t("augment.not_images"), icon=":material/info:")
            return None
        index = st.number_input(t("augment.sample_index"), min_value=0, max_value=len(data.x_train) - 1, key="augment_index")
        return np.asarray(data.x_train[int(index)])
    file = st.file_uploader(
        t("augment.upload"), type=["png", "jpg", "jpeg", "webp", "bmp", "gif", "tif", "tiff"], key="augment_upload"
    )
    if file is None:
        return None
    try:
        picture = images.decode(file.getvalue(), "rgb", settings.max_image_pixels()).image
        images.check_proportions(picture)
    except LocalizedError as exc:
        st.error(state.say(exc.msg), icon=":material/error:")
        return None
    scale = STUDIO_MAX_SIDE / max(picture.size)
    size = (max(1, round(picture.height * scale)), max(1, round(picture.width * scale))) if scale < 1 else None
    return images.to_array(picture, size)


def reroll(a: AugmentSpec) -> None:
    """New random transforms for the grid (the training seed stays)."""
    st.session_state[keys.AUGMENT_SEED] = st.session_state.get(keys.AUGMENT_SEED, a.seed) + 1


def grid(image: np.ndarray, a: AugmentSpec, count: int, seed: int) -> list[np.ndarray]:
    out = augment.variants(image, a, count, seed)
    shown = [images.for_display(v) for v in out]
    st.image(shown, width=150 if image.shape[1] > 60 else 96)
    st.download_button(
        t("augment.download_grid"),
        lambda: export.images_zip(list(out), "augmented"),
        file_name="augmented.zip",
        mime="application/zip",
        icon=":material/download:",
    )
    return shown


def normalisation_demo(spec: ExperimentSpec, a: AugmentSpec) -> None:
    """Centering and std normalisation shown on a batch of the current dataset (or the sample)."""
    if not (a.featurewise_center or a.featurewise_std_normalization or a.samplewise_center or a.samplewise_std_normalization):
        st.caption(t("augment.normalisation_off"))
        return
    try:
        data = datasets.load(spec.data, state.owner())
        batch, fit_on = (data.x_train[:8], data.x_train[:512]) if data.kind == "image" else (None, None)
    except LocalizedError:
        batch, fit_on = None, None
    if batch is None:
        st.caption(t("augment.normalisation_needs_images"))
        return
    out, stats = augment.normalise_batch(batch, a, fit_on)
    st.image([images.for_display(x) for x in batch], width=72, caption=[t("augment.before")] * len(batch))
    st.image([images.for_display(images.stretch_for_display(x)) for x in out], width=72, caption=[t("augment.after")] * len(out))
    st.caption(t("augment.stats", **{k: f"{v:.3f}" for k, v in stats.items()}))

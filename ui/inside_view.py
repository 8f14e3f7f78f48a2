"""Look inside: weight histograms per epoch, and for image models feature maps and first-layer filters.

Everything comes from the run store: the worker kept the histograms of every epoch and, once
training ended, what the layers make of a few test pictures.
"""

from __future__ import annotations

import streamlit as st

from core import charts, images
from ui.state import t


def panel(view) -> None:
    """Drawn under a settled job's results."""
    history = view.weight_history()
    with st.expander(t("inside.title"), icon=":material/biotech:"):
        st.caption(t("inside.intro"))
        layers = list(history[-1]) if history else []
        if layers:
            left, right = st.columns([3, 1])
            layer = left.selectbox(t("inside.layer"), layers, key=f"inside_layer_{view.id}")
            part = right.radio(
                t("inside.part"),
                ["kernel", "bias"],
                key=f"inside_part_{view.id}",
                horizontal=True,
                format_func=lambda p: t(f"inside.part_{p}"),
            )
            st.plotly_chart(
                charts.weight_histogram_figure(
                    history,
                    layer,
                    part,
                    x_title=t("inside.value"),
                    y_title=t("inside.count"),
                    epoch_label=t("inside.epoch_label"),
                ),
                key=f"inside_hist_{view.id}",
                width="stretch",
            )
            st.caption(t("inside.histogram_hint"))
        seen = view.inside
        if seen is not None:
            _feature_maps(view.id, seen)


def _feature_maps(job_id: str, seen) -> None:
    index = st.slider(t("inside.test_image"), 0, len(seen.images) - 1, 0, key=f"inside_image_{job_id}")
    st.image(images.for_display(seen.images[index]), caption=t("inside.input"), width=96)
    for name, maps in seen.maps:
        st.markdown(f"**{name}** · {charts.shape_label(maps.shape[1:])}")
        st.image([images.for_display(maps[index][..., i]) for i in range(maps.shape[-1])], width=64)
    if seen.filters is not None:
        name, kernels = seen.filters
        st.markdown(f"**{t('inside.filters', layer=name)}**")
        st.image([images.for_display(k, min_size=40) for k in kernels[:64]], width=40)

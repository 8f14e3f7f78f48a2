"""Look inside: weight histograms per epoch, and for image models feature maps and first-layer filters."""

from __future__ import annotations

import streamlit as st

from core import charts, images, inside
from ui.state import t


def panel(job, settled: bool) -> None:
    """Drawn under the charts; feature maps only once training has settled (the model is not changing)."""
    history = job.weight_history()
    with st.expander(t("inside.title"), icon=":material/biotech:"):
        st.caption(t("inside.intro"))
        layers = list(history[-1]) if history else []
        if layers:
            left, right = st.columns([3, 1])
            layer = left.selectbox(t("inside.layer"), layers, key=f"inside_layer_{job.id}")
            part = right.radio(t("inside.part"), ["kernel", "bias"], key=f"inside_part_{job.id}", horizontal=True,
                               format_func=lambda p: t(f"inside.part_{p}"))
            st.plotly_chart(charts.weight_histogram_figure(history, layer, part, x_title=t("inside.value"),
                                                           y_title=t("inside.count"), epoch_label=t("inside.epoch_label")),
                            key=f"inside_hist_{job.id}", width="stretch")
            st.caption(t("inside.histogram_hint"))
        model, data = job.model, job.data
        if settled and job.released and data is not None and data.kind == "image":
            st.caption(t("results.model_freed"))
        if not settled or model is None or data is None or data.kind != "image":
            return
        names = inside.conv_layers(model)
        if not names:
            return
        index = st.number_input(t("inside.test_image"), 0, len(data.x_test) - 1, 0, key=f"inside_image_{job.id}")
        picture = data.x_test[int(index)]
        st.image(images.for_display(picture), caption=t("inside.input"), width=96)
        for name, maps in inside.feature_maps(model, picture, names):
            st.markdown(f"**{name}** · {charts.shape_label(maps.shape)}")
            st.image([images.for_display(maps[..., i]) for i in range(maps.shape[-1])], width=64)
        filters = inside.first_filters(model)
        if filters is not None:
            name, kernels = filters
            st.markdown(f"**{t('inside.filters', layer=name)}**")
            st.image([images.for_display(k, min_size=40) for k in kernels[:64]], width=40)

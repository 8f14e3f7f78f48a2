"""The Transfer page's parts: switching it on, the head, and what will train."""

from __future__ import annotations

import streamlit as st

from core import pretrained, transfer
from core.i18n import LocalizedError
from core.spec import DataSpec, ExperimentSpec, TransferSpec, param
from core.summary import summarize as summary_of
from ui import keys, state
from ui.state import t

HEAD_KEYS = ("transfer_pooling", "transfer_units", "transfer_dropout")


def base_label(key: str) -> str:
    m = pretrained.ZOO[key]
    return f"{m.label} · {t('classify.availability.' + pretrained.availability(m, include_top=False))}"


@st.cache_data(show_spinner=False)
def layer_count(tr: TransferSpec) -> int:
    return transfer.base_layer_count(tr)


def use_demo_folders(spec: ExperimentSpec) -> None:
    """Transfer learning needs pictures: switch to the bundled kinoko / takenoko folders."""
    fresh = ExperimentSpec.default_for("folder")
    fresh.data = DataSpec(name="folder", image_height=60, image_width=90)
    fresh.transfer = TransferSpec(base="mobilenet_0.75")
    fresh.layers = transfer.head_layers("flatten", 256, 0.5)
    fresh.ensure_layer_names()
    state.replace_spec(fresh)


def toggle(spec: ExperimentSpec) -> None:
    if st.session_state[keys.TRANSFER_ENABLED]:
        spec.transfer = TransferSpec(base="mobilenet_0.75")
        spec.layers = transfer.head_layers("flatten", 256, 0.5)
        spec.ensure_layer_names()
    else:
        spec.transfer = TransferSpec()
    state.replace_spec(spec)


def _set_head(spec: ExperimentSpec) -> None:
    pooling, units, dropout = (st.session_state[k] for k in HEAD_KEYS)
    spec.layers = transfer.head_layers(pooling, units, dropout)
    spec.ensure_layer_names()
    state.commit()


def head_editor(spec: ExperimentSpec) -> None:
    """Flatten or global pooling, Dense units, Dropout: the head the tutorial puts on the base."""
    st.subheader(t("transfer.head"))
    current = transfer.read_head(spec.layers)
    if current is None:
        st.caption(t("transfer.head_custom"))
        st.page_link("pages/model.py", label=t("transfer.edit_on_model"), icon=":material/account_tree:")
        return
    for key, value in zip(HEAD_KEYS, current, strict=False):
        st.session_state.setdefault(key, value)
    st.radio(
        t("transfer.pooling"),
        ["flatten", "gap"],
        key=HEAD_KEYS[0],
        horizontal=True,
        on_change=_set_head,
        args=(spec,),
        format_func=lambda p: t(f"transfer.pooling_{p}"),
        help=t("help.transfer.pooling"),
    )
    units, rate = param("Dense", "units"), param("Dropout", "rate")  # the layer catalogue's own bounds (core/spec.py)
    st.number_input(
        t("transfer.units"),
        int(units.low),
        int(units.high),
        key=HEAD_KEYS[1],
        on_change=_set_head,
        args=(spec,),
        help=t("help.param.units"),
    )
    st.slider(
        t("transfer.dropout"),
        float(rate.low),
        float(rate.high),
        step=float(rate.step or 0.05),
        key=HEAD_KEYS[2],
        on_change=_set_head,
        args=(spec,),
        help=t("help.param.rate"),
    )


def summary(spec: ExperimentSpec) -> None:
    """Parameters in all and trainable ones (they change as the frozen slider moves)."""
    try:
        with st.spinner(t("transfer.building")):
            s = summary_of(spec, state.owner())
    except LocalizedError as exc:
        st.error(state.say(exc.msg), icon=":material/error:")
        return
    a, b = st.columns(2)
    a.metric(t("transfer.params_total"), f"{s.total_params:,}")
    b.metric(t("transfer.params_trainable"), f"{s.trainable_params:,}")
    st.dataframe(s.records(), hide_index=True, width="stretch")
    if spec.transfer.mode == "features":
        st.caption(t("transfer.features_note"))

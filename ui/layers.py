"""The layer stack editor: one bordered row per layer, with add, remove and reorder.

Widget keys use the layer's explicit name, so moving a layer moves its widgets too.
"""

from __future__ import annotations

import streamlit as st

from core.spec import LAYER_TYPES, ExperimentSpec, default_layers
from ui import keys, state
from ui.state import t
from ui.widgets import param_widget

PER_ROW = 3  # layer parameters per row


def _edit(action, *args) -> None:
    action(*args)
    state.commit()


def _layer_row(spec: ExperimentSpec, index: int) -> None:
    layer = spec.layers[index]
    schema = LAYER_TYPES[layer.type]
    with st.container(border=True):
        head, tools = st.columns([3, 1], vertical_alignment="center")
        head.markdown(f"**{layer.type}** · `{layer.name}` — {t(f'layer.{layer.type}')}")
        buttons = tools.container(horizontal=True, horizontal_alignment="right", gap="small")
        locked = state.classroom().is_locked("layers")
        buttons.button(
            ":material/arrow_upward:",
            key=f"up.{layer.name}",
            help=t("model.move_up"),
            type="tertiary",
            disabled=locked or index == 0,
            on_click=_edit,
            args=(spec.move_layer, layer.name, -1),
        )
        buttons.button(
            ":material/arrow_downward:",
            key=f"down.{layer.name}",
            help=t("model.move_down"),
            type="tertiary",
            disabled=locked or index == len(spec.layers) - 1,
            on_click=_edit,
            args=(spec.move_layer, layer.name, 1),
        )
        buttons.button(
            ":material/delete:",
            key=f"del.{layer.name}",
            help=t("model.remove"),
            type="tertiary",
            disabled=locked,
            on_click=_edit,
            args=(spec.remove_layer, layer.name),
        )
        # At most three controls side by side: a Conv2D's six would cut their labels and values.
        for start in range(0, len(schema), PER_ROW):
            cols = st.columns(PER_ROW)
            for col, param in zip(cols, schema[start : start + PER_ROW], strict=False):
                with col:
                    param_widget(
                        param,
                        layer.params,
                        f"{keys.WIDGET_PREFIX}layer.{layer.name}.{param.name}",
                        t(f"param.{param.name}"),
                        t(f"help.param.{param.name}"),
                    )


def _add_layer(spec: ExperimentSpec) -> None:
    spec.add_layer(st.session_state[keys.ADD_LAYER_TYPE])
    state.commit()


def _reset(spec: ExperimentSpec, kind: str) -> None:
    spec.layers = default_layers(kind)
    spec.ensure_layer_names()
    state.replace_spec(spec)


def layer_editor(spec: ExperimentSpec, kind: str, input_text: str, output_text: str) -> None:
    """Input line, the editable stack, the output line, then add/reset controls."""
    st.caption(input_text)
    for index in range(len(spec.layers)):
        _layer_row(spec, index)
    if not spec.layers:
        st.caption(t("model.empty_stack"))
    st.caption(output_text)
    if state.classroom().is_locked("layers"):
        st.caption(t("share.locked_by_instructor"))
        return
    pick, add, reset = st.columns([3, 2, 2], vertical_alignment="bottom")
    pick.selectbox(
        t("model.layer_type"), list(LAYER_TYPES), key=keys.ADD_LAYER_TYPE, format_func=lambda k: f"{k} — {t(f'layer.{k}')}"
    )
    add.button(t("model.add_layer"), icon=":material/add:", on_click=_add_layer, args=(spec,), width="stretch")
    reset.button(t("model.reset"), icon=":material/restart_alt:", on_click=_reset, args=(spec, kind), width="stretch")

"""Widgets bound to the spec: each shows a spec field and writes changes back.

Streamlit deletes the state of widgets a page did not draw, so the spec (not the
widget) is the source of truth: a bound widget seeds its key from the spec when
the key is missing and writes the new value back in its `on_change` callback.

Example (in a page):
    bound(st.number_input, t("train.epochs"), spec.fit, "epochs", min_value=1, max_value=1000)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from core.spec import Param
from ui import state


def bound(
    widget: Callable,
    label: str,
    obj: Any,
    attr: str,
    key: str | None = None,
    encode: Callable[[Any], Any] = lambda v: v,
    decode: Callable[[Any], Any] = lambda v: v,
    after: Callable[[], None] | None = None,
    **kwargs,
):
    """Draw `widget` for `obj.attr`; `encode`/`decode` map between field and widget values.

    An instructor's link may lock the control (drawn, disabled) or hide it (not drawn).
    """
    classroom = state.classroom()
    if classroom.is_hidden(attr):
        return encode(getattr(obj, attr))
    if classroom.is_locked(attr):
        kwargs["disabled"] = True
    key = key or f"{state.WIDGET_PREFIX}{type(obj).__name__}.{attr}"
    if key not in st.session_state:
        st.session_state[key] = encode(getattr(obj, attr))

    def write_back():
        if key not in st.session_state:
            return  # another callback of this rerun replaced the spec (and cleared the bound widgets)
        setattr(obj, attr, decode(st.session_state[key]))
        if after is not None:
            after()
        state.commit()

    return widget(label, key=key, on_change=write_back, **kwargs)


def param_widget(param: Param, params: dict, key: str, label: str, help_text: str | None = None):
    """A widget for one layer parameter, picked by the parameter's kind."""
    if key not in st.session_state:
        st.session_state[key] = params[param.name]

    def write_back():
        if key not in st.session_state:
            return  # the spec was replaced by another callback of this rerun
        params[param.name] = param.clean(st.session_state[key], label)
        state.commit()

    common = dict(key=key, on_change=write_back, help=help_text, disabled=state.classroom().is_locked("layers"))
    if param.kind == "choice":
        return st.selectbox(label, param.choices, **common)
    if param.kind == "bool":
        return st.checkbox(label, **common)
    if param.kind == "int":
        return st.number_input(label, min_value=int(param.minimum), max_value=int(param.maximum), step=1, **common)
    return st.number_input(
        label,
        min_value=float(param.minimum),
        max_value=float(param.maximum),
        step=float(param.step or 0.01),
        format="%g",
        **common,
    )


def optional_count(label: str, obj: Any, attr: str, help_text: str | None = None, maximum: int = 1_000_000):
    """A number input where 0 means 'all' (None in the spec)."""
    return bound(
        st.number_input,
        label,
        obj,
        attr,
        encode=lambda v: v or 0,
        decode=lambda v: int(v) or None,
        min_value=0,
        max_value=maximum,
        step=100,
        help=help_text,
    )

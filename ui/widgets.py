"""Widgets bound to the spec: each shows a spec field and writes changes back.

Streamlit deletes the state of widgets a page did not draw, so the spec (not the
widget) is the source of truth: a bound widget seeds its key from the spec when
the key is missing and writes the new value back in its `on_change` callback.

Example (in a page):
    bound(st.number_input, t("train.epochs"), spec.fit, "epochs", min_value=1, max_value=1000)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import is_dataclass
from typing import Any

import streamlit as st

from core.spec import Param, meta
from ui import keys, state


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
    key = key or keys.bound(type(obj).__name__, attr)
    if key not in st.session_state:
        st.session_state[key] = encode(getattr(obj, attr))
    if widget in (st.slider, st.number_input):
        kwargs = {**declared_bounds(obj, attr, widget), **kwargs}

    def write_back():
        if key not in st.session_state:
            return  # another callback of this rerun replaced the spec (and cleared the bound widgets)
        setattr(obj, attr, decode(st.session_state[key]))
        if after is not None:
            after()
        state.commit()

    return widget(label, key=key, on_change=write_back, **kwargs)


def declared_bounds(obj: Any, attr: str, widget: Callable) -> dict[str, Any]:
    """min_value, max_value and step for a numeric widget, as the spec field declares them (core/spec.py `knob`)."""
    declared = meta(type(obj), attr) if is_dataclass(obj) else {}
    if "range" not in declared:
        return {}
    low, high = declared.get("widget", declared["range"])
    if isinstance(getattr(obj, attr), int) or (getattr(obj, attr) is None and isinstance(low, int)):
        low, high = int(low), int(high)
    else:
        low, high = float(low), float(high)
    bounds: dict[str, Any] = {"min_value": low, "max_value": high}
    if "step" in declared:
        bounds["step"] = type(low)(declared["step"])
    elif widget is st.number_input and isinstance(low, float):
        bounds["format"] = "%g"
    return bounds


def param_widget(param: Param, params: dict, key: str, label: str, help_text: str | None = None):
    """A widget for one layer parameter, picked by the parameter's kind."""
    if key not in st.session_state:
        st.session_state[key] = params[param.name]

    def write_back():
        if key not in st.session_state:
            return  # the spec was replaced by another callback of this rerun
        params[param.name] = param.clean(st.session_state[key], label)
        state.commit()

    common: dict[str, Any] = dict(key=key, on_change=write_back, help=help_text, disabled=state.classroom().is_locked("layers"))
    if param.kind == "choice":
        return st.selectbox(label, param.choices, **common)
    if param.kind == "bool":
        return st.checkbox(label, **common)
    if param.kind == "int":
        return st.number_input(label, min_value=int(param.low), max_value=int(param.high), step=int(param.step or 1), **common)
    return st.number_input(
        label,
        min_value=float(param.low),
        max_value=float(param.high),
        step=float(param.step or 0.01),
        format="%g",
        **common,
    )


def optional_count(label: str, obj: Any, attr: str, help_text: str | None = None):
    """A number input where 0 means 'all' (None in the spec); its upper bound and step are the field's."""
    bounds = declared_bounds(obj, attr, st.number_input)
    return bound(
        st.number_input,
        label,
        obj,
        attr,
        encode=lambda v: v or 0,
        decode=lambda v: int(v) or None,
        **{**bounds, "min_value": 0},
        help=help_text,
    )

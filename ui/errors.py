"""One place where page errors end: a plain message for the learner, the details in the server log.

Expected problems are `LocalizedError`s and get their own message. Anything else is a bug:
the learner sees a short apology with a reference, the server log gets the traceback under
the same reference, and `client.showErrorDetails` is off so no traceback reaches the page.
Tests set `PLAYGROUND_RAISE_ERRORS=1` so that bugs fail them instead of being smoothed over.
"""

from __future__ import annotations

import logging
import os
import secrets
from contextlib import contextmanager

import streamlit as st

from core.i18n import LocalizedError
from ui import state
from ui.state import t

log = logging.getLogger("keras_playground")


@contextmanager
def friendly_errors():
    """Wrap a page run: `with friendly_errors(): page.run()`."""
    try:
        yield
    except LocalizedError as exc:
        st.error(state.say(exc.msg), icon=":material/error:")
    except Exception:
        if os.environ.get("PLAYGROUND_RAISE_ERRORS", "").strip() == "1":
            raise
        ref = secrets.token_hex(4)
        log.exception("page error (reference %s)", ref)
        st.error(t("errors.unexpected", ref=ref), icon=":material/sentiment_dissatisfied:")


def load_secrets_into_environment() -> None:
    """Limits may also come from `st.secrets` (Streamlit Community Cloud's settings): PLAYGROUND_* keys
    there fill the environment variables core.settings reads, unless the environment already sets them."""
    try:
        items = dict(st.secrets)
    except Exception:  # noqa: BLE001 - no secrets.toml at all is the normal case
        return
    for key, value in items.items():
        if key.startswith("PLAYGROUND_") and not isinstance(value, dict) and key not in os.environ:
            os.environ[key] = str(value)

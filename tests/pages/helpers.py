"""Shared AppTest helpers: open a page through app.py, find buttons, read the page's text."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120  # TensorFlow alone takes ~6 s to import on a 2-core machine; training takes more


def open_page(page: str, lang: str = "en") -> AppTest:
    """A new session (new learner) on `page`, through app.py's st.navigation."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["lang"] = lang
    at.run()
    if page != "pages/home.py":
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def button(at: AppTest, label: str | None = None, key: str | None = None):
    """The one button with this label or key."""
    if key is not None:
        return at.button(key=key)
    matches = [b for b in at.button if b.label == label]
    assert len(matches) == 1, [b.label for b in at.button]
    return matches[0]


def texts(at: AppTest) -> str:
    """All markdown and caption text of the page, joined."""
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])

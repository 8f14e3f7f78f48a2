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


def settled(job_id: str, timeout: float = 240.0):
    """Wait until the job has settled in the run store (a worker process trains it); returns its view."""
    import time

    from core import jobs

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = jobs.view(job_id)
        if view is not None and view.settled:
            return view
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not settle within {timeout:.0f} s: {jobs.view(job_id)}")


def trained(spec, owner: str):
    """A run of `spec` for `owner`, trained by the pool as if the learner had pressed Train."""
    from core import jobs

    return settled(jobs.submit(spec, owner, watched=False))

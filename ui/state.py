"""Per-browser state for the pages: owner token, language, the current spec, the job registry.

Streamlit forgets `st.session_state` on a browser refresh. Two things bring a
learner's work back: the owner token kept in the URL (`?u=...`), which finds
their jobs in the process-wide registry and their last spec on the server, and
the language, also kept in the URL (`?lang=ja`).
"""

from __future__ import annotations

import secrets

import streamlit as st

from core import i18n, share, workspaces
from core.spec import ExperimentSpec, SpecError

OWNER_PARAM, LANG_PARAM = "u", "lang"
WIDGET_PREFIX = "w."  # keys of widgets bound to the spec; cleared when the spec is replaced


def require_app() -> None:
    """Make sure the page runs inside app.py's navigation, never as a stray script.

    Streamlit still routes the very first request of a fresh server through its
    old `pages/` folder mode until `st.navigation` has run once: a first visit to
    `/train` would run pages/train.py without app.py (no sidebar, no settings).
    Switch that mode off and rerun, so app.py handles this request too.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def owner() -> str:
    """A random token identifying this browser tab's learner, kept in the URL across refreshes."""
    token = st.session_state.get("owner") or st.query_params.get(OWNER_PARAM) or secrets.token_urlsafe(9)
    st.session_state["owner"] = token
    if st.query_params.get(OWNER_PARAM) != token:
        st.query_params[OWNER_PARAM] = token  # page switches clear the query string: put it back
    return token


def session_id() -> str | None:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx else None


def lang() -> str:
    if "lang" not in st.session_state:
        st.session_state["lang"] = i18n.pick_language(st.query_params.get(LANG_PARAM), st.context.locale)
    current = st.session_state["lang"]
    if st.query_params.get(LANG_PARAM) != current:
        st.query_params[LANG_PARAM] = current
    return current


def set_lang(code: str) -> None:
    st.session_state["lang"] = code
    st.query_params[LANG_PARAM] = code


def t(key: str, **fields) -> str:
    """The text for `key` in the learner's language; `i18n.Plain` fields (the learner's own names) stay plain text."""
    code = lang()
    return i18n.translate(code, key, **i18n.escape_fields(fields, code, i18n.markdown_escape))


def say(msg: i18n.Msg) -> str:
    """A message in the learner's language, ready for Markdown: names from uploads (files, columns) stay plain text."""
    return msg.render(lang(), escape=i18n.markdown_escape)


def class_names(dataset: str, names) -> list[str]:
    """Class names in the learner's language where the catalogue has them (Fashion-MNIST, CIFAR-10)."""
    code = lang()
    return [i18n.translate(code, f"classes.{dataset}.{i}") if i18n.has(code, f"classes.{dataset}.{i}") else str(n)
            for i, n in enumerate(names)]


# --------------------------------------------------------------------------- the spec


def spec() -> ExperimentSpec:
    """The spec being edited: from this session, else the owner's last one, else the default."""
    current = st.session_state.get("spec")
    if current is None:
        current = workspaces.recall(owner()) or ExperimentSpec.default_for("moons")
        st.session_state["spec"] = current
    return current


def commit() -> None:
    """Remember the (edited) spec on the server, for refreshes."""
    workspaces.remember(owner(), spec())


def replace_spec(new: ExperimentSpec) -> None:
    """Swap in a new spec; bound widgets re-read their values from it."""
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(WIDGET_PREFIX)]:
        del st.session_state[key]
    st.session_state["spec"] = new
    commit()


# --------------------------------------------------------------------------- jobs


def _session_alive(session_id: str) -> bool:
    from streamlit import runtime

    if not runtime.exists():  # bare scripts and AppTest have no server: nobody to lose
        return True
    return runtime.get_instance().is_active_session(session_id)


def registry():
    """The process-wide job registry, told how to recognise closed browser tabs."""
    from core.training import registry as core_registry

    reg = core_registry()
    if reg.liveness is None:
        reg.liveness = _session_alive
    return reg


def data_file_name(spec: ExperimentSpec) -> str:
    """The file an exported script should read for uploaded data (the upload's own name)."""
    from core import uploads

    if spec.data.name not in ("folder", "csv"):
        return ""
    upload = uploads.store().get(owner(), spec.data.source) if spec.data.source else None
    return upload.filename if upload else ("kinoko_takenoko.zip" if spec.data.name == "folder" else "")


def start_job(spec: ExperimentSpec, after=None):
    """Submit a job for this learner and make it the one the Train page shows."""
    from core import preflight
    from core.i18n import LocalizedError
    from core.training import warm_imports

    try:
        preflight.check(spec, owner())  # over a limit: refused with the limit named
        warm_imports()  # first imports must happen here, on the script thread, not in two workers at once
        job = registry().submit(spec, owner(), session_id(), after=after)
    except LocalizedError as exc:
        st.session_state["start_error"] = exc.msg
        return None
    st.session_state.pop("start_error", None)
    st.session_state["job_id"] = job.id
    return job


def show_start_error() -> None:
    """A training that could not start says why, on whatever page the learner lands."""
    msg = st.session_state.pop("start_error", None)
    if msg is not None:
        st.error(say(msg), icon=":material/block:")


def stop_job(job, wait: float = 2.0) -> None:
    """Stop a job and give it a moment to acknowledge, so the page redraws as 'Stopped' at once."""
    import time

    job.stop()
    deadline = time.monotonic() + wait
    while job.snapshot().active and time.monotonic() < deadline:
        time.sleep(0.05)


def current_job():
    """This learner's newest job (re-attached to this session), or None."""
    import sys

    if "core.training" not in sys.modules:
        return None  # nothing has trained in this server process yet: keep the landing page light
    reg = registry()
    job_id = st.session_state.get("job_id")
    job = reg.get(job_id) if job_id else None
    if job is None or job.owner != owner():
        job = reg.latest_for(owner())
    if job is not None:
        st.session_state["job_id"] = job.id
        reg.attach(job, session_id())
    return job


# --------------------------------------------------------------------------- links and classroom mode

CLASSROOM_PARAMS = (share.LOCK_PARAM, share.HIDE_PARAM, share.PAGE_PARAM)


def classroom() -> share.Classroom:
    """The instructor's settings of this tab (from its link), kept across page switches."""
    current = st.session_state.get("classroom")
    if current is None:
        current = share.Classroom.from_params(st.query_params.to_dict())
        st.session_state["classroom"] = current
    for name, value in ((share.LOCK_PARAM, current.locked), (share.HIDE_PARAM, current.hidden)):
        if value and st.query_params.get(name) != ",".join(sorted(value)):
            st.query_params[name] = ",".join(sorted(value))  # page switches clear the query string: put it back
    return current


def apply_link() -> str | None:
    """Open a shared setup: the spec in `?s=` replaces this tab's spec once. Returns the page to open, if any."""
    encoded = st.query_params.get(share.SPEC_PARAM)
    room = classroom()
    if not encoded:
        return None
    del st.query_params[share.SPEC_PARAM]  # applied once; the owner token keeps the edits that follow
    try:
        replace_spec(share.decode_spec(encoded))
    except SpecError as exc:
        st.session_state["start_error"] = i18n.Msg("share.bad_link", {"reason": str(exc)})
        return None
    return room.page or None


def link(page: str = "", room: share.Classroom | None = None) -> str:
    """A link that reproduces this tab's setup in another browser (with classroom settings, for instructors)."""
    from urllib.parse import urlsplit

    parts = urlsplit(st.context.url or "http://localhost:8501/")
    base = f"{parts.scheme}://{parts.netloc}"
    prefix = parts.path.rstrip("/")
    for name in share.PAGES:  # the current page's own path is not part of the app's base
        if prefix.endswith("/" + name):
            prefix = prefix[: -len(name) - 1]
    target = "" if page in ("", "home") else page
    return f"{base}{prefix}/{target}?{share.link_query(spec(), lang(), room)}"

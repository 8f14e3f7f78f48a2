"""Per-browser state for the pages: owner token, language, the current spec, the job registry.

Streamlit forgets `st.session_state` on a browser refresh. Two things bring a
learner's work back: the owner token kept in the URL (`?u=...`), which finds
their jobs in the process-wide registry and their last spec on the server, and
the language, also kept in the URL (`?lang=ja`).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from urllib.parse import urlencode, urlsplit

import streamlit as st
from streamlit import runtime
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core import i18n, jobs, presence, rooms, saved_specs, share, uploads
from core.dataset_catalogue import UPLOADED
from core.i18n import LocalizedError
from core.spec import ExperimentSpec, SpecError
from ui import keys

log = logging.getLogger("keras_playground")
OWNER_PARAM, LANG_PARAM = "u", "lang"


def require_app() -> None:
    """Make sure the page runs inside app.py's navigation, never as a stray script.

    Streamlit still routes the very first request of a fresh server through its
    old `pages/` folder mode until `st.navigation` has run once: a first visit to
    `/train` would run pages/train.py without app.py (no sidebar, no settings).
    Switch that mode off and rerun, so app.py handles this request too.
    """

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def owner() -> str:
    """A random token identifying this browser tab's learner, kept in the URL across refreshes."""
    token = st.session_state.get(keys.OWNER) or st.query_params.get(OWNER_PARAM) or secrets.token_urlsafe(9)
    st.session_state[keys.OWNER] = token
    if st.query_params.get(OWNER_PARAM) != token:
        st.query_params[OWNER_PARAM] = token  # page switches clear the query string: put it back
    return token


def session_id() -> str | None:

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx else None


def lang() -> str:
    if "lang" not in st.session_state:
        st.session_state[keys.LANG] = i18n.pick_language(st.query_params.get(LANG_PARAM), st.context.locale)
    current = st.session_state[keys.LANG]
    if st.query_params.get(LANG_PARAM) != current:
        st.query_params[LANG_PARAM] = current
    return current


def set_lang(code: str) -> None:
    st.session_state[keys.LANG] = code
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
    return [
        i18n.translate(code, f"classes.{dataset}.{i}") if i18n.has(code, f"classes.{dataset}.{i}") else str(n)
        for i, n in enumerate(names)
    ]


# --------------------------------------------------------------------------- the spec


def spec() -> ExperimentSpec:
    """The spec being edited: from this session, else the owner's last one, else the default."""
    current = st.session_state.get(keys.SPEC)
    if current is None:
        current = saved_specs.recall(owner()) or ExperimentSpec.default_for("moons")
        st.session_state[keys.SPEC] = current
    return current


def commit() -> None:
    """Remember the (edited) spec on the server, for refreshes."""
    saved_specs.remember(owner(), spec())


def replace_spec(new: ExperimentSpec) -> None:
    """Swap in a new spec; bound widgets re-read their values from it."""
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(keys.WIDGET_PREFIX)]:
        del st.session_state[key]
    new.compare = []  # the spec being edited is never one run of a comparison, even when it came from one
    st.session_state[keys.SPEC] = new
    commit()


# --------------------------------------------------------------------------- jobs


def data_file_name(spec: ExperimentSpec) -> str:
    """The file an exported script should read for uploaded data (the upload's own name)."""

    if spec.data.name not in UPLOADED:
        return ""
    upload = uploads.store().get(owner(), spec.data.source) if spec.data.source else None
    return upload.filename if upload else ("kinoko_takenoko.zip" if spec.data.name == "folder" else "")


def start_job(spec: ExperimentSpec, after: str | None = None, group: str = "") -> str | None:
    """Submit a job for this learner and make it the one the Train page shows; returns its id."""

    watch()
    try:
        job_id = jobs.submit(spec, owner(), after=after, group=group, room=rooms.room_for_runs(room_id(), owner()))
    except LocalizedError as exc:
        st.session_state[keys.START_ERROR] = exc.msg
        return None
    st.session_state.pop(keys.START_ERROR, None)
    st.session_state[keys.JOB] = job_id
    return job_id


def start_group(specs: list[ExperimentSpec], group: str, in_order: bool = False) -> list[str]:
    """Submit a comparison's runs, all or none; a refusal says why on whatever page the learner lands."""

    watch()
    try:
        ids = jobs.submit_group(specs, owner(), group, in_order=in_order, room=rooms.room_for_runs(room_id(), owner()))
    except LocalizedError as exc:
        st.session_state[keys.START_ERROR] = exc.msg
        return []
    st.session_state.pop(keys.START_ERROR, None)
    return ids


def start_search(plan, group: str) -> list[str]:
    """Queue a search's first trials (core/search.py); a refusal says why, as for any Train press."""

    watch()
    try:
        ids = jobs.start_search(plan, owner(), group, room=rooms.room_for_runs(room_id(), owner()))
    except LocalizedError as exc:
        st.session_state[keys.START_ERROR] = exc.msg
        return []
    st.session_state.pop(keys.START_ERROR, None)
    return ids


def show_start_error() -> None:
    """A training that could not start says why, on whatever page the learner lands."""
    msg = st.session_state.pop(keys.START_ERROR, None)
    if msg is not None:
        st.error(say(msg), icon=":material/block:")


def stop_job(job_id: str, wait: float = 2.0) -> None:
    """Stop this learner's job and give it a moment to acknowledge, so the page redraws as 'Stopped' at once."""

    if job_id:
        jobs.stop(job_id, owner(), wait=wait)


def current_job():
    """The job the Train page shows: the one this tab started last, else the learner's newest (a `JobView`)."""

    watch()
    found = jobs.shown_for(owner(), st.session_state.get(keys.JOB))
    if found is not None and found.id != st.session_state.get(keys.JOB):
        st.session_state[keys.JOB] = found.id
    return found


# ---- presence: the training workers stop a job once its learner's tabs are all gone

_WATCHED: dict[str, str] = {}  # session id -> owner, for the sessions of this web server
_WATCHED_LOCK = threading.Lock()
_PRESENCE_EVERY = 5.0


def watch() -> None:
    """This tab shows this learner's work: keep telling the workers the learner is here while it is connected."""
    sid = session_id()
    if sid is None:
        return
    with _WATCHED_LOCK:
        fresh = sid not in _WATCHED
        _WATCHED[sid] = owner()
    if fresh:
        presence.touch([owner()])
    _ensure_presence_thread()


def _alive(session: str) -> bool:

    if not runtime.exists():  # AppTest has no server: its one session lives as long as the test
        return True
    return runtime.get_instance().is_active_session(session)


def _presence_loop() -> None:

    while True:
        time.sleep(_PRESENCE_EVERY)
        with _WATCHED_LOCK:
            items = list(_WATCHED.items())
        alive = {o for s, o in items if _alive(s)}
        with _WATCHED_LOCK:
            for s, _ in items:
                if not _alive(s):
                    _WATCHED.pop(s, None)
        try:
            presence.touch(alive)
        except Exception:  # noqa: BLE001 - a busy database must not end the thread: try again next round
            log.warning("could not mark learners as present", exc_info=True)


_PRESENCE_THREAD: list[threading.Thread] = []


def _ensure_presence_thread() -> None:
    with _WATCHED_LOCK:
        if _PRESENCE_THREAD and _PRESENCE_THREAD[0].is_alive():
            return
        thread = threading.Thread(target=_presence_loop, name="presence", daemon=True)
        _PRESENCE_THREAD[:] = [thread]
        thread.start()


# --------------------------------------------------------------------------- links and classroom mode

CLASSROOM_PARAMS = (share.LOCK_PARAM, share.HIDE_PARAM, share.PAGE_PARAM)


def classroom() -> share.Classroom:
    """The instructor's settings of this tab (from its link), kept across page switches."""
    current = st.session_state.get(keys.CLASSROOM)
    if current is None:
        current = share.Classroom.from_params(st.query_params.to_dict())
        st.session_state[keys.CLASSROOM] = current
    for name, value in ((share.LOCK_PARAM, current.locked), (share.HIDE_PARAM, current.hidden)):
        if value and st.query_params.get(name) != ",".join(sorted(value)):
            st.query_params[name] = ",".join(sorted(value))  # page switches clear the query string: put it back
    return current


def forget_classroom() -> None:
    """Back to no locked or hidden controls (a learner left their room)."""
    st.session_state[keys.CLASSROOM] = share.Classroom()
    for name in CLASSROOM_PARAMS:
        if name in st.query_params:
            del st.query_params[name]


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
        st.session_state[keys.START_ERROR] = i18n.Msg("share.bad_link", {"reason": str(exc)})
        return None
    return room.page or None


def link(page: str = "", room: share.Classroom | None = None) -> str:
    """A link that reproduces this tab's setup in another browser (with classroom settings, for instructors)."""

    target = "" if page in ("", "home") else page
    return f"{_base()}/{target}?{share.link_query(spec(), lang(), room)}"


def _base() -> str:
    """This app's address without the current page (`http://host:port/prefix`)."""
    parts = urlsplit(st.context.url or "http://localhost:8501/")
    prefix = parts.path.rstrip("/")
    for name in (*share.PAGES, BOARD_PAGE):  # the current page's own path is not part of the app's base
        if prefix.endswith("/" + name):
            prefix = prefix[: -len(name) - 1]
    return f"{parts.scheme}://{parts.netloc}{prefix}"


# --------------------------------------------------------------------------- workshop rooms

BOARD_PAGE = "board"


def room_choice() -> dict | None:
    """This tab's room, `{"id", "key"}` (key "" for a learner): the link's, else the session's; kept in the URL."""
    given = st.query_params.get(rooms.ROOM_PARAM)
    if given:
        st.session_state[keys.ROOM] = {"id": given, "key": st.query_params.get(rooms.KEY_PARAM, "")}
    current = st.session_state.get(keys.ROOM)
    if current:  # page switches clear the query string: put it back
        if st.query_params.get(rooms.ROOM_PARAM) != current["id"]:
            st.query_params[rooms.ROOM_PARAM] = current["id"]
        if current["key"] and st.query_params.get(rooms.KEY_PARAM) != current["key"]:
            st.query_params[rooms.KEY_PARAM] = current["key"]
    return current


def room_id() -> str:
    choice = room_choice()
    return choice["id"] if choice else ""


def choose_room(room_id_: str, key: str = "") -> None:
    st.session_state[keys.ROOM] = {"id": room_id_, "key": key}
    st.query_params[rooms.ROOM_PARAM] = room_id_
    if key:
        st.query_params[rooms.KEY_PARAM] = key
    elif rooms.KEY_PARAM in st.query_params:
        del st.query_params[rooms.KEY_PARAM]


def forget_room() -> None:
    """This tab leaves its room (a bad link, leaving, a deleted room): the session and the URL forget it."""
    st.session_state.pop(keys.ROOM, None)
    for name in (rooms.ROOM_PARAM, rooms.KEY_PARAM):
        if name in st.query_params:
            del st.query_params[name]


def room_link(room_id_: str, key: str = "") -> str:
    """The learners' link to a room's board (with the instructor's key: the instructor's link)."""
    params = {rooms.ROOM_PARAM: room_id_, **({rooms.KEY_PARAM: key} if key else {}), LANG_PARAM: lang()}
    return f"{_base()}/{BOARD_PAGE}?{urlencode(params)}"

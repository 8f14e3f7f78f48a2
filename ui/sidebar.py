"""The sidebar on every page: language switch and this learner's training status.

The status is a small fragment that polls while a job runs, so a learner on the
Data or Model page still sees the epoch count and can jump back to the charts.
"""

from __future__ import annotations

import streamlit as st

from core import jobs, share
from core.i18n import LANGUAGES
from ui import polling, state
from ui.state import t


def _language_switch() -> None:
    current = state.lang()
    choice = st.segmented_control(
        t("sidebar.language"), list(LANGUAGES), default=current, format_func=LANGUAGES.__getitem__, key="lang_switch"
    )
    if choice and choice != current:
        state.set_lang(choice)
        st.rerun()


def _job_status() -> bool:
    """The job the learner most wants news of: the one training now, else the next in line, else the newest.
    Returns whether it is still active: when that changes, the page redraws (ui/polling.py)."""
    view = jobs.shown_for(state.owner())
    if view is None:
        return False
    if view.status == "queued":
        st.caption(t("sidebar.queued", position=view.queue_position) if view.queue_position else t("sidebar.waiting_previous"))
    elif view.status == "running":
        st.caption(t("train.progress", epoch=view.progress.epoch, epochs=view.progress.epochs))
        st.progress(min(view.epochs_done / max(view.progress.epochs, 1), 1.0))
    else:
        st.caption(t(f"status.{view.status}"))
    st.page_link("pages/train.py", label=t("sidebar.open_train"), icon=":material/monitoring:")
    return view.active


def _share(page: str) -> None:
    """Copy link (this setup in another browser) and, for instructors, a classroom link."""

    # Widget keys carry the language: their labels are translated options.
    with st.expander(t("share.title"), icon=":material/share:"):
        st.caption(t("share.copy_hint"))
        st.code(state.link(page), language=None, wrap_lines=True)
        st.markdown(f"**{t('share.classroom')}**")
        # Options are the translated labels themselves (a format_func calling t() would run outside the page's language).
        controls = {t(f"share.control.{c}"): c for c in share.CONTROLS}
        pages = {t(f"nav.{p}"): p for p in share.PAGES}
        locked = [
            controls[c]
            for c in st.multiselect(t("share.lock"), list(controls), key=f"share_lock_{state.lang()}", help=t("help.share.lock"))
        ]
        hidden = [
            controls[c]
            for c in st.multiselect(t("share.hide"), list(controls), key=f"share_hide_{state.lang()}", help=t("help.share.hide"))
        ]
        here = t(f"nav.{page}") if page in share.PAGES else t("nav.home")
        opens = pages[st.selectbox(t("share.page"), list(pages), index=list(pages).index(here), key=f"share_page_{state.lang()}")]
        if locked or hidden:
            room = share.Classroom(set(locked), set(hidden), opens)
            st.code(state.link(opens, room), language=None, wrap_lines=True)


def render(show_job_status: bool = True, page: str = "home") -> None:
    with st.sidebar:
        _language_switch()
        _share(page)
        if show_job_status:
            shown = jobs.shown_for(state.owner())
            active = shown is not None and shown.active
            polling.follow(_job_status, drawn=active, active=active, every=polling.SIDEBAR_POLL_SECONDS)

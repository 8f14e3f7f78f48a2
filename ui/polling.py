"""One way to follow a job from a page: poll a small part, redraw the rest only when it changed.

A fragment runs `draw` every `every` seconds while something is active. `draw` renders the
cheap, moving part (a status line, a progress bar) and returns what the rest of the page was
drawn from (an epoch count, a status). When that differs from `drawn` — what the page showed at
its last full run — the whole page runs once more: charts redraw once per epoch, and once more
when the job settles, never per poll.

Example (the Train page):
    >>> follow(lambda: status_panel(job.id), drawn=drawn_state(job), active=job.active)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

import streamlit as st

POLL_SECONDS = 1.0  # the Train and Runs pages; the sidebar is a side glance and polls half as often
SIDEBAR_POLL_SECONDS = 2.0
BOARD_POLL_SECONDS = 2.0  # a workshop board: every learner's runs in one query, so half as often as the Train page
QUEUED_POLL_SECONDS = 5.0  # at most: a tab whose job waits far back in the queue


def every(queue_position: int | None) -> float:
    """How often the Train page polls its job: every second while it trains or is next in line; k places back,
    every k seconds (at most QUEUED_POLL_SECONDS). It cannot start before the k jobs ahead of it, and a room of
    queued tabs then costs the server (and the training it shares the machine with) a fifth as much.

    >>> every(None), every(1), every(3), every(20)
    (1.0, 1.0, 3.0, 5.0)
    """
    return min(max(queue_position or 1, 1) * POLL_SECONDS, QUEUED_POLL_SECONDS)


def follow(draw: Callable[[], Hashable], drawn: Hashable, active: bool, every: float = POLL_SECONDS) -> None:
    """Render `draw` now, and again every `every` s while `active`; rerun the page when it reports a change."""

    def body() -> None:
        if draw() != drawn:
            st.rerun()

    st.fragment(body, run_every=every if active else None)()

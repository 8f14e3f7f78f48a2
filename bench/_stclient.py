"""A browser tab without a browser: Streamlit's websocket protocol as its frontend speaks it.

`Tab` connects to ws://127.0.0.1:PORT/_stcore/stream with the subprotocol "streamlit", asks for a
page (BackMsg `rerun_script` with the page name and the query string, as the browser's first
message), and then does what the frontend does for `st.fragment(run_every=...)`: the server
announces each such fragment with a ForwardMsg `auto_rerun` (fragment id and interval) during
the run that draws it, and the browser starts a `setInterval` that sends `rerun_script` with that
`fragment_id` and `is_auto_rerun` set, whether or not the previous rerun has finished. A full run
(a `new_session` without fragment ids) clears every interval; `stop_auto_rerun` clears some.
(Read from streamlit/static's bundled App: `handleAutoRerun`, `sendRerunBackMsg`, `handleNewSession`.)

Latency of one rerun = from sending it to the `script_finished` (FINISHED_FRAGMENT_RUN_SUCCESSFULLY)
of the run that served it: the moment the tab shows fresh content. A rerun sent while an earlier
one still runs is served by a later run (the server folds the requests for one fragment into one),
so each successful finish answers every request that was already pending when its run started
(its `new_session`), each with its own latency. A run cut short by the next request
(FINISHED_EARLY_FOR_RERUN, counted in `finishes`) answers none.

    >>> tab = Tab(8501, "token"); await tab.connect("train")  # doctest: +SKIP
    >>> await tab.poll(stop_event)  # until stop_event is set; tab.samples: (sent_at, seconds)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

FINISHED = ForwardMsg.ScriptFinishedStatus  # FINISHED_SUCCESSFULLY, FINISHED_FRAGMENT_RUN_SUCCESSFULLY, ...


class Tab:
    """One learner's tab; `samples` are (time.time() of the send, latency in s) of its answered fragment reruns."""

    def __init__(self, port: int, token: str, host: str = "127.0.0.1"):
        self.url = f"ws://{host}:{port}/_stcore/stream"
        self.origin = f"http://{host}:{port}"
        self.token = token
        self.query = f"u={token}"
        self.page_hash = ""
        self.fragments: dict[str, float] = {}  # fragment id -> interval (s), as announced by auto_rerun
        self.samples: list[tuple[float, float]] = []
        self.sent = 0
        self.sends: list[float] = []  # time.time() of every fragment rerun sent
        self.overlapping = 0  # reruns sent while an earlier one was still unanswered
        self.fragment_runs = 0  # fragment runs that finished successfully
        self.finishes: dict[str, int] = {}  # script_finished statuses (full and fragment runs), by name
        self.errors: list[str] = []
        self.status_line: str | None = None  # the last status line a fragment run drew ("**Queued** · ...")
        self._pending: dict[str, deque] = {}
        self._run_started: dict[str, float] = {}
        self._cache: dict[str, bytes] = {}  # cacheable messages by hash (the frontend's ForwardMsg cache)
        self._full_done = asyncio.Event()
        self._ws = None
        self._reader: asyncio.Task | None = None

    # ---- the connection

    async def connect(self, page: str, timeout: float = 120.0) -> None:
        """Open the socket and run `page` once (a full run); returns when that run has finished."""
        self._ws = await websockets.connect(
            self.url, subprotocols=["streamlit"], max_size=None, origin=self.origin, open_timeout=timeout, ping_interval=None
        )
        self._reader = asyncio.create_task(self._read())
        await self.rerun(page_name=page)
        await asyncio.wait_for(self._full_done.wait(), timeout)

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, websockets.ConnectionClosed):
                pass

    async def rerun(self, page_name: str = "", fragment_id: str = "") -> None:
        """Send a BackMsg rerun_script as the frontend's sendRerunBackMsg builds it."""
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query
        if page_name or not self.page_hash:
            state.page_name = page_name  # first visit: the URL's path; the server resolves it
        else:
            state.page_script_hash = self.page_hash
        if fragment_id:
            state.fragment_id, state.is_auto_rerun = fragment_id, True
        state.cached_message_hashes.extend(self._cache)
        info = state.context_info
        info.timezone, info.timezone_offset, info.locale = "UTC", 0, "en-US"
        info.url = f"{self.origin}/{page_name}?{self.query}"
        info.is_embedded, info.color_scheme = False, "light"
        if not fragment_id:
            self._full_done.clear()
        await self._ws.send(msg.SerializeToString())

    def unanswered(self, since: float) -> list[float]:
        """time.time() of the reruns sent after `since` that no run has answered yet."""
        return [wall for pending in self._pending.values() for wall, _ in pending if wall >= since]

    # ---- the browser's setInterval for each auto-rerun fragment

    async def poll(self, stop: asyncio.Event) -> None:
        """Rerun every announced fragment at its interval until `stop` is set."""
        next_at: dict[str, float] = {}
        while not stop.is_set():
            now = time.monotonic()
            for fid, interval in list(self.fragments.items()):
                due = next_at.setdefault(fid, now + interval)
                if now >= due:
                    next_at[fid] = due + interval  # fixed rate, like setInterval
                    pending = self._pending.setdefault(fid, deque())
                    self.overlapping += bool(pending)
                    pending.append((time.time(), time.monotonic()))
                    self.sends.append(pending[-1][0])
                    self.sent += 1
                    await self.rerun(fragment_id=fid)
            for fid in set(next_at) - set(self.fragments):
                del next_at[fid]
            wake = min(next_at.values(), default=time.monotonic() + 0.05)
            try:
                await asyncio.wait_for(stop.wait(), max(0.001, min(wake - time.monotonic(), 0.05)))
            except TimeoutError:
                pass

    # ---- what the server sends

    async def _read(self) -> None:
        async for raw in self._ws:
            msg = ForwardMsg()
            msg.ParseFromString(raw)
            if msg.WhichOneof("type") == "ref_hash":  # "you have this one": take it from the cache
                cached = self._cache.get(msg.ref_hash)
                if cached is None:
                    continue
                msg = ForwardMsg()
                msg.ParseFromString(cached)
            elif msg.metadata.cacheable and msg.hash:
                self._cache[msg.hash] = raw
            self._handle(msg)

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        fragment_ids = list(msg.metadata.run.fragment_ids)
        if kind == "new_session":
            if fragment_ids:
                for fid in fragment_ids:
                    self._run_started[fid] = time.monotonic()
            else:  # a full run: the frontend clears every auto-rerun interval
                self.fragments.clear()
                self.page_hash = msg.new_session.page_script_hash or self.page_hash
        elif kind == "navigation" and msg.navigation.page_script_hash:
            self.page_hash = msg.navigation.page_script_hash
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "auto_rerun" and msg.auto_rerun.fragment_id:
            self.fragments[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
        elif kind == "stop_auto_rerun":
            for fid in msg.stop_auto_rerun.fragment_ids:
                self.fragments.pop(fid, None)
        elif kind == "delta":
            self._delta(msg)
        elif kind == "script_finished":
            self._finished(msg.script_finished, fragment_ids)

    def _delta(self, msg: ForwardMsg) -> None:
        delta = msg.delta
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        which = element.WhichOneof("type")
        if which == "exception":
            self.errors.append(f"exception: {element.exception.type}: {element.exception.message[:200]}")
        elif which == "alert" and element.alert.format == element.alert.ERROR:
            self.errors.append(f"st.error: {element.alert.body[:200]}")
        elif which == "markdown" and delta.fragment_id and element.markdown.body.startswith("**"):
            self.status_line = element.markdown.body

    def _finished(self, status: int, fragment_ids: list[str]) -> None:
        name = FINISHED.Name(status) + (" (fragment)" if fragment_ids else "")
        self.finishes[name] = self.finishes.get(name, 0) + 1
        if status == FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
            self.fragment_runs += 1
            now = time.monotonic()
            for fid in fragment_ids:
                pending = self._pending.get(fid)
                started = self._run_started.get(fid, now)
                if not pending or pending[0][1] > started:
                    continue  # a run nobody here asked for (or for a request already answered)
                while pending and pending[0][1] <= started:  # every request this run answered
                    sent_wall, sent = pending.popleft()
                    self.samples.append((sent_wall, now - sent))
        elif not fragment_ids and status in (FINISHED.FINISHED_SUCCESSFULLY, FINISHED.FINISHED_WITH_COMPILE_ERROR):
            self._full_done.set()

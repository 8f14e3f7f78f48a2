"""Can the app download now? One answer for the whole server, found out by itself.

`PLAYGROUND_OFFLINE=1` says no at once, without touching the network. Otherwise a quick
probe decides: a TCP connection to the download host (`storage.googleapis.com:443`, where
Keras's weights and datasets live; `PLAYGROUND_PROBE_HOST` or the HTTPS proxy when set)
within 1.5 s, the name lookup included. The answer is remembered, 10 minutes when
offline and 1 minute when online, so pages ask as often as they like. A real download
that fails to connect (no DNS, refused, timed out) marks downloads unavailable for the
same 10 minutes.

Thread-safe: sessions share the answer and only one probe runs at a time.

Example:
    >>> import os; os.environ["PLAYGROUND_OFFLINE"] = "1"
    >>> can_download(), str(status().why)
    (False, 'PLAYGROUND_OFFLINE=1 is set')
"""

from __future__ import annotations

import math
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from core import settings
from core.i18n import Msg

DOWNLOAD_HOST = ("storage.googleapis.com", 443)
PROBE_TIMEOUT = 1.5  # seconds for the name lookup and the connection together
OFFLINE_FOR = 600.0  # seconds an "offline" answer is kept
ONLINE_FOR = 60.0  # seconds an "online" answer is kept


@dataclass(frozen=True)
class Answer:
    online: bool
    why: Msg | None  # offline: why, in plain words; online: None
    until: float  # time.monotonic() after which we ask again


_lock = threading.Lock()  # guards _answer
_probing = threading.Lock()  # one probe at a time; the others wait for its answer
_answer: Answer | None = None


def status() -> Answer:
    """Whether downloads can work now, and if not why (probes at most once per memory span)."""
    if settings.offline():
        return Answer(False, Msg("network.switch"), math.inf)
    answer = remembered()
    if answer is not None:
        return answer
    with _probing:
        answer = remembered()  # another thread probed while we waited
        if answer is not None:
            return answer
        host, port = probe_target()
        why = probe(host, port)
        return _remember(why is None, why)


def can_download() -> bool:
    return status().online


def known_offline() -> bool:
    """Offline known without probing: the switch is on, or a probe or a download failed a moment ago."""
    if settings.offline():
        return True
    answer = remembered()
    return answer is not None and not answer.online


def remembered() -> Answer | None:
    """The last answer while it is fresh, else None."""
    with _lock:
        if _answer is not None and time.monotonic() < _answer.until:
            return _answer
        return None


def _remember(online: bool, why: Msg | None) -> Answer:
    global _answer
    answer = Answer(online, why, time.monotonic() + (ONLINE_FOR if online else OFFLINE_FOR))
    with _lock:
        _answer = answer
    return answer


def mark_offline(why: Msg) -> None:
    """A real download could not connect: no download is tried for a while."""
    _remember(False, why)


def mark_online() -> None:
    """A real download worked."""
    _remember(True, None)


def forget() -> None:
    """Drop the remembered answer: the next question probes again."""
    global _answer
    with _lock:
        _answer = None


def probe_target() -> tuple[str, int]:
    """Where the probe connects: `PLAYGROUND_PROBE_HOST`, else the HTTPS proxy if one is set, else the download host."""
    explicit = settings.probe_host()
    if explicit is not None:
        return explicit
    proxy = urllib.request.getproxies().get("https")
    if proxy and not urllib.request.proxy_bypass(DOWNLOAD_HOST[0]):
        parsed = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        if parsed.hostname:
            return parsed.hostname, parsed.port or 8080
    return DOWNLOAD_HOST


def probe(host: str, port: int, timeout: float = PROBE_TIMEOUT) -> Msg | None:
    """None when a TCP connection to host:port opens within `timeout` seconds (DNS included), else why not.

    The attempt runs in a daemon thread: a name lookup that hangs cannot hold the page longer.
    """
    outcome: dict[str, Msg | None] = {}

    def attempt() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            outcome["why"] = None
        except OSError as exc:
            outcome["why"] = reason(exc, f"{host}:{port}")

    worker = threading.Thread(target=attempt, name="playground-network-probe", daemon=True)
    worker.start()
    worker.join(timeout)
    if "why" not in outcome:
        return Msg("network.timeout", {"host": f"{host}:{port}", "seconds": f"{timeout:g}"})
    return outcome["why"]


def _chain(exc: BaseException | None):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
            yield exc.reason
        exc = exc.__cause__ or exc.__context__


def is_connection_error(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) means the server could not be reached at all.

    An HTTP error status is not one: the server answered.
    """
    for cause in _chain(exc):
        if isinstance(cause, urllib.error.HTTPError):
            return False
        if isinstance(cause, (urllib.error.URLError, socket.gaierror, socket.herror, ConnectionError, TimeoutError)):
            return True
    return False


def reason(exc: BaseException, host: str) -> Msg:
    """Why a connection to `host` failed, in plain words."""
    for cause in _chain(exc):
        if isinstance(cause, (socket.gaierror, socket.herror)):
            return Msg("network.no_dns", {"host": host})
        if isinstance(cause, ConnectionRefusedError):
            return Msg("network.refused", {"host": host})
        if isinstance(cause, TimeoutError):
            return Msg("network.no_answer", {"host": host})
    text = (str(exc).splitlines() or [type(exc).__name__])[0][:160]
    return Msg("network.failed", {"host": host, "error": text})


def failed_download(exc: BaseException, url: str) -> Msg | None:
    """After a download failed: mark downloads unavailable if it could not connect; why, or None (another failure)."""
    if not is_connection_error(exc):
        return None
    why = reason(exc, urllib.parse.urlsplit(url).netloc or url)
    mark_offline(why)
    return why

"""Real-browser fixtures: one Streamlit server per test session, Debian's chromium, a new learner per test.

The server is `./run.sh`'s command (ui/launch.py: `streamlit run app.py`, warmed up) in a subprocess that
inherits `os.environ`, so it gets the private `PLAYGROUND_HOME` and `PLAYGROUND_OFFLINE=1` that tests/conftest.py sets.
Playwright's own browser download does not work everywhere: we launch the system
chromium (`$CHROMIUM`, else /usr/bin/chromium).

Timeouts are sized for a busy 2-core machine: importing TensorFlow takes ~6 s, so the
first press of Train can take ~10 s before epoch 1 is charted.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from ui import launch

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
CHROMIUM = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"]
VIEWPORT = {"width": 1400, "height": 1000}

SERVER_START_TIMEOUT = 60.0  # seconds until /_stcore/health answers "ok"
DEFAULT_TIMEOUT_MS = 30_000  # any single Playwright action or wait
FIRST_EPOCH_TIMEOUT_MS = 60_000  # first Train of the session imports TensorFlow (~6 s idle, far more under load)
FINISH_TIMEOUT_MS = 120_000  # a whole short run; 40 moons epochs take ~25 s idle, ~80 s beside unit tests
STATUS_WORDS = ("Queued", "Running", "Finished", "Stopped", "Diverged", "Failed")  # en.toml [status]

# The status line of the Train page: a paragraph that starts with the bold status word.
STATUS_JS = f"""() => {{
  const words = {list(STATUS_WORDS)};
  for (const p of document.querySelectorAll('[data-testid="stMarkdownContainer"] p')) {{
    const first = p.firstElementChild;
    if (first && first.tagName === 'STRONG' && words.includes(first.textContent.trim())) return p.textContent.trim();
  }}
  return null;
}}"""

# Epochs charted in the Loss chart: the longest 'training' trace of any plotly plot titled "Loss"
# (while Streamlit swaps a chart the old and new plot can both be in the DOM for a moment).
# -1: no Loss chart on the page at all.
LOSS_EPOCHS_JS = """() => {
  let best = -1;
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const t = el.layout && el.layout.title;
    const title = (typeof t === 'string' ? t : (t && t.text) || '').replace(/<[^>]*>/g, '').trim();
    if (title !== 'Loss') continue;
    best = Math.max(best, 0);
    for (const trace of el.data || []) {
      if (trace.name === 'training' && trace.x) best = Math.max(best, trace.x.length);
    }
  }
  return best;
}"""

# Every plotly chart on the page: its plain title and its traces' names and lengths.
CHARTS_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(el => {
  const t = el.layout && el.layout.title;
  return {
    title: (typeof t === 'string' ? t : (t && t.text) || '').replace(/<[^>]*>/g, '').trim(),
    traces: (el.data || []).map(trace => ({name: trace.name === undefined ? null : trace.name,
                                           n: trace.x ? trace.x.length : null})),
  };
})"""


# --------------------------------------------------------------------------- the server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The app's server (ui/launch.command, as ./run.sh starts it) in its own process group, logging to a file."""

    def __init__(self, log_path: Path, env: dict | None = None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.cold = True  # no browser has opened a page on it yet
        env = {**os.environ, **(env or {})}  # PLAYGROUND_HOME, PLAYGROUND_OFFLINE=1 from tests/conftest.py
        env["PYTHONUNBUFFERED"] = "1"
        python = str(PYTHON) if PYTHON.exists() else sys.executable
        self._log = open(log_path, "wb")  # noqa: SIM115 - the server writes to it until stop() closes it
        self.env = env
        self.proc = subprocess.Popen(
            launch.command(python, self.port),
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_healthy(self, timeout: float = SERVER_START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.read().decode().strip() == "ok":
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"streamlit did not answer /_stcore/health within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        home = self.env.get("PLAYGROUND_HOME")
        if home and home != os.environ.get("PLAYGROUND_HOME"):
            _shutdown_pool(home)  # a server with a home of its own started a pool of its own
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)
            except ProcessLookupError:
                pass
        self._log.close()


def _shutdown_pool(home: str) -> None:
    subprocess.run(
        [str(PYTHON) if PYTHON.exists() else sys.executable, "-c", "from core import workers; workers.shutdown_pool()"],
        cwd=ROOT,
        env={**os.environ, "PLAYGROUND_HOME": home},
        timeout=60,
        check=False,
    )


def start_server(log_dir: Path, name: str, env: dict | None = None) -> Server:
    """A healthy server; `env` overrides the test session's environment (a server of its own needs its own
    PLAYGROUND_HOME: its training workers read their settings from the environment they start in)."""
    server = Server(log_dir / f"{name}.log", env)
    try:
        server.wait_healthy()
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The session's one Streamlit server; yields a `Server` (use `.url`)."""
    srv = start_server(tmp_path_factory.mktemp("streamlit"), "server")
    yield srv
    srv.stop()


@pytest.fixture
def cold_server(request, tmp_path_factory):
    """A server no browser has talked to yet: the session's one if still untouched, else a fresh one."""
    shared = request.getfixturevalue("server")
    if shared.cold:
        shared.cold = False
        yield shared
        return
    own = start_server(tmp_path_factory.mktemp("streamlit-cold"), "cold-server")
    own.cold = False
    yield own
    own.stop()


@pytest.fixture
def cold_page(browser, cold_server):
    """A new learner's page on a server no browser has talked to yet (`page.context` has the base URL)."""
    pg = new_page(browser, cold_server.url)
    yield pg
    pg.context.close()


def pytest_collection_modifyitems(session, config, items):
    """Run the cold-server tests before any other browser test, so they use the session's server."""
    browser_items = [i for i in items if i.get_closest_marker("browser")]
    if not browser_items:
        return
    cold = [i for i in browser_items if {"cold_server", "cold_page"} & set(getattr(i, "fixturenames", ()))]
    if not cold:
        return
    rest = [i for i in items if i not in cold]
    first = next((n for n, i in enumerate(rest) if i.get_closest_marker("browser")), len(rest))
    items[:] = rest[:first] + cold + rest[first:]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# --------------------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium not found at {CHROMIUM} (set $CHROMIUM or run scripts/install-browser.sh)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def new_page(browser, base_url: str) -> Page:
    """A page in a fresh browser context: a new learner with no cookies, cache or token."""
    context = browser.new_context(viewport=VIEWPORT, base_url=base_url, accept_downloads=True)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
    return context.new_page()


@pytest.fixture
def page(request, browser, server):
    """A new learner (new browser context) on the session's server; a failed test prints the server log."""
    server.cold = False
    pg = new_page(browser, server.url)
    yield pg
    reports = (getattr(request.node, f"rep_{when}", None) for when in ("setup", "call"))
    if any(report is not None and report.failed for report in reports):
        _stop_training(pg, server.url)
        print(f"\n----- streamlit server log (tail) -----\n{server.log_tail()}")
    pg.context.close()


def _stop_training(pg: Page, base_url: str) -> None:
    """Best effort after a failure: stop this learner's training so it does not hold a slot."""
    try:
        token = owner_token(pg.url)
        if not token:
            return
        pg.goto(f"{base_url}/train?u={token}")
        stop = pg.get_by_test_id("stMain").get_by_role("button", name="Stop", exact=True)
        stop.wait_for(timeout=10_000)
        if stop.is_enabled():
            stop.click()
            print(f"\n(stopped the training of learner {token} left running by the failed test)")
    except PlaywrightError as exc:
        print(f"\n(could not stop this learner's training: {exc})")


# --------------------------------------------------------------------------- helpers


def owner_token(url: str) -> str | None:
    """The learner's `u=` token in a page URL."""
    values = urllib.parse.parse_qs(urllib.parse.urlparse(url).query).get("u")
    return values[0] if values else None


class App:
    """What the tests do on the app: open pages, press buttons, read the status line and charts."""

    FIRST_EPOCH_TIMEOUT_MS = FIRST_EPOCH_TIMEOUT_MS
    FINISH_TIMEOUT_MS = FINISH_TIMEOUT_MS

    def __init__(self, page: Page):
        self.page = page

    # ---- navigation

    def open_train(self) -> None:
        self.page.goto("/train")
        self.train_button.wait_for()

    def nav(self, label: str) -> None:
        """Switch page in the same Streamlit session by clicking the sidebar's navigation link."""
        self.page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=label, exact=True).click()
        self.page.get_by_role("heading", name=label, exact=True, level=1).wait_for()

    @property
    def token(self) -> str | None:
        return owner_token(self.page.url)

    # ---- the Train page

    @property
    def main(self):
        """The page body (the header has a "Stop" button of its own while a script runs)."""
        return self.page.get_by_test_id("stMain")

    @property
    def train_button(self):
        return self.main.get_by_role("button", name="Train", exact=True)

    @property
    def stop_button(self):
        return self.main.get_by_role("button", name="Stop", exact=True)

    def set_epochs(self, epochs: int) -> None:
        """Type into the Epochs input and commit it; waits until the setup caption shows the new value."""
        field = self.page.get_by_role("spinbutton", name="Epochs")
        field.fill(str(epochs))
        field.press("Enter")
        self.page.get_by_text(re.compile(rf"· {epochs} epochs$")).wait_for()

    def start_training(self) -> None:
        self.train_button.click()
        self.wait_status(r"^(Queued|Running)\b")

    def stop_training(self) -> None:
        """Press Stop, wait for the status to say so and for the page to turn the Stop button off."""
        self.stop_button.click()
        self.wait_status(r"^Stopped\b")
        expect(self.stop_button).to_be_disabled(timeout=DEFAULT_TIMEOUT_MS)

    def status(self) -> str | None:
        return self.page.evaluate(STATUS_JS)

    def loss_epochs(self) -> int:
        return self.page.evaluate(LOSS_EPOCHS_JS)

    def charts(self) -> list[dict]:
        return self.page.evaluate(CHARTS_JS)

    def wait_status(self, pattern: str, timeout: float = DEFAULT_TIMEOUT_MS) -> str:
        """Wait until the status line matches the regex `pattern`; returns the matching line."""
        try:
            handle = self.page.wait_for_function(
                f"(re) => {{ const s = ({STATUS_JS})(); return s !== null && new RegExp(re).test(s) ? s : null; }}",
                arg=pattern,
                polling=200,
                timeout=timeout,
            )
        except PlaywrightTimeoutError:
            raise AssertionError(
                f"status line never matched {pattern!r} within {timeout / 1000:.0f} s; "
                f"it reads {self.status()!r}; charts: {self.charts()}"
            ) from None
        return handle.json_value()

    def wait_charts(self, predicate_js: str, what: str, timeout: float = DEFAULT_TIMEOUT_MS) -> None:
        """Wait until `predicate_js`, a JS function of the chart list (see CHARTS_JS), is true.

        Poll, never read once: Streamlit re-mounts plotly charts on reruns, so for a moment a
        chart can be missing or present twice (the new one and the stale old one).
        """
        try:
            self.page.wait_for_function(f"() => ({predicate_js})(({CHARTS_JS})())", polling=250, timeout=timeout)
        except PlaywrightTimeoutError:
            raise AssertionError(
                f"the charts never showed {what} within {timeout / 1000:.0f} s; "
                f"they are {self.charts()}; status {self.status()!r}"
            ) from None

    def wait_loss_epochs(self, at_least: int, timeout: float = DEFAULT_TIMEOUT_MS) -> int:
        """Wait until the Loss chart shows at least `at_least` epochs; returns the count."""
        try:
            handle = self.page.wait_for_function(
                f"(n) => {{ const k = ({LOSS_EPOCHS_JS})(); return k >= n ? {{k}} : null; }}",
                arg=at_least,
                polling=250,
                timeout=timeout,
            )
        except PlaywrightTimeoutError:
            raise AssertionError(
                f"the Loss chart never reached {at_least} epochs within {timeout / 1000:.0f} s; "
                f"it has {self.loss_epochs()}; status {self.status()!r}"
            ) from None
        return handle.json_value()["k"]


@pytest.fixture
def app(page) -> App:
    return App(page)

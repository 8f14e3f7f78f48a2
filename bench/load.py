"""Load test: N real browser sessions against one `streamlit run` server, each training a small MLP.

    .venv/bin/python bench/load.py                       # 8 learners, digits MLP, 5 epochs
    .venv/bin/python bench/load.py --sessions 16 --epochs 10 --dataset moons

One `streamlit run app.py` server (a throw-away `PLAYGROUND_HOME`, `PLAYGROUND_OFFLINE=1`, the
default `PLAYGROUND_MAX_TRAININGS=2`, so most sessions wait in the queue) and one Debian chromium
with `--sessions` browser contexts, i.e. that many new learners. All of them at once (asyncio
Playwright): open /data, pick `--dataset` in the Dataset box, go to Train through the sidebar,
set Epochs, press **Train** and watch the status line until it reads "Finished".

Per session, measured in the browser (the page is polled every 0.25 s):

* click -> first chart: from the click on Train to a Loss chart with at least one epoch point;
* queue wait: how long the status line read "Queued ..." (first to last sighting);
* click -> Finished.

Across the run, from /proc every 0.5 s: the peak RSS of the web server process alone, and of the
whole app (the web server with every process it started: the training pool's supervisor and its
warm workers, which is where the training runs since issue 13); the CPU time of the web server and
of the pool; and every error seen: `stException` elements, `st.error` alerts (`stAlertContentError`), uncaught page
errors and console errors (recorded by a MutationObserver and Playwright listeners, so a message
that shows for a moment is caught too), and tracebacks in the server log.

The last line printed is one JSON object; `docs/benchmarks.md` gets the section
"## Load test (bench/load.py)".
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as _dt
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._app import answers_health, free_port, percentile, server_log_errors  # noqa: E402
from bench._docs import DOCS, write_section  # noqa: E402

SECTION = "## Load test (bench/load.py)"
CHROMIUM = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"]
VIEWPORT = {"width": 1400, "height": 1000}
STATUS_WORDS = ("Queued", "Running", "Finished", "Stopped", "Diverged", "Failed")  # en.toml [status]
BUILT_IN = ("digits", "moons", "circles", "xor", "spiral", "blobs", "iris", "wine", "breast_cancer")  # no file needed
# Console errors that are not the app's: the page icon (a Material Symbol) comes from Google's font
# CDN, unreachable offline; on a page URL like /data Streamlit's frontend first probes
# /data/_stcore/health and /data/_stcore/host-config (404) before it finds the server's root.
BENIGN_CONSOLE = re.compile(
    r"net::ERR_NAME_NOT_RESOLVED .*https://fonts\.gstatic\.com/"
    r"|status of 404 .*/[a-z]+/_stcore/(health|host-config)$"
)


def dataset_texts(name: str) -> tuple[str, str]:
    """(title, caption) of a dataset on the Data page, in English (core/locales/en.toml)."""
    from core import i18n

    return i18n.translate("en", f"datasets.{name}.title"), i18n.translate("en", f"datasets.{name}.about")


# What the page shows right now: the Train page's status line and the epochs in its Loss chart
# (the same reading as tests/browser/conftest.py's STATUS_JS and LOSS_EPOCHS_JS).
POLL_JS = """() => {
  const words = %s;
  let status = null;
  for (const p of document.querySelectorAll('[data-testid="stMarkdownContainer"] p')) {
    const first = p.firstElementChild;
    if (first && first.tagName === 'STRONG' && words.includes(first.textContent.trim())) { status = p.textContent.trim(); break; }
  }
  let loss = -1;
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const t = el.layout && el.layout.title;
    const title = (typeof t === 'string' ? t : (t && t.text) || '').replace(/<[^>]*>/g, '').trim();
    if (title !== 'Loss') continue;
    loss = Math.max(loss, 0);
    for (const trace of el.data || []) if (trace.name === 'training' && trace.x) loss = Math.max(loss, trace.x.length);
  }
  return {status, loss, errors: window.__loadErrors ? [...window.__loadErrors] : []};
}""" % list(STATUS_WORDS)

# Installed in every page before Streamlit's own scripts: remember the text of every exception box
# and error alert that ever appears, even one that a rerun removes a moment later.
ERROR_WATCH_JS = """(() => {
  window.__loadErrors = new Set();
  const SELECTOR = '[data-testid="stException"], [data-testid="stAlertContentError"]';
  let pending = false;
  const scan = () => {
    pending = false;
    for (const el of document.querySelectorAll(SELECTOR)) {
      const kind = el.matches('[data-testid="stException"]') ? 'stException' : 'st.error';
      window.__loadErrors.add(kind + ': ' + el.textContent.trim().slice(0, 300));
    }
  };
  const start = () => new MutationObserver(() => { if (!pending) { pending = true; setTimeout(scan, 100); } })
    .observe(document.documentElement, {childList: true, subtree: true});
  if (document.documentElement) start(); else document.addEventListener('DOMContentLoaded', start);
})();"""


# Every picture in the page body has finished loading (or failed to).
PICTURES_SETTLED_JS = """(least) => { const imgs = [...document.querySelectorAll('[data-testid="stMain"] img')];
  return imgs.length >= least && imgs.every(img => img.complete); }"""
BROKEN_PICTURES_JS = """() => { const imgs = [...document.querySelectorAll('[data-testid="stMain"] img')];
  return [imgs.filter(img => img.naturalWidth === 0).length, imgs.length]; }"""


# --------------------------------------------------------------------------- the server

# One server variant today: the app as shipped. (On 2026-11-23 a second one skipped Streamlit's per-rerun
# `keras.backend.clear_session()`; that fix ships now in ui/runtime.py. `--server-wrapper` is for
# diagnosis runs of the same kind.)
VARIANTS = {
    "shipped": "`streamlit run app.py`, as shipped",
}


def start_server(
    home: Path, log_path: Path, max_trainings: int | None, variant: str = "shipped", wrapper: Path | None = None
) -> tuple[subprocess.Popen, str]:
    """`streamlit run app.py` in its own process group; returns (process, base URL) once healthy."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYGROUND_")}  # the app's defaults
    env.update(PLAYGROUND_HOME=str(home), PLAYGROUND_OFFLINE="1", PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2")
    if os.environ.get("PLAYGROUND_DATA_DIR"):
        env["PLAYGROUND_DATA_DIR"] = os.environ["PLAYGROUND_DATA_DIR"]
    if max_trainings:
        env["PLAYGROUND_MAX_TRAININGS"] = str(max_trainings)
    streamlit = ROOT / ".venv" / "bin" / "streamlit"
    exe = [str(streamlit) if streamlit.exists() else shutil.which("streamlit") or "streamlit"]
    python = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
    if wrapper is not None:  # a diagnosis wrapper that ends in streamlit.web.cli.main() (e.g. a stack sampler)
        exe = [python, str(wrapper)]
    cmd = [
        *exe,
        "run",
        "app.py",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    log = open(log_path, "wb")  # noqa: SIM115 -- the server writes to it for its whole life; stop_server closes it
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-3000:]}")
        if answers_health(url):
            return proc, url
        time.sleep(0.2)
    stop_server(proc)
    raise RuntimeError("streamlit did not answer /_stcore/health within 180 s")


def warm_pool(home: Path, url: str, size: int) -> None:
    """--warm: one page run starts the pool (as a first visitor does); wait until its workers are ready."""
    from bench._app import Pool
    from bench._stclient import Tab

    async def visit():
        tab = Tab(int(url.rsplit(":", 1)[1]), "load-warm-up")
        await tab.connect("")
        await tab.close()

    asyncio.run(visit())
    Pool(home).wait_workers(size, timeout=600)


def workers_ready_after(pool_log: Path, since: float) -> list[float]:
    """Seconds from the server's start to each worker's "ready" line in the pool's log (TensorFlow imported, warm)."""
    found = []
    text = pool_log.read_text(errors="replace") if pool_log.exists() else ""
    for m in re.finditer(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) worker \d+ INFO worker \S+ ready", text, re.M):
        stamp = _dt.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").timestamp() + int(m.group(2)) / 1000
        found.append(round(stamp - since, 1))
    return found


def stop_pool(home: Path) -> None:
    """`core.workers.shutdown_pool()` for the server's home: the pool lives in a session of its own (the server's
    process group does not take it down)."""
    from bench._app import Pool

    Pool(home).stop()


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)  # our own process group (start_new_session)
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)
    except ProcessLookupError:
        pass


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) and its waited-for children."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """CPU time all processes of this machine have used (every core), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            pass
    return total


def rss_bytes(pid: int) -> int:
    """Resident memory of one process (not its children)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def pool_cpu_seconds(home: Path) -> float:
    """CPU time of the training pool of `home` now: its supervisor and its live workers (bench/_app.py reads the files)."""
    from bench._app import Pool

    pool = Pool(home)
    pids = [p for p in [pool.supervisor_pid(), *pool.worker_pids()] if p]
    return sum(process_cpu_seconds(p) for p in pids)


class RssSampler(threading.Thread):
    """Samples every `interval` seconds the web server's RSS (`.peak_web`) and the whole app's, the server with every
    process it started (`.peak`); `.samples` (seconds, web bytes, app bytes)."""

    def __init__(self, pid: int, interval: float = 0.5):
        super().__init__(name="rss-sampler", daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int, int]] = []
        self.peak = self.peak_web = 0
        self._halt = threading.Event()
        self._t0 = time.monotonic()

    def run(self) -> None:
        while not self._halt.is_set():
            web, app = rss_bytes(self.pid), tree_rss_bytes(self.pid)
            self.samples.append((time.monotonic() - self._t0, web, app))
            self.peak, self.peak_web = max(self.peak, app), max(self.peak_web, web)
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join(5)


def other_load() -> list[str]:
    """Other benchmark and test processes running on this machine (they share the CPU with us)."""
    found = []
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            nice = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[16])
        except (OSError, ValueError, IndexError):
            continue
        m = re.search(r"(bench/\w+\.py|pytest\b.*|-m pytest\b.*|test\.sh)", cmd)
        if m and "bench/load.py" not in cmd:
            found.append(f"{m.group(1)[:60].strip()} (nice {nice})")
    return sorted(set(found))


# --------------------------------------------------------------------------- one learner


async def learner(n: int, browser, base_url: str, a, t0: float) -> dict:  # noqa: C901 -- one learner's walk, step by step
    """One new learner: Data -> pick the dataset -> Train page -> epochs -> Train -> Finished."""
    from playwright.async_api import Error as PlaywrightError

    result = {
        "session": n,
        "completed": False,
        "stage": "open",
        "first_chart_s": None,
        "queue_wait_s": 0.0,
        "total_s": None,
        "results_s": None,
        "final_status": None,
        "errors": [],
        "console": [],
        "data_s": None,
        "pictures_s": None,
        "train_page_s": None,
        "setup_s": None,
    }
    console, page_errors = [], []
    context = await browser.new_context(viewport=VIEWPORT, base_url=base_url)
    context.set_default_timeout(a.timeout * 1000)  # any one action or wait; 8 learners share 2 cores with the server
    await context.add_init_script(ERROR_WATCH_JS)
    page = await context.new_page()
    page.on("pageerror", lambda exc: page_errors.append(f"pageerror: {str(exc)[:300]}"))
    page.on(
        "console",
        lambda msg: (
            console.append(f"console.{msg.type}: {msg.text[:200]} {msg.location.get('url', '')}".strip())
            if msg.type == "error"
            else None
        ),
    )
    dom_errors: set[str] = set()

    async def poll() -> dict:
        state = await page.evaluate(POLL_JS)
        dom_errors.update(state["errors"])
        return state

    try:
        await asyncio.sleep(n * a.stagger)
        started = time.monotonic()
        await page.goto("/data")
        await page.get_by_role("heading", name="Data", exact=True, level=1).wait_for()
        result["stage"] = "dataset"
        label, about = dataset_texts(a.dataset)
        box = page.get_by_test_id("stSelectbox").filter(has_text="Dataset").first
        await box.wait_for()
        if a.dataset != "moons":  # moons is already chosen on a fresh page
            await box.click()
            await page.keyboard.type(label)
            await page.keyboard.press("Enter")
        await page.get_by_text(about, exact=True).wait_for()  # the dataset's caption under the box
        await page.get_by_test_id("stMetricLabel").filter(has_text="Input shape").wait_for()  # the data is loaded
        result["data_s"] = round(time.monotonic() - started, 2)
        result["stage"] = "pictures"
        # Look at the preview pictures before moving on, as a learner does: a picture the server no longer
        # has (Streamlit's media files) shows as a broken image, which counts as an error.
        await page.wait_for_function(PICTURES_SETTLED_JS, arg=1 if a.dataset == "digits" else 0, polling=250)
        broken, shown = await page.evaluate(BROKEN_PICTURES_JS)
        if broken:
            result["errors"].append(f"broken picture on /data: {broken} of {shown}")
        result["pictures_s"] = round(time.monotonic() - started, 2)
        result["stage"] = "train page"
        await page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Train", exact=True).click()
        await page.get_by_role("heading", name="Train", exact=True, level=1).wait_for()
        await page.get_by_text(re.compile(rf"^{re.escape(label)} · ")).wait_for()  # the setup line names our data
        result["train_page_s"] = round(time.monotonic() - started, 2)
        field = page.get_by_role("spinbutton", name="Epochs")
        await field.fill(str(a.epochs))
        await field.press("Enter")
        await page.get_by_text(re.compile(rf"· {a.epochs} epochs$")).wait_for()
        button = page.get_by_test_id("stMain").get_by_role("button", name="Train", exact=True)
        await button.wait_for()
        result["stage"] = "train enabled"
        while not await button.is_enabled():  # the preflight estimate runs first
            await asyncio.sleep(0.2)
        result["setup_s"] = round(time.monotonic() - started, 2)

        result["stage"] = "training"
        clicked = time.monotonic()
        result["clicked_at_s"] = round(clicked - t0, 2)
        await button.click()
        first_queued = last_queued = None
        deadline = clicked + a.timeout
        status = None
        while time.monotonic() < deadline:
            state = await poll()
            now = time.monotonic()
            status = state["status"] or status
            if state["status"] and state["status"].startswith("Queued"):
                first_queued = first_queued or now
                last_queued = now
            if result["first_chart_s"] is None and state["loss"] >= 1:
                result["first_chart_s"] = round(now - clicked, 2)
            if state["status"] and re.match(r"^(Finished|Stopped|Diverged|Failed)\b", state["status"]):
                result["final_status"] = state["status"]
                result["total_s"] = round(now - clicked, 2)
                break
            await asyncio.sleep(0.25)
        else:
            result["final_status"] = f"timeout after {a.timeout:.0f} s; status {status!r}"
        if first_queued is not None:
            result["queue_wait_s"] = round(last_queued - first_queued, 2)
        if result["total_s"] is not None and result["final_status"].startswith("Finished"):
            # The results below the charts come with the full rerun after the job settles.
            await page.get_by_role("heading", name="Results on the test set").wait_for()
            result["results_s"] = round(time.monotonic() - clicked, 2)
            while result["first_chart_s"] is None and time.monotonic() < deadline:
                # A short run can end between two polls while its chart is being swapped: then the
                # first chart is the final one.
                if (await poll())["loss"] >= 1:
                    result["first_chart_s"] = round(time.monotonic() - clicked, 2)
                else:
                    await asyncio.sleep(0.25)
            result["completed"] = True
            result["stage"] = "done"
        await asyncio.sleep(1.0)
        await poll()
    except PlaywrightError as exc:
        result["errors"].append(f"bench: stage {result['stage']}: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
        try:
            await poll()
        except PlaywrightError:
            pass
    finally:
        try:
            await context.close()
        except PlaywrightError:
            pass
    result["errors"] = sorted(dom_errors) + page_errors + result["errors"]
    result["console"] = console
    return result


async def run_sessions(base_url: str, a, first: int = 0) -> list[dict]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            t0 = time.monotonic()
            return await asyncio.gather(*(learner(n, browser, base_url, a, t0) for n in range(first, first + a.sessions)))
        finally:
            await browser.close()


# --------------------------------------------------------------------------- main


def run_variant(variant: str, a) -> dict:
    """Start a server, run every learner against it, stop it; the summary of this variant."""
    print(f"--- {variant}: {VARIANTS[variant]}")
    tmp = Path(tempfile.mkdtemp(prefix="playground-load-"))
    log_path = tmp / "server.log"
    home = tmp / "home"
    proc, url = start_server(home, log_path, a.max_trainings, variant, a.server_wrapper)
    server_started = time.time()
    time.sleep(2.0)
    idle_rss = rss_bytes(proc.pid)  # the pool starts with the first page run: the web server alone here
    if a.warm:
        warm_pool(home, url, a.max_trainings or 2)
    load_before = os.getloadavg()
    sampler = RssSampler(proc.pid)
    sampler.start()
    started = time.monotonic()
    cpu_server, cpu_machine = process_cpu_seconds(proc.pid), machine_cpu_seconds()
    cpu_pool = 0.0  # the pool starts with the first page run; its workers are counted while they live
    results, round_rss = [], []
    try:
        for r in range(a.rounds):
            results += asyncio.run(run_sessions(url, a, first=r * a.sessions))  # the round's browser closes: tabs gone
            time.sleep(a.settle)
            round_rss.append([round(rss_bytes(proc.pid) / 2**20, 1), round(tree_rss_bytes(proc.pid) / 2**20, 1)])
            print(
                f"round {r + 1}/{a.rounds}: web server RSS {round_rss[-1][0]:.0f} MB, whole app {round_rss[-1][1]:.0f} MB "
                f"{a.settle:.0f} s after its tabs closed"
            )
    finally:
        wall = time.monotonic() - started
        cpu_server = process_cpu_seconds(proc.pid) - cpu_server
        cpu_pool = pool_cpu_seconds(home)  # before the pool stops (warm-up included: the workers start with the first page)
        cpu_machine = machine_cpu_seconds() - cpu_machine
        try:
            sampler.stop()
        finally:
            load_after = os.getloadavg()
            stop_pool(home)
            stop_server(proc)
    log_errors = server_log_errors(log_path)
    workers_ready = workers_ready_after(home / "logs" / "pool.log", server_started)

    for r in results:
        print(
            f"session {r['session']}: {r['final_status'] or r['stage']!s:.60} | data {r['data_s']} s, train page "
            f"{r['train_page_s']} s, Train enabled {r['setup_s']} s | queued {r['queue_wait_s']} s, first chart "
            f"{r['first_chart_s']} s, finished {r['total_s']} s" + (f" | errors: {r['errors']}" if r["errors"] else "")
        )
    first = [r["first_chart_s"] for r in results if r["first_chart_s"] is not None]
    totals = [r["total_s"] for r in results if r["total_s"] is not None]
    queue = [r["queue_wait_s"] for r in results]
    console_all = [c for r in results for c in r["console"]]
    console = sorted({c for c in console_all if not BENIGN_CONSOLE.search(c)})
    summary = {
        "variant": variant,
        "sessions": a.sessions * a.rounds,
        "rounds": a.rounds,
        "round_rss_mb": round_rss,
        "completed": sum(r["completed"] for r in results),
        "longest_queue_wait_s": round(max(queue), 2),
        "p95_first_chart_s": round(percentile(first, 95), 2) if first else None,
        "p95_finished_s": round(percentile(totals, 95), 2) if totals else None,
        "peak_web_rss_mb": round(sampler.peak_web / 2**20, 1),
        "peak_app_rss_mb": round(sampler.peak / 2**20, 1),
        "idle_rss_mb": round(idle_rss / 2**20, 1),
        "pool_cpu_s": round(cpu_pool, 1),
        "workers_ready_s": workers_ready,
        "warm": a.warm,
        "errors": sorted({e for r in results for e in r["errors"]} | set(log_errors)),
        "console_errors": console,
        "benign_console_errors": len(console_all) - sum(c in console for c in console_all),
        "wall_s": round(wall, 1),
        "server_cpu_s": round(cpu_server, 1),
        "machine_cpu_s": round(cpu_machine, 1),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
        "sessions_detail": results,
    }
    print(
        f"{variant}: completed {summary['completed']}/{summary['sessions']}; longest queue wait {max(queue):.1f} s; "
        f"p95 click -> first chart {summary['p95_first_chart_s']} s; peak RSS web server {summary['peak_web_rss_mb']:.0f} MB, "
        f"whole app {summary['peak_app_rss_mb']:.0f} MB (idle web server {summary['idle_rss_mb']:.0f} MB); wall {wall:.0f} s; "
        f"CPU: web server {cpu_server:.0f} s, pool {cpu_pool:.0f} s, machine {cpu_machine:.0f} s; load average "
        f"{load_before[0]:.2f} -> {load_after[0]:.2f}"
    )
    for e in summary["errors"]:
        print(f"ERROR {e}")
    for c in console:
        print(f"console {c}")
    print(f"({summary['benign_console_errors']} benign console errors: offline page icon, Streamlit's /<page>/_stcore probes)")
    if a.keep:
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary


def _md(text: str) -> str:
    return text.replace("`", "'").replace("|", "/")


def docs_section(runs: list[dict], a, argv: list[str], others: list[str]) -> str:
    from importlib.metadata import version

    import streamlit

    chromium_version = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()
    cell = lambda v: f"{v:.1f} s" if v is not None else "-"  # noqa: E731

    def stat(values: list[float]) -> str:
        values = [v for v in values if v is not None]
        if not values:
            return "-"
        return f"{percentile(values, 95):.1f} s ({percentile(values, 50):.1f}, {max(values):.1f})"

    col = lambda f: " | ".join(f(r) for r in runs)  # noqa: E731
    det = lambda r, key: [s[key] for s in r["sessions_detail"]]  # noqa: E731
    lines = [
        SECTION,
        "",
        f"{a.sessions} new learners (one chromium, one browser context each) at once against one `streamlit run app.py` "
        f"server with the default `PLAYGROUND_MAX_TRAININGS` ({a.max_trainings or 2} at a time, the rest queue), "
        f"`PLAYGROUND_OFFLINE=1` and a throw-away `PLAYGROUND_HOME`. Each opens /data, picks "
        f"*{dataset_texts(a.dataset)[0]}*"
        + (
            " (its default model: Flatten - Dense(128, relu) - Dropout(0.2) - Dense(10, softmax))"
            if a.dataset == "digits"
            else ""
        )
        + f', goes to Train through the sidebar, sets {a.epochs} epochs, presses **Train** and waits for "Finished" '
        "and the test-set results. Times are measured in the browser (page polled every 0.25 s); RSS is sampled every "
        "0.5 s, of the web server process alone and of the whole app (the web server with the training pool it starts: "
        "the supervisor and its warm workers, where the trainings run)."
        + (
            f" {a.rounds} rounds, one after the other against the same server: each round is {a.sessions} new learners "
            f"whose browser closes at the end; the RSS is read {a.settle:.0f} s after each round."
            if a.rounds > 1
            else ""
        ),
        "",
        f"- Command: `{' '.join(['python bench/load.py'] + argv)}`",
        f"- Date: {_dt.datetime.now().strftime('%Y-%m-%d %H:%M')}; {os.cpu_count()} CPU cores, no GPU, Python "
        f"{platform.python_version()}, Streamlit {streamlit.__version__}, Playwright {version('playwright')}, {chromium_version}",
        "- Machine load (1/5/15-min load average) before / after each server's run: "
        + "; ".join(
            f"{r['variant']}: {' / '.join(f'{x:.2f}' for x in r['load_before'])} -> "
            f"{' / '.join(f'{x:.2f}' for x in r['load_after'])}"
            for r in runs
        )
        + (f". Also running on the machine: {', '.join(others)}" if others else ". Nothing else of ours was running"),
        "",
        "| server | " + col(lambda r: r["variant"]) + " |",
        "|---|" + "---:|" * len(runs),
        '| runs completed ("Finished" and the test-set results shown) | '
        + col(lambda r: f"**{r['completed']} / {r['sessions']}**")
        + " |",
        '| longest queue wait (status "Queued") | ' + col(lambda r: f"**{r['longest_queue_wait_s']:.1f} s**") + " |",
        "| click on Train -> first Loss chart point: **p95** (median, max) | "
        + col(lambda r: stat(det(r, "first_chart_s")))
        + " |",
        '| click on Train -> "Finished": p95 (median, max) | ' + col(lambda r: stat(det(r, "total_s"))) + " |",
        "| page open -> data shown: p95 (median, max) | " + col(lambda r: stat(det(r, "data_s"))) + " |",
        "| page open -> its pictures loaded: p95 (median, max) | " + col(lambda r: stat(det(r, "pictures_s"))) + " |",
        "| page open -> Train enabled (preflight done): p95 (median, max) | " + col(lambda r: stat(det(r, "setup_s"))) + " |",
        "| peak RSS of the web server (idle after start) | "
        + col(lambda r: f"**{r['peak_web_rss_mb']:.0f} MB** ({r['idle_rss_mb']:.0f} MB)")
        + " |",
        "| peak RSS of the whole app (web server + pool supervisor + 2 workers) | "
        + col(lambda r: f"**{r['peak_app_rss_mb']:.0f} MB**")
        + " |",
        "| training workers ready (TensorFlow imported, warm), seconds after the server started | "
        + col(
            lambda r: (
                ", ".join(f"{x:.0f} s" for x in r["workers_ready_s"])
                + (" (waited for before the learners: --warm)" if r["warm"] else "")
            )
        )
        + " |",
        "| errors seen in any page or the server log | " + col(lambda r: f"**{len(r['errors'])}**") + " |",
        *(
            [
                "| RSS after each round (tabs closed): web server / whole app | "
                + col(lambda r: " -> ".join(f"{w:.0f} / {t:.0f}" for w, t in r["round_rss_mb"]) + " MB")
                + " |"
            ]
            if a.rounds > 1
            else []
        ),
        "| wall time (server start excluded) | " + col(lambda r: f"{r['wall_s']:.0f} s") + " |",
        "| CPU time in that wall time: the web server / the training pool / everything on the machine (chromium, this script, "
        "anything else running) | "
        + col(lambda r: f"{r['server_cpu_s']:.0f} s / {r['pool_cpu_s']:.0f} s / {r['machine_cpu_s']:.0f} s")
        + " |",
        "",
        "Servers: " + "; ".join(f"**{r['variant']}** = {VARIANTS[r['variant']]}" for r in runs) + ".",
    ]
    for r in runs:
        lines += [
            "",
            f"**{r['variant']}**, per session (times from the session's click on Train):",
            "",
            "| session | clicked at | queued | first chart | finished | final status |",
            "|---:|---:|---:|---:|---:|---|",
        ]
        for x in sorted(r["sessions_detail"], key=lambda x: x.get("clicked_at_s") or 1e9):
            lines.append(
                f"| {x['session']} | {cell(x.get('clicked_at_s'))} | {cell(x['queue_wait_s'])} | "
                f"{cell(x['first_chart_s'])} | {cell(x['total_s'])} | {_md(x['final_status'] or 'stuck at: ' + x['stage'])} |"
            )
        lines.append("")
        if r["errors"]:
            lines += [f"Errors ({r['variant']}):", ""] + [f"- `{_md(e)}`" for e in r["errors"]]
        else:
            lines.append(
                f"Errors ({r['variant']}): none (no `stException`, no `st.error` alert, no uncaught page error, "
                "no traceback in the server log)."
            )
        if r["console_errors"]:
            lines += ["", f"Browser console errors ({r['variant']}):", ""] + [f"- `{_md(c)}`" for c in r["console_errors"]]
    benign = sum(r["benign_console_errors"] for r in runs)
    lines += [
        "",
        f"Not counted: {benign} browser console errors that are not the app's (offline, the page icon's "
        "Material Symbol cannot be fetched from fonts.gstatic.com; on /data Streamlit's frontend first probes "
        "`/data/_stcore/health` and `/data/_stcore/host-config` (404) before it finds the server root).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--room" in argv:  # one workshop room and its board: bench/room.py, with the rest of the options
        from bench import room

        return room.main([arg for arg in argv if arg != "--room"])
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=8, help="browser sessions (new learners) at once")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--dataset", default="digits", choices=BUILT_IN, help="a built-in dataset")
    p.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="seconds a session may wait for any one step (page, Train enabled, click -> Finished)",
    )
    p.add_argument("--stagger", type=float, default=0.0, help="seconds between session starts (0: all at once)")
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="rounds of --sessions new learners against the same server, "
        "one after the other (memory over many trainings: the server RSS after each round)",
    )
    p.add_argument("--settle", type=float, default=6.0, help="seconds after a round before the server RSS is read")
    p.add_argument(
        "--max-trainings", type=int, default=None, help="PLAYGROUND_MAX_TRAININGS for the server (default: the app's, 2)"
    )
    p.add_argument(
        "--server",
        default="shipped",
        choices=list(VARIANTS),
        help="shipped: `streamlit run app.py` (a 2026-11-23 variant without Streamlit's per-rerun "
        "clear_session is now what ships: ui/runtime.py)",
    )
    p.add_argument(
        "--warm",
        action="store_true",
        help="start the training pool and wait for its workers before the "
        "learners come (default: the room arrives at a freshly started server, so early trainings wait for the warm-up)",
    )
    p.add_argument("--keep", action="store_true", help="keep the server's temp folder (log, run store)")
    p.add_argument(
        "--server-wrapper",
        type=Path,
        default=None,
        help="diagnosis: run `python WRAPPER run app.py ...` instead (the wrapper calls streamlit's CLI)",
    )
    p.add_argument("--no-write-docs", dest="write_docs", action="store_false")
    p.add_argument("--docs", type=Path, default=DOCS)
    argv = list(sys.argv[1:] if argv is None else argv)
    a = p.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"chromium not found at {CHROMIUM} (set $CHROMIUM)", file=sys.stderr)
        return 2

    others = other_load()
    print(
        f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        + (f"; also running: {', '.join(others)}" if others else "")
    )
    runs = [run_variant(a.server, a)]

    docs_failed = False
    if a.write_docs:
        try:
            write_section(a.docs, SECTION, docs_section(runs, a, argv, others))
        except Exception:  # noqa: BLE001 - never lose the measurements: they are printed below
            import traceback

            traceback.print_exc()
            docs_failed = True
    out = []
    for r in runs:
        out.append({k: v for k, v in r.items() if k not in ("sessions_detail", "load_before", "load_after")})
    result = dict(out[0]) if len(out) == 1 else {**out[0], "variants": out}
    result.update(dataset=a.dataset, epochs=a.epochs)
    print(json.dumps(result))
    return 0 if all(r["completed"] == r["sessions"] and not r["errors"] for r in runs) and not docs_failed else 1


if __name__ == "__main__":
    sys.exit(main())

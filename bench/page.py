"""Page responsiveness (issue 14) in a real browser: DOM churn while training, Model page edits, first visits.

    .venv/bin/python bench/page.py                   # all three parts
    .venv/bin/python bench/page.py --edits 5 --train-size 12000

What is measured, and how (one `streamlit run app.py` in a throw-away home, started by
bench/_app.AppServer with the app's default pool; Debian's chromium through Playwright):

* **(c) first visits**, first because they need a server no browser has talked to: `--first-after` (30) s
  after the server was started, a new learner whose setup is the `two-layer-net` recipe (MNIST) opens
  /data (`page.goto`), then Model and Train through the sidebar's links. Time = from the navigation (goto:
  just before the request; links: the click, a capturing listener) to *settled*.
* **Settled** = Streamlit's status widget shows no running icon (`stStatusWidgetRunningIcon`), a
  websocket message arrived after the action, and neither the DOM (a MutationObserver on the document)
  nor the websocket changed for 200 ms; re-checked 1 s later (a later burst moves it). The time reported
  is the last DOM mutation of the settled page.
* **(b) Model page** (the pool warm, nothing training): `--edits` (10) times each, a units change (a click
  on the + of the first Dense layer's `units`) and Add layer (a click on "Add layer"; the new layer is
  removed again, untimed, so the stack stays the same). Click -> settled, median.
* **(a) Train page while training**: a new learner trains `--train-recipe` (deeper-cnn) on `--train-size`
  (12,000) MNIST samples for `--train-epochs` (3) epochs. A MutationObserver on the document notes every
  mutation record (time, inside `stMain`, inside a plotly chart); an interval notes the epochs drawn in the
  Loss chart; from the store (polled every 100 ms here, same clock) the moment each epoch was stored. Window
  between two epoch ends k and k+1: from the page's redraw of epoch k + 1 s to epoch k+1 stored: no epoch
  ends and no epoch redraw in it. Mutations per second in the main area and inside charts over those windows.
  Plotly re-renders: each `.js-plotly-plot` element gets a `plotly_afterplot` listener as soon as it appears;
  new plot elements and afterplot events per chart (title) per epoch interval [stored k, stored k+1).
* **(a) the floor**: after the training, a one-chart app (FLOOR_APP: one `st.plotly_chart` with a stable key and
  `layout.uirevision`, no app code) in its own `streamlit run`: new plot elements and afterplot events per rerun with
  the same figure and per rerun with one more point (`--floor-clicks` each), i.e. what an epoch end costs a chart at
  the least in this Streamlit.
* Goals: (a) <= 100 mutations/s in the main area, <= 20 inside the charts, <= 1 re-render per chart per
  epoch; (b) <= 300 ms median each; (c) <= 2 s each.

The last line printed is one JSON object; docs/benchmarks.md gets the section SECTION below.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_DATA = next(
    (d for d in (ROOT.parent / "shared/data/keras_home", ROOT.parents[1] / "shared/data/keras_home") if d.exists()), None
)
if not os.environ.get("PLAYGROUND_DATA_DIR") and DEFAULT_DATA is not None:
    os.environ["PLAYGROUND_DATA_DIR"] = str(DEFAULT_DATA)

from bench._app import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    LOSS_EPOCHS_JS,
    STATUS_JS,
    VIEWPORT,
    AppServer,
    cmdline,
    cpu_seconds,
    data_dir_words,
    descendants,
    load_avg,
    machine_line,
    median,
    server_log_errors,
)
from bench._docs import DOCS, write_section  # noqa: E402

SECTION = "## Page responsiveness (bench/page.py)"
GOALS = {
    "main_mutations_per_s": 100,
    "chart_mutations_per_s": 20,
    "renders_per_chart_per_epoch": 1.0,
    "edit_ms": 300,
    "first_visit_s": 2.0,
}
QUIET_MS = 200

# Installed before the page's scripts. Every mutation record (time, in stMain, in a chart) while recording;
# the last mutation and websocket message at all times; plotly charts' creations and afterplot events.
INIT_JS = (
    """(() => {
  const b = window.__bench = {click: 0, lastMut: 0, lastWs: 0, recording: false, lastBy: {}, muts: [], plots: [], renders: [], drawn: []};
  document.addEventListener('click', () => { b.click = Date.now(); }, true);
  const Orig = window.WebSocket;
  window.WebSocket = class extends Orig {
    constructor(...args) { super(...args); this.addEventListener('message', () => { b.lastWs = Date.now(); }); }
  };
  const titleOf = (el) => {
    const t = el.layout && el.layout.title;
    return (typeof t === 'string' ? t : (t && t.text) || '').replace(/<[^>]*>/g, '').trim();
  };
  const hook = (el) => {
    if (el.__benchHooked || typeof el.on !== 'function') return;
    el.__benchHooked = true;
    b.plots.push([Date.now(), titleOf(el)]);
    el.on('plotly_afterplot', () => { if (b.recording) b.renders.push([Date.now(), titleOf(el)]); });
  };
  const hookAll = () => document.querySelectorAll('.js-plotly-plot').forEach(hook);
  const seen = (records) => {
    const t = Date.now();
    let plot = false;
    for (const r of records) {
      const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      // The status widget's own animation (the running icon, its 200 ms exit) is not the page changing.
      if (!(el && el.closest && el.closest('[data-testid="stStatusWidget"]'))) {
        b.lastMut = t;
        const region = !el || !el.closest ? 'other' : el.closest('[data-testid="stGraphVizChart"]') ? 'graphviz'
          : el.closest('[data-testid="stDataFrame"]') ? 'dataframe' : el.closest('[data-testid="stPlotlyChart"]') ? 'plotly'
          : el.closest('[data-testid="stImage"], [data-testid="stImageContainer"]') ? 'image' : 'other';
        b.lastBy[region] = t;
      }
      if (el && el.classList && el.classList.contains('js-plotly-plot')) plot = true;
      if (r.addedNodes.length) plot = true;
      if (!b.recording || !el) continue;
      b.muts.push([t, el.closest('[data-testid="stMain"]') ? 1 : 0, el.closest('[data-testid="stPlotlyChart"], .js-plotly-plot') ? 1 : 0]);
    }
    if (plot) hookAll();
  };
  const start = () => new MutationObserver(seen).observe(document.documentElement, {childList: true, subtree: true, attributes: true, characterData: true});
  if (document.documentElement) start(); else document.addEventListener('DOMContentLoaded', start);
  const loss = %s;
  setInterval(() => {
    hookAll();
    if (!b.recording) return;
    const k = loss();
    const last = b.drawn.length ? b.drawn[b.drawn.length - 1][1] : 0;
    if (k > last) b.drawn.push([Date.now(), k]);
  }, 100);
})();"""
    % LOSS_EPOCHS_JS
)

# (since) -> the settled page's last mutation, or null while it is not settled.
SETTLED_JS = (
    """(since) => {
  const b = window.__bench, now = Date.now();
  if (document.querySelector('[data-testid="stStatusWidgetRunningIcon"]')) return null;
  if (b.lastWs <= since || b.lastMut <= since) return null;
  if (now - Math.max(b.lastMut, b.lastWs) < %d) return null;
  return {lastMut: b.lastMut, lastWs: b.lastWs};
}"""
    % QUIET_MS
)


# --------------------------------------------------------------------------- settling


def settled_at(page, since_ms: float, timeout_s: float) -> float:
    """Epoch ms of the last DOM mutation once the page settled after `since_ms`; re-checked 1 s later."""
    last = None
    for _ in range(5):
        handle = page.wait_for_function(SETTLED_JS, arg=since_ms, polling=50, timeout=timeout_s * 1000)
        mark = handle.json_value()["lastMut"]
        if last is not None and mark == last:
            return mark
        last = mark
        time.sleep(1.0)
        if page.evaluate("() => window.__bench.lastMut") == mark:
            return mark
    return last


def new_learner(browser, server: AppServer, spec, timeout_s: float):
    from core import saved_specs

    owner = "page" + secrets.token_hex(5)
    saved_specs.remember(owner, spec)
    context = browser.new_context(viewport=VIEWPORT, base_url=server.url)
    context.set_default_timeout(timeout_s * 1000)
    context.add_init_script(INIT_JS)
    return owner, context, context.new_page()


def browser_cpu() -> float:
    """CPU seconds of the chromium processes this script started (all of them: browser, renderers, GPU/utility)."""
    return sum(cpu_seconds(pid) for pid in descendants(os.getpid()) if "chrom" in cmdline(pid))


def heading(page, name: str):
    return page.get_by_role("heading", name=name, exact=True, level=1)


def click_settled(page, locator, timeout_s: float, regions: dict | None = None) -> float:
    """Click `locator`; ms from the click (as the page saw it) to settled. `regions` gets, per part of the page
    (graphviz chart, dataframe, other), ms from the click to its last mutation."""
    locator.click()
    click = page.evaluate("() => window.__bench.click")
    done = settled_at(page, click, timeout_s) - click
    if regions is not None:
        for name, t in page.evaluate("() => window.__bench.lastBy").items():
            if t > click:
                regions.setdefault(name, []).append(t - click)
    return done


# --------------------------------------------------------------------------- (c) first visits


def first_visits(browser, server: AppServer, spec, started: float, a) -> dict:
    wait = started + a.first_after - time.time()
    if wait > 0:
        print(f"(c) waiting {wait:.1f} s: first visits {a.first_after:.0f} s after the server started", flush=True)
        time.sleep(wait)
    owner, context, page = new_learner(browser, server, spec, a.timeout)
    out = {"after_start_s": round(time.time() - started, 1), "server_cpu_s": {}}
    try:
        cpu0 = cpu_seconds(server.pid)
        t0 = time.time() * 1000
        page.goto(f"/data?u={owner}")
        heading(page, "Data").wait_for()
        out["heading"] = {"Data": time.time() - t0 / 1000}
        out["Data"] = (settled_at(page, t0, a.timeout) - t0) / 1000
        out["Data parts"] = {k: round((v - t0) / 1000, 2) for k, v in page.evaluate("() => window.__bench.lastBy").items()}
        out["server_cpu_s"]["Data"], cpu0 = round(cpu_seconds(server.pid) - cpu0, 2), cpu_seconds(server.pid)
        for name in ("Model", "Train"):
            link = page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=name, exact=True)
            link.click()
            click = page.evaluate("() => window.__bench.click")
            heading(page, name).wait_for()
            out["heading"][name] = time.time() - click / 1000
            out[name] = (settled_at(page, click, a.timeout) - click) / 1000
            out["server_cpu_s"][name], cpu0 = round(cpu_seconds(server.pid) - cpu0, 2), cpu_seconds(server.pid)
        out["exceptions"] = page.get_by_test_id("stException").count()
    finally:
        context.close()
    print("(c) first visits: " + ", ".join(f"{k} {out[k]:.2f} s" for k in ("Data", "Model", "Train")), flush=True)
    return out


def warm_visit(browser, server: AppServer, spec, a) -> float:
    """(seconds from goto /data to settled, {part: seconds to its last mutation}) for a second learner, once the
    pool is warm (no workers starting)."""
    _owner, context, page = new_learner(browser, server, spec, a.timeout)
    try:
        t0 = time.time() * 1000
        page.goto(f"/data?u={_owner}")
        heading(page, "Data").wait_for()
        seconds = (settled_at(page, t0, a.timeout) - t0) / 1000
        parts = {k: round((v - t0) / 1000, 2) for k, v in page.evaluate("() => window.__bench.lastBy").items()}
        return seconds, parts
    finally:
        context.close()


# --------------------------------------------------------------------------- (b) Model page edits


def model_edits(browser, server: AppServer, spec, a) -> dict:
    owner, context, page = new_learner(browser, server, spec, a.timeout)
    units, adds, units_cpu, add_cpu, regions = [], [], [], [], {}
    try:
        t0 = time.time() * 1000
        page.goto(f"/model?u={owner}")
        heading(page, "Model").wait_for()
        settled_at(page, t0, a.timeout)
        main = page.get_by_test_id("stMain")
        units_box = main.get_by_test_id("stNumberInput").filter(has=page.get_by_role("spinbutton", name="units")).first
        step_up = units_box.get_by_test_id("stNumberInputStepUp")
        add = main.get_by_role("button", name="Add layer")
        layers = main.locator('[class*="st-key-del-"] button').count()
        cpu = lambda: (cpu_seconds(server.pid) * 1000, browser_cpu() * 1000)  # noqa: E731
        for i in range(a.edits):
            before = cpu()
            units.append(click_settled(page, step_up, a.timeout, regions))
            units_cpu.append([x - y for x, y in zip(cpu(), before, strict=True)])
            before = cpu()
            adds.append(click_settled(page, add, a.timeout, regions))
            add_cpu.append([x - y for x, y in zip(cpu(), before, strict=True)])
            remove = main.locator('[class*="st-key-del-"] button:visible')
            page.wait_for_function(
                '(n) => document.querySelectorAll(\'[data-testid="stMain"] [class*="st-key-del-"] button\').length > n',
                arg=layers,
                polling=50,
            )
            click_settled(page, remove.last, a.timeout)  # back to the same stack
            print(f"(b) edit {i + 1}: units +1 -> settled {units[-1]:.0f} ms, add layer -> settled {adds[-1]:.0f} ms", flush=True)
        exceptions = page.get_by_test_id("stException").count()
    finally:
        context.close()
    return {
        "units_ms": units,
        "add_layer_ms": adds,
        "units_cpu_ms": units_cpu,
        "add_cpu_ms": add_cpu,
        "regions": regions,
        "exceptions": exceptions,
    }


# --------------------------------------------------------------------------- (a) Train page while training


class EpochWatch(threading.Thread):
    """Polls one learner's newest job every 100 ms: when each epoch reached the store (ms, time.time())."""

    def __init__(self, owner: str):
        super().__init__(daemon=True)
        self.owner, self.stored, self.job_id, self.settled = owner, [], None, False
        self._halt = threading.Event()

    def run(self) -> None:
        from core import queue
        from core.status import Status

        while not self._halt.wait(0.1):
            run = queue.latest_for(self.owner)
            if run is None:
                continue
            self.job_id = run.id
            while len(self.stored) < run.epochs:
                self.stored.append(time.time() * 1000)
            if Status(run.status).settles:
                self.settled = True
                return

    def stop(self) -> None:
        self._halt.set()
        self.join(5)


def training_churn(browser, server: AppServer, spec, a) -> dict:
    owner, context, page = new_learner(browser, server, spec, a.timeout)
    try:
        page.goto(f"/train?u={owner}")
        button = page.get_by_test_id("stMain").get_by_role("button", name="Train", exact=True)
        button.wait_for()
        deadline = time.monotonic() + a.timeout
        while not button.is_enabled() and time.monotonic() < deadline:
            time.sleep(0.2)
        watch = EpochWatch(owner)
        watch.start()
        page.evaluate("() => { window.__bench.recording = true; }")
        button.click()
        page.wait_for_function(
            f"() => {{ const s = ({STATUS_JS})(); return s !== null && /^(Finished|Stopped|Failed|Diverged)/.test(s); }}",
            polling=250,
            timeout=a.timeout * 1000 * 4,
        )
        page.evaluate("() => { window.__bench.recording = false; }")
        recorded = page.evaluate("() => window.__bench")
        status = page.evaluate(STATUS_JS)
        exceptions = page.get_by_test_id("stException").count()
        watch.stop()
    finally:
        context.close()
    return analyse_churn(recorded, watch.stored) | {"status": status, "exceptions": exceptions}


def windows(stored: list[float], drawn: list[list]) -> list[tuple[float, float]]:
    """[page's redraw of epoch k + 1 s, epoch k+1 stored) for each pair of consecutive epoch ends."""
    out = []
    for k in range(1, len(stored)):
        redraw = next((t for t, n in drawn if n >= k), None)
        if redraw is None:
            continue
        lo, hi = max(redraw, stored[k - 1]) + 1000, stored[k]
        if hi - lo > 500:
            out.append((lo, hi))
    return out


def analyse_churn(rec: dict, stored: list[float]) -> dict:
    muts, drawn = rec["muts"], rec["drawn"]
    wins = windows(stored, drawn)
    span = sum(hi - lo for lo, hi in wins) / 1000
    in_main = sum(1 for t, m, _c in muts if m and any(lo <= t < hi for lo, hi in wins))
    in_chart = sum(1 for t, _m, c in muts if c and any(lo <= t < hi for lo, hi in wins))
    intervals = [(stored[k - 1], stored[k]) for k in range(1, len(stored))]
    full_span = sum(hi - lo for lo, hi in intervals) / 1000
    main_all = sum(1 for t, m, _c in muts if m and any(lo <= t < hi for lo, hi in intervals))
    titles = sorted({title for _t, title in rec["plots"] if title})
    per_chart = {}
    for title in titles:
        created = sum(1 for t, ti in rec["plots"] if ti == title and any(lo <= t < hi for lo, hi in intervals))
        renders = sum(1 for t, ti in rec["renders"] if ti == title and any(lo <= t < hi for lo, hi in intervals))
        n = max(len(intervals), 1)
        per_chart[title] = {"created_per_epoch": created / n, "afterplot_per_epoch": renders / n}
    worst = max((max(v.values()) for v in per_chart.values()), default=None)
    redraws = [next((t for t, n in drawn if n >= k), None) for k in range(1, len(stored) + 1)]
    per_redraw = [
        sum(1 for t, m, _c in muts if m and s <= t < r + 1000) for s, r in zip(stored, redraws, strict=True) if r is not None
    ]
    return {
        "epoch_seconds": [round((b - a) / 1000, 2) for a, b in zip(stored, stored[1:], strict=False)],
        "redraw_lag_s": [round((r - s) / 1000, 2) for s, r in zip(stored, redraws, strict=True) if r is not None],
        "main_mutations_per_redraw": per_redraw,
        "epochs_stored": len(stored),
        "quiet_windows_s": [round((hi - lo) / 1000, 2) for lo, hi in wins],
        "main_mutations_per_s": in_main / span if span else None,
        "chart_mutations_per_s": in_chart / span if span else None,
        "main_mutations_per_s_with_redraw": main_all / full_span if full_span else None,
        "renders_per_chart_per_epoch": worst,
        "per_chart": per_chart,
    }


# --------------------------------------------------------------------------- (a) what Streamlit itself allows

# One st.plotly_chart with a stable key and layout.uirevision, as the Train page draws its curves: "New point" gives
# it one more point (what an epoch end does), "Same" reruns the script with the same figure (a poll, a click).
FLOOR_APP = """import plotly.graph_objects as go
import streamlit as st

n = st.session_state.setdefault("n", 3)
if st.button("New point"):
    n = st.session_state["n"] = n + 1
st.button("Same")
fig = go.Figure(go.Scatter(x=list(range(1, n + 1)), y=[1 / k for k in range(1, n + 1)], name="training"))
fig.update_layout(title=dict(text="Floor"), height=320, uirevision="keep", xaxis=dict(range=[0.5, 20.5]))
st.columns(2)[0].plotly_chart(fig, key="chart_floor", width="stretch")
"""


FLOOR_DONE_JS = """(since) => {
  const b = window.__bench;
  if (document.querySelector('[data-testid="stStatusWidgetRunningIcon"]')) return false;
  return b.lastWs > since && Date.now() - Math.max(b.lastWs, b.lastMut) > 1000;
}"""


@contextlib.contextmanager
def bare_app(source: str):
    """`streamlit run` of a one-file app `source` in a throw-away folder; yields its URL once it is healthy."""
    import subprocess

    from bench._app import PYTHON, answers_health, free_port, wait_for

    folder = Path(tempfile.mkdtemp(prefix="playground-floor-"))
    (folder / "floor.py").write_text(source)
    port = free_port()
    proc = subprocess.Popen(
        [PYTHON, "-m", "streamlit", "run", "floor.py", "--server.port", str(port), "--server.address", "127.0.0.1"]
        + ["--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: answers_health(url), 60, "the floor app's /_stcore/health", every=0.2)
        yield url
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def bare_context(browser, url: str, timeout_s: float):
    context = browser.new_context(viewport=VIEWPORT, base_url=url)
    context.set_default_timeout(timeout_s * 1000)
    context.add_init_script(INIT_JS)
    return context


def streamlit_floor(browser, clicks: int, timeout_s: float) -> dict:
    """New plot elements and afterplot events per rerun of a one-chart app (no training, no app code): with the same
    figure, and with one more point. The second is what one epoch end costs a chart at the least in this Streamlit."""
    out: dict = {}
    with bare_app(FLOOR_APP) as url:
        context = bare_context(browser, url, timeout_s)
        page = context.new_page()
        try:
            t0 = time.time() * 1000
            page.goto("/")
            page.locator(".js-plotly-plot").wait_for()
            settled_at(page, t0, timeout_s)
            for label in ("Same", "New point"):
                page.evaluate("() => { const b = window.__bench; b.plots = []; b.renders = []; b.recording = true; }")
                for _ in range(clicks):
                    # A rerun with the same figure may change nothing in the page: wait for the rerun's messages to
                    # end (and the plot to draw), not for a DOM mutation.
                    page.get_by_role("button", name=label).click()
                    click = page.evaluate("() => window.__bench.click")
                    page.wait_for_function(FLOOR_DONE_JS, arg=click, polling=50, timeout=timeout_s * 1000)
                got = page.evaluate("() => window.__bench")
                out[label] = {
                    "created_per_rerun": len(got["plots"]) / clicks,
                    "afterplot_per_rerun": len(got["renders"]) / clicks,
                }
        finally:
            context.close()
    from importlib.metadata import version

    out["streamlit"] = version("streamlit")
    print(f"(a) one bare st.plotly_chart, Streamlit {out['streamlit']}: {json.dumps(out)}", flush=True)
    return out


# (c)'s floor: what the Data page shows for MNIST (title, caption, a select box, three metrics, 10 rows of 3
# pictures, the class-count bar chart), made of plain Streamlit calls on made-up arrays: no app code, no dataset.
# "Title only" is Streamlit's frontend alone; "no chart" leaves out the one Plotly element (and Plotly's bundle).
VISIT_FLOOR_APP = """import numpy as np
import plotly.graph_objects as go
import streamlit as st

part = st.query_params.get("part", "all")
st.title("Data")
if part != "title":
    st.caption("Pick a dataset, choose how much of it to use, and look at it.")
    left, right = st.columns([1, 2])
    left.selectbox("Dataset", ["MNIST", "Fashion-MNIST", "Two moons"])
    with right:
        a, b, c = st.columns(3)
        a.metric("Training samples", "60,000")
        b.metric("Test samples", "10,000")
        c.metric("Input shape", "28 x 28 x 1")
        st.subheader("Some samples")
        rng = np.random.default_rng(0)
        for k in range(10):
            st.image([rng.integers(0, 255, (28, 28), dtype=np.uint8) for _ in range(3)], caption=[str(k)] * 3, width=72)
        if part == "all":
            fig = go.Figure(go.Bar(x=[str(k) for k in range(10)], y=[5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]))
            fig.update_layout(title=dict(text="Samples per class"), height=320)
            st.plotly_chart(fig, width="stretch")
"""
VISIT_FLOOR_PARTS = {"all": "the Data page's elements", "no chart": "the same without the chart", "title": "a title only"}


def visit_floor(browser, timeout_s: float) -> dict:
    """Seconds from goto to settled for a new learner's first visit (a fresh browser context) of VISIT_FLOOR_APP, each
    of its parts on a server no browser has talked to, as (c) measures the Data page: what Streamlit and the browser
    take for that page with no app behind it."""
    out: dict = {}
    for part in VISIT_FLOOR_PARTS:
        with bare_app(VISIT_FLOOR_APP) as url:
            time.sleep(2.0)  # the server idle, as the app's is 30 s after its start
            context = bare_context(browser, url, timeout_s)
            page = context.new_page()
            try:
                t0 = time.time() * 1000
                page.goto(f"/?part={part.replace(' ', '+')}")
                heading(page, "Data").wait_for()
                out[part] = round((settled_at(page, t0, timeout_s) - t0) / 1000, 2)
            finally:
                context.close()
    print(f"(c) first visit of the bare Data-like app: {json.dumps(out)}", flush=True)
    return out


# --------------------------------------------------------------------------- run and report


def learner_specs(a):
    from core import recipes

    walk = recipes.get("two-layer-net").build_spec()
    train = recipes.get(a.train_recipe).build_spec(a.train_epochs)
    if a.train_size:
        train.data.train_size = a.train_size
    return walk, train


def run(a) -> dict:
    from playwright.sync_api import sync_playwright

    home = Path(tempfile.mkdtemp(prefix="playground-page-")) / "home"
    out: dict = {}
    try:
        if "c" in a.parts:  # on a quiet machine, before the app and its workers start
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    out["visit_floor"] = visit_floor(browser, a.timeout)
                finally:
                    browser.close()
        started = time.time()
        with AppServer(home) as server:
            walk, train = learner_specs(a)
            if "c" not in a.parts:
                server.open_pool()  # otherwise the first visit starts it
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    if "c" in a.parts:
                        out["first"] = first_visits(browser, server, walk, started, a)
                    out["workers"] = server.wait_workers(1)
                    if "c" in a.parts:
                        out["first"]["Data, warm"], out["first"]["Data, warm, parts"] = warm_visit(browser, server, walk, a)
                        print(f"(c) Data for a second learner, pool warm: {out['first']['Data, warm']:.2f} s", flush=True)
                    if "b" in a.parts:
                        out["edits"] = model_edits(browser, server, walk, a)
                    if "a" in a.parts:
                        out["churn"] = training_churn(browser, server, train, a)
                        print(f"(a) {json.dumps(out['churn'])}", flush=True)
                        out["floor"] = streamlit_floor(browser, a.floor_clicks, a.timeout)
                finally:
                    browser.close()
            out["errors"] = server_log_errors(server.log_path) + server_log_errors(home / "logs" / "pool.log")
    finally:
        shutil.rmtree(home.parent, ignore_errors=True)
    out["errors"] = [e for e in out["errors"] if "WebSocketDisconnected" not in e]
    return out


def _r(v, n=3):
    return None if v is None else round(v, n)


def results(out: dict, a) -> dict:
    churn, edits, first = out.get("churn") or {}, out.get("edits") or {}, out.get("first") or {}
    figures = {
        "main_mutations_per_s": churn.get("main_mutations_per_s"),
        "chart_mutations_per_s": churn.get("chart_mutations_per_s"),
        "renders_per_chart_per_epoch": churn.get("renders_per_chart_per_epoch"),
        "units_change_ms": median(edits.get("units_ms", [])),
        "add_layer_ms": median(edits.get("add_layer_ms", [])),
        **{f"first_{p.lower()}_s": first.get(p) for p in ("Data", "Model", "Train")},
    }
    goal_of = {
        "main_mutations_per_s": GOALS["main_mutations_per_s"],
        "chart_mutations_per_s": GOALS["chart_mutations_per_s"],
        "renders_per_chart_per_epoch": GOALS["renders_per_chart_per_epoch"],
        "units_change_ms": GOALS["edit_ms"],
        "add_layer_ms": GOALS["edit_ms"],
        "first_data_s": GOALS["first_visit_s"],
        "first_model_s": GOALS["first_visit_s"],
        "first_train_s": GOALS["first_visit_s"],
    }
    return {
        "benchmark": "page",
        **{k: _r(v) for k, v in figures.items()},
        "goals": goal_of,
        "met": {k: (None if figures[k] is None else figures[k] <= g) for k, g in goal_of.items()},
        "per_chart": churn.get("per_chart"),
        "quiet_windows_s": churn.get("quiet_windows_s"),
        "epoch_seconds": churn.get("epoch_seconds"),
        "redraw_lag_s": churn.get("redraw_lag_s"),
        "main_mutations_per_redraw": churn.get("main_mutations_per_redraw"),
        "main_mutations_per_s_with_redraw": _r(churn.get("main_mutations_per_s_with_redraw")),
        "units_each_ms": [round(v) for v in edits.get("units_ms", [])],
        "add_layer_each_ms": [round(v) for v in edits.get("add_layer_ms", [])],
        "server_cpu_ms_per_units_change": _r(median([c[0] for c in edits.get("units_cpu_ms", [])]), 0),
        "server_cpu_ms_per_add_layer": _r(median([c[0] for c in edits.get("add_cpu_ms", [])]), 0),
        "browser_cpu_ms_per_units_change": _r(median([c[1] for c in edits.get("units_cpu_ms", [])]), 0),
        "browser_cpu_ms_per_add_layer": _r(median([c[1] for c in edits.get("add_cpu_ms", [])]), 0),
        "edit_last_mutation_ms_by_part": {k: _r(median(v), 0) for k, v in (edits.get("regions") or {}).items()},
        "first_visit_server_cpu_s": first.get("server_cpu_s"),
        "first_visit_heading_s": first.get("heading"),
        "first_data_last_mutation_s_by_part": first.get("Data parts"),
        "first_visit_after_start_s": first.get("after_start_s"),
        "data_second_learner_pool_warm_s": _r(first.get("Data, warm")),
        "data_second_learner_last_mutation_s_by_part": first.get("Data, warm, parts"),
        "first_visit_floor_s": out.get("visit_floor"),
        "streamlit_floor": out.get("floor"),
        "train": f"{a.train_recipe}, {a.train_size or 'all'} samples, {a.train_epochs} epochs",
        "status": churn.get("status"),
        "errors": out["errors"],
        "exceptions": sum(x.get("exceptions", 0) for x in (churn, edits, first)),
        "load_avg_before": out["load_before"],
        "load_avg_after": out["load_after"],
    }


WORDS = {
    "main_mutations_per_s": ("(a) DOM mutations/s in the main area, epoch in progress, no epoch end", "mutations/s"),
    "chart_mutations_per_s": ("(a) DOM mutations/s inside the charts, same windows", "mutations/s"),
    "renders_per_chart_per_epoch": ("(a) Plotly re-renders per chart per epoch (worst chart)", ""),
    "units_change_ms": ("(b) Model page: units +1 -> settled (median)", "ms"),
    "add_layer_ms": ("(b) Model page: Add layer -> settled (median)", "ms"),
    "first_data_s": ("(c) first visit of Data", "s"),
    "first_model_s": ("(c) first visit of Model", "s"),
    "first_train_s": ("(c) first visit of Train", "s"),
}


def docs_section(result: dict, a, argv: list[str]) -> str:
    from importlib.metadata import version

    lines = [
        SECTION,
        "",
        "Chromium (Playwright) against `streamlit run app.py` (bench/_app.AppServer, throw-away home, the default pool). "
        "*Settled* = no running icon in Streamlit's status widget, a websocket message after the action, and no DOM "
        f"mutation nor websocket message for {QUIET_MS} ms (re-checked 1 s later); the time is the settled page's last DOM "
        "mutation. (a) a MutationObserver on the document counts mutation records in windows between two epoch ends "
        "(from the page's redraw of epoch k + 1 s to epoch k+1 stored, store polled every 100 ms), in `stMain` and inside "
        "plotly charts; re-renders = new `.js-plotly-plot` elements and `plotly_afterplot` events per chart title per "
        "epoch interval (the larger of the two). (b) the + of the first Dense layer's units, and Add layer (removed again, "
        f"untimed), {a.edits} times each, click -> settled. (c) {a.first_after:.0f} s after the server started, a new "
        "learner (MNIST two-layer-net) opens /data, then Model and Train by the sidebar links; navigation -> settled.",
        "",
        f"- Command: `python bench/page.py{' ' + ' '.join(argv) if argv else ''}`",
        f"- Date: {machine_line()}, Playwright {version('playwright')}; {data_dir_words()}",
        f"- (a) trains: {result['train']}; status at the end: {result['status']}; quiet windows (s): {result['quiet_windows_s']}; "
        f"epoch k -> k+1 stored (s): {result['epoch_seconds']}; epoch stored -> drawn in the Loss chart (s): {result['redraw_lag_s']}; "
        f"main-area mutation records per epoch redraw (epoch stored -> drawn + 1 s): {result['main_mutations_per_redraw']}",
        f"- Machine load (1/5/15-min load average): before {' / '.join(map(str, result['load_avg_before']))}, after "
        f"{' / '.join(map(str, result['load_avg_after']))} (two other engineers run tests on these 2 cores)",
        "",
        "| figure | measured | goal | met |",
        "|---|---:|---:|---|",
    ]
    for key, (words, unit) in WORDS.items():
        value, goal, met = result[key], result["goals"][key], result["met"][key]
        shown = "-" if value is None else (f"{value:.0f}" if unit == "ms" else f"{value:.2f}")
        lines.append(
            f"| {words} | {shown} {unit} | <= {goal:g} {unit} | {'-' if met is None else ('yes' if met else '**no**')} |"
        )
    floor = result.get("streamlit_floor")
    if floor:
        same, new = floor["Same"], floor["New point"]
        lines += [
            "",
            f"What Streamlit {floor['streamlit']} allows, measured in the same chromium on a one-chart app (bench/page.py "
            "FLOOR_APP: one `st.plotly_chart`, stable key, `layout.uirevision`, no app code): a rerun with the same figure "
            f"gives {same['created_per_rerun']:g} new plot elements and {same['afterplot_per_rerun']:g} afterplot events, "
            f"one more point gives {new['created_per_rerun']:g} and {new['afterplot_per_rerun']:g}. The chart's element id "
            "hashes its figure and the frontend keys the chart by that id, so a changed figure is always a new Plotly "
            "element (zoom not kept); the new element is drawn twice (`newPlot`, then a `Plotly.react` from the theme "
            "effect that runs on every mount). So a chart that gets a point per epoch costs at least 1 element and 2 "
            "afterplots per epoch here, and the re-render goal (<= 1) is out of reach with `st.plotly_chart` in this "
            "Streamlit; the page is at that floor when its per-chart figures equal these.",
        ]
    lines += [
        "",
        f"Per chart (per epoch interval): {json.dumps(result['per_chart'])}. Main-area mutations/s including the epoch "
        f"redraws: {result['main_mutations_per_s_with_redraw']}. Units clicks (ms): {result['units_each_ms']}; Add layer (ms): "
        f"{result['add_layer_each_ms']}; web server CPU per edit (median): units {result['server_cpu_ms_per_units_change']} ms, "
        f"add layer {result['server_cpu_ms_per_add_layer']} ms; chromium CPU per edit (median): units "
        f"{result['browser_cpu_ms_per_units_change']} ms, add layer {result['browser_cpu_ms_per_add_layer']} ms; click -> last mutation of each part of the page (median over "
        f"both kinds of edit, ms): {result['edit_last_mutation_ms_by_part']}. First visits: heading shown after (s) "
        f"{result['first_visit_heading_s']}, web server CPU during each (s) {result['first_visit_server_cpu_s']}; last mutation of each part of the Data page on the first visit (s): "
        f"{result['first_data_last_mutation_s_by_part']}; Data for a second learner once a worker is warm: "
        f"{result['data_second_learner_pool_warm_s']} s (its parts: {result['data_second_learner_last_mutation_s_by_part']}). Errors in pages or logs: {len(result['errors']) + result['exceptions']}.",
    ]
    floor_visit = result.get("first_visit_floor_s")
    if floor_visit:
        lines += [
            "",
            "What a first visit costs with no app behind it, measured in the same chromium (bench/page.py VISIT_FLOOR_APP: "
            "plain Streamlit calls on made-up arrays, each on a server no browser had talked to, a fresh context, goto -> "
            "settled as above): " + "; ".join(f"{VISIT_FLOOR_PARTS[k]} {v:.2f} s" for k, v in floor_visit.items()) + ".",
        ]
    lines += [
        "",
        "Last line of the output:",
        "",
        "```json",
        json.dumps(result),
        "```",
    ]
    return "\n".join(lines)


def state(met) -> str:
    return "not measured" if met is None else ("met" if met else "NOT met")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--parts", default="abc", help="which parts: a (training churn), b (Model edits), c (first visits)")
    p.add_argument("--edits", type=int, default=10)
    p.add_argument("--first-after", type=float, default=30.0, help="seconds after the server started")
    p.add_argument("--train-recipe", default="deeper-cnn")
    p.add_argument("--train-size", type=int, default=12_000)
    p.add_argument("--train-epochs", type=int, default=3)
    p.add_argument("--timeout", type=float, default=120.0, help="seconds any one wait may take")
    p.add_argument("--floor-clicks", type=int, default=5, help="(a) reruns of the one-chart app, each kind")
    p.add_argument("--no-write-docs", dest="write_docs", action="store_false")
    p.add_argument("--docs", type=Path, default=DOCS)
    argv = list(sys.argv[1:] if argv is None else argv)
    a = p.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"chromium not found at {CHROMIUM} (set $CHROMIUM)", file=sys.stderr)
        return 2
    load_before = load_avg()
    print(f"load average before: {load_before}")
    out = run(a)
    out.update(load_before=load_before, load_after=load_avg())
    result = results(out, a)
    for key, (words, unit) in WORDS.items():
        print(f"{words}: {result[key]} {unit} (goal <= {result['goals'][key]}: {state(result['met'][key])})")
    print(f"load average after: {out['load_after']}")
    if a.write_docs:
        write_section(a.docs, SECTION, docs_section(result, a, argv))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Latency: from the click on Train to the first epoch's point on the Loss chart, in a real browser, warm.

    .venv/bin/python bench/latency.py                  # 5 clicks, the median
    .venv/bin/python bench/latency.py --clicks 9 --epochs 2

What is measured, and how:

* One `streamlit run app.py` (a throw-away `PLAYGROUND_HOME`, `PLAYGROUND_OFFLINE=1`, the default
  `PLAYGROUND_MAX_TRAININGS`, 2) and Debian's chromium through Playwright. Warm: the pool is up,
  each worker has trained the same setup once (two jobs submitted at once from here), and one
  learner has trained it through the browser before anything is timed.
* Each timed click is a new learner (a new browser context) whose setup is in the store
  (`core.saved_specs.remember`): the `two-layer-net` recipe (MNIST, 600 steps per epoch) for
  `--epochs` epochs, or without MNIST the built-in digits' default model (saying so). The learner
  opens /train?u=<token>, waits for Train to be enabled (the preflight estimate), and clicks it.
* In the page: a capturing `click` listener notes `Date.now()` of the click; a MutationObserver
  (plus a 25 ms timer) notes `Date.now()` when a plotly chart titled "Loss" first has a
  'training' trace with a point. A new learner has no chart before, so nothing stale can count.
* From the store (`core.jobs.view`, polled every 50 ms from here, same clock): when the job was
  queued, claimed by a worker, and when its first epoch was written; and the first epoch's own
  time, `history["seconds"][0]`.
* Goal: click -> first point <= the first epoch's own time + 1.5 s; reported: both medians and the
  median of the per-click excess (click -> first point minus that click's first epoch).

The last line printed is one JSON object; docs/benchmarks.md gets the section SECTION below.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._app import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LOSS_EPOCHS_JS,
    STATUS_JS,
    VIEWPORT,
    AppServer,
    data_dir_words,  # noqa: E402
    load_avg,
    machine_line,
    median,
    server_log_errors,
    wait_for,
)
from bench._docs import DOCS, write_section  # noqa: E402

SECTION = "## Click on Train -> first epoch point (bench/latency.py)"
GOAL_SLACK = 1.5  # seconds over the first epoch's own time

# Installed before the page's scripts: the click's time, and the time the Loss chart first has a point.
WATCH_JS = (
    """(() => {
  window.__bench = {click: null, first: null};
  const loss = %s;
  const check = () => {
    if (window.__bench.click !== null && window.__bench.first === null && loss() >= 1) window.__bench.first = Date.now();
  };
  document.addEventListener('click', () => { if (window.__bench.click === null) window.__bench.click = Date.now(); }, true);
  const start = () => new MutationObserver(check).observe(document.documentElement, {childList: true, subtree: true, attributes: true});
  if (document.documentElement) start(); else document.addEventListener('DOMContentLoaded', start);
  setInterval(check, 25);
})();"""
    % LOSS_EPOCHS_JS
)


def learner_spec(epochs: int):
    """(spec, words): what every learner trains."""
    from core import datasets, recipes
    from core.spec import ExperimentSpec

    if datasets.availability("mnist") == "local":
        return recipes.get("two-layer-net").build_spec(
            epochs
        ), "MNIST two-layer-net (recipe `two-layer-net`, batch 100, 600 steps per epoch)"
    spec = ExperimentSpec.default_for("digits")
    spec.fit.epochs = epochs
    return (
        spec,
        "**MNIST not here: the built-in 8x8 digits** with their default model (Flatten - Dense(128) - Dropout - Dense(10), batch 128)",
    )


class StoreWatch(threading.Thread):
    """Polls one learner's newest job every 50 ms: when its first epoch reached the store (time.time())."""

    def __init__(self, owner: str):
        super().__init__(daemon=True)
        self.owner, self.first_epoch_at, self.job_id = owner, None, None
        self._halt = threading.Event()

    def run(self) -> None:
        from core import queue

        while not self._halt.wait(0.05) and self.first_epoch_at is None:
            run = queue.latest_for(self.owner)
            if run is not None:
                self.job_id = run.id
                if run.epochs >= 1:
                    self.first_epoch_at = time.time()

    def stop(self) -> None:
        self._halt.set()
        self.join(5)


def train_once(browser, server: AppServer, spec, timeout_s: float) -> dict:
    """A new learner opens Train with `spec`, clicks Train; the timings of that click."""
    from core import jobs, saved_specs

    owner = "lat" + secrets.token_hex(5)
    saved_specs.remember(owner, spec)
    context = browser.new_context(viewport=VIEWPORT, base_url=server.url)
    context.set_default_timeout(timeout_s * 1000)
    context.add_init_script(WATCH_JS)
    page = context.new_page()
    try:
        page.goto(f"/train?u={owner}")
        button = page.get_by_test_id("stMain").get_by_role("button", name="Train", exact=True)
        wait_for(lambda: button.is_enabled(), timeout_s, "Train enabled (preflight done)", every=0.2)
        time.sleep(1.0)  # let the page settle, as a learner reads it before clicking
        watch = StoreWatch(owner)
        watch.start()
        button.click()
        page.wait_for_function("() => window.__bench.first !== null", polling=100)
        times = page.evaluate("() => window.__bench")
        watch.stop()
        page.wait_for_function(
            f"() => {{ const s = ({STATUS_JS})(); return s !== null && /^(Finished|Stopped|Failed|Diverged)/.test(s); }}",
            polling=250,
        )
        status = page.evaluate(STATUS_JS)
        errors = page.get_by_test_id("stException").count()
    finally:
        context.close()
    view = wait_for(lambda: (v := jobs.view(watch.job_id)) and v.settled and v, 120, "the job settled")
    click, first = times["click"] / 1000, times["first"] / 1000
    epoch1 = view.history["seconds"][0]
    return {
        "owner": owner,
        "click_to_first_point": round(first - click, 3),
        "first_epoch_seconds": round(epoch1, 3),
        "excess": round(first - click - epoch1, 3),
        "click_to_queued": round(view.created - click, 3),
        "queued_to_claimed": round(view.started - view.created, 3),
        "claimed_to_epoch_stored": round(watch.first_epoch_at - view.started, 3) if watch.first_epoch_at else None,
        "stored_to_drawn": round(first - watch.first_epoch_at, 3) if watch.first_epoch_at else None,
        "worker": view.worker,
        "status": status,
        "exceptions": errors,
    }


def warm_up(browser, server: AppServer, spec, timeout_s: float) -> None:
    """Each worker trains the setup once (submitted together, so both take one), then one learner in the browser."""
    from core import jobs

    ids = [jobs.submit(spec, f"warm{i}", watched=False) for i in range(len(server.worker_pids()))]
    wait_for(lambda: all(jobs.view(i).settled for i in ids), 600, "the warm-up trainings")
    train_once(browser, server, spec, timeout_s)


def timed_clicks(browser, server: AppServer, spec, a) -> list[dict]:
    warm_up(browser, server, spec, a.timeout)
    clicks = []
    for n in range(a.clicks):
        c = train_once(browser, server, spec, a.timeout)
        clicks.append(c)
        print(
            f"click {n + 1}: click -> first point {c['click_to_first_point']:.2f} s, first epoch "
            f"{c['first_epoch_seconds']:.2f} s, excess {c['excess']:+.2f} s (click -> queued {c['click_to_queued']:.2f}, "
            f"-> claimed {c['queued_to_claimed']:.2f}, -> epoch 1 stored {c['claimed_to_epoch_stored']}, "
            f"-> drawn {c['stored_to_drawn']}) on {c['worker']}; {c['status']}"
        )
    return clicks


def run(a) -> dict:
    from playwright.sync_api import sync_playwright

    home = Path(tempfile.mkdtemp(prefix="playground-latency-")) / "home"
    try:
        with AppServer(home, PLAYGROUND_MAX_TRAININGS=a.max_trainings) as server:
            server.open_pool()
            workers = server.wait_workers(a.max_trainings or 2)
            spec, words = learner_spec(a.epochs)
            print(f"pool warm: workers {workers}; learners train {words}")
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    clicks = timed_clicks(browser, server, spec, a)
                finally:
                    browser.close()
            errors = server_log_errors(server.log_path) + server_log_errors(home / "logs" / "pool.log")
    finally:
        shutil.rmtree(home.parent, ignore_errors=True)
    errors = [e for e in errors if "WebSocketDisconnected" not in e]  # a tab closed while the server wrote to it
    errors += [f"stException on {c['owner']}'s page" for c in clicks if c["exceptions"]]
    return {"clicks": clicks, "words": words, "errors": errors}


def results(out: dict, a) -> dict:
    clicks = out["clicks"]
    med = {
        k: median([c[k] for c in clicks])
        for k in (
            "click_to_first_point",
            "first_epoch_seconds",
            "excess",
            "click_to_queued",
            "queued_to_claimed",
            "claimed_to_epoch_stored",
            "stored_to_drawn",
        )
    }
    return {
        "benchmark": "latency",
        "median_click_to_first_point": round(med["click_to_first_point"], 3),
        "median_first_epoch_seconds": round(med["first_epoch_seconds"], 3),
        "median_excess": round(med["excess"], 3),
        "goal_excess": GOAL_SLACK,
        "meets_goal": med["excess"] <= GOAL_SLACK,
        "clicks": len(clicks),
        "median_parts": {
            k: round(v, 3)
            for k, v in med.items()
            if v is not None and k not in ("click_to_first_point", "first_epoch_seconds", "excess")
        },
        "per_click": [{k: c[k] for k in ("click_to_first_point", "first_epoch_seconds", "excess")} for c in clicks],
        "errors": out["errors"],
        "dataset": out["words"],
        "epochs": a.epochs,
        "load_avg_before": out["load_before"],
        "load_avg_after": out["load_after"],
    }


def _s(seconds) -> str:
    return "-" if seconds is None else f"{seconds:.2f}"


def docs_section(out: dict, result: dict, a, argv: list[str]) -> str:
    from importlib.metadata import version

    lines = [
        SECTION,
        "",
        "A new learner (a fresh chromium context) opens /train with a setup already in the store and clicks **Train**; "
        "the page notes the click (a capturing `click` listener) and the moment the Loss chart first has a point "
        "(MutationObserver), both `Date.now()`. Warm: the pool is up (the default 2 workers) and each worker, and one "
        "learner in the browser, trained the same setup before. The parts come from the run store, polled every 50 ms "
        "from the benchmark (same clock): queued = the job's row was written, claimed = a worker took it, stored = its first "
        "epoch is in the store, drawn = the browser shows it.",
        "",
        f"- Command: `python bench/latency.py{' ' + ' '.join(argv) if argv else ''}`",
        f"- Date: {machine_line()}, Playwright {version('playwright')}; {data_dir_words()}",
        f"- Learners train: {out['words']}, {a.epochs} epochs",
        f"- Machine load (1/5/15-min load average): before {' / '.join(map(str, out['load_before']))}, after "
        f"{' / '.join(map(str, out['load_after']))} (another agent shares these 2 cores: re-run on a quiet machine)",
        "",
        "| click | click -> first point (s) | first epoch's own time (s) | excess (s) | click -> queued | -> claimed | -> epoch 1 stored | -> drawn | worker |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for n, c in enumerate(out["clicks"], 1):
        lines.append(
            f"| {n} | {c['click_to_first_point']:.2f} | {c['first_epoch_seconds']:.2f} | {c['excess']:+.2f} | "
            f"{_s(c['click_to_queued'])} | {_s(c['queued_to_claimed'])} | {_s(c['claimed_to_epoch_stored'])} | "
            f"{_s(c['stored_to_drawn'])} | {c['worker'].rsplit(':', 1)[-1]} |"
        )
    parts = result["median_parts"]
    lines += [
        f"| **median** | **{result['median_click_to_first_point']:.2f}** | **{result['median_first_epoch_seconds']:.2f}** | "
        f"**{result['median_excess']:+.2f}** | {_s(parts.get('click_to_queued'))} | {_s(parts.get('queued_to_claimed'))} | "
        f"{_s(parts.get('claimed_to_epoch_stored'))} | {_s(parts.get('stored_to_drawn'))} | |",
        "",
        f"**Excess over the first epoch (median): {result['median_excess']:+.2f} s** - goal <= {GOAL_SLACK} s: "
        f"**{'meets' if result['meets_goal'] else 'misses'}**. Errors in the pages or logs: {len(result['errors'])}"
        + (f" ({'; '.join(result['errors'][:3])})" if result["errors"] else "")
        + ".",
        "",
        "Last line of the output:",
        "",
        "```json",
        json.dumps(result),
        "```",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clicks", type=int, default=5, help="timed clicks (new learners), the median is reported")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--max-trainings", type=int, default=None, help="PLAYGROUND_MAX_TRAININGS (default: the app's, 2)")
    p.add_argument("--timeout", type=float, default=180.0, help="seconds any one wait may take")
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
    print(
        f"median click -> first point {result['median_click_to_first_point']:.2f} s, first epoch "
        f"{result['median_first_epoch_seconds']:.2f} s, excess {result['median_excess']:+.2f} s (goal <= {GOAL_SLACK} s)"
    )
    print(f"load average after: {out['load_after']}")
    if a.write_docs:
        write_section(a.docs, SECTION, docs_section(out, result, a, argv))
    print(json.dumps(result))
    return 0 if not result["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())

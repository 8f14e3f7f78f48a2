"""Watchers: does a room of tabs watching their queued jobs slow the one training that runs?

    .venv/bin/python bench/watchers.py                    # alone, 25 and 50 watchers, 2 rounds
    .venv/bin/python bench/watchers.py --watchers 25 --second 0 --repeats 1 --epochs 4

What is measured, and how:

* One `streamlit run app.py` server (a throw-away `PLAYGROUND_HOME`, `PLAYGROUND_OFFLINE=1`,
  `PLAYGROUND_MAX_TRAININGS=1`) pinned to core 0 (the affinity is set before exec, so its pool's
  supervisor and the spawned worker inherit it: the whole app on one core). This process and the
  watchers run on core 1. The pool is started the way a browser starts it (a first page run) and
  is warm before anything is measured.
* The training T: the `two-layer-net` recipe (MNIST, Flatten - Dense(100, sigmoid) - Dense(10),
  SGD 0.1, batch 100: 600 steps per epoch) for `--epochs` epochs; without MNIST, the built-in
  8x8 digits with the same model at batch 2 (674 steps per epoch), and the report says so. Its
  epoch times are the run's own `history["seconds"]`, read from the store; each run's first epoch
  (tracing) is left out.
* A block: a blocker job occupies the only worker; T is queued behind it; for a watched block,
  N learners each get a queued job of their own (`core.jobs.submit` with the learner's owner token,
  `watched=False`) and a tab: a client speaking Streamlit's websocket protocol (bench/_stclient.py)
  that opens `/train?u=<token>` and reruns the page's `st.fragment(run_every=1.0)` every second,
  as the browser does. Once every tab polls, the blocker is stopped, T trains while the tabs poll
  (each poll reads the job and its queue position from the store), and when T's last epoch is in
  the store the tabs close and their jobs are cancelled. Blocks alternate (alone, N, second N)
  `--repeats` times, so a drift of the machine's speed hits every condition alike.
* Reported: median epoch time alone and with N watchers, `ratio` = with N / alone (goal <= 1.05);
  the fragment rerun latency the tabs saw while T trained (send of the rerun -> the
  `script_finished` of the run that served it; a rerun still unanswered 3 s after the tabs
  stopped counts with its age then, a lower bound), median and p95; fragment runs the server
  cut short for the next rerun (`FINISHED_EARLY_FOR_RERUN`); the web server's CPU while T
  trained, and how much of core 0 other processes of the machine took meanwhile (/proc/stat
  minus the app's own CPU time: the machine is shared, and this says how much).

The last line printed is one JSON object; docs/benchmarks.md gets the section SECTION below.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._app import (
    AppServer,
    affinity,
    core_busy_seconds,
    cpu_seconds,
    data_dir_words,
    load_avg,
    machine_line,
    median,  # noqa: E402
    percentile,
    server_log_errors,
)
from bench._docs import DOCS, write_section  # noqa: E402

SECTION = "## Watchers (bench/watchers.py)"
GOAL = 1.05
APP_CPUS, WATCHER_CPUS = {0}, {1}
LAST_ANSWERS = 3.0  # seconds the tabs listen after their last rerun; what is still unanswered then counts as such


# --------------------------------------------------------------------------- what trains


def training_spec(epochs: int):
    """(spec, words): two-layer-net on MNIST, or the same model on the built-in digits when MNIST is not here."""
    from core import datasets, recipes

    spec = recipes.get("two-layer-net").build_spec(epochs)
    if datasets.availability("mnist") == "local":
        return (
            spec,
            "MNIST two-layer-net (recipe `two-layer-net`: Flatten - Dense(100, sigmoid) - Dense(10), SGD 0.1, batch 100, 600 steps per epoch)",
        )
    spec.data = type(spec.data)(name="digits")
    spec.recipe = ""
    spec.fit.batch_size = 2
    return spec, (
        "**MNIST not here: built-in 8x8 digits** with two-layer-net's model (Flatten - Dense(100, sigmoid) - "
        "Dense(10), SGD 0.1) at batch 2: 674 steps per epoch"
    )


def blocker_spec():
    """A job that trains until it is stopped: hundreds of tiny batches of digits."""
    from core.spec import ExperimentSpec

    spec = ExperimentSpec.default_for("digits")
    spec.fit.epochs, spec.fit.batch_size = 1000, 4
    return spec


# --------------------------------------------------------------------------- one block


def _store(fn, *args):
    """Run a (blocking) run-store call off the event loop, so the tabs' timing is not held up."""
    return asyncio.to_thread(fn, *args)


async def _wait(fn, what: str, timeout: float = 300.0, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await _store(fn)
        if value:
            return value
        await asyncio.sleep(every)
    raise TimeoutError(f"{what}: not within {timeout:.0f} s")


async def open_tabs(server: AppServer, owners: list[str], stop: asyncio.Event, batch: int = 5):
    """One tab per owner on its Train page, a few at a time (a room does not click in the same millisecond);
    returns (tabs, their polling tasks) once every tab has had two fragment reruns answered."""
    from bench._stclient import Tab

    tabs, tasks = [], []
    for start in range(0, len(owners), batch):
        group = [Tab(server.port, owner) for owner in owners[start : start + batch]]
        await asyncio.gather(*(tab.connect("train") for tab in group))
        tabs += group
        tasks += [asyncio.create_task(tab.poll(stop)) for tab in group]
    missing = [t.token for t in tabs if not t.fragments]
    if missing:
        raise RuntimeError(
            f"no auto-rerun fragment announced to {len(missing)} tabs (e.g. {missing[0]}): "
            "is the Train page still polling with st.fragment(run_every=...)?"
        )
    await _wait(lambda: all(len(t.samples) >= 2 for t in tabs), "every tab polling", 300, 0.25)
    return tabs, tasks


def submit_watchers(block: int, n: int, spec) -> tuple[list[str], list[str]]:
    """N learners, each with a queued job of their own and their setup remembered (what their Train page shows)."""
    from core import jobs, saved_specs

    owners = [f"watcher{block:02d}x{i:03d}" for i in range(n)]
    ids = []
    for owner in owners:
        saved_specs.remember(owner, spec)
        ids.append(jobs.submit(spec, owner, watched=False))
    return owners, ids


async def run_block(server: AppServer, block: int, n: int, spec) -> dict:
    """Blocker on the worker, T queued, N watchers polling; then T trains. The block's measurements."""
    from core import jobs, queue
    from core.status import Phase, Status

    blocker = await _store(lambda: jobs.submit(blocker_spec(), f"blocker{block:02d}", watched=False))
    await _wait(lambda: (v := jobs.view(blocker)) and v.status == Status.RUNNING, "the blocker running")
    trainer = await _store(lambda: jobs.submit(spec, f"trainer{block:02d}", watched=False))
    stop = asyncio.Event()
    tabs, tasks, watcher_jobs = [], [], []
    if n:
        owners, watcher_jobs = await _store(submit_watchers, block, n, spec)
        tabs, tasks = await open_tabs(server, owners, stop)
    await _store(queue.request_stop, blocker)
    await _wait(
        lambda: (v := jobs.view(trainer)) and v.status == Status.RUNNING and v.phase == Phase.TRAINING, "T training", every=0.05
    )
    began, cpu0, app0 = time.time(), cpu_seconds(server.pid), app_and_core_seconds(server)
    epochs = spec.fit.epochs
    await _wait(lambda: jobs.view(trainer).epochs_done >= epochs or jobs.view(trainer).settled, "T's last epoch", 900, 0.05)
    ended, cpu1, app1 = time.time(), cpu_seconds(server.pid), app_and_core_seconds(server)
    stop.set()  # no more reruns; answers to the last ones may still come
    await asyncio.gather(*tasks)
    await asyncio.sleep(LAST_ANSWERS if tabs else 0)
    unanswered = [time.time() - wall for tab in tabs for wall in tab.unanswered(began)]
    await asyncio.gather(*(tab.close() for tab in tabs))
    for job_id in watcher_jobs:  # queued: cancelled at once, before the worker can claim one
        await _store(queue.request_stop, job_id)
    view = await _wait(lambda: (v := jobs.view(trainer)) and v.settled and v, "T settled")
    row = summarize_block(block, n, view, tabs, (began, ended), cpu1 - cpu0, unanswered)
    row["others_on_core_cores"] = round(max(0.0, (app1[1] - app0[1]) - (app1[0] - app0[0])) / (ended - began), 3)
    print(f"         other processes used {row['others_on_core_cores']:.2f} of core {min(APP_CPUS)} meanwhile")
    return row


def app_and_core_seconds(server: AppServer) -> tuple[float, float]:
    """(CPU seconds of the app's processes, busy seconds of their core): the difference is what others took from it."""
    pids = server.app_pids()
    app = sum(cpu_seconds(p) for p in [pids["web"], pids["supervisor"] or 0, *pids["workers"], *pids["other"]] if p)
    return app, core_busy_seconds(min(APP_CPUS))


def summarize_block(
    block: int, n: int, view, tabs, window: tuple[float, float], server_cpu: float, unanswered: list[float]
) -> dict:
    """One block's row. Reruns still unanswered LAST_ANSWERS s after the tabs stopped count with their age then
    (a lower bound of their latency)."""
    began, ended = window
    seconds = [round(s, 3) for s in view.history.get("seconds", [])]
    answered = [lat for tab in tabs for sent, lat in tab.samples if began <= sent <= ended]
    latencies = answered + unanswered
    finishes: dict[str, int] = {}
    for tab in tabs:
        for name, count in tab.finishes.items():
            finishes[name] = finishes.get(name, 0) + count
    row = {
        "block": block,
        "watchers": n,
        "status": str(view.status),
        "epoch_seconds": seconds,
        "measured": seconds[1:],
        "median_epoch": median(seconds[1:]),
        "window_s": round(ended - began, 2),
        "server_cpu_cores": round(server_cpu / max(ended - began, 1e-9), 3),
        "sent": sum(began <= w <= ended for t in tabs for w in t.sends),
        "reruns": len(answered),
        "unanswered": len(unanswered),
        "overlapping": sum(t.overlapping for t in tabs),
        "preempted": finishes.get("FINISHED_EARLY_FOR_RERUN (fragment)", 0),
        "finishes": finishes,
        "latency_median_ms": _ms(median(latencies)),
        "latency_p95_ms": _ms(percentile(latencies, 95)),
        "latency_max_ms": _ms(max(latencies, default=None)),
        "latencies": [round(x, 4) for x in latencies],
        "tab_status": sorted({(tab.status_line or "").split(" · ")[0].strip("*") for tab in tabs}),
        "errors": sorted({e for t in tabs for e in t.errors}),
    }
    row["server_cpu_ms_per_rerun"] = round(server_cpu * 1000 / row["sent"], 1) if row["sent"] else None
    print(
        f"block {block}: {n:>2} watchers | epochs {seconds} -> median {row['median_epoch']:.3f} s | reruns sent {row['sent']}, "
        f"answered {len(answered)}, unanswered {len(unanswered)}, preempted {row['preempted']} | latency median "
        f"{row['latency_median_ms']} ms, p95 {row['latency_p95_ms']} ms | web server CPU {row['server_cpu_cores']:.2f} cores"
        f" | tabs saw {row['tab_status']}" + (f" | ERRORS {row['errors']}" if row["errors"] else "")
    )
    return row


def _ms(seconds):
    return None if seconds is None else round(seconds * 1000, 1)


# --------------------------------------------------------------------------- the run


def check_pinning(server: AppServer) -> dict:
    """Where each process may run; the app must be on APP_CPUS, this process on WATCHER_CPUS."""
    pids = server.app_pids()
    seen = {
        "web": affinity(pids["web"]),
        "supervisor": affinity(pids["supervisor"]) if pids["supervisor"] else None,
        "workers": [affinity(p) for p in pids["workers"]],
        "bench": affinity(0),
    }
    app = [seen["web"], seen["supervisor"], *seen["workers"]]
    if any(a != APP_CPUS for a in app) or seen["bench"] != WATCHER_CPUS:
        raise RuntimeError(f"processes are not where they should be: {seen}")
    return {
        k: (sorted(v) if isinstance(v, set) else [sorted(x) for x in v] if isinstance(v, list) else v) for k, v in seen.items()
    }


def conditions(a) -> list[int]:
    one = [0, a.watchers] + ([a.second] if a.second else [])
    return one * a.repeats


def run(a) -> dict:
    home = Path(tempfile.mkdtemp(prefix="playground-watchers-")) / "home"
    os.sched_setaffinity(0, WATCHER_CPUS)  # before any thread starts: this process and its tabs on core 1
    try:
        with AppServer(
            home,
            cpus=APP_CPUS,
            PLAYGROUND_MAX_TRAININGS=1,
            PLAYGROUND_WORKER_JOBS=1000,
            PLAYGROUND_MAX_QUEUE=max(100, 2 * max(a.watchers, a.second) + 10),
        ) as server:
            # PLAYGROUND_WORKER_JOBS: no recycling mid-benchmark (a fresh worker would make its first epochs differ).
            server.open_pool()
            server.wait_workers(1)
            pinning = check_pinning(server)
            spec, words = training_spec(a.epochs)
            print(f"pinned: {pinning}; training: {words}")
            blocks = [asyncio.run(run_block(server, b, n, spec)) for b, n in enumerate(conditions(a))]
            logged = server_log_errors(server.log_path) + server_log_errors(home / "logs" / "pool.log")
    finally:
        shutil.rmtree(home.parent, ignore_errors=True)
    # A tab that closes while the server still writes to it: Streamlit logs the failed send (a browser tab
    # closing does the same); listed, not counted.
    benign = [e for e in logged if "WebSocketDisconnected" in e]
    return {
        "blocks": blocks,
        "pinning": pinning,
        "words": words,
        "log_errors": [e for e in logged if e not in benign],
        "benign_log_errors": benign,
    }


def condition_summary(blocks: list[dict], n: int) -> dict:
    mine = [b for b in blocks if b["watchers"] == n]
    epochs = [s for b in mine for s in b["measured"]]
    lat = [x for b in mine for x in b["latencies"]]
    total = lambda key: sum(b[key] for b in mine)  # noqa: E731
    return {
        "watchers": n,
        "epochs": epochs,
        "median_epoch": median(epochs),
        "latency_median_ms": _ms(median(lat)),
        "latency_p95_ms": _ms(percentile(lat, 95)),
        "sent": total("sent"),
        "reruns": total("reruns"),
        "unanswered": total("unanswered"),
        "preempted": total("preempted"),
        "server_cpu_cores": median([b["server_cpu_cores"] for b in mine]),
        "server_cpu_ms_per_rerun": _round(median([b["server_cpu_ms_per_rerun"] for b in mine if b["server_cpu_ms_per_rerun"]])),
    }


def _round(value, digits: int = 1):
    return None if value is None else round(value, digits)


# --------------------------------------------------------------------------- the report


def results(out: dict, a) -> dict:
    blocks = out["blocks"]
    alone, first = condition_summary(blocks, 0), condition_summary(blocks, a.watchers)
    second = condition_summary(blocks, a.second) if a.second else None
    ratio = round(first["median_epoch"] / alone["median_epoch"], 4)
    result = {
        "benchmark": "watchers",
        "ratio": ratio,
        "goal": GOAL,
        "meets_goal": ratio <= GOAL,
        "watchers": a.watchers,
        "median_epoch_alone": round(alone["median_epoch"], 4),
        "median_epoch_watched": round(first["median_epoch"], 4),
        "latency_median_ms": first["latency_median_ms"],
        "latency_p95_ms": first["latency_p95_ms"],
        "reruns": first["reruns"],
        "server_cpu_ms_per_rerun": first["server_cpu_ms_per_rerun"],
    }
    if second:
        result.update(
            second_watchers=a.second,
            ratio_second=round(second["median_epoch"] / alone["median_epoch"], 4),
            latency_second_median_ms=second["latency_median_ms"],
            latency_second_p95_ms=second["latency_p95_ms"],
        )
    result.update(
        epochs_alone=alone["epochs"],
        epochs_watched=first["epochs"],
        errors=sorted({e for b in blocks for e in b["errors"]} | set(out["log_errors"])),
        tabs_saw=sorted({s for b in blocks for s in b["tab_status"]}),
        dataset=out["words"],
        epochs=a.epochs,
        repeats=a.repeats,
        pinning=out["pinning"],
        load_avg_before=out["load_before"],
        load_avg_after=out["load_after"],
    )
    return result


def docs_section(out: dict, result: dict, a, argv: list[str]) -> str:
    rows = [condition_summary(out["blocks"], n) for n in sorted({b["watchers"] for b in out["blocks"]})]
    alone = rows[0]["median_epoch"]
    cell = lambda v, unit="": "-" if v is None else f"{v}{unit}"  # noqa: E731
    lines = [
        SECTION,
        "",
        "One training while N browser tabs watch queued jobs of their own, the app (web server, pool supervisor, the one "
        "training worker: `PLAYGROUND_MAX_TRAININGS=1`) pinned to core 0 and the tabs to core 1. A tab is a client "
        "speaking Streamlit's websocket protocol (bench/_stclient.py): it opens `/train?u=<token>` and reruns the "
        "Train page's `st.fragment(run_every=1.0)` every second, as the browser's `setInterval` does; each rerun reads "
        "the learner's job and its queue position from the run store. Epoch time = the run's own `history[\"seconds\"]` "
        "(first epoch of each run left out); latency = rerun sent -> `script_finished` of the run that served it, over "
        "the time the measured training ran (a rerun never answered counts with its age 3 s after the tabs stopped, a lower bound). "
        "Conditions alternate block by block "
        f"({' / '.join('alone' if n == 0 else str(n) for n in conditions(a)[: len(rows)])}, {a.repeats} rounds).",
        "",
        f"- Command: `python bench/watchers.py{' ' + ' '.join(argv) if argv else ''}`",
        f"- Date: {machine_line()}; {data_dir_words()}",
        f"- Training: {out['words']}, {a.epochs} epochs per run",
        f"- Machine load (1/5/15-min load average): before {' / '.join(map(str, out['load_before']))}, after "
        f"{' / '.join(map(str, out['load_after']))} (another agent shares these 2 cores: re-run on a quiet machine)",
        "",
        "| watchers | epochs measured | median epoch (s) | ratio to alone | rerun latency median (ms) | p95 (ms) | reruns sent / answered / never answered | runs preempted (FINISHED_EARLY_FOR_RERUN) | web server CPU while the training runs (cores) | its CPU per rerun sent (ms) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['watchers'] or 'alone'} | {len(r['epochs'])} | {r['median_epoch']:.3f} | "
            f"{r['median_epoch'] / alone:.3f} | {cell(r['latency_median_ms'])} | {cell(r['latency_p95_ms'])} | "
            f"{r['sent']} / {r['reruns']} / {r['unanswered']} | {r['preempted']} | {r['server_cpu_cores']:.3f} | "
            f"{cell(r['server_cpu_ms_per_rerun'])} |"
        )
    lines += [
        "",
        f"**ratio ({a.watchers} watchers / alone): {result['ratio']:.3f}** - goal <= {GOAL}: "
        f"**{'meets' if result['meets_goal'] else 'misses'}**. Every tab's status line read "
        f"{', '.join(f'`{s}`' for s in result['tabs_saw'])}; errors in any tab or log: "
        f"{len(result['errors'])}{' (' + '; '.join(result['errors'][:3]) + ')' if result['errors'] else ''}.",
        "",
        "| block | watchers | epoch seconds (the first is left out of the median) | median | latency median / p95 (ms) | reruns sent / answered (sent while one was pending) | other processes on core 0 (cores) |",
        "|---:|---:|---|---:|---:|---:|---:|",
    ]
    for b in out["blocks"]:
        lines.append(
            f"| {b['block']} | {b['watchers'] or 'alone'} | {', '.join(f'{s:.2f}' for s in b['epoch_seconds'])} | "
            f"{b['median_epoch']:.3f} | {cell(b['latency_median_ms'])} / {cell(b['latency_p95_ms'])} | "
            f"{b['sent']} / {b['reruns']} ({b['overlapping']}) | {b['others_on_core_cores']:.2f} |"
        )
    lines += ["", "Last line of the output:", "", "```json", json.dumps(_short(result)), "```"]
    return "\n".join(lines)


def _short(result: dict) -> dict:
    return {k: v for k, v in result.items() if k not in ("epochs_alone", "epochs_watched", "pinning")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--watchers", type=int, default=25, help="tabs watching queued jobs (the goal's figure)")
    p.add_argument("--second", type=int, default=50, help="a second watcher count (0: none)")
    p.add_argument("--epochs", type=int, default=6, help="epochs of each training (the first is left out)")
    p.add_argument("--repeats", type=int, default=2, help="rounds of the conditions (alone, watchers, second)")
    p.add_argument("--no-write-docs", dest="write_docs", action="store_false")
    p.add_argument("--docs", type=Path, default=DOCS)
    argv = list(sys.argv[1:] if argv is None else argv)
    a = p.parse_args(argv)
    if os.cpu_count() < 2 or not {0, 1} <= os.sched_getaffinity(0):
        print("needs cores 0 and 1 (the app on one, the watchers on the other)", file=sys.stderr)
        return 2
    load_before = load_avg()
    print(f"load average before: {load_before}")
    out = run(a)
    out.update(load_before=load_before, load_after=load_avg())
    result = results(out, a)
    print(
        f"median epoch alone {result['median_epoch_alone']:.3f} s, with {a.watchers} watchers "
        f"{result['median_epoch_watched']:.3f} s: ratio {result['ratio']:.3f} (goal <= {GOAL}); rerun latency "
        f"median {result['latency_median_ms']} ms, p95 {result['latency_p95_ms']} ms"
        + (
            f"; {a.second} watchers: ratio {result['ratio_second']:.3f}, latency median {result['latency_second_median_ms']} ms, "
            f"p95 {result['latency_second_p95_ms']} ms"
            if a.second
            else ""
        )
    )
    print(f"load average after: {out['load_after']}")
    if a.write_docs:
        write_section(a.docs, SECTION, docs_section(out, result, a, argv))
    print(json.dumps(result))
    return 0 if not result["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())

"""Footprint: the memory of the app's processes, now that training runs outside the web server.

    .venv/bin/python bench/footprint.py                  # (a), (b) and (c)
    .venv/bin/python bench/footprint.py --runs 30 --skip-browser

What is measured, and how (RSS = VmRSS from /proc/PID/status):

(a) Web server. One `streamlit run app.py` (a throw-away `PLAYGROUND_HOME`, `PLAYGROUND_OFFLINE=1`,
    the default 2 training workers) and Debian's chromium: a learner opens Data (picks MNIST, or the
    built-in digits without it), Model, Train (one training to its results), Runs; nobody opens
    Classify. The web server's RSS (the `streamlit` process only, not its children) after each page,
    goal <= 300 MB at the end; and whether TensorFlow's libraries are mapped into it
    (/proc/PID/maps): the web process must never have imported TensorFlow.
(b) The whole app, same server: a learner opens Classify (MobileNet alpha 0.75 from
    `PLAYGROUND_DATA_DIR`; without the real weights, random ones fabricated in a throw-away data
    folder, saying so) and classifies banana.jpg (/work/shared/data/photos, else the bundled
    sample); then two more learners press Train at once (`--train-recipe`, default the MNIST
    `small-cnn`, or the digits' default model). The sum of the RSS of the web server, the pool's
    supervisor, its workers and any other process they started, sampled every 0.25 s while the
    two train: the peak, goal < 2.7 GB (Streamlit Community Cloud's limit), judged on the PSS summed
    (/proc/PID/smaps_rollup: a page the processes share, TensorFlow's libraries, counted once, as a
    container's memory limit counts it); the RSS sum is printed beside it. Where this machine allows it
    (root, cgroup v1), the server runs inside a memory cgroup limited to the goal, as in a container:
    its peak usage over (a) and (b), page cache included, and whether anything was killed for memory.
(c) Workers over `--runs` (30) sequential small trainings through a pool of its own
    (`PLAYGROUND_MAX_TRAININGS=1`, the default `PLAYGROUND_WORKER_JOBS=25`, so the worker retires
    after run 25 and a fresh one takes over): per run, the worker's pid, its RSS after the run and
    its peak during it. Digits, alternating a small MLP and a small CNN, 3 epochs.

The last line printed is one JSON object; docs/benchmarks.md gets the section SECTION below.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._app import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PYTHON,
    ROOT,
    STATUS_JS,
    VIEWPORT,
    AppServer,
    MemoryLimit,
    Pool,
    data_dir_words,  # noqa: E402
    has_tensorflow,
    load_avg,
    machine_line,
    pss_mb,
    rss_mb,
    server_log_errors,
    wait_for,
)
from bench._docs import DOCS, write_section  # noqa: E402

SECTION = "## Footprint (bench/footprint.py)"
# MB here are MiB (2^20 bytes, as /proc counts). Streamlit Community Cloud's "2.7 GB" read the strict way:
# 2.7e9 bytes = 2,575 MiB (read as 2.7 GiB it would be 2,765 MiB).
WEB_GOAL_MB, APP_GOAL_MB = 300, 2.7e9 / 2**20
PHOTO = Path("/work/shared/data/photos/banana.jpg")
WEIGHTS = "mobilenet_7_5_224_tf.h5"
FINISHED_JS = (
    f"() => {{ const s = ({STATUS_JS})(); return s !== null && /^(Finished|Stopped|Failed|Diverged)/.test(s) ? s : null; }}"
)


# --------------------------------------------------------------------------- data and weights


def classify_data_dir(tmp: Path) -> tuple[str, str]:
    """(PLAYGROUND_DATA_DIR for the server, words): the real one when it has MobileNet 0.75, else random weights."""
    real = os.environ.get("PLAYGROUND_DATA_DIR", "").strip()
    if real and (Path(real) / "models" / WEIGHTS).is_file():
        return real, f"MobileNet (alpha 0.75), ImageNet weights from {real}"
    fake = tmp / "fake-data"
    code = (
        "import sys; from pathlib import Path; from tests.core.fabricate import zoo_weights; "
        "print(zoo_weights(Path(sys.argv[1]), 'mobilenet_0.75', include_top=True))"
    )
    done = subprocess.run([PYTHON, "-c", code, str(fake)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise RuntimeError(f"could not fabricate MobileNet weights:\n{done.stderr[-2000:]}")
    if real:  # keep the real datasets beside the fabricated weights
        (fake / "datasets").symlink_to(Path(real) / "datasets")
    return str(
        fake
    ), "**no real MobileNet 0.75 weights here: random weights of the same network** (memory is the same; the answer is not)"


def photo() -> tuple[Path, str]:
    if PHOTO.is_file():
        return PHOTO, PHOTO.name
    sample = next((p for p in (ROOT / "assets").glob("*.jpg")), None)
    if sample is None:
        raise RuntimeError("no picture to classify (banana.jpg is not here and assets/ has no .jpg)")
    return sample, f"{sample.name} (banana.jpg is not here: the bundled sample)"


def trainer_spec(recipe: str, epochs: int):
    from core import datasets, recipes
    from core.spec import ExperimentSpec

    if datasets.availability("mnist") == "local":
        return recipes.get(recipe).build_spec(epochs), f"recipe `{recipe}` (MNIST), {epochs} epoch(s)"
    spec = ExperimentSpec.default_for("digits")
    spec.fit.epochs = max(epochs, 5)
    return spec, f"**MNIST not here: the built-in digits' default model**, {spec.fit.epochs} epochs"


# --------------------------------------------------------------------------- (a) a learner on the pages


def pick_dataset(page, name: str) -> None:
    from core import i18n

    label, about = i18n.translate("en", f"datasets.{name}.title"), i18n.translate("en", f"datasets.{name}.about")
    box = page.get_by_test_id("stSelectbox").filter(has_text="Dataset").first
    box.click()
    page.keyboard.type(label)
    page.keyboard.press("Enter")
    page.get_by_text(about, exact=True).wait_for()
    page.get_by_test_id("stMetricLabel").filter(has_text="Input shape").wait_for()  # the data is loaded


def nav(page, label: str, heading: str | None = None) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=label, exact=True).click()
    page.get_by_role("heading", name=heading or label, exact=True, level=1).wait_for()


def idle(page, seconds: float = 2.0) -> None:
    """Until the script run is over (no running icon), then a moment more."""
    page.wait_for_function(
        '() => !document.querySelector(\'[data-testid="stStatusWidgetRunningIcon"], '
        '[data-testid="stStatusWidgetRunningManIcon"]\')',
        polling=250,
    )
    time.sleep(seconds)


def walk(browser, server: AppServer, dataset: str, epochs: int) -> list[dict]:
    """Data -> Model -> Train (one training to its results) -> Runs; the web server's RSS after each."""
    context = browser.new_context(viewport=VIEWPORT, base_url=server.url)
    context.set_default_timeout(240_000)
    page = context.new_page()
    steps = [{"step": "server started, pool warm", "web_rss_mb": round(rss_mb(server.pid), 1), "exceptions": 0}]
    note = lambda step: steps.append(
        {
            "step": step,
            "web_rss_mb": round(rss_mb(server.pid), 1),  # noqa: E731
            "exceptions": page.get_by_test_id("stException").count(),
        }
    )
    try:
        page.goto("/data")
        page.get_by_role("heading", name="Data", exact=True, level=1).wait_for()
        pick_dataset(page, dataset)
        idle(page)
        note(f"Data ({dataset} picked, preview shown)")
        nav(page, "Model")
        idle(page)
        note("Model")
        nav(page, "Train")
        field = page.get_by_role("spinbutton", name="Epochs")
        field.fill(str(epochs))
        field.press("Enter")
        page.get_by_text(re.compile(rf"· {epochs} epochs$")).wait_for()
        button = page.get_by_test_id("stMain").get_by_role("button", name="Train", exact=True)
        wait_for(button.is_enabled, 240, "Train enabled", every=0.2)
        button.click()
        page.wait_for_function(FINISHED_JS, polling=250)
        page.get_by_role("heading", name="Results on the test set").wait_for()
        idle(page)
        note(f"Train ({epochs} epochs to the results)")
        nav(page, "Runs")
        idle(page)
        note("Runs")
    finally:
        context.close()
    return steps


# --------------------------------------------------------------------------- (b) the whole app


class AppSampler(threading.Thread):
    """Every 0.25 s: the RSS and the PSS of each of the app's processes; keeps the sample with the largest sum of each."""

    def __init__(self, server: AppServer):
        super().__init__(daemon=True)
        self.server, self.samples = server, 0
        self.peak, self.peak_pss = {"total_mb": 0.0}, {"total_mb": 0.0}
        self._halt = threading.Event()

    def read(self, measure=rss_mb) -> dict:
        """The app's processes by `measure` (`rss_mb`, or `pss_mb`: shared pages counted once over the processes)."""
        pids = self.server.app_pids()
        parts = {
            "web": round(measure(pids["web"]), 1),
            "supervisor": round(measure(pids["supervisor"]), 1) if pids["supervisor"] else 0.0,
            "workers": [round(measure(p), 1) for p in pids["workers"]],
            "other": round(sum(measure(p) for p in pids["other"]), 1),
        }
        parts["total_mb"] = round(parts["web"] + parts["supervisor"] + sum(parts["workers"]) + parts["other"], 1)
        return parts

    def run(self) -> None:
        while not self._halt.wait(0.25):
            now, pss = self.read(), self.read(pss_mb)
            self.samples += 1
            if now["total_mb"] > self.peak["total_mb"]:
                self.peak = now
            if pss["total_mb"] > self.peak_pss["total_mb"]:
                self.peak_pss = pss

    def stop(self) -> dict:
        self._halt.set()
        self.join(5)
        return self.peak


def classify(browser, server: AppServer, picture: Path) -> tuple[object, dict]:
    """A learner on Classify: MobileNet 0.75 on the picture. Returns (the open context, what the page said)."""
    context = browser.new_context(viewport=VIEWPORT, base_url=server.url)
    context.set_default_timeout(300_000)
    page = context.new_page()
    page.goto("/classify")
    page.get_by_role("heading", name="Classify pictures", level=1).wait_for()
    main = page.get_by_test_id("stMain")
    box = main.get_by_role("combobox", name="Model", exact=True)
    if box.input_value() != "MobileNet (alpha 0.75)":
        box.click()
        page.keyboard.type("MobileNet (alpha 0.75)")
        page.keyboard.press("Enter")
    main.get_by_text(re.compile(r"^MobileNet \(alpha 0\.75\) ready \(loaded in")).wait_for()
    main.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(str(picture))
    main.get_by_test_id("stImageCaption").filter(has_text=re.compile(rf"^{re.escape(picture.name)}$")).wait_for()
    gradcam = main.get_by_test_id("stImageCaption").filter(has_text=re.compile(r"^Grad-CAM: \S"))
    gradcam.first.wait_for()
    idle(page)
    answer = gradcam.first.inner_text().removeprefix("Grad-CAM: ").strip()
    return context, {"top1": answer, "exceptions": page.get_by_test_id("stException").count()}


def two_trainings(browser, server: AppServer, spec, sampler: AppSampler) -> list[str]:
    """Two learners press Train at once; returns their final status lines (the sampler runs meanwhile)."""
    from core import saved_specs

    contexts, pages = [], []
    for _ in range(2):
        owner = "fp" + secrets.token_hex(5)
        saved_specs.remember(owner, spec)
        context = browser.new_context(viewport=VIEWPORT, base_url=server.url)
        context.set_default_timeout(600_000)
        page = context.new_page()
        page.goto(f"/train?u={owner}")
        button = page.get_by_test_id("stMain").get_by_role("button", name="Train", exact=True)
        wait_for(button.is_enabled, 240, "Train enabled", every=0.2)
        contexts.append(context)
        pages.append((page, button))
    try:
        for _, button in pages:
            button.click()
        return [page.wait_for_function(FINISHED_JS, polling=500).json_value() for page, _ in pages]
    finally:
        for context in contexts:
            context.close()


def whole_app(browser, server: AppServer, picture: Path, spec) -> dict:
    """(b): Classify loaded, then two trainings; the peak of the summed RSS while they run."""
    context, answer = classify(browser, server, picture)
    try:
        sampler = AppSampler(server)
        before, before_pss = sampler.read(), sampler.read(pss_mb)
        sampler.start()
        statuses = two_trainings(browser, server, spec, sampler)
        peak = sampler.stop()
    finally:
        context.close()
    return {
        "classify": answer,
        "before_trainings": before,
        "peak": peak,
        "before_trainings_pss": before_pss,
        "peak_pss": sampler.peak_pss,
        "statuses": statuses,
        "samples": sampler.samples,
        "web_tensorflow_after_classify": has_tensorflow(server.pid),
    }


# --------------------------------------------------------------------------- (c) workers over many trainings


def small_spec(run: int):
    """Run `run` (0-based) of (c): learners of 5 runs each, a layer width of their own, MLP and CNN alternating."""
    from core.spec import ExperimentSpec, LayerSpec

    spec = ExperimentSpec.default_for("digits")
    units = 32 + 16 * (run // 5)
    if run % 2:
        spec.layers = [
            LayerSpec.make("Conv2D", filters=16, kernel_size=3, activation="relu"),
            LayerSpec.make("MaxPooling2D", pool_size=2),
            LayerSpec.make("Flatten"),
            LayerSpec.make("Dense", units=units, activation="relu"),
        ]
    else:
        spec.layers = [
            LayerSpec.make("Flatten"),
            LayerSpec.make("Dense", units=units, activation="relu"),
            LayerSpec.make("Dropout", rate=0.2),
        ]
    spec.ensure_layer_names()
    spec.fit.epochs, spec.fit.batch_size = 3, 64
    return spec, "cnn" if run % 2 else "mlp"


def one_run(pool: Pool, run: int) -> dict:
    """Submit run `run`, sample the worker's RSS every 0.1 s until it settles; the row of the table."""
    from core import jobs

    spec, kind = small_spec(run)
    job_id = jobs.submit(spec, f"learner{run // 5}", watched=False)
    peak, pid = 0.0, None
    while (view := jobs.view(job_id)) is not None and not view.settled:
        if view.worker:
            pid = int(view.worker.rsplit(":", 1)[1])
            peak = max(peak, rss_mb(pid))
        time.sleep(0.1)
    time.sleep(0.5)  # the worker cleans up (clear_session, gc) after recording the job
    after = rss_mb(pid) if pid else 0.0
    sup = pool.supervisor_pid()
    return {
        "run": run + 1,
        "pid": pid,
        "model": kind,
        "seconds": round(view.finished - view.started, 2),
        "status": str(view.status),
        "rss_after_mb": round(after, 1),
        "peak_mb": round(max(peak, after), 1),
        "retired": after == 0.0,
        "workers_now": pool.worker_pids(),
        "supervisor_mb": round(rss_mb(sup), 1) if sup else 0.0,
    }


def recycling(tmp: Path, runs: int) -> dict:
    """(c): `runs` sequential trainings through a pool of one worker (default PLAYGROUND_WORKER_JOBS)."""
    saved = {k: os.environ.get(k) for k in ("PLAYGROUND_MAX_TRAININGS", "PLAYGROUND_WORKER_JOBS", "PLAYGROUND_OFFLINE")}
    os.environ.update(PLAYGROUND_MAX_TRAININGS="1", PLAYGROUND_OFFLINE="1")
    os.environ.pop("PLAYGROUND_WORKER_JOBS", None)  # the app's default: 25
    rows = []
    try:
        with Pool(tmp / "pool-home") as pool:  # started from here: its supervisor inherits this environment
            pool.wait_workers(1)
            warm = {"pid": pool.worker_pids()[0], "rss_mb": round(rss_mb(pool.worker_pids()[0]), 1)}
            for run in range(runs):
                rows.append(one_run(pool, run))
                r = rows[-1]
                print(
                    f"run {r['run']:>2} ({r['model']}): worker {r['pid']} RSS {r['rss_after_mb']:.0f} MB after "
                    f"(peak {r['peak_mb']:.0f}){' - retired after this job' if r['retired'] else ''}; {r['status']} in {r['seconds']} s"
                )
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return {"warm_worker": warm, "rows": rows}


# --------------------------------------------------------------------------- the run and the report


def browser_parts(a, tmp: Path) -> dict:
    """(a) and (b), on one server."""
    data_dir, weights_words = classify_data_dir(tmp)
    picture, picture_words = photo()
    with contextlib.ExitStack() as stack:
        # The server and all it starts inside a memory limit of the goal's size, as in a container, when this
        # machine lets us make one (root, cgroup v1); the browser is the learner's, outside it.
        memory = stack.enter_context(MemoryLimit(int(APP_GOAL_MB * 2**20))) if MemoryLimit.available() else None
        out = _on_one_server(a, tmp, data_dir, picture, memory)
        out["cgroup"] = memory.read() if memory else None
    return {**out, "weights": weights_words, "picture": picture_words}


def _on_one_server(a, tmp: Path, data_dir, picture: Path, memory) -> dict:
    from playwright.sync_api import sync_playwright

    with AppServer(tmp / "home", memory=memory, PLAYGROUND_DATA_DIR=data_dir) as server:
        server.open_pool()
        server.wait_workers(2)
        from core import datasets

        dataset = a.walk_dataset or ("mnist" if datasets.availability("mnist") == "local" else "digits")
        spec, train_words = trainer_spec(a.train_recipe, a.train_epochs)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                steps = walk(browser, server, dataset, a.walk_epochs)
                web = {"web_rss_mb": steps[-1]["web_rss_mb"], "web_tensorflow": has_tensorflow(server.pid), "steps": steps}
                print(
                    f"(a) web server RSS after Data, Model, Train, Runs: {web['web_rss_mb']:.0f} MB; TensorFlow in it: {web['web_tensorflow']}"
                )
                whole = whole_app(browser, server, picture, spec)
                print(
                    f"(b) whole app, peak while two train: PSS {whole['peak_pss']['total_mb']:.0f} MB {whole['peak_pss']}, "
                    f"RSS {whole['peak']['total_mb']:.0f} MB {whole['peak']}; Classify said {whole['classify']}"
                )
            finally:
                browser.close()
        errors = [
            e
            for e in server_log_errors(server.log_path) + server_log_errors(tmp / "home" / "logs" / "pool.log")
            if "WebSocketDisconnected" not in e
        ]
    return {**web, **whole, "dataset": dataset, "trainings": train_words, "log_errors": errors}


def results(out: dict, a) -> dict:
    result = {"benchmark": "footprint"}
    if "steps" in out:
        exceptions = sum(s.get("exceptions", 0) for s in out["steps"]) + out["classify"]["exceptions"]
        result.update(
            web_rss_mb=out["web_rss_mb"],
            web_goal_mb=WEB_GOAL_MB,
            web_meets_goal=out["web_rss_mb"] <= WEB_GOAL_MB,
            web_imported_tensorflow=out["web_tensorflow"],
            app_rss_mb=out["peak"]["total_mb"],
            app_pss_mb=out["peak_pss"]["total_mb"],
            app_goal_mb=round(APP_GOAL_MB),
            # A container's limit counts each page once (its cgroup), as the PSS summed over processes does; the RSS
            # sum counts TensorFlow's libraries once in every process that maps them.
            app_meets_goal=out["peak_pss"]["total_mb"] < APP_GOAL_MB and not (out["cgroup"] or {}).get("oom_kills"),
            app_rss_sum_meets_goal=out["peak"]["total_mb"] < APP_GOAL_MB,
            app_peak_parts=out["peak"],
            app_peak_pss_parts=out["peak_pss"],
            app_cgroup=out["cgroup"],
            classify_top1=out["classify"]["top1"],
            trainings=out["statuses"],
            page_exceptions=exceptions,
            log_errors=out["log_errors"],
        )
    if "recycling" in out:
        rows = out["recycling"]["rows"]
        pids = list(dict.fromkeys(r["pid"] for r in rows))
        first = [r for r in rows if r["pid"] == pids[0]]  # the worker's last job is the one before a new pid shows up
        result.update(
            worker_rss_first=rows[0]["rss_after_mb"],
            worker_rss_last=rows[-1]["rss_after_mb"],
            worker_rss_before_recycle=max(r["peak_mb"] for r in first),
            worker_pids=pids,
            recycled_after_run=first[-1]["run"] if len(pids) > 1 else None,
            runs_not_finished=[r["run"] for r in rows if r["status"] != "finished"],
        )
    result.update(load_avg_before=out["load_before"], load_avg_after=out["load_after"])
    return result


def _mb(v) -> str:
    return "-" if v is None else f"{v:,.0f}"


def _cells(out: dict, part: str, worker: int | None = None) -> str:
    """One row of (b)'s table: RSS and PSS before the trainings, RSS and PSS at their peaks."""
    cells = []
    for key in ("before_trainings", "before_trainings_pss", "peak", "peak_pss"):
        value = out[key][part]
        if worker is not None:
            value = value[worker] if worker < len(value) else None
        cells.append(_mb(value))
    return " | ".join(cells) + " |"


def _cgroup_lines(cgroup: dict | None) -> list[str]:
    if cgroup is None:
        return ["No memory limit here (no writable cgroup v1 memory controller): the PSS sum is the measure.", ""]
    return [
        f"**The same run inside a memory limit of {_mb(cgroup['limit_mb'])} MB** (a cgroup v1 memory group, as a "
        "container's, holding the server and all it started from its start to its end, (a) and (b); the page cache "
        f"dropped before, so the libraries the app reads are charged to it): its peak usage **{_mb(cgroup['peak_mb'])} MB**, page cache included; the kernel "
        f"reclaimed to stay under the limit {cgroup['hit_limit']} times; processes killed for memory: "
        f"**{cgroup['oom_kills']}**.",
        "",
    ]


def docs_browser(out: dict, result: dict, a) -> list[str]:
    peak, pss = out["peak"], out["peak_pss"]
    lines = [
        f"**(a) Web server** (the `streamlit` process alone) while one learner walks Data ({out['dataset']}), Model, Train "
        f"({a.walk_epochs} epochs to the results) and Runs; nobody on Classify:",
        "",
        "| after | web server RSS (MB) |",
        "|---|---:|",
        *[f"| {s['step']} | {_mb(s['web_rss_mb'])} |" for s in out["steps"]],
        "",
        f"**Web server RSS: {_mb(result['web_rss_mb'])} MB** - goal <= {WEB_GOAL_MB} MB: **{'meets' if result['web_meets_goal'] else 'misses'}**. "
        f"TensorFlow's libraries mapped into the web process (/proc/PID/maps): **{'yes' if result['web_imported_tensorflow'] else 'no'}**.",
        "",
        f"**(b) Whole app** with one Classify model loaded ({out['weights']}; picture {out['picture']}: the page says "
        f"`{out['classify']['top1']}`) while two learners train ({out['trainings']}); sampled every 0.25 s "
        f"({out['samples']} samples) from the two learners opening Train to both finished. RSS counts a shared page in "
        "every process that maps it; PSS (/proc/PID/smaps_rollup) divides it among them, so the PSS summed over the "
        "processes is the memory they hold together, each page once, as a container's memory limit (its cgroup) "
        "counts it. What they share is mostly TensorFlow's libraries, mapped by every worker and by the web server "
        "once Classify has run:",
        "",
        "| process | before the trainings: RSS (MB) | PSS (MB) | at the peak: RSS (MB) | PSS (MB) |",
        "|---|---:|---:|---:|---:|",
        f"| web server (TensorFlow loaded for Classify: {'yes' if out['web_tensorflow_after_classify'] else 'no'}) | "
        + _cells(out, "web"),
        "| pool supervisor | " + _cells(out, "supervisor"),
        *[f"| worker {i + 1} | " + _cells(out, "workers", i) for i in range(max(len(peak["workers"]), len(pss["workers"])))],
        "| other (multiprocessing's resource tracker) | " + _cells(out, "other"),
        "| **total** | " + _cells(out, "total_mb"),
        "",
        f"**Whole app at its peak: {_mb(result['app_pss_mb'])} MB** (PSS summed; RSS summed: {_mb(result['app_rss_mb'])} MB) "
        f"- goal < 2.7 GB = {result['app_goal_mb']:,} MB (MiB; read as 2.7 GiB: {2.7 * 1024:,.0f} MB): "
        f"**{'meets' if result['app_meets_goal'] else 'misses'}** (the RSS sum "
        f"{'meets it too' if result['app_rss_sum_meets_goal'] else 'would miss it'}). The peaks of the two sums are "
        f"each their own sample. The trainings ended: {'; '.join(out['statuses'])}. "
        f"Page exceptions: {result['page_exceptions']}; errors in the logs: {len(result['log_errors'])}.",
        "",
        *_cgroup_lines(out["cgroup"]),
    ]
    return lines


def docs_recycling(out: dict, result: dict) -> list[str]:
    rec = out["recycling"]
    lines = [
        f"**(c) Workers over {len(rec['rows'])} sequential trainings** (a pool of its own: `PLAYGROUND_MAX_TRAININGS=1`, the "
        "default `PLAYGROUND_WORKER_JOBS=25`; digits, MLP and CNN alternating, 3 epochs, batch 64). The warm worker "
        f"before any job: {_mb(rec['warm_worker']['rss_mb'])} MB (pid {rec['warm_worker']['pid']}).",
        "",
        "| run | model | worker pid | s | worker RSS after the run (MB) | its peak during the run (MB) | supervisor (MB) |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    previous = rec["rows"][0]["pid"]
    for r in rec["rows"]:
        after = "(process gone: it retired)" if r["retired"] else _mb(r["rss_after_mb"])
        fresh, previous = r["pid"] != previous, r["pid"]
        lines.append(
            f"| {r['run']} | {r['model']} | {r['pid']}{' (a fresh worker)' if fresh else ''} | {r['seconds']} | {after} | {_mb(r['peak_mb'])} | {_mb(r['supervisor_mb'])} |"
        )
    lines += [
        "",
        f"First worker: {_mb(result['worker_rss_first'])} MB after run 1, up to {_mb(result['worker_rss_before_recycle'])} MB "
        f"before it retired after run {result['recycled_after_run']}; its successor {_mb(result['worker_rss_last'])} MB after "
        f"run {len(rec['rows'])}. Runs not finished: {result['runs_not_finished'] or 'none'}.",
        "",
    ]
    return lines


def docs_section(out: dict, result: dict, a, argv: list[str]) -> str:
    lines = [
        SECTION,
        "",
        "RSS = VmRSS from /proc/PID/status; MB = 2^20 bytes. One `streamlit run app.py` (a throw-away `PLAYGROUND_HOME`, "
        "`PLAYGROUND_OFFLINE=1`, the default 2 warm training workers) and Debian's chromium for (a) and (b); a pool of its "
        "own, driven from the benchmark through the run store, for (c).",
        "",
        f"- Command: `python bench/footprint.py{' ' + ' '.join(argv) if argv else ''}`",
        f"- Date: {machine_line()}; {data_dir_words()}",
        f"- Machine load (1/5/15-min load average): before {' / '.join(map(str, out['load_before']))}, after "
        f"{' / '.join(map(str, out['load_after']))} (another agent shares these 2 cores)",
        "",
    ]
    if "steps" in out:
        lines += docs_browser(out, result, a)
    if "recycling" in out:
        lines += docs_recycling(out, result)
    short = {k: v for k, v in result.items() if k not in ("app_peak_parts", "app_peak_pss_parts")}
    lines += ["Last line of the output:", "", "```json", json.dumps(short), "```"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--walk-epochs", type=int, default=2, help="epochs of (a)'s training")
    p.add_argument("--walk-dataset", default=None, help="(a)'s dataset (default: mnist when here, else digits)")
    p.add_argument("--train-recipe", default="small-cnn", help="what (b)'s two learners train (with MNIST)")
    p.add_argument("--train-epochs", type=int, default=1)
    p.add_argument("--runs", type=int, default=30, help="(c): sequential trainings through the pool")
    p.add_argument("--skip-browser", action="store_true", help="only (c)")
    p.add_argument("--skip-recycling", action="store_true", help="only (a) and (b)")
    p.add_argument("--no-write-docs", dest="write_docs", action="store_false")
    p.add_argument("--docs", type=Path, default=DOCS)
    argv = list(sys.argv[1:] if argv is None else argv)
    a = p.parse_args(argv)
    out = {"load_before": load_avg()}
    print(f"load average before: {out['load_before']}")
    tmp = Path(tempfile.mkdtemp(prefix="playground-footprint-"))
    try:
        if not a.skip_browser:
            out.update(browser_parts(a, tmp))
        if not a.skip_recycling:
            out["recycling"] = recycling(tmp, a.runs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out["load_after"] = load_avg()
    result = results(out, a)
    print(f"load average after: {out['load_after']}")
    if a.write_docs:
        write_section(a.docs, SECTION, docs_section(out, result, a, argv))
    print(json.dumps(result))
    bad = (
        result.get("web_imported_tensorflow")
        or result.get("page_exceptions")
        or result.get("log_errors")
        or result.get("runs_not_finished")
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

"""Memory over 30 sequential trainings: models and features of old runs and closed sessions are freed.

    .venv/bin/python bench/memory.py                    # 30 runs, digits MLP and a small CNN, 3 epochs
    .venv/bin/python bench/memory.py --runs 60 --epochs 2 --tracemalloc

A workshop in one process, through the engine the pages use: one `JobRegistry` (runs recorded
in a throw-away `PLAYGROUND_HOME`, default limits: 3 finished jobs kept per session; orphan grace
0, since this packs a workshop into a minute), a fake liveness function standing in for
Streamlit's `is_active_session`. The baseline (`--no-baseline` skips it): the same runs as plain
`model.fit` calls in a fresh process, i.e. what Keras alone keeps. Learners come in pairs; a
pair's two learners take turns (one run at a time, like sequential clicks), each trains 5 runs
on the built-in digits, alternating a small MLP and a small CNN, each learner with its own layer
width (so the spec caches see distinct specs), and then both close their tabs (liveness False)
and the next pair arrives. Before each run the script does what the Train page does: the
preflight estimate (cached model summary and one timed batch), the start check, then
`registry.submit`.

After each run (and `gc.collect()`) it records the process RSS, the jobs that still hold a model,
the live `keras.Model` objects, and the sizes of the app's caches (datasets, summaries,
timed batches, transfer features). Goal: after warm-up (`--warmup`, run 5) RSS grows by at most
100 MB up to the last run. With `--tracemalloc` it also traces Python allocations from the
warm-up on and lists where the growth is; a `malloc_trim(0)` at the end shows how much of the RSS is
memory the C allocator holds but no object uses.

The last line printed is one JSON object; `docs/benchmarks.md` gets the section
"## Memory over 30 trainings (bench/memory.py)".
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import datetime as _dt
import gc
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# A throw-away app home before anything of the app is imported: the run store and model files go there.
_HOME = Path(tempfile.mkdtemp(prefix="playground-memory-"))
os.environ["PLAYGROUND_HOME"] = str(_HOME)
os.environ["PLAYGROUND_OFFLINE"] = "1"

from bench._docs import DOCS, write_section  # noqa: E402

SECTION = "## Memory over 30 trainings (bench/memory.py)"
GOAL_MB = 100.0
RUNS_PER_LEARNER = 5


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def malloc_trim() -> bool:
    """Give the C allocator's free memory back to the OS (glibc); False where unavailable."""
    try:
        return bool(ctypes.CDLL("libc.so.6").malloc_trim(0))
    except (OSError, AttributeError):
        return False


def other_load() -> list[str]:
    """Other benchmark and test processes running on this machine (they share the CPU with us)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            nice = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[16])
        except (OSError, ValueError, IndexError):
            continue
        m = re.search(r"(bench/\w+\.py|pytest\b.*|-m pytest\b.*|test\.sh|streamlit run)", cmd)
        if m and "bench/memory.py" not in cmd:
            found.append(f"{m.group(1)[:60].strip()} (nice {nice})")
    return sorted(set(found))


def make_spec(model: str, learner: int, epochs: int):
    """Digits with a small MLP or a small CNN; the width depends on the learner (distinct specs)."""
    from core.spec import ExperimentSpec, LayerSpec

    spec = ExperimentSpec.default_for("digits")
    width = 64 + 16 * learner
    if model == "mlp":
        spec.layers = [LayerSpec.make("Flatten"), LayerSpec.make("Dense", units=width, activation="relu"),
                       LayerSpec.make("Dropout", rate=0.2)]
    else:
        spec.layers = [LayerSpec.make("Conv2D", filters=16, kernel_size=3, padding="same", activation="relu"),
                       LayerSpec.make("MaxPooling2D", pool_size=2), LayerSpec.make("Flatten"),
                       LayerSpec.make("Dense", units=width, activation="relu")]
    spec.ensure_layer_names()
    spec.fit.epochs = epochs
    spec.fit.batch_size = 64
    return spec


def cache_sizes() -> dict[str, int]:
    """Entries in the app's process-wide caches."""
    from core import builder, datasets, preflight, transfer

    return {
        "datasets": datasets._load_full.cache_info().currsize,
        "uploads": len(datasets._UPLOAD_CACHE),
        "summaries": builder._summarize_json.cache_info().currsize,
        "timed_batches": preflight._batch_seconds.cache_info().currsize,
        "features": len(transfer._FEATURES),
    }


def live_models() -> int:
    import keras

    return sum(1 for o in gc.get_objects() if isinstance(o, keras.Model))


def type_counts() -> collections.Counter:
    """Live (gc-tracked) objects per type, e.g. `keras.Dense`."""
    def name(t: type) -> str:
        module = t.__dict__.get("__module__") if isinstance(t.__dict__.get("__module__"), str) else getattr(type(t), "__module__", "?")
        return f"{str(module).split('.')[0]}.{getattr(t, '__qualname__', t.__name__)}"

    return collections.Counter(name(type(o)) for o in gc.get_objects())


def bare_keras(runs: int, epochs: int, warmup: int) -> dict:
    """The same runs as plain `model.fit` calls in this (fresh) process: what Keras alone keeps."""
    import keras  # noqa: F401 - imported before the first RSS reading, as in the engine arm

    from core import datasets
    from core.builder import build_model, targets

    rss = []
    for i in range(runs):
        block, turn = divmod(i, 2 * RUNS_PER_LEARNER)
        learner, nth = 2 * block + turn % 2, turn // 2
        spec = make_spec("mlp" if nth % 2 == 0 else "cnn", learner, epochs)
        data = datasets.load(spec.data, None)
        built = build_model(spec, data)
        y_train = targets(data.y_train, built.plan, data.n_classes)
        y_test = targets(data.y_test, built.plan, data.n_classes)
        built.model.fit(data.x_train, y_train, epochs=epochs, batch_size=spec.fit.batch_size,
                        validation_data=(data.x_test, y_test), verbose=0)
        built.model.evaluate(data.x_test, y_test, verbose=0)
        del built
        gc.collect()
        rss.append(round(rss_mb(), 1))
    return {"rss_mb": rss, "growth_mb": round(rss[-1] - rss[min(warmup, runs) - 1], 1)}


def run_bare_arm(runs: int, epochs: int, warmup: int) -> dict | None:
    """`bare_keras` in a fresh interpreter (its own TensorFlow), so neither arm sees the other's memory."""
    import subprocess

    try:
        done = subprocess.run([sys.executable, __file__, "--bare-arm", "--runs", str(runs), "--epochs", str(epochs),
                               "--warmup", str(warmup)], capture_output=True, text=True, cwd=ROOT, timeout=1800)
        return json.loads(done.stdout.strip().splitlines()[-1])
    except subprocess.TimeoutExpired:
        print("the bare-Keras arm took over 30 minutes: left out")
    except (IndexError, ValueError):
        print(f"the bare-Keras arm failed:\n{done.stderr[-2000:]}")
    return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--warmup", type=int, default=5, help="the run after which RSS is the baseline")
    p.add_argument("--tracemalloc", action="store_true", help="trace Python allocations from the warm-up on (slower)")
    p.add_argument("--no-baseline", dest="baseline", action="store_false",
                   help="skip the bare-Keras arm (the same runs as plain model.fit calls in a fresh process)")
    p.add_argument("--bare-arm", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--no-write-docs", dest="write_docs", action="store_false")
    p.add_argument("--docs", type=Path, default=DOCS)
    argv = list(sys.argv[1:] if argv is None else argv)
    a = p.parse_args(argv)
    a.warmup = max(1, min(a.warmup, a.runs))
    if a.bare_arm:
        print(json.dumps(bare_keras(a.runs, a.epochs, a.warmup)))
        return 0

    others = other_load()
    load_before = os.getloadavg()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in load_before)}" + (f"; also running: {', '.join(others)}" if others else ""))
    rss_start = rss_mb()

    import keras
    import tensorflow as tf

    from core import preflight
    from core.training import JobRegistry, warm_imports

    warm_imports()
    rss_imported = rss_mb()
    alive: dict[str, bool] = {}
    # orphan_grace 0: this script packs a workshop into a minute; the server waits PLAYGROUND_ORPHAN_GRACE (30 s).
    registry = JobRegistry(liveness=lambda sid: alive.get(sid, False), record_runs=True, orphan_grace=0)
    print(f"PLAYGROUND_HOME={_HOME}; {registry.max_concurrent} training slots, {registry.keep_per_owner} finished jobs "
          f"kept per session; RSS {rss_start:.0f} MB at start, {rss_imported:.0f} MB with TensorFlow imported")

    rows = []
    base_types = None
    tracing = False
    t_start = time.monotonic()
    for i in range(a.runs):
        block, turn = divmod(i, 2 * RUNS_PER_LEARNER)
        learner = 2 * block + turn % 2
        nth = turn // 2  # this learner's 0-based run
        model = "mlp" if nth % 2 == 0 else "cnn"
        owner, session = f"learner{learner}", f"session{learner}"
        alive.setdefault(session, True)
        spec = make_spec(model, learner, a.epochs)

        started = time.monotonic()
        preflight.estimate(spec, owner)  # the Train page's estimate, before the button
        preflight.check(spec, owner)  # state.start_job
        job = registry.submit(spec, owner, session)
        registry.attach(job, session)  # the Train page shows it
        if not job.done.wait(600):
            raise RuntimeError(f"run {i + 1} did not finish in 600 s")
        seconds = time.monotonic() - started
        status = job.snapshot().status
        if nth == RUNS_PER_LEARNER - 1:
            alive[session] = False  # the learner closes the tab after their last run

        gc.collect()
        with registry._lock:
            jobs = list(registry._jobs.values())
        row = {
            "run": i + 1, "learner": learner, "model": model, "status": status, "seconds": round(seconds, 1),
            "rss_mb": round(rss_mb(), 1), "models_held": sum(j.model is not None for j in jobs),
            "jobs": len(jobs), "live_keras_models": live_models(), **cache_sizes(),
        }
        rows.append(row)
        print(f"run {row['run']:2d}: learner {learner} {model} {status:8s} {seconds:5.1f} s | RSS {row['rss_mb']:7.1f} MB | "
              f"models held {row['models_held']}, live keras.Model {row['live_keras_models']}, jobs {row['jobs']} | "
              f"caches {cache_sizes()}" + ("  (closed the tab)" if not alive[session] else ""))
        if i + 1 == a.warmup:
            base_types = type_counts()
            if a.tracemalloc:
                import tracemalloc

                tracemalloc.start(12)
                trace_base = tracemalloc.take_snapshot()
                tracing = True

    wall = time.monotonic() - t_start
    bare = run_bare_arm(a.runs, a.epochs, a.warmup) if a.baseline else None
    if bare:
        print(f"bare Keras, same runs in a fresh process: RSS after run {a.warmup} {bare['rss_mb'][a.warmup - 1]:.0f} MB, "
              f"after run {a.runs} {bare['rss_mb'][-1]:.0f} MB, growth {bare['growth_mb']:+.0f} MB")
    # What the reaper does every 2 s while trainings run: free the models of closed tabs.
    freed = registry.release_abandoned()
    gc.collect()
    with registry._lock:
        jobs = list(registry._jobs.values())
    end = {"rss_mb": round(rss_mb(), 1), "models_held": sum(j.model is not None for j in jobs),
           "live_keras_models": live_models(), "freed_by_release_abandoned": freed}
    growth_types = []
    if base_types is not None:
        diff = type_counts()
        diff.subtract(base_types)
        growth_types = [(k, v) for k, v in diff.most_common(12) if v > 0]
    top_allocs = []
    if tracing:
        import tracemalloc

        snap = tracemalloc.take_snapshot()
        tracemalloc.stop()
        for stat in snap.compare_to(trace_base, "traceback")[:8]:
            frames = [f"{Path(f.filename).as_posix().split('site-packages/')[-1].replace(str(ROOT) + '/', '')}:{f.lineno}"
                      for f in stat.traceback[-4:]]
            top_allocs.append({"kib": round(stat.size_diff / 1024, 1), "count": stat.count_diff, "where": " <- ".join(reversed(frames))})
    trimmed = malloc_trim()
    end["rss_after_malloc_trim_mb"] = round(rss_mb(), 1) if trimmed else None
    load_after = os.getloadavg()

    warm = rows[min(a.warmup, len(rows)) - 1]
    last = rows[-1]
    peak = max(r["rss_mb"] for r in rows)
    growth = last["rss_mb"] - warm["rss_mb"]
    failed = [r["run"] for r in rows if r["status"] != "finished"]
    print(f"RSS after run {warm['run']} (warm-up): {warm['rss_mb']:.0f} MB; after run {last['run']}: {last['rss_mb']:.0f} MB; "
          f"growth {growth:+.0f} MB (goal <= {GOAL_MB:.0f}); peak {peak:.0f} MB")
    print(f"end: {end}; wall {wall:.0f} s; load average after: {' '.join(f'{x:.2f}' for x in load_after)}")
    if growth_types:
        print("object types that grew since the warm-up: " + ", ".join(f"{k} +{v}" for k, v in growth_types))
    for t in top_allocs:
        print(f"  +{t['kib']:.0f} KiB ({t['count']:+d} blocks) {t['where']}")

    result = {
        "runs": len(rows), "epochs": a.epochs, "warmup_run": warm["run"],
        "rss_warmup_mb": warm["rss_mb"], "rss_end_mb": last["rss_mb"], "growth_mb": round(growth, 1),
        "peak_rss_mb": round(peak, 1), "goal_mb": GOAL_MB, "ok": growth <= GOAL_MB and not failed,
        "models_held_end": end["models_held"], "models_held_max": max(r["models_held"] for r in rows),
        "live_keras_models_end": end["live_keras_models"], "rss_after_malloc_trim_mb": end["rss_after_malloc_trim_mb"],
        "failed_runs": failed, "caches_end": cache_sizes(), "wall_s": round(wall, 1),
        "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in load_after],
        "bare_keras_growth_mb": bare["growth_mb"] if bare else None,
    }

    if a.write_docs:
        # Growth per run between warm-up and the end (least squares), to tell a slow leak from noise.
        xs = [r["run"] for r in rows if r["run"] >= warm["run"]]
        ys = [r["rss_mb"] for r in rows if r["run"] >= warm["run"]]
        slope = 0.0
        if len(xs) > 1:
            mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
            slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
        result["slope_mb_per_run"] = round(slope, 2)
        lines = [
            SECTION, "",
            f"{len(rows)} sequential trainings in one process through the engine the pages use (`JobRegistry`, runs recorded "
            f"in a throw-away `PLAYGROUND_HOME`, {registry.keep_per_owner} finished jobs kept per session, a fake liveness "
            f"function for Streamlit's session check). Learners come in pairs and take turns; each trains "
            f"{RUNS_PER_LEARNER} runs on the built-in digits, alternating a small MLP (Flatten - Dense - Dropout) and a small "
            f"CNN (Conv2D(16) - MaxPooling2D - Flatten - Dense), {a.epochs} epochs, batch 64, a layer width of its own; after "
            "their last run both close their tabs and the next pair comes. Before each run: the Train page's preflight "
            "estimate and start check. RSS is read after `gc.collect()`.",
            "",
            f"- Command: `{' '.join(['python bench/memory.py'] + argv)}`",
            f"- Date: {_dt.datetime.now().strftime('%Y-%m-%d %H:%M')}; {os.cpu_count()} CPU cores, no GPU, Python "
            f"{platform.python_version()}, TensorFlow {tf.__version__}, Keras {keras.__version__}",
            f"- Machine load (1/5/15-min load average): before {' / '.join(f'{x:.2f}' for x in load_before)}, after "
            f"{' / '.join(f'{x:.2f}' for x in load_after)}" + (f"; also running: {', '.join(others)}" if others else ""),
            f"- Wall time {wall:.0f} s; RSS {rss_start:.0f} MB at start, {rss_imported:.0f} MB with TensorFlow imported",
            "",
            "| result | value |", "|---|---:|",
            f"| RSS after run {warm['run']} (warm-up) | {warm['rss_mb']:.0f} MB |",
            f"| RSS after run {last['run']} | {last['rss_mb']:.0f} MB |",
            f"| **growth after warm-up** (goal <= {GOAL_MB:.0f} MB) | **{growth:+.0f} MB** ({'met' if growth <= GOAL_MB else 'NOT met'}) |",
            f"| trend after warm-up (least squares) | {slope:+.2f} MB per run |",
            f"| peak RSS | {peak:.0f} MB |",
            *([f"| bare Keras, the same runs as plain `model.fit` calls in a fresh process: growth after warm-up | "
               f"{bare['growth_mb']:+.0f} MB ({bare['rss_mb'][a.warmup - 1]:.0f} -> {bare['rss_mb'][-1]:.0f} MB) |"] if bare else []),
            f"| models held: most at once / at the end (after `release_abandoned`) | {result['models_held_max']} / {end['models_held']} |",
            f"| live `keras.Model` objects at the end | {end['live_keras_models']} |",
            f"| RSS after `malloc_trim(0)` at the end | {end['rss_after_malloc_trim_mb'] if trimmed else '-'} MB |",
            f"| runs not finished | {', '.join(map(str, failed)) or 'none'} |",
            f"| app caches at the end (entries) | {', '.join(f'{k} {v}' for k, v in cache_sizes().items())} |",
            "",
            "| run | learner | model | s | RSS MB | models held | live keras.Model | summaries cached | bare Keras RSS MB |",
            "|---:|---:|---|---:|---:|---:|---:|---:|---:|",
        ]
        for n, r in enumerate(rows):
            lines.append(f"| {r['run']} | {r['learner']} | {r['model']} | {r['seconds']:.1f} | {r['rss_mb']:.0f} | "
                         f"{r['models_held']} | {r['live_keras_models']} | {r['summaries']} | "
                         + (f"{bare['rss_mb'][n]:.0f} |" if bare else "- |"))
        if growth_types:
            lines += ["", "Python object types that grew between the warm-up and the end: "
                      + ", ".join(f"`{k}` +{v}" for k, v in growth_types) + "."]
        if top_allocs:
            lines += ["", "Largest growth of traced Python allocations since the warm-up (tracemalloc):", ""]
            lines += [f"- +{t['kib']:.0f} KiB ({t['count']:+d} blocks): `{t['where']}`" for t in top_allocs]
        write_section(a.docs, SECTION, "\n".join(lines))

    shutil.rmtree(_HOME, ignore_errors=True)
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

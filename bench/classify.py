"""Classify latency: our zoo path (`LoadedZooModel.classify`) vs a bare `model.predict_on_batch`, and the cold load.

    .venv/bin/python bench/classify.py                       # MobileNet 0.75 on banana.jpg, 200 pairs
    .venv/bin/python bench/classify.py --model mobilenet_0.25 --pairs 500 --cold-runs 5

Three questions about the Classify page's engine, one model and one picture:

1. **Warm overhead of our path.** The same loaded model (`core.pretrained.load(--model)`), the
   same picture, already resized to the model's input as the page does it
   (`classify_picture`: nearest-neighbour, as `keras.utils.load_img(target_size=...)`):

   * **ours**: `loaded.classify(image, top=5)`: `preprocess_input` on a float32 copy,
     `predict_on_batch` under the model's lock, `decode_predictions` with the shipped class
     index, the top-k rows. What the page calls for every picture (minus drawing).
   * **bare**: `loaded.model.predict_on_batch(x)` on the already preprocessed batch `x`
     (`loaded.prepare(image)`, computed once): the least any Keras code can do per picture.

   Each arm is warmed (`--warmup` calls each), then `--pairs` pairs are timed with
   `time.perf_counter()` around the single call, alternating which arm goes first. The
   result is the median over pairs of ours/bare (goal <= 1.10), with a bootstrap 90 %
   interval, next to the arms' medians and percentiles. Our path's parts (`prepare`,
   `decode`) are timed on their own afterwards to show where any difference goes.
2. **Why `predict_on_batch`.** `model.predict(x, verbose=0)` on the same batch of one,
   interleaved with `predict_on_batch` for `--predict-pairs` pairs: `predict` builds a data
   adapter, an iterator and callbacks on every call, which costs more than the network itself
   on a small model.
3. **Cold load.** `--cold-runs` fresh Python processes, one after another, each doing
   `from core import pretrained; pretrained.load(--model)` and nothing else: the subprocess's
   wall time as seen from here (interpreter start, imports, TensorFlow/Keras import, building the
   network, reading the weights, the warm-up prediction that traces the graph) and the
   `load_seconds` the model reports (what the page shows as "loaded in ... s"; it starts after
   the weights file is found, so it includes the TensorFlow import when Keras was not imported
   yet, as in a fresh server). The first run may also pay for a cold disk cache; the median is
   reported.

Weights: `PLAYGROUND_DATA_DIR` (default `../shared/data/keras_home` when it exists, as
bench/recipes.py does), then the Keras cache; never downloaded. Without them the script
fabricates random weights for the same architecture (timing only: the top classes then mean
nothing) and says so. With the real MobileNet 0.75 weights, banana.jpg must come out `banana`.

The machine is shared: the other processes' CPU load during the pairs and the load average
are reported; on 2 cores a busy neighbour makes every arm slower and noisier, and the
interleaving keeps the ratio fair.

The last line printed is one JSON object (`ratio` = median ours/bare, `cold_load_seconds` =
median subprocess wall time); docs/benchmarks.md gets the section
"## Classify (bench/classify.py)".
"""

from __future__ import annotations

import argparse
import atexit
import datetime as _dt
import json
import os
import platform
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "keras_home"
DEFAULT_IMAGE = ROOT.parent / "shared" / "data" / "photos" / "banana.jpg"
if not os.environ.get("PLAYGROUND_DATA_DIR") and DEFAULT_DATA.exists():
    os.environ["PLAYGROUND_DATA_DIR"] = str(DEFAULT_DATA)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PLAYGROUND_OFFLINE", "1")  # never download in the middle of a benchmark

from bench._docs import DOCS, write_section  # noqa: E402

GOAL = 1.10
SECTION = "## Classify (bench/classify.py)"
EXPECTED = {("mobilenet_0.75", "banana.jpg"): "banana"}  # with the real ImageNet weights

# What one cold process does; prints one JSON line. Timed from outside as a whole, and inside.
COLD_SCRIPT = r"""
import json, sys, time
started = time.perf_counter()
sys.path.insert(0, sys.argv[1])
from core import pretrained
before = "tensorflow" in sys.modules
t0 = time.perf_counter()
loaded = pretrained.load(sys.argv[2])
t1 = time.perf_counter()
print(json.dumps({"load_seconds": loaded.load_seconds, "load_call_seconds": t1 - t0,
                  "in_process_seconds": t1 - started, "tensorflow_imported_before": before}))
"""


# --------------------------------------------------------------------------- machine load


class OtherLoad:
    """CPU used by other processes (in cores) while the block ran, from /proc/stat minus our own CPU time."""

    _TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    @classmethod
    def _read(cls):
        try:
            with open("/proc/stat") as f:
                v = [int(x) for x in f.readline().split()[1:]]
        except OSError:
            return None
        t = os.times()
        own = t.user + t.system + t.children_user + t.children_system
        return (v[0] + v[1] + v[2] + v[5] + v[6]) / cls._TICK, own, time.perf_counter()

    def __enter__(self):
        self._start = self._read()
        self.cores = None
        return self

    def __exit__(self, *exc):
        end = self._read()
        if self._start and end:
            wall = max(end[2] - self._start[2], 1e-9)
            self.cores = max(0.0, (end[0] - self._start[0]) - (end[1] - self._start[1])) / wall
        return False


# --------------------------------------------------------------------------- statistics


def quantile(values: list[float], q: float) -> float:
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def summary(values: list[float]) -> dict:
    """Milliseconds: median, p10, p90, min."""
    return {
        "median_ms": round(statistics.median(values) * 1000, 3),
        "p10_ms": round(quantile(values, 0.1) * 1000, 3),
        "p90_ms": round(quantile(values, 0.9) * 1000, 3),
        "min_ms": round(min(values) * 1000, 3),
    }


def bootstrap_ci(values: list[float], level: float = 0.90, resamples: int = 4000) -> tuple[float, float]:
    """Percentile bootstrap interval of the median (fixed seed: the same data give the same interval)."""
    rng = random.Random(0)
    n = len(values)
    medians = sorted(statistics.median(rng.choices(values, k=n)) for _ in range(resamples))
    cut = int(resamples * (1 - level) / 2)
    return medians[cut], medians[-cut - 1]


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def interleaved(first, second, pairs: int) -> tuple[list[float], list[float]]:
    """Time `pairs` pairs of single calls, alternating which of the two goes first."""
    a, b = [], []
    for i in range(pairs):
        if i % 2 == 0:
            a.append(timed(first))
            b.append(timed(second))
        else:
            b.append(timed(second))
            a.append(timed(first))
    return a, b


# --------------------------------------------------------------------------- weights


def ensure_weights(key: str) -> tuple[str, str | None]:
    """('imagenet', path) when the model's weights are on disk; otherwise fabricate random ones ('random', path).

    Random weights go into a throw-away folder set as PLAYGROUND_DATA_DIR (removed at exit),
    under Keras's own file name, so `pretrained.load` follows exactly the same path.
    """
    from core import pretrained

    m = pretrained.get(key)
    found = pretrained.find_weights(m)
    if found is not None:
        return "imagenet", str(found)
    folder = Path(tempfile.mkdtemp(prefix="playground-bench-weights-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "models" / pretrained.weights_file(m)
    path.parent.mkdir(parents=True)
    print(f"{m.file} not found: fabricating random weights for timing only ({path})", flush=True)
    import h5py
    from keras.src.legacy.saving import legacy_h5_format  # the applications' files are legacy HDF5 weights

    model = pretrained.build(m, include_top=True, weights=None)
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    os.environ["PLAYGROUND_DATA_DIR"] = str(folder)
    return "random", str(path)


def cold_loads(key: str, runs: int) -> list[dict]:
    """`pretrained.load(key)` in `runs` fresh processes, one at a time."""
    python = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
    out = []
    for i in range(runs):
        with OtherLoad() as busy:
            started = time.perf_counter()
            proc = subprocess.run(
                [python, "-c", COLD_SCRIPT, str(ROOT), key],
                cwd=ROOT,
                env=dict(os.environ),
                capture_output=True,
                text=True,
                timeout=600,
            )
            wall = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(f"cold load {i + 1} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        r.update(wall_seconds=wall, other_load_cores=busy.cores or 0.0)
        out.append(r)
        print(
            f"cold load {i + 1}/{runs}: subprocess wall {wall:.2f} s, in-process {r['in_process_seconds']:.2f} s, "
            f"load_seconds {r['load_seconds']:.2f} s, other load {r['other_load_cores']:.2f} cores",
            flush=True,
        )
    return out


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:  # noqa: C901 -- one measurement told top to bottom, like a keras-io example
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", default="mobilenet_0.75", help="a key of core.pretrained.ZOO")
    p.add_argument("--image", type=Path, default=DEFAULT_IMAGE, help="the picture (default: the bundled sample if missing)")
    p.add_argument("--pairs", type=int, default=200, help="timed ours/bare pairs")
    p.add_argument("--warmup", type=int, default=10, help="untimed calls of each arm first")
    p.add_argument("--predict-pairs", type=int, default=30, help="timed predict/predict_on_batch pairs")
    p.add_argument("--parts", type=int, default=200, help="timed calls of each part of our path (prepare, decode)")
    p.add_argument("--cold-runs", type=int, default=3, help="fresh processes timing pretrained.load (0: skip)")
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--no-write-docs", dest="write_docs", action="store_false")
    p.add_argument("--docs", type=Path, default=DOCS)
    a = p.parse_args(argv)
    if a.pairs < 2 or a.warmup < 0 or a.predict_pairs < 0 or a.cold_runs < 0:
        p.error("--pairs must be at least 2; --warmup, --predict-pairs and --cold-runs at least 0")

    from PIL import Image

    from core import pretrained

    m = pretrained.get(a.model)
    image_path = a.image if a.image.exists() else ROOT / "assets" / "sample.png"
    if image_path != a.image:
        print(f"{a.image} not found: using {image_path}", flush=True)
    load_before = os.getloadavg()

    # Cold first, while this process has not imported TensorFlow: the fresh processes get the memory and caches.
    weights_kind, weights_path = ensure_weights(a.model)  # fabricating (no real weights) imports Keras here
    colds = cold_loads(a.model, a.cold_runs)

    import keras
    import tensorflow as tf

    loaded = pretrained.load(a.model)
    model = loaded.model
    with Image.open(image_path) as picture:
        picture.load()
        original_size = picture.size
        first, seen = loaded.classify_picture(picture, a.top)
    x = loaded.prepare(seen)
    best, best_p = first.top[0][0], first.top[0][1]
    print(
        f"model: {m.label} ({weights_kind} weights, {weights_path}), input {m.size}x{m.size}; picture {image_path.name} "
        f"{original_size[0]}x{original_size[1]} -> {seen.shape[1]}x{seen.shape[0]} (nearest)",
        flush=True,
    )
    print(f"top-{a.top}: " + ", ".join(f"{name} {prob:.3f}" for name, prob, _ in first.top), flush=True)
    expected = EXPECTED.get((a.model, image_path.name)) if weights_kind == "imagenet" else None
    if expected is not None and best != expected:
        raise SystemExit(f"{image_path.name} came out {best!r} ({best_p:.3f}), expected {expected!r}: the path is wrong")
    # The bare call, decoded by Keras itself, must give the same answer as our path.
    from keras.applications.imagenet_utils import decode_predictions

    bare_top = [name for _, name, _ in decode_predictions(model.predict_on_batch(x), top=a.top)[0]]
    same_answer = bare_top == [name for name, _, _ in loaded.classify(seen, a.top).top]

    ours = lambda: loaded.classify(seen, a.top)  # noqa: E731
    bare = lambda: model.predict_on_batch(x)  # noqa: E731
    for _ in range(a.warmup):
        ours()
        bare()
    with OtherLoad() as busy:
        t_ours, t_bare = interleaved(ours, bare, a.pairs)
    pair_load = busy.cores or 0.0
    ratios = [o / b for o, b in zip(t_ours, t_bare, strict=False)]
    ratio = statistics.median(ratios)
    low, high = bootstrap_ci(ratios)
    of_medians = statistics.median(t_ours) / statistics.median(t_bare)

    # Where our extra time goes: the two steps around predict_on_batch, alone.
    probs = loaded.predict(x)[0]
    t_prepare = [timed(lambda: loaded.prepare(seen)) for _ in range(a.parts)]
    t_decode = [timed(lambda: pretrained.decode(probs, a.top)) for _ in range(a.parts)]
    t_lock = [timed(lambda: loaded.predict(x)) for _ in range(min(a.parts, 50))]

    t_predict, t_pob = [], []
    if a.predict_pairs:
        for _ in range(min(a.warmup, 3)):
            model.predict(x, verbose=0)
        t_predict, t_pob = interleaved(lambda: model.predict(x, verbose=0), bare, a.predict_pairs)
    load_after = os.getloadavg()

    arms = {"ours: `loaded.classify(image)`": t_ours, "bare: `model.predict_on_batch(x)`": t_bare}
    stats = {"ours": summary(t_ours), "bare": summary(t_bare)}
    print()
    for name, values in arms.items():
        s = summary(values)
        print(
            f"{name:>38}: median {s['median_ms']:7.2f} ms  p10 {s['p10_ms']:7.2f}  p90 {s['p90_ms']:7.2f}  min {s['min_ms']:7.2f}"
        )
    verdict = "meets" if ratio <= GOAL else "MISSES"
    if low <= GOAL < high:
        verdict += f" (but the 90% interval {low:.3f}-{high:.3f} contains {GOAL})"
    print(
        f"ratio ours/bare: median of {len(ratios)} per-pair ratios {ratio:.3f} (90% interval {low:.3f}-{high:.3f}); "
        f"median(ours)/median(bare) {of_medians:.3f}; goal <= {GOAL}: {verdict}"
    )
    print(
        f"parts of ours: prepare {statistics.median(t_prepare) * 1000:.2f} ms, decode {statistics.median(t_decode) * 1000:.2f} ms, "
        f"predict_on_batch under the lock {statistics.median(t_lock) * 1000:.2f} ms (medians)"
    )
    if t_predict:
        print(
            f"model.predict(x, verbose=0): median {statistics.median(t_predict) * 1000:.1f} ms vs predict_on_batch "
            f"{statistics.median(t_pob) * 1000:.1f} ms in the same {len(t_predict)} pairs "
            f"(x{statistics.median(t_predict) / statistics.median(t_pob):.1f})"
        )
    cold_wall = statistics.median(r["wall_seconds"] for r in colds) if colds else None
    cold_field = statistics.median(r["load_seconds"] for r in colds) if colds else None
    cold_inside = statistics.median(r["in_process_seconds"] for r in colds) if colds else None
    if colds:
        print(
            f"cold load (median of {len(colds)} fresh processes): subprocess wall {cold_wall:.2f} s, "
            f"load_seconds {cold_field:.2f} s; this process's warm-module load_seconds {loaded.load_seconds:.2f} s"
        )
    print(
        f"other processes used {pair_load:.2f} cores during the pairs; load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after",
        flush=True,
    )

    command = "PLAYGROUND_DATA_DIR=" + os.environ.get("PLAYGROUND_DATA_DIR", "(unset)") + " .venv/bin/python bench/classify.py"
    if weights_kind == "random":
        command = ".venv/bin/python bench/classify.py"
    if argv is None:
        argv = sys.argv[1:]
    if argv:
        command += " " + shlex.join(argv)
    result = {
        "benchmark": "classify",
        "model": a.model,
        "weights": weights_kind,
        "image": image_path.name,
        "top1": best,
        "top1_probability": round(best_p, 4),
        "same_answer_as_bare": same_answer,
        "ratio": round(ratio, 4),
        "goal": GOAL,
        "meets_goal": ratio <= GOAL,
        "ratio_ci90": [round(low, 4), round(high, 4)],
        "ratio_of_medians": round(of_medians, 4),
        "pairs": len(ratios),
        "ours_ms": stats["ours"],
        "bare_ms": stats["bare"],
        "prepare_median_ms": round(statistics.median(t_prepare) * 1000, 3),
        "decode_median_ms": round(statistics.median(t_decode) * 1000, 3),
        "locked_predict_median_ms": round(statistics.median(t_lock) * 1000, 3),
        "predict_median_ms": round(statistics.median(t_predict) * 1000, 2) if t_predict else None,
        "predict_on_batch_median_ms_same_pairs": round(statistics.median(t_pob) * 1000, 2) if t_pob else None,
        "predict_pairs": len(t_predict),
        "cold_load_seconds": round(cold_wall, 3) if cold_wall is not None else None,
        "cold_load_field_seconds": round(cold_field, 3) if cold_field is not None else None,
        "cold_in_process_seconds": round(cold_inside, 3) if cold_inside is not None else None,
        "cold_runs": [
            {
                "wall": round(r["wall_seconds"], 3),
                "load_seconds": round(r["load_seconds"], 3),
                "in_process": round(r["in_process_seconds"], 3),
                "other_load_cores": round(r["other_load_cores"], 2),
            }
            for r in colds
        ],
        "warm_process_load_seconds": round(loaded.load_seconds, 3),
        "other_load_cores_during_pairs": round(pair_load, 2),
        "cpus": os.cpu_count(),
        "load_avg": [round(load_before[0], 2), round(load_after[0], 2)],
    }

    if a.write_docs:
        ms = lambda v: f"{statistics.median(v) * 1000:.2f}"  # noqa: E731
        lines = [
            SECTION,
            "",
            f"One picture through the Classify page's engine: {m.label} with {weights_kind} weights "
            f"(`{Path(weights_path).name}`), `{image_path.name}` ({original_size[0]}x{original_size[1]}) resized to "
            f"{m.size}x{m.size} as the page does (nearest, like `keras.utils.load_img(target_size=...)`). "
            "**Ours** = `LoadedZooModel.classify(image, top=5)` (`preprocess_input` on a float32 copy, `predict_on_batch` "
            "under the model's lock, `decode_predictions` with the shipped class index); **bare** = "
            "`model.predict_on_batch(x)` on the same model and the already preprocessed batch. Both warm "
            f"({a.warmup} untimed calls each), then {len(ratios)} pairs timed call by call, alternating which goes first.",
            "",
            f"- Command: `{command}`",
            f"- Date: {_dt.date.today().isoformat()}; {os.cpu_count()} CPU cores, no GPU, {platform.machine()}, "
            f"Python {platform.python_version()}, TensorFlow {tf.__version__}, Keras {keras.__version__}; "
            f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; other processes used "
            f"{pair_load:.2f} cores during the pairs",
            f"- Answer: {', '.join(f'{name} {prob:.3f}' for name, prob, _ in first.top)}"
            + (" (random weights: meaningless, timing only)" if weights_kind == "random" else "")
            + (
                f"; bare `decode_predictions` gives the same top-{a.top}"
                if same_answer
                else f"; **bare gives a different top-{a.top}**"
            ),
            "",
            "| per picture (warm) | median (ms) | p10 | p90 | min |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, values in arms.items():
            s = summary(values)
            lines.append(f"| {name} | {s['median_ms']:.2f} | {s['p10_ms']:.2f} | {s['p90_ms']:.2f} | {s['min_ms']:.2f} |")
        lines += [
            f"| of ours: `prepare` (preprocess_input), alone | {ms(t_prepare)} | | | |",
            f"| of ours: `decode` (decode_predictions, top {a.top}), alone | {ms(t_decode)} | | | |",
            f"| of ours: `predict` (predict_on_batch under the lock), alone | {ms(t_lock)} | | | |",
        ]
        if t_predict:
            lines.append(
                f"| `model.predict(x, verbose=0)` ({len(t_predict)} pairs with predict_on_batch: "
                f"{ms(t_pob)} ms there) | {ms(t_predict)} | {quantile(t_predict, 0.1) * 1000:.2f} | "
                f"{quantile(t_predict, 0.9) * 1000:.2f} | {min(t_predict) * 1000:.2f} |"
            )
        lines += [
            "",
            f"**Ratio ours/bare (median of {len(ratios)} per-pair ratios): {ratio:.3f}** - goal <= {GOAL}: **{verdict}**. "
            f"Bootstrap 90% interval {low:.3f}-{high:.3f}; median(ours)/median(bare) = {of_medians:.3f}.",
        ]
        if t_predict:
            lines += [
                "",
                f"`model.predict` on one picture takes {statistics.median(t_predict) / statistics.median(t_pob):.1f}x "
                "as long as `predict_on_batch` (it builds a data adapter, an iterator and callbacks on every call): "
                "why the engine and the page's code sample use `predict_on_batch`.",
            ]
        if colds:
            lines += [
                "",
                f"Cold load: {len(colds)} fresh processes, one after another, each `from core import pretrained; "
                f'pretrained.load("{a.model}")`. Wall = the subprocess from outside (interpreter, imports, TensorFlow, '
                "building the network, reading the weights, the warm-up prediction); `load_seconds` = what the model reports "
                "and the page shows (from the weights file found to warm, TensorFlow import included since Keras is imported "
                "lazily).",
                "",
                "| cold run | subprocess wall (s) | in-process (s) | `load_seconds` (s) | other load (cores) |",
                "|---|---:|---:|---:|---:|",
            ]
            lines += [
                f"| {i + 1} | {r['wall_seconds']:.2f} | {r['in_process_seconds']:.2f} | {r['load_seconds']:.2f} | "
                f"{r['other_load_cores']:.2f} |"
                for i, r in enumerate(colds)
            ]
            lines += [
                f"| median | {cold_wall:.2f} | {cold_inside:.2f} | {cold_field:.2f} | |",
                "",
                f"In this (warm) process, with TensorFlow already imported, `pretrained.load` reported "
                f"{loaded.load_seconds:.2f} s.",
            ]
        lines += ["", "Last line of the output:", "", "```json", json.dumps(result), "```"]
        write_section(a.docs, SECTION, "\n".join(lines))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

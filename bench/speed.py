"""Engine speed (issue 14): one epoch of every MNIST / Fashion-MNIST recipe through the engine vs a bare `model.fit`.

    .venv/bin/python bench/speed.py                  # full data, 3 pairs per recipe
    .venv/bin/python bench/speed.py --quick          # 12,000 training / 2,000 validation samples
    .venv/bin/python bench/speed.py --only two-layer-net,small-cnn --pairs 5
    .venv/bin/python bench/speed.py --limits         # the MLPs' limit: a step's matmuls in numpy at their shapes

What is measured, and how:

* Recipes: every recipe of `core.recipes` whose dataset is `mnist` or `fashion_mnist`; a recipe with a
  Conv2D (or an inception / residual block) is a CNN, the others MLPs.
* **ours**: `core.pipeline.train(spec)` with 2 epochs, the path a job takes (load, build, the
  `steps_per_execution` the engine picks from the machine's profile, `LiveCallback` with weight
  histograms, evaluation). Before the recipes, the machine is calibrated once (`core.eta.calibrate`,
  stored in a throw-away run store) as a training worker does at start, so the engine chooses as in a
  worker. Timed: the second epoch, `history["seconds"][1]` (the engine's own clock, validation included).
* **bare**: `core.builder.build_model(spec, data)` (same model, same seed; Keras's default
  `steps_per_execution=1`), then `model.fit(..., epochs=2, verbose=0)` on the same arrays as the engine
  (`core.pipeline.training_input`: batch size and shuffle from the recipe, the test set as validation
  data). Timed: the second epoch (on_epoch_begin -> on_epoch_end of a callback that only reads the clock).
  The first epoch of each arm is the warm-up (tracing).
* Pairs interleaved, which arm goes first alternates; the ratio of a recipe is the median of its
  per-pair ours/bare; `mlp_ratio` / `cnn_ratio` are the medians over the MLP / CNN recipes. A recipe of
  fewer than 100 steps per epoch gets `--small-pairs` (9) pairs: the overfitting trio (500 samples, 16
  steps) takes a fraction of a second; deeper-cnn at batch 512 (24 steps with --quick) gets them too. `--breakdown` adds a third arm, the bare fit with the engine's
  `LiveCallback` and its per-epoch weight histograms (the arms rotate).
* Same numbers: the training loss and validation loss of each epoch, ours vs bare of the same pair (same
  seed), must agree within `--rtol` (1e-3 relative).
* FLOPs: per training sample, from the layer shapes: Dense 2*in*out, Conv2D 2*kh*kw*cin*cout*Hout*Wout
  forward, x3 for forward + backward; the epoch also runs validation (forward only). Achieved FLOP/s =
  (3*fwd*train + fwd*val) / epoch seconds, divided by the machine's float32 numpy matmul FLOP/s
  (2048x2048, best of 5, measured before and after the recipes in this run; the higher is used).
* Goals: MLP ours/bare <= 0.6, CNN ours/bare <= 1.0, MLP FLOP fraction (ours) >= 0.4.

The last line printed is one JSON object; docs/benchmarks.md gets the section SECTION below.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# ../shared/data/keras_home from the repository (or from a worktree one level deeper, e.g. /work/wt/<name>)
DEFAULT_DATA = next(
    (d for d in (ROOT.parent / "shared/data/keras_home", ROOT.parents[1] / "shared/data/keras_home") if d.exists()), None
)
if not os.environ.get("PLAYGROUND_DATA_DIR") and DEFAULT_DATA is not None:
    os.environ["PLAYGROUND_DATA_DIR"] = str(DEFAULT_DATA)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PLAYGROUND_OFFLINE", "1")
os.environ["PLAYGROUND_HOME"] = tempfile.mkdtemp(prefix="bench-speed-")  # never the user's run store

from bench._app import data_dir_words, load_avg, machine_line, median  # noqa: E402
from bench._docs import DOCS, write_section  # noqa: E402

SECTION = "## Engine speed vs bare fit (bench/speed.py)"
DATASETS = ("mnist", "fashion_mnist")
CONV_TYPES = ("Conv2D", "InceptionBlock", "ResidualBlock")
GOALS = {"mlp_ratio": 0.6, "cnn_ratio": 1.0, "mlp_flop_fraction": 0.4}
QUICK = {"train": 12_000, "test": 2_000}
SMALL_STEPS = 100  # an epoch of fewer steps takes a fraction of a second: --small-pairs pairs for it


# --------------------------------------------------------------------------- the machine


def matmul_flops(n: int = 2048, runs: int = 5) -> float:
    """float32 numpy matmul FLOP/s of an n x n product, best of `runs`."""
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n), dtype="float32"), rng.standard_normal((n, n), dtype="float32")
    a @ b  # warm-up (threads, pages)
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2 * n**3 / best


def step_matmul_flops(model, batch: int, rounds: int = 5, reps: int = 50) -> tuple[float, int]:
    """(FLOP/s, FLOPs) of one training step's matrix products alone, in float32 numpy at the model's own Dense shapes:
    per layer X @ W (forward), dY @ W.T and X.T @ dY (backward) for a batch of `batch`; best of `rounds` of `reps`.
    The most any framework calling BLAS gets out of this machine for that model and batch size, before any step cost."""
    import numpy as np

    rng = np.random.default_rng(0)
    products = []
    for layer in model.layers:
        if type(layer).__name__ == "Dense":
            i, o = layer.input.shape[-1], layer.output.shape[-1]
            x, w, dy = (rng.standard_normal(shape, dtype="float32") for shape in ((batch, i), (i, o), (batch, o)))
            products += [(x, w), (dy, w.T), (x.T, dy)]
    flops = sum(2 * a.shape[0] * a.shape[1] * b.shape[1] for a, b in products)
    for a, b in products:  # warm-up
        a @ b
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(reps):
            for a, b in products:
                a @ b
        best = min(best, (time.perf_counter() - started) / reps)
    return flops / best, flops


def shape_limits(a) -> dict:
    """--limits: per MLP recipe, one training step's matrix products in numpy at its shapes vs the 2048 x 2048 rate."""
    from core import builder, datasets

    machine = matmul_flops()
    out = {"matmul_gflops": round(machine / 1e9, 1), "recipes": {}}
    for recipe in selected_recipes(a.only):
        if kind_of(recipe) != "MLP":
            continue
        spec = spec_for(recipe, a)
        rate, flops = step_matmul_flops(builder.build_model(spec, datasets.load(spec.data)).model, spec.fit.batch_size)
        out["recipes"][recipe.id] = {
            "batch": spec.fit.batch_size,
            "step_mflops": round(flops / 1e6, 2),
            "step_matmul_us": round(flops / rate * 1e6, 1),
            "gflops": round(rate / 1e9, 1),
            "fraction": round(rate / machine, 3),
        }
        print(f"{recipe.id:16s} batch {spec.fit.batch_size}: {json.dumps(out['recipes'][recipe.id])}", flush=True)
    out["median_fraction"] = median([r["fraction"] for r in out["recipes"].values()])
    return out


def calibrate_store() -> dict:
    """Measure the machine as a training worker does and keep it in this (throw-away) run store."""
    from core import eta, preflight

    profile = eta.calibrate()
    preflight.save_measured(profile)
    return json.loads(profile.to_json())


# --------------------------------------------------------------------------- recipes and FLOPs


def selected_recipes(only: str) -> list:
    from core import recipes

    chosen = [r for r in recipes.RECIPES.values() if r.spec.data.name in DATASETS]
    if only:
        wanted = [w.strip() for w in only.split(",") if w.strip()]
        chosen = [r for r in chosen if r.id in wanted]
    return chosen


def kind_of(recipe) -> str:
    return "CNN" if any(layer.type in CONV_TYPES for layer in recipe.spec.layers) else "MLP"


def spec_for(recipe, a):
    """The recipe's spec for 2 epochs (1 warm-up, 1 timed), its data cut to --train-size / --test-size."""
    spec = recipe.build_spec(2)
    for field, cap in (("train_size", a.train_size), ("test_size", a.test_size)):
        if cap:
            have = getattr(spec.data, field)
            setattr(spec.data, field, min(have, cap) if have else cap)
    return spec


def forward_flops(model) -> tuple[int, int]:
    """(forward FLOPs per sample of Dense and Conv2D layers, of which Conv2D), from the layer shapes."""
    total = conv = 0
    for layer in model.layers:
        kind = type(layer).__name__
        if kind not in ("Dense", "Conv2D"):
            continue
        inp, out = tuple(layer.input.shape), tuple(layer.output.shape)
        if kind == "Dense":
            positions = 1
            for d in out[1:-1]:
                positions *= d
            total += 2 * inp[-1] * out[-1] * positions
        else:
            kh, kw = layer.kernel_size
            flops = 2 * kh * kw * inp[-1] * out[-1] * out[1] * out[2]
            total, conv = total + flops, conv + flops
    return total, conv


# --------------------------------------------------------------------------- the two arms


def ours(spec) -> dict:
    import keras

    from core.pipeline import train

    outcome = train(spec, owner="bench")
    if str(outcome.status) not in ("finished", "Status.FINISHED"):
        raise RuntimeError(f"{spec.recipe}: the engine ended {outcome.status}: {outcome.message}")
    h = outcome.history
    out = {
        "seconds": float(h["seconds"][1]),
        "loss": [float(v) for v in h["loss"]],
        "val_loss": [float(v) for v in h.get("val_loss", [])],
        "steps_per_execution": int(getattr(outcome.model, "steps_per_execution", 1) or 1),
    }
    del outcome
    keras.backend.clear_session()
    return out


def bare(spec, data, live: bool = False) -> dict:
    import keras

    from core.builder import build_model
    from core.pipeline import training_input

    class EpochClock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds, self._start = [], 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    built = build_model(spec, data)
    train_input = training_input(spec, data, built.plan)
    clock = EpochClock()
    callbacks = [clock]
    if live:  # --breakdown: the engine's callback (progress, Stop, weight histograms) on the bare fit
        import threading

        from core.callbacks import ListSink, LiveCallback
        from core.inside import weight_histograms

        callbacks.append(LiveCallback(ListSink(), threading.Event(), on_epoch=lambda model, _e: weight_histograms(model)))
    history = built.model.fit(*train_input.args, epochs=spec.fit.epochs, callbacks=callbacks, verbose=0, **train_input.kwargs)
    h = history.history
    out = {
        "seconds": clock.seconds[1],
        "loss": [float(v) for v in h["loss"]],
        "val_loss": [float(v) for v in h.get("val_loss", [])],
        "flops": forward_flops(built.model),
    }
    del built, history
    keras.backend.clear_session()
    return out


def same_numbers(a: dict, b: dict, rtol: float) -> float:
    """The largest relative difference of the per-epoch loss and val_loss; inf when the lengths differ."""
    worst = 0.0
    for key in ("loss", "val_loss"):
        if len(a[key]) != len(b[key]):
            return float("inf")
        for x, y in zip(a[key], b[key], strict=True):
            worst = max(worst, abs(x - y) / max(abs(y), 1e-12))
    return worst


def measure_recipe(recipe, a) -> dict:
    from core import datasets

    spec = spec_for(recipe, a)
    data = datasets.load(spec.data)
    pairs = []
    arms = ["ours", "bare"] + (["callback"] if a.breakdown else [])
    steps = -(-len(data.x_train) // spec.fit.batch_size)
    count = a.pairs if steps >= SMALL_STEPS else max(a.pairs, a.small_pairs)
    run_arm = {"ours": lambda: ours(spec), "bare": lambda: bare(spec, data), "callback": lambda: bare(spec, data, live=True)}
    for i in range(count):
        order = arms[i % len(arms) :] + arms[: i % len(arms)] if len(arms) > 2 else arms[:: 1 if i % 2 == 0 else -1]
        load = os.getloadavg()[0]
        times = {arm: run_arm[arm]() for arm in order}
        o, b = times["ours"], times["bare"]
        diff = same_numbers(o, b, a.rtol)
        extra = {"callback": times["callback"]["seconds"]} if "callback" in times else {}
        pairs.append(
            {
                **extra,
                "ours": o["seconds"],
                "bare": b["seconds"],
                "ratio": o["seconds"] / b["seconds"],
                "first": order[0],
                "load1": round(load, 2),
                "max_rel_diff": diff,
                "spe": o["steps_per_execution"],
                "ours_loss": o["loss"][-1],
                "bare_loss": b["loss"][-1],
            }
        )
        flops = b["flops"]
        print(
            f"  {recipe.id} pair {i + 1} ({order[0]} first, load {load:.2f}): ours {o['seconds']:.3f} s "
            f"(steps_per_execution {o['steps_per_execution']}), bare {b['seconds']:.3f} s, "
            + (f"bare+callback {extra['callback']:.3f} s, " if extra else "")
            + "ratio "
            f"{o['seconds'] / b['seconds']:.3f}; loss ours {o['loss'][-1]:.6f} bare {b['loss'][-1]:.6f} (max rel diff {diff:.1e})",
            flush=True,
        )
    return {
        "recipe": recipe.id,
        "kind": kind_of(recipe),
        "dataset": spec.data.name,
        "train": len(data.x_train),
        "val": len(data.x_test),
        "batch": spec.fit.batch_size,
        "steps": -(-len(data.x_train) // spec.fit.batch_size),
        "fwd_flops": flops[0],
        "conv_flops": flops[1],
        "pairs": pairs,
    }


def summarize(r: dict, machine: float, rtol: float) -> dict:
    """Medians of one recipe, its FLOP fractions and whether its numbers matched."""
    ours_s, bare_s = median([p["ours"] for p in r["pairs"]]), median([p["bare"] for p in r["pairs"]])
    work = 3 * r["fwd_flops"] * r["train"] + r["fwd_flops"] * r["val"]
    r.update(
        ours_s=ours_s,
        bare_s=bare_s,
        ratio=median([p["ratio"] for p in r["pairs"]]),
        ours_fraction=work / ours_s / machine,
        bare_fraction=work / bare_s / machine,
        ours_gflops=work / ours_s / 1e9,
        max_rel_diff=max(p["max_rel_diff"] for p in r["pairs"]),
        spe=r["pairs"][0]["spe"],
        callback_s=median([p.get("callback") for p in r["pairs"]]),
        callback_ratio=median([p["callback"] / p["bare"] for p in r["pairs"] if "callback" in p]),
    )
    r["same_numbers"] = r["max_rel_diff"] <= rtol
    return r


# --------------------------------------------------------------------------- report


def results(rows: list[dict], machine: dict, a, loads: dict) -> dict:
    mlp = [r for r in rows if r["kind"] == "MLP"]
    cnn = [r for r in rows if r["kind"] == "CNN"]
    figures = {
        "mlp_ratio": median([r["ratio"] for r in mlp]),
        "cnn_ratio": median([r["ratio"] for r in cnn]),
        "mlp_flop_fraction": median([r["ours_fraction"] for r in mlp]),
    }
    met = {k: (None if v is None else (v >= GOALS[k] if k == "mlp_flop_fraction" else v <= GOALS[k])) for k, v in figures.items()}
    rnd = lambda v, n=4: None if v is None else round(v, n)  # noqa: E731
    return {
        "benchmark": "speed",
        **{k: rnd(v) for k, v in figures.items()},
        "goals": GOALS,
        "met": met,
        "same_numbers": all(r["same_numbers"] for r in rows),
        "matmul_gflops": round(machine["best"] / 1e9, 1),
        "quick": a.quick,
        "pairs": a.pairs,
        "recipes": {
            r["recipe"]: {
                "kind": r["kind"],
                "ours_s": rnd(r["ours_s"]),
                "bare_s": rnd(r["bare_s"]),
                "ratio": rnd(r["ratio"]),
                "flop_fraction": rnd(r["ours_fraction"]),
                "steps_per_execution": r["spe"],
                "max_rel_diff": float(f"{r['max_rel_diff']:.2g}"),
            }
            for r in rows
        },
        "load_avg_before": loads["before"],
        "load_avg_after": loads["after"],
    }


def table(rows: list[dict]) -> list[str]:
    lines = [
        "| recipe | kind | train / val samples | batch (steps) | fwd FLOPs/sample | steps_per_execution (ours) | ours s/epoch | bare s/epoch | ours/bare (median of pairs) | per-pair ratios | ours GFLOP/s | FLOP fraction ours (bare) | same numbers (max rel. diff) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|",
    ]
    if any(r["callback_s"] is not None for r in rows):
        lines[0] += " bare + LiveCallback s (ratio to bare) |"
        lines[1] += "---:|"
    for r in rows:
        cb = f" {r['callback_s']:.3f} ({r['callback_ratio']:.3f}) |" if r["callback_s"] is not None else ""
        lines.append(
            f"| {r['recipe']} | {r['kind']} | {r['train']:,} / {r['val']:,} | {r['batch']} ({r['steps']}) | {r['fwd_flops'] / 1e6:.2f} M | "
            f"{r['spe']} | {r['ours_s']:.3f} | {r['bare_s']:.3f} | **{r['ratio']:.3f}** | "
            + ", ".join(f"{p['ratio']:.2f}" for p in r["pairs"])
            + f" | {r['ours_gflops']:.1f} | {r['ours_fraction']:.3f} ({r['bare_fraction']:.3f}) | "
            f"{'yes' if r['same_numbers'] else '**no**'} ({r['max_rel_diff']:.1e}) |" + cb
        )
    return lines


def goal_lines(result: dict) -> list[str]:
    words = {"mlp_ratio": "MLP ours/bare", "cnn_ratio": "CNN ours/bare", "mlp_flop_fraction": "MLP FLOP fraction"}
    out = []
    for key, goal in GOALS.items():
        value, met = result[key], result["met"][key]
        sign = ">=" if key == "mlp_flop_fraction" else "<="
        state = "not measured" if met is None else ("**met**" if met else "**not met**")
        out.append(
            f"- {words[key]} (median over recipes): {'-' if value is None else f'{value:.3f}'} - goal {sign} {goal}: {state}"
        )
    return out


def docs_section(rows: list[dict], result: dict, machine: dict, profile: dict, argv: list[str]) -> str:
    lines = [
        SECTION,
        "",
        "One epoch (the second: the first is the warm-up with the tracing) of every MNIST / Fashion-MNIST recipe, "
        "through the engine (`core.pipeline.train`: the job's path, with the `steps_per_execution` it picks from the "
        "machine's calibrated profile, `LiveCallback`, weight histograms) vs a bare `model.fit` of the same model "
        "(`core.builder.build_model`, same seed, Keras's default `steps_per_execution=1`) on the same arrays, batch size "
        "and shuffle, the test set as validation data in both. Seconds are the epoch's own (validation included). "
        "Interleaved pairs, alternating which arm goes first; the recipe's ratio is the median of its per-pair ratios. "
        "FLOP fraction = (3 x forward FLOPs x training samples + forward FLOPs x validation samples) / epoch seconds / "
        "the machine's float32 numpy matmul FLOP/s (2048x2048, best of 5); forward FLOPs count Dense (2*in*out) and "
        "Conv2D (2*kh*kw*cin*cout*Hout*Wout) only. Same numbers: the per-epoch loss and val_loss of the two arms of a "
        "pair (same seed), relative difference.",
        "",
        f"- Command: `python bench/speed.py{' ' + ' '.join(argv) if argv else ''}`",
        f"- Date: {machine_line()}; {data_dir_words()}",
        f"- Machine float32 matmul (2048x2048): {machine['before'] / 1e9:.1f} GFLOP/s before the recipes, "
        f"{machine['after'] / 1e9:.1f} after; used: {machine['best'] / 1e9:.1f}",
        f"- Calibrated profile the engine chose from: dense_rate {profile['dense_rate'] / 1e9:.1f} GFLOP/s, conv_rate "
        f"{profile['conv_rate'] / 1e9:.1f} GFLOP/s, step_overhead {profile['step_overhead'] * 1e3:.2f} ms, inner_step "
        f"{profile['inner_step'] * 1e3:.3f} ms",
        f"- Machine load (1/5/15-min load average): before {' / '.join(map(str, result['load_avg_before']))}, after "
        f"{' / '.join(map(str, result['load_avg_after']))}; per pair in the JSON below. Two other engineers run tests on "
        "these 2 cores: interleaving puts their load on both arms, but absolute seconds and FLOP fractions are lower than on a quiet machine.",
        "",
        *table(rows),
        "",
        *goal_lines(result),
        f"- Same numbers as plain fit (every recipe, every pair, rel. diff <= {result.get('rtol', 1e-3):g}): "
        f"**{'yes' if result['same_numbers'] else 'no'}**",
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
    p.add_argument("--pairs", type=int, default=3, help="interleaved ours/bare pairs per recipe")
    p.add_argument("--small-pairs", type=int, default=9, help=f"pairs for a recipe of fewer than {SMALL_STEPS} steps per epoch")
    p.add_argument("--breakdown", action="store_true", help="a third arm: bare fit + the engine's LiveCallback and histograms")
    p.add_argument("--quick", action="store_true", help=f"at most {QUICK['train']:,} training / {QUICK['test']:,} test samples")
    p.add_argument("--train-size", type=int, default=None, help="cap on the training samples (default: the recipe's)")
    p.add_argument("--test-size", type=int, default=None, help="cap on the test (validation) samples")
    p.add_argument("--only", default="", help="comma-separated recipe ids")
    p.add_argument("--rtol", type=float, default=1e-3, help="relative tolerance of the loss check")
    p.add_argument(
        "--limits",
        action="store_true",
        help="only the MLPs' limit: one step's matrix products in numpy at the recipe's shapes (prints, writes nothing)",
    )
    p.add_argument("--no-write-docs", dest="write_docs", action="store_false")
    p.add_argument("--docs", type=Path, default=DOCS)
    argv = list(sys.argv[1:] if argv is None else argv)
    a = p.parse_args(argv)
    if a.quick:
        a.train_size, a.test_size = a.train_size or QUICK["train"], a.test_size or QUICK["test"]
    if a.limits:
        print(json.dumps({"benchmark": "speed-limits", **shape_limits(a)}))
        return 0
    from core.pipeline import warm_imports

    warm_imports()
    loads = {"before": load_avg()}
    print(f"load average before: {loads['before']}")
    machine = {"before": matmul_flops()}
    profile = calibrate_store()
    print(f"matmul {machine['before'] / 1e9:.1f} GFLOP/s; calibrated profile {profile}", flush=True)
    rows = []
    for recipe in selected_recipes(a.only):
        print(f"{recipe.id} ({kind_of(recipe)})", flush=True)
        rows.append(measure_recipe(recipe, a))
    machine["after"] = matmul_flops()
    machine["best"] = max(machine["before"], machine["after"])
    rows = [summarize(r, machine["best"], a.rtol) for r in rows]
    loads["after"] = load_avg()
    result = results(rows, machine, a, loads)
    result["rtol"] = a.rtol
    result["per_pair"] = {
        r["recipe"]: [{k: round(p[k], 4) for k in ("ours", "bare", "callback", "ratio", "load1") if k in p} for p in r["pairs"]]
        for r in rows
    }
    print()
    for r in rows:
        print(
            f"{r['recipe']:16s} {r['kind']}: ours {r['ours_s']:.3f} s/epoch, bare {r['bare_s']:.3f} s/epoch, ratio "
            f"{r['ratio']:.3f}, FLOP fraction {r['ours_fraction']:.3f} (bare {r['bare_fraction']:.3f}), "
            f"same numbers {'yes' if r['same_numbers'] else 'NO'} ({r['max_rel_diff']:.1e})"
        )
    print("\n".join(goal_lines(result)).replace("**", ""))
    print(f"load average after: {loads['after']}")
    if a.write_docs:
        write_section(a.docs, SECTION, docs_section(rows, result, machine, profile, argv))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Fidelity benchmark: every recipe on the real data, next to the number its tutorial reports.

    PLAYGROUND_DATA_DIR=../shared/data/keras_home python bench/recipes.py
    python bench/recipes.py --only two-layer-net,iris --fashion-epochs 1,5,500

Trains each recipe with the app's own engine (as the Recipes page and the CLI do)
and writes docs/fidelity.md: recipe, the tutorial's figure, ours, the difference
in percentage points, seconds, and a note where a difference has a known cause.
The goal is every recipe within 1.5 points of its tutorial.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench._data import use_shared_data  # noqa: E402

use_shared_data()

from core import recipes  # noqa: E402
from core.builder import steps_per_epoch  # noqa: E402
from core.pipeline import train as train_here  # noqa: E402
from core.pipeline import warm_imports  # noqa: E402

TOLERANCE = 1.5  # percentage points
#: A regression's error is judged relative to the tutorial's: its figure is printed to two digits ("~1.9 MPG")
#: and moves by about a tenth between its own runs (random initial weights, early stopping's last epoch).
RELATIVE_TOLERANCE = 0.10

#: Why a number may differ, where we know, by recipe or (recipe, epochs). Shown in the table; never a reason to
#: change settings.
NOTES = {
    "regression-mlp": "Auto MPG as UCI publishes it (398 cars; here rebuilt from the copy in PyPI's vega_datasets, same rows "
    "and order), prepared as the TensorFlow tutorial does: unknown horsepower dropped, Origin one-hot, "
    "`sample(frac=0.8, random_state=0)`: 314 to train, 78 to test. Early stopping (patience 10) ends the 1000 epochs. "
    "Without the file the recipe trains on Diabetes and its figure is not compared.",
    "dummy-3-2-3": "Three samples: accuracy can only be 0, 1/3, 2/3 or 1, and after 10 SGD steps at lr 0.01 it is whatever "
    "the random initial weights give. The tutorial's 0.3333 is chance, as is ours.",
    "iris": "38 test flowers: one flower is 2.6 points, so the random split decides the tutorial's figure (its split is "
    "unseeded; ours are seeded and stratified).",
    "small-cnn": "Keras 3's Adagrad starts its sums of squared gradients at 0.1 (Keras 2: 0), which cost 3 points here; "
    "the recipe sets initial_accumulator_value=0 as Keras 2 had it.",
    "inception-block": "The tutorial concatenates the towers on axis 1 (height); we use the channel axis. Same parameter "
    "count, equivalent after Flatten.",
    "folder-mlp": "The tutorial's own kinoko/takenoko photos, split at random; here the bundled drawings, whose test "
    "folder is shifted and tilted on purpose (so augmentation matters): an MLP on raw pixels generalises poorly.",
    "folder-cnn": "The bundled drawings (not the tutorial's apple/banana photos): without augmentation the CNN memorises "
    "the upright training pictures (train 1.0) and misses tilted test ones, as in the tutorial (0.75).",
    "folder-cnn-augmented": "Same drawings: augmentation lifts validation accuracy well above the plain CNN, the tutorial's "
    "lesson (0.75 -> 0.83); on drawings the gain is larger.",
    "transfer-features": "The tutorial: VGG16 on its own 864 photos. Here: the bundled drawings, and the base the recipe "
    "resolved (see `base` in the raw results: MobileNet 0.75 when VGG16's weights are not on the machine).",
    "transfer-finetune": "As transfer-features; fine-tuning trains the base's last block with augmentation and SGD.",
    ("fashion-mlp", 500): "Seed 42; training accuracy 0.9958 as the tutorial's 0.9948. Seed 7 (the row above) gives 0.8791 "
    "(within the goal; over its last 50 epochs test accuracy wandered 0.8749-0.8835): the last-epoch "
    "figure of a net this overfit is one draw, and the two seeds' mean is 0.8739 (-1.2 pp). The lesson "
    "holds: test accuracy barely moves from 5 to 500 epochs while the test loss grows (2.27 for seed "
    "7; the tutorial's 1.20).",
    "overfit": "Criterion: training accuracy reaches ~100% (the tutorial reads it off its plot) while validation stalls.",
    "overfit-l2": "Criterion: the train-validation gap is smaller than without the cure (the tutorial's plot).",
    "overfit-dropout": "Criterion: the train-validation gap is smaller than without the cure (the tutorial's plot).",
}


def spread(values: list[float]) -> list[float] | None:
    """[min, max] over the last tenth of the epochs (at least one)."""
    if not values:
        return None
    tail = values[-max(1, len(values) // 10) :]
    return [round(min(tail), 4), round(max(tail), 4)]


def train(recipe_id: str, epochs: int | None = None, seed: int | None = None) -> dict:
    recipe = recipes.get(recipe_id)
    spec = recipe.build_spec(epochs)
    if seed is not None:
        spec.fit.seed = seed
    started = time.perf_counter()
    view = train_here(spec, owner="bench")  # the engine's pipeline, in this process
    history, ev = view.history, view.evaluation
    last = lambda key: history[key][-1] if history.get(key) else None  # noqa: E731
    return {
        "recipe": recipe_id,
        "epochs": spec.fit.epochs,
        "seed": spec.fit.seed,
        "base": spec.transfer.base or None,
        "status": str(view.status),
        "message": str(view.message) if view.message else "",
        "train_accuracy": last("accuracy"),
        "val_accuracy": last("val_accuracy"),
        "test_accuracy": ev.test_accuracy if ev else None,
        "test_mae": ev.test_mae if ev else None,
        "learning_rate_after_1": (history.get("learning_rate") or [None])[0],
        "updates_per_epoch": steps_per_epoch(spec, 60_000) if spec.data.name in ("mnist", "fashion_mnist") else None,
        "dataset": spec.data.name,
        # How much the last epochs wander (an overfit net's final figure is one draw from this range).
        "val_accuracy_last_tenth": spread(history.get("val_accuracy", [])),
        "val_loss": last("val_loss"),
        "seconds": time.perf_counter() - started,
        "fit_seconds": view.timings.get("fit"),
    }


#: Recipes whose test set is so small that the random split decides the figure: compare the mean over splits.
SPLIT_SENSITIVE = {"iris": range(10)}


def train_over_splits(recipe_id: str, seeds: range) -> dict:
    """The recipe over several seeded train/test splits; 'test_accuracy' is their mean."""
    runs = []
    for seed in seeds:
        spec = recipes.get(recipe_id).build_spec()
        spec.data.seed = seed
        started = time.perf_counter()
        view = train_here(spec, owner="bench")
        runs.append((view.evaluation.test_accuracy, view.history["accuracy"][-1], time.perf_counter() - started))
    tests = [r[0] for r in runs]
    NOTES[recipe_id] = NOTES.get(recipe_id, "") + (
        f" Ours is the mean over {len(tests)} seeded splits (min {min(tests):.4f}, max {max(tests):.4f}; seed 0 alone: {tests[0]:.4f})."
    )
    return {
        "recipe": recipe_id,
        "epochs": recipes.get(recipe_id).spec.fit.epochs,
        "status": "finished",
        "message": "",
        "train_accuracy": sum(r[1] for r in runs) / len(runs),
        "val_accuracy": sum(tests) / len(tests),
        "test_accuracy": sum(tests) / len(tests),
        "seconds": sum(r[2] for r in runs),
        "fit_seconds": None,
        "splits": tests,
    }


def judge(result: dict, results: dict) -> tuple[str, str, str, bool | None]:
    """(tutorial figure, ours, difference, within tolerance) for one result."""
    recipe = recipes.get(result["recipe"])
    reported = recipe.reported_for(result["epochs"])
    gap = lambda r: r["train_accuracy"] - r["val_accuracy"]  # noqa: E731
    if recipe.criterion == "smaller_gap":
        base = results.get(("overfit", 100))
        if base is None:
            return "gap < overfit's", f"gap {gap(result):.3f}", "", None
        ok = gap(result) < gap(base)
        return f"gap < {gap(base):.3f}", f"gap {gap(result):.3f}", f"{(gap(result) - gap(base)) * 100:+.1f} pp", ok
    if recipe.criterion == "lr_decay":
        return judge_decay(result, recipe)
    if reported is None:
        return "-", "-", "", None
    if reported.metric == "test_mae":
        return judge_error(result, reported, recipe)
    if result["status"] != "finished" or result.get("train_accuracy") is None:
        return f"{reported.metric} {reported.value:g}", "-", "", False
    ours = recipes.ours(
        reported.metric,
        {"accuracy": [result["train_accuracy"]], "val_accuracy": [result["val_accuracy"]]},
        result["test_accuracy"],
    )
    if ours is None:
        return f"{reported.metric} {reported.value:g}", "-", "", False
    diff = (ours - reported.value) * 100
    ok = abs(diff) <= TOLERANCE
    if recipe.criterion == "own_data":
        ok = None  # other pictures than the tutorial's: the figure is a reference, not a target (see the note)
    if recipe.criterion == "overfits":
        ok = ours >= 0.99 and result["val_accuracy"] < ours - 0.05
    return f"{reported.metric} {'~' if reported.approximate else ''}{reported.value:g}", f"{ours:.4f}", f"{diff:+.2f} pp", ok


def judge_decay(result: dict, recipe) -> tuple[str, str, str, bool | None]:
    """Keras 2's decay, replayed: the learning rate after epoch 1 against lr / (1 + decay * updates)."""
    updates, ours = result.get("updates_per_epoch"), result.get("learning_rate_after_1")
    if not updates or ours is None:
        return "lr after epoch 1", "-", "", False
    expected = recipes.keras2_rate(recipe.spec.compile, updates)
    diff = ours - expected
    return (
        f"lr after epoch 1 = {expected:.7f}",
        f"{ours:.7f} ({result['test_accuracy']:.4f} test acc)",
        f"{diff:+.1e}",
        abs(diff) <= 1e-9 + 1e-6 * expected,
    )


def judge_error(result: dict, reported, recipe) -> tuple[str, str, str, bool | None]:
    """A regression's test MAE against the tutorial's: the difference in the target's units and in percent."""
    figure = f"{reported.metric} {'~' if reported.approximate else ''}{reported.value:g}"
    ours = result.get("test_mae")
    if result["status"] != "finished" or ours is None:
        return figure, "-", "", False
    if result.get("dataset") != recipe.spec.data.name:  # trained on the fallback data: nothing to compare
        return figure, f"{ours:.4g} ({result['dataset']})", "", None
    diff = ours - reported.value
    return figure, f"{ours:.4f}", f"{diff:+.3f} ({diff / reported.value:+.1%})", abs(diff) <= RELATIVE_TOLERANCE * reported.value


def write_docs(rows: list[dict], results: dict, path: Path, note: str) -> None:
    lines = [
        "# Fidelity: the tutorials' numbers, replayed",
        "",
        f"Written by `bench/recipes.py` on {time.strftime('%Y-%m-%d')} ({platform.machine()}, {os.cpu_count()} CPU cores, no GPU; "
        f"Python {platform.python_version()}). Each recipe is trained by the app's own engine on the real data "
        "(`PLAYGROUND_DATA_DIR` = the offline copy of MNIST and Fashion-MNIST), with the tutorial's settings and seed 42.",
        f"Goal: every recipe within {TOLERANCE} percentage points (pp) of the tutorial's figure; a regression's test MAE "
        f"within {RELATIVE_TOLERANCE:.0%} of the tutorial's. {note}",
        'Recipes marked "-" train on the bundled drawings instead of the tutorial\'s own photos: their figure is a reference, '
        'not a target (see the note). "seconds" is wall time on this machine, which other benchmarks and test suites '
        "sometimes shared while a row was measured (inception-block took ~190 s alone), so compare them loosely.",
        "",
        "| recipe | epochs | tutorial | ours | difference | within goal | seconds | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for result in rows:
        figure, ours, diff, ok = judge(result, results)
        mark = {True: "yes", False: "**no**", None: "-"}[ok]
        if result["status"] != "finished":
            ours, mark = result["status"], "**no**"
        seed = result.get("seed", 42)
        note_text = (NOTES.get((result["recipe"], result["epochs"])) if seed == 42 else None) or NOTES.get(result["recipe"], "")
        epochs = f"{result['epochs']}" + (f" (seed {seed})" if seed != 42 else "")
        lines.append(
            f"| `{result['recipe']}` | {epochs} | {figure} | {ours} | {diff} | {mark} | {result['seconds']:.0f} | {note_text} |"
        )
    lines += ["", "Raw results (JSON lines):", "", "```"] + [json.dumps(r) for r in rows] + ["```", ""]
    # Sections other scripts own (bench/races.py's "## Races") stay as they are.
    old = path.read_text().splitlines() if path.exists() else []
    kept = next((i for i, line in enumerate(old) if line.startswith("## ")), len(old))
    path.write_text("\n".join(lines + old[kept:]) + ("\n" if kept < len(old) else ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated recipe ids (default: all)")
    parser.add_argument("--fashion-epochs", default="1,5", help="epoch choices of fashion-mlp to run (500 takes ~35 min alone)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "fidelity.md"))
    parser.add_argument("--update", action="store_true", help="keep the other recipes' rows already in --out (rerun a few)")
    parser.add_argument("--seed", type=int, default=None, help="the fit seed (default: the recipe's, 42); a row per seed")
    parser.add_argument("--rewrite", action="store_true", help="train nothing: re-render --out from its raw results")
    args = parser.parse_args()
    wanted = [r for r in args.only.split(",") if r] or list(recipes.RECIPES)
    if args.rewrite:
        args.update, wanted = True, []
    warm_imports()
    out = Path(args.out)
    kept = []
    if args.update and out.exists():
        kept = [json.loads(line) for line in out.read_text().splitlines() if line.startswith('{"recipe"')]
    order = {rid: i for i, rid in enumerate(recipes.RECIPES)}
    skipped = (
        ""
        if "500" in args.fashion_epochs
        else (
            "fashion-mlp at 500 epochs was not run here (about 4 s per epoch on 2 "
            "cores alone: ~35 minutes); run with --fashion-epochs 1,5,500."
        )
    )
    fresh: list[dict] = []

    def merged() -> tuple[list[dict], dict]:
        row_key = lambda r: (r["recipe"], r["epochs"], r.get("seed", 42))  # noqa: E731 - older rows: the recipes' 42
        done = {row_key(r) for r in fresh}
        rows = sorted(
            [r for r in kept if row_key(r) not in done] + fresh,
            key=lambda r: (order.get(r["recipe"], 99), r["epochs"], r.get("seed", 42)),
        )
        return rows, {(r["recipe"], r["epochs"]): r for r in rows}

    for recipe_id in wanted:
        epochs_list = [int(e) for e in args.fashion_epochs.split(",")] if recipe_id == "fashion-mlp" else [None]
        for epochs in epochs_list:
            if recipe_id in SPLIT_SENSITIVE:
                result = train_over_splits(recipe_id, SPLIT_SENSITIVE[recipe_id])
            else:
                result = train(recipe_id, epochs, args.seed)
            fresh.append(result)
            rows, results = merged()
            figure, ours, diff, ok = judge(result, results)
            print(
                f"{recipe_id:16s} {result['epochs']:4d} ep  tutorial {figure:28s} ours {ours:12s} {diff:10s} "
                f"ok={ok}  {result['seconds']:.0f}s  {result['status']} {result['message']}",
                flush=True,
            )
            write_docs(rows, results, out, skipped)  # after every recipe: a long run that breaks keeps what it measured
    rows, results = merged()
    if ("fashion-mlp", 500) in results:
        skipped = ""
    write_docs(rows, results, out, skipped)
    print(
        json.dumps(
            {
                "benchmark": "fidelity",
                "recipes": len(rows),
                "within_goal": sum(1 for r in rows if judge(r, results)[3]),
                "out": args.out,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

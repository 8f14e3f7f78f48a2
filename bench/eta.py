"""The preflight's estimate against the real time, recipe by recipe, through the real training pool.

For every recipe (with real MNIST & co. when `PLAYGROUND_DATA_DIR` has them, else the recipes whose
data is built in), the Train page's estimate (`core.preflight.estimate(...).eta_seconds`, what it shows
next to Train) is taken first; then the recipe trains through a fresh local pool exactly as a
learner's job does (`core.jobs.submit`, worker processes, the run store) and the actual time is the
job's own, from a worker claiming it to it having settled (`finished - started`: data, model,
training, evaluation). Long recipes have their epochs capped (`--max-epochs`); the estimate is for
the capped run too. The pool's workers measured the machine when they started (core/eta.py
`calibrate`), as on any server.

Usage:
    PLAYGROUND_DATA_DIR=/work/shared/data/keras_home .venv/bin/python bench/eta.py

Prints a table; the last line is one JSON object with `median_abs_error` = median |estimate/actual - 1|
(goal <= 0.2). Writes the "## Preflight estimate (bench/eta.py)" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._docs import DOCS, write_section  # noqa: E402

HEADING = "## Preflight estimate (bench/eta.py)"


def wanted(only: list[str]) -> list[str]:
    from core import datasets, recipes

    ids = []
    for recipe_id, recipe in recipes.RECIPES.items():
        if only and recipe_id not in only:
            continue
        if datasets.availability(recipe.spec.data.name) == "download":
            continue  # its data is not here
        if recipe.spec.transfer.base:
            spec = recipe.build_spec()
            from core import pretrained

            if pretrained.availability(pretrained.get(spec.transfer.base), include_top=False) != "local":
                continue
        ids.append(recipe_id)
    return ids


def measure(recipe_id: str, max_epochs: int, owner: str) -> dict:
    from core import jobs, preflight, recipes

    recipe = recipes.get(recipe_id)
    spec = recipe.build_spec()
    spec.fit.epochs = min(spec.fit.epochs, max_epochs)
    flight = preflight.estimate(spec, owner)
    estimate = flight.eta_seconds(spec.fit.epochs)
    job_id = jobs.submit(spec, owner, watched=False)
    while True:
        view = jobs.view(job_id)
        if view.settled:
            break
        time.sleep(0.2)
    actual = (view.finished or time.time()) - (view.started or view.created)
    seconds = view.history.get("seconds", [])
    later = seconds[1:] or seconds
    guess = flight.time
    return {
        "recipe": recipe_id,
        "epochs": spec.fit.epochs,
        "status": str(view.status),
        "estimate": round(estimate, 2),
        "actual": round(actual, 2),
        "ratio": round(estimate / actual, 3) if actual else None,
        "first_epoch": round(seconds[0], 2) if seconds else None,
        # Where the time goes, estimated and actual: an epoch after the first, and what is not an epoch
        # (data, model, tracing beyond the first epoch's own, evaluation).
        "epoch_estimate": round(guess.per_epoch, 2) if guess else None,
        "epoch_actual": round(statistics.median(later), 2) if later else None,
        "rest_estimate": round(estimate - guess.per_epoch * spec.fit.epochs, 2) if guess else None,
        "rest_actual": round(actual - sum(seconds), 2),
        "timings": {k: round(v, 2) for k, v in view.timings.items()},  # the worker's own laps: load, build, fit, ...
    }


def report(rows: list[dict], profile: dict, elapsed: float) -> tuple[str, float]:
    errors = [abs(r["ratio"] - 1) for r in rows if r["ratio"]]
    median = statistics.median(errors) if errors else float("nan")
    lines = [
        HEADING,
        "",
        f"Measured {time.strftime('%Y-%m-%d')} with `{' '.join(['.venv/bin/python', 'bench/eta.py', *sys.argv[1:]])}` "
        f"on this 2-core machine ({elapsed / 60:.0f} min). Estimate: what the Train page shows next to Train before the "
        "run; actual: the job's own time in its worker, from claiming it to its results being stored (data, model, "
        "every epoch with validation, evaluation). Epochs capped at `--max-epochs`.",
        "",
        f"**Median |estimate/actual - 1| = {median:.3f}** (goal <= 0.2) over {len(errors)} recipes.",
        "",
        "| recipe | epochs | estimate s | actual s | estimate/actual | first epoch s | epoch est. / actual s | rest est. / actual s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['recipe']} | {r['epochs']} | {r['estimate']} | {r['actual']} | {r['ratio']} | {r['first_epoch']} "
            f"| {r['epoch_estimate']} / {r['epoch_actual']} | {r['rest_estimate']} / {r['rest_actual']} |"
        )
    lines += [
        "",
        "The machine as the workers measured it (core/eta.py `MachineProfile`): "
        + ", ".join(f"{k} {v:.3g}" for k, v in profile.items() if k != "measured")
        + ".",
    ]
    return "\n".join(lines) + "\n", median


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-epochs", type=int, default=5, help="cap each recipe's epochs (5)")
    parser.add_argument("--only", nargs="*", default=[], help="these recipe ids only")
    parser.add_argument("--no-write-docs", action="store_true")
    args = parser.parse_args(argv)
    os.environ["PLAYGROUND_HOME"] = tempfile.mkdtemp(prefix="bench-eta-")
    os.environ.setdefault("PLAYGROUND_OFFLINE", "1")
    os.environ["PLAYGROUND_MAX_TRAININGS"] = "1"  # one at a time: each job has the machine, as the estimate assumes
    from core import preflight, workers

    started = time.time()
    workers.ensure_pool(every=0.0)
    while not workers.worker_pids():
        time.sleep(0.2)
    measure("iris", 2, "warmup")  # the pool measures the machine and warms up first
    rows = []
    try:
        for recipe_id in wanted(args.only):
            row = measure(recipe_id, args.max_epochs, "bench")
            rows.append(row)
            print(
                f"{row['recipe']:22s} {row['epochs']:3d} ep  estimate {row['estimate']:7.1f} s  actual {row['actual']:7.1f} s"
                f"  ratio {row['ratio']}",
                flush=True,
            )
        profile = json.loads(preflight.machine_profile().to_json())
    finally:
        workers.shutdown_pool()
    body, median = report(rows, profile, time.time() - started)
    print(body)
    if not args.no_write_docs:
        write_section(DOCS, HEADING, body)
    print(json.dumps({"median_abs_error": round(median, 4), "recipes": len(rows), "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

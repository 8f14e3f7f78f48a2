"""Headless command line, on the same engine as the pages.

    python -m core recipes                          # list the recipe ids
    python -m core recipe two-layer-net --epochs 2  # train one, print each epoch
    python -m core recipe iris --json               # ... and end with one JSON line
    python -m core recipe optimizer-race --json     # a race: every run of it, one after another

With --json the last line printed is one JSON object: recipe, epochs, history
(lists per metric), train/val/test accuracy (null where not applicable), the
tutorial's figure, status and seconds. For a race: race, metric, best (the
winning place) and runs, a row per run with its place ({setting: value}) and its
final figures. `PLAYGROUND_DATA_DIR` is honoured.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from core import compare, pipeline, recipes
from core.i18n import translate
from core.spec import field_range
from core.status import Status


def _list(args) -> int:
    for tutorial, items in recipes.by_tutorial().items():
        for r in items:
            figure = f"{r.reported.metric} {r.reported.value:g}" if r.reported else r.criterion
            print(f"{r.id:18s} tutorial {tutorial}  {translate('en', f'recipes.{r.id}.title'):44s} {figure}")
    for race in recipes.RACES.values():
        values = ", ".join(compare.value_text(v) for v in race.axis.values)
        print(f"{race.id:18s} tutorial {race.tutorial}  {translate('en', f'races.{race.id}.title'):44s} race: {values}")
    return 0


def _print_epoch(epochs: int):
    def show(record: dict) -> None:
        cells = "  ".join(f"{k} {v:.4f}" for k, v in record.items() if k not in ("epoch", "seconds", "learning_rate"))
        print(f"epoch {record['epoch']}/{epochs}  {cells}  ({record['seconds']:.1f} s)", flush=True)

    return show


def _race(args) -> int:
    """Train every run of a race in this process, one after another; the JSON ranks them by the race's metric."""
    race = recipes.get_race(args.id)
    rows = []
    for spec in race.plan(args.epochs):
        print(f"--- {compare.place_text(spec.compare)}", flush=True)
        started = time.perf_counter()
        outcome = pipeline.train(spec, owner="cli", on_epoch=_print_epoch(spec.fit.epochs))
        figures = {k: v for k, v in pipeline.metrics_of(outcome).items() if k not in ("class_names", "n_classes")}
        rows.append(
            {
                "place": dict(spec.compare),
                "label": compare.place_text(spec.compare),
                "status": str(outcome.status),
                "epochs": len(outcome.history.get("loss", [])),
                **figures,
                "seconds": round(time.perf_counter() - started, 2),
            }
        )
    done = {r["label"]: r[race.metric] for r in rows if r.get(race.metric) is not None}
    best = compare.reveal("", done, compare.METRICS[race.metric] is max)[0] if done else ()
    result = {"race": race.id, "metric": race.metric, "dataset": race.plan()[0].data.name, "best": list(best), "runs": rows}
    if args.json:
        print(json.dumps(result))
    else:
        for r in rows:
            print(f"{r['label']:16s} {r['status']:9s} {race.metric} {r.get(race.metric)}  ({r['seconds']} s)")
    return 0 if all(r["status"] == Status.FINISHED for r in rows) else 1


def _train(args) -> int:
    if args.id in recipes.RACES:
        return _race(args)
    recipe = recipes.get(args.id)
    spec = recipe.build_spec(args.epochs)
    started = time.perf_counter()
    outcome = pipeline.train(spec, owner="cli", on_epoch=_print_epoch(spec.fit.epochs))  # in this process, nothing recorded
    history = outcome.history
    reported = recipe.reported_for(spec.fit.epochs) if recipe.compares_with_tutorial(spec) else None
    result = {
        "recipe": recipe.id,
        "epochs": len(history.get("loss", [])),
        "status": str(outcome.status),
        "message": str(outcome.message) if outcome.message else None,
        "dataset": spec.data.name,  # a recipe may fall back to other data offline (regression-mlp: diabetes)
        "history": history,
        **pipeline.metrics_of(outcome),  # the same figures the run store keeps
        "reported": {"metric": reported.metric, "value": reported.value} if reported else None,
        "params": outcome.n_params,
        "seconds": round(time.perf_counter() - started, 2),
        "timings": {k: round(v, 3) for k, v in outcome.timings.items()},
    }
    if outcome.message and outcome.status != Status.FINISHED:
        print(str(outcome.message), file=sys.stderr)
    if args.json:
        print(json.dumps(result))
    else:
        figure = f"test MAE {result['test_mae']}" if spec.regression else f"test accuracy {result['test_accuracy']}"
        print(f"{outcome.status}: {figure}, {result['seconds']} s")
    return 0 if outcome.status == Status.FINISHED else 1


def _epochs(text: str) -> int:
    """An epoch count inside the spec's own range, or argparse's plain refusal (exit 2)."""

    low, high = (int(v) for v in field_range("fit", "epochs"))
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{value} is outside {low}..{high}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core", description="Keras Playground without the browser.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("recipes", help="list the recipe ids").set_defaults(run=_list)
    one = sub.add_parser("recipe", help="train one recipe")
    one.add_argument("id", choices=sorted([*recipes.RECIPES, *recipes.RACES]), help="a recipe, or a race of one")
    one.add_argument("--epochs", type=_epochs, default=None, help="override the recipe's epoch count (1..1000)")
    one.add_argument("--json", action="store_true", help="end with one JSON line")
    one.set_defaults(run=_train)
    args = parser.parse_args(argv)
    return args.run(args)

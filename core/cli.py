"""Headless command line, on the same engine as the pages.

    python -m core recipes                          # list the recipe ids
    python -m core recipe two-layer-net --epochs 2  # train one, print each epoch
    python -m core recipe iris --json               # ... and end with one JSON line

With --json the last line printed is one JSON object: recipe, epochs, history
(lists per metric), train/val/test accuracy (null where not applicable), the
tutorial's figure, status and seconds. `PLAYGROUND_DATA_DIR` is honoured.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from core import recipes
from core.i18n import translate


def _list(args) -> int:
    for tutorial, items in recipes.by_tutorial().items():
        for r in items:
            figure = f"{r.reported.metric} {r.reported.value:g}" if r.reported else r.criterion
            print(f"{r.id:18s} tutorial {tutorial}  {translate('en', f'recipes.{r.id}.title'):44s} {figure}")
    return 0


def _train(args) -> int:
    from core.training import FINISHED, JobRegistry, warm_imports

    recipe = recipes.get(args.id)
    spec = recipe.build_spec(args.epochs)
    warm_imports()
    started = time.perf_counter()
    job = JobRegistry(max_concurrent=1, record_runs=False).submit(spec, owner="cli")
    shown = 0
    while not job.done.wait(0.5) or shown < job.snapshot().epochs_done:
        history = job.snapshot().history
        while shown < len(history.get("loss", [])):
            cells = "  ".join(f"{k} {v[shown]:.4f}" for k, v in history.items() if k not in ("seconds", "learning_rate"))
            print(f"epoch {shown + 1}/{spec.fit.epochs}  {cells}  ({history['seconds'][shown]:.1f} s)", flush=True)
            shown += 1
    view = job.snapshot()
    ev = view.evaluation
    last = lambda key: view.history[key][-1] if view.history.get(key) else None  # noqa: E731
    reported = recipe.reported_for(spec.fit.epochs)
    result = {
        "recipe": recipe.id,
        "epochs": view.epochs_done,
        "status": view.status,
        "message": str(view.message) if view.message else None,
        "history": {k: v for k, v in view.history.items()},
        "train_accuracy": last("accuracy"),
        "val_accuracy": last("val_accuracy"),
        "test_accuracy": ev.test_accuracy if ev else None,
        "test_loss": ev.test_loss if ev else None,
        "reported": {"metric": reported.metric, "value": reported.value} if reported else None,
        "params": view.n_params,
        "seconds": round(time.perf_counter() - started, 2),
        "timings": {k: round(v, 3) for k, v in job.timings.items()},
    }
    if view.message and view.status != FINISHED:
        print(str(view.message), file=sys.stderr)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{view.status}: test accuracy {result['test_accuracy']}, {result['seconds']} s")
    return 0 if view.status == FINISHED else 1


def _epochs(text: str) -> int:
    """An epoch count inside the spec's own range, or argparse's plain refusal (exit 2)."""
    from core.spec import field_range

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
    one.add_argument("id", choices=sorted(recipes.RECIPES))
    one.add_argument("--epochs", type=_epochs, default=None, help="override the recipe's epoch count (1..1000)")
    one.add_argument("--json", action="store_true", help="end with one JSON line")
    one.set_defaults(run=_train)
    args = parser.parse_args(argv)
    return args.run(args)

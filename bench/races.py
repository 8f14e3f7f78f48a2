"""Races benchmark: the tutorials' comparisons on the real data, and whether each teaches its lesson.

    PLAYGROUND_DATA_DIR=../shared/data/keras_home python bench/races.py
    python bench/races.py --only activation-race --max-epochs 500

Trains every run of every race (core/recipes.RACES) with the app's own engine, as the CLI does
(`python -m core recipe <race> --json`), and writes the "Races" section of docs/fidelity.md: each
run's final figures, and the race's lesson checked as a criterion (plain SGD finishes last, zero
weights stay far behind, ...). Runs over `--max-epochs` (Fashion-MNIST's 500) are not trained
again: they are the same spec as a fashion-mlp row above, and that row's figure is shown.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench._data import use_shared_data  # noqa: E402

use_shared_data()

from bench._docs import write_section  # noqa: E402
from core import compare, pipeline, recipes  # noqa: E402

FIDELITY = ROOT / "docs" / "fidelity.md"
HEADING = "## Races (bench/races.py)"


def _last(rows: list[dict], metric: str) -> str:
    return min((r for r in rows if r.get(metric) is not None), key=lambda r: r[metric])["label"]


#: Each race's lesson, as a check on its runs: (what the tutorial teaches, the check).
LESSONS = {
    "optimizer-race": (
        "plain SGD ends last; momentum and every adaptive optimizer beat it",
        lambda rows: _last(rows, "val_accuracy") == "sgd",
    ),
    "activation-race": ("sigmoid ends last (it saturates)", lambda rows: _last(rows, "val_accuracy") == "sigmoid"),
    "initializer-race": (
        "zero weights end last, 10+ points behind the best (a zero layer acts like one unit)",
        lambda rows: (
            _last(rows, "val_accuracy") == "zeros"
            and max(r["val_accuracy"] for r in rows) - min(r["val_accuracy"] for r in rows) > 0.10
        ),
    ),
    "batch-size-race": (
        "at equal epochs batch size 1024 ends last, and batch size 1 takes the longest",
        lambda rows: _last(rows, "val_accuracy") == "1024" and max(rows, key=lambda r: r["seconds"])["label"] == "1",
    ),
    "fashion-epochs-race": (
        "5 epochs beat 1; 500 reach ~1.0 training accuracy with little more on the test set",
        lambda rows: (
            rows[1]["val_accuracy"] > rows[0]["val_accuracy"]
            and (rows[2].get("train_accuracy") or 0) > 0.98
            and (rows[2]["val_accuracy"] - rows[1]["val_accuracy"]) < 0.03
        ),
    ),
}


def from_fidelity(spec) -> dict | None:
    """The fashion-mlp row of the same spec in the raw results above (the 500-epoch run takes ~35 min)."""
    for line in FIDELITY.read_text().splitlines():
        if line.startswith('{"recipe": "fashion-mlp"'):
            row = json.loads(line)
            if row["epochs"] == spec.fit.epochs and row.get("seed", 42) == spec.fit.seed:
                return row
    return None


def run_race(race, max_epochs: int) -> list[dict]:
    rows = []
    for spec in race.plan():
        label = compare.place_text(spec.compare)
        if spec.fit.epochs > max_epochs:
            known = from_fidelity(spec)
            if known is not None:
                rows.append(
                    {
                        "label": label,
                        "status": "from fashion-mlp",
                        **{k: known.get(k) for k in ("train_accuracy", "val_accuracy")},
                        "seconds": known["seconds"],
                    }
                )
                continue
        started = time.perf_counter()
        outcome = pipeline.train(spec, owner="bench")
        figures = pipeline.metrics_of(outcome)
        rows.append(
            {
                "label": label,
                "status": str(outcome.status),
                "train_accuracy": figures["train_accuracy"],
                "val_accuracy": figures["val_accuracy"],
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
        print(json.dumps({"race": race.id, **rows[-1]}), flush=True)
    return rows


def section(results: dict[str, list[dict]]) -> str:
    lines = [
        HEADING,
        "",
        f"Written by `bench/races.py` on {time.strftime('%Y-%m-%d')}. Every run of each race (the Recipes page's races, "
        "`python -m core recipe <race> --json`), trained by the app's engine on the real data, one after another. "
        "A race has no single figure in its tutorial: its lesson is the criterion.",
        "",
        "| race | run | train accuracy | validation accuracy | seconds |",
        "|---|---|---|---|---|",
    ]
    for race_id, rows in results.items():
        for r in rows:
            cells = [f"{r[k]:.4f}" if r.get(k) is not None else "-" for k in ("train_accuracy", "val_accuracy")]
            note = " (the fashion-mlp row above)" if r["status"] == "from fashion-mlp" else ""
            lines.append(f"| `{race_id}` | {r['label']}{note} | {cells[0]} | {cells[1]} | {r['seconds']:.0f} |")
    lines += ["", "| race | lesson | holds |", "|---|---|---|"]
    for race_id, rows in results.items():
        text, check = LESSONS[race_id]
        lines.append(f"| `{race_id}` | {text} | {'yes' if check(rows) else '**no**'} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated race ids")
    parser.add_argument("--max-epochs", type=int, default=100, help="longer runs are read from the fashion-mlp rows")
    args = parser.parse_args()
    wanted = [r for r in recipes.RACES.values() if not args.only or r.id in args.only.split(",")]
    results = {race.id: run_race(race, args.max_epochs) for race in wanted}
    write_section(FIDELITY, HEADING, section(results))
    held = {race_id: LESSONS[race_id][1](rows) for race_id, rows in results.items()}
    print(json.dumps({"benchmark": "races", "lessons_hold": held, "all": all(held.values())}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

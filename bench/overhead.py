"""Training overhead: the live engine as a worker runs it vs a bare `model.fit`, in one process.

The same model on the same data is trained two ways, interleaved in pairs (which arm goes first
alternates), after one unmeasured warm-up of each:

* **bare**: `core.builder.build_model(spec, data)` then `model.fit(...)` with `verbose=0` and the
  app's fit arguments (batch size, epochs, shuffle, the test set as `validation_data`).
* **ours**: the job submitted to a private run store and run by `core.worker.run_claimed` in this
  process — exactly what a training worker does: `core.pipeline.run` with the `StoreRecorder`
  (progress a few times a second and every epoch written to SQLite, weight histograms per
  epoch, its watcher thread polling the store for Stop and beating the heartbeat), the
  evaluation, the model file.

Timed: `fit`'s wall time on both sides (the engine's own `timings["fit"]`). The result is the
median over pairs of ours/bare; the goal is <= 1.02.

Data: real MNIST when `PLAYGROUND_DATA_DIR` has it, else scikit-learn's digits upscaled to 28x28 and
tiled to MNIST's size. Model: Flatten - Dense(128, relu) - Dropout(0.2) - Dense(10), Adam, batch 128.

    PLAYGROUND_DATA_DIR=/work/shared/data/keras_home .venv/bin/python bench/overhead.py

The last line printed is one JSON object (`ratio` = median ours/bare); the
"## Training overhead (bench/overhead.py)" section of docs/benchmarks.md is rewritten.
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
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PLAYGROUND_OFFLINE", "1")
os.environ["PLAYGROUND_HOME"] = tempfile.mkdtemp(prefix="bench-overhead-")  # never the user's run store

from bench._docs import DOCS, write_section  # noqa: E402

GOAL = 1.02
SECTION = "## Training overhead (bench/overhead.py)"


def digits_like_mnist(train: int, test: int):
    """sklearn digits (8x8) -> 28x28 uint8 pictures, tiled to `train` / `test` samples."""
    import numpy as np
    from sklearn import datasets as skd

    from core import datasets

    bunch = skd.load_digits()
    img = np.pad(
        np.kron(np.round(bunch.images * (255 / 16)).astype("uint8"), np.ones((1, 3, 3), "uint8")), ((0, 0), (2, 2), (2, 2))
    )
    x, y = img[..., None], bunch.target.astype("int64")
    tile = lambda n: np.resize(np.arange(len(x)), n)  # noqa: E731
    a, b = tile(train), tile(test)
    return datasets.Dataset(datasets.DATASETS["digits"], x[a], y[a], x[b], y[b])


def prepare(train: int):
    """(spec, dataset, words) for the benchmark's model; the digits fallback is handed to the engine too."""
    from core import datasets
    from core.spec import DataSpec, ExperimentSpec, LayerSpec

    data_spec = DataSpec(name="mnist", train_size=train)
    try:
        data, words = datasets.load(data_spec), "MNIST"
    except datasets.DatasetUnavailable:
        data_spec = DataSpec(name="digits")
        data, words = digits_like_mnist(train, 10_000), "sklearn digits upscaled to 28x28 and tiled (MNIST not here)"
        original = datasets.load
        datasets.load = lambda s, *a, **k: data if s.name == "digits" else original(s, *a, **k)
    spec = ExperimentSpec(
        data=data_spec,
        layers=[LayerSpec.make("Flatten"), LayerSpec.make("Dense", units=128), LayerSpec.make("Dropout", rate=0.2)],
    )
    spec.ensure_layer_names()
    spec.fit.batch_size = 128
    return spec, data, words


def bare(spec, data) -> float:
    from core.builder import build_model, targets

    built = build_model(spec, data)
    y, y_test = targets(data.y_train, built.plan, data.n_classes), targets(data.y_test, built.plan, data.n_classes)
    started = time.perf_counter()
    built.model.fit(
        data.x_train,
        y,
        batch_size=spec.fit.batch_size,
        epochs=spec.fit.epochs,
        shuffle=spec.fit.shuffle,
        validation_data=(data.x_test, y_test),
        verbose=0,
    )
    return time.perf_counter() - started


def ours(spec) -> float:
    from core import queue, worker

    job_id = queue.submit(spec, "bench", watched=False)
    run = queue.claim(worker.worker_id())
    assert run is not None and run.id == job_id
    worker.run_claimed(run, worker.worker_id())
    done = queue.get(job_id)
    assert done.status == "finished", done.message
    return float(done.timings["fit"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-size", type=int, default=60_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--no-write-docs", action="store_true")
    args = parser.parse_args(argv)
    from core.pipeline import warm_imports

    warm_imports()
    spec, data, words = prepare(args.train_size)
    spec.fit.epochs = args.epochs
    bare(spec, data), ours(spec)  # warm-up, unmeasured
    pairs = []
    for i in range(args.pairs):
        first, second = ("bare", "ours") if i % 2 == 0 else ("ours", "bare")
        times = {}
        for arm in (first, second):
            times[arm] = bare(spec, data) if arm == "bare" else ours(spec)
        pairs.append(times)
        print(
            f"pair {i + 1}: bare {times['bare']:.2f} s, ours {times['ours']:.2f} s, ratio {times['ours'] / times['bare']:.3f}",
            flush=True,
        )
    ratios = [p["ours"] / p["bare"] for p in pairs]
    ratio = statistics.median(ratios)
    lines = [
        SECTION,
        "",
        f"Measured {time.strftime('%Y-%m-%d')} with `.venv/bin/python bench/overhead.py {' '.join(sys.argv[1:])}`: "
        f"{words}, {len(data.x_train):,} training samples, {args.epochs} epochs, batch 128, Flatten-Dense(128)-Dropout-Dense(10), "
        "Adam; `fit` wall time, ours = the job run exactly as a training worker runs it (core.worker.run_claimed: "
        "StoreRecorder writing progress and epochs to SQLite, weight histograms, the watcher thread), in one process.",
        "",
        f"**Median ours/bare = {ratio:.3f}** (goal <= {GOAL}); pairs: " + ", ".join(f"{r:.3f}" for r in ratios) + ".",
        "",
        "| pair | bare s | ours s | ours/bare |",
        "|---|---|---|---|",
    ]
    lines += [f"| {i + 1} | {p['bare']:.2f} | {p['ours']:.2f} | {p['ours'] / p['bare']:.3f} |" for i, p in enumerate(pairs)]
    body = "\n".join(lines) + "\n"
    print(body)
    if not args.no_write_docs:
        write_section(DOCS, SECTION, body)
    print(json.dumps({"ratio": round(ratio, 4), "pairs": [{k: round(v, 3) for k, v in p.items()} for p in pairs]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Augmented training input: our `AugmentedBatches` vs a plain `ImageDataGenerator.flow` loop.

    .venv/bin/python bench/augment.py                 # tutorial 003's CNN on the demo folders
    .venv/bin/python bench/augment.py --images 2000 --repeats 3

Two questions, same settings (tutorial 003's augmentation: shifts, rotation 30, zoom 0.3,
both flips) on the same 60x90 RGB images (the bundled kinoko/takenoko demo, tiled to
`--images`):

1. **Input throughput** (images/s, no model): iterating one epoch of batches from
   `tf.keras.preprocessing.image.ImageDataGenerator(...).flow(x, y, batch_size, seed)` (the
   tutorial's loop, the bare Keras call) and from `core.augment.flow(...)` (what the engine
   feeds `fit`; each sample's transform seeded by (seed, epoch, index) so previews match).
   Ours is measured single-threaded (`workers=1`) and with 2 threads fetching batches
   concurrently, as Keras's PyDataset workers do.
2. **Epoch time in `fit`** of the recipe's model (`folder-cnn-augmented`, built by
   `core.builder`): arrays without augmentation, the plain `flow` iterator, ours with
   `workers=1` and with `workers=2`. One warm-up epoch, then the median over `--repeats`
   timed epochs, arms interleaved.

The last line printed is one JSON object; `docs/benchmarks.md` gets the section
"## Augmentation (bench/augment.py)".
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from bench._docs import DOCS, write_section  # noqa: E402

SECTION = "## Augmentation (bench/augment.py)"
RECIPE = "folder-cnn-augmented"


def load_images(count: int):
    """The recipe's spec and its demo-folder training images, tiled to `count` (labels as `fit` gets them)."""
    from core import datasets, recipes
    from core.builder import plan_loss, targets

    spec = recipes.get(RECIPE).build_spec(None)
    data = datasets.load(spec.data)
    plan = plan_loss(data.task, data.n_classes, spec.compile.loss)
    reps = int(np.ceil(count / len(data.x_train)))
    x = np.concatenate([data.x_train] * reps)[:count]
    y = targets(np.concatenate([data.y_train] * reps)[:count], plan, data.n_classes)
    return spec, data, x, y


def throughput(make_batches, epochs: int, fetch_workers: int = 1) -> float:
    """Images per second over `epochs` passes of every batch (fetched by `fetch_workers` threads)."""
    batches = make_batches()
    started = time.perf_counter()
    images = 0
    for _ in range(epochs):
        if fetch_workers == 1:
            for i in range(len(batches)):
                images += len(batches[i][0])
        else:
            with ThreadPoolExecutor(fetch_workers) as pool:
                images += sum(len(b[0]) for b in pool.map(batches.__getitem__, range(len(batches))))
        if hasattr(batches, "on_epoch_end"):
            batches.on_epoch_end()
    return images / (time.perf_counter() - started)


class EpochTimer:
    """A Keras callback recording each epoch's wall time."""

    def __new__(cls):
        import keras

        class _Timer(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.times: list[float] = []

            def on_epoch_begin(self, epoch, logs=None):
                self._t = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.times.append(time.perf_counter() - self._t)

        return _Timer()


def epoch_seconds(spec, data, fit_input: tuple, fit_kwargs: dict, repeats: int) -> list[float]:
    """Train a fresh model of the recipe: one warm-up epoch, then `repeats` timed ones."""
    import keras

    from core.builder import build_model

    keras.backend.clear_session()
    model = build_model(spec, data, seed=0).model
    timer = EpochTimer()
    model.fit(*fit_input, epochs=1 + repeats, verbose=0, callbacks=[timer], **fit_kwargs)
    return timer.times[1:]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=640, help="training images (the demo set tiled)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--passes", type=int, default=3, help="epochs of input-only iteration per arm")
    p.add_argument("--repeats", type=int, default=2, help="timed fit epochs per arm (after one warm-up)")
    p.add_argument("--no-fit", action="store_true", help="input throughput only")
    p.add_argument("--no-write-docs", dest="write_docs", action="store_false")
    p.add_argument("--docs", type=Path, default=DOCS)
    a = p.parse_args(argv)

    import keras
    import tensorflow as tf

    from core import augment

    spec, data, x, y = load_images(a.images)
    settings = spec.augment
    kwargs = augment.generator_kwargs(settings, for_training=True)
    plain = lambda: augment.make_generator(settings, for_training=True).flow(x, y, batch_size=a.batch_size, seed=0)  # noqa: E731
    ours = lambda workers: lambda: augment.flow(x, y, settings, a.batch_size, seed=0, workers=workers)  # noqa: E731

    # Warm both paths (scipy's first affine_transform, thread pools) before timing anything.
    throughput(plain, 1)
    throughput(ours(1), 1)
    rates = {"plain flow": [], "ours, 1 thread": [], "ours, 2 threads": []}
    for _ in range(a.passes):
        rates["plain flow"].append(throughput(plain, 1))
        rates["ours, 1 thread"].append(throughput(ours(1), 1))
        rates["ours, 2 threads"].append(throughput(ours(2), 1, fetch_workers=2))
    rate = {k: statistics.median(v) for k, v in rates.items()}
    for k, v in rate.items():
        print(f"{k:>16}: {v:8.0f} images/s")

    epochs: dict[str, float] = {}
    if not a.no_fit:
        arms = {
            "no augmentation (arrays)": ((x, y), {"batch_size": a.batch_size, "shuffle": True}),
            "plain flow": ((plain(),), {}),
            "ours, workers=1": ((ours(1)(),), {}),
            "ours, workers=2": ((ours(2)(),), {}),
        }
        for name, (fit_input, fit_kwargs) in arms.items():
            times = epoch_seconds(spec, data, fit_input, fit_kwargs, a.repeats)
            epochs[name] = statistics.median(times)
            print(f"{name:>26}: {epochs[name]:6.2f} s/epoch ({', '.join(f'{t:.2f}' for t in times)})")

    result = {
        "images": len(x),
        "shape": list(x.shape[1:]),
        "batch_size": a.batch_size,
        "images_per_second": {k: round(v, 1) for k, v in rate.items()},
        "ratio_ours_1_thread_vs_plain": round(rate["ours, 1 thread"] / rate["plain flow"], 3),
        "ratio_ours_2_threads_vs_plain": round(rate["ours, 2 threads"] / rate["plain flow"], 3),
        "epoch_seconds": {k: round(v, 3) for k, v in epochs.items()},
    }
    if epochs:
        base = epochs["no augmentation (arrays)"]
        result["epoch_ratio_vs_no_augmentation"] = {k: round(v / base, 3) for k, v in epochs.items()}

    if a.write_docs:
        lines = [
            SECTION,
            "",
            f"Tutorial 003's augmentation (`{', '.join(f'{k}={v!r}' for k, v in kwargs.items())}`) on {len(x)} "
            f"images of {x.shape[1]}x{x.shape[2]}x{x.shape[3]} (the bundled demo folders, tiled), batch {a.batch_size}. "
            "Plain = `ImageDataGenerator(...).flow(x, y, batch_size, seed=0)`, the tutorial's loop; ours = "
            "`core.augment.flow` (the engine's `AugmentedBatches`, a `keras.utils.PyDataset` with per-sample seeds).",
            "",
            f"- Command: `python bench/augment.py {' '.join(argv if argv is not None else sys.argv[1:])}`".replace(" `", " `", 1),
            f"- Date: {_dt.date.today().isoformat()}; {os.cpu_count()} CPU cores, no GPU, Python {platform.python_version()}, "
            f"TensorFlow {tf.__version__}, Keras {keras.__version__}",
            "",
            "| input only | images/s (median of passes) | vs plain flow |",
            "|---|---:|---:|",
        ]
        lines += [f"| {k} | {v:.0f} | {v / rate['plain flow']:.2f} |" for k, v in rate.items()]
        if epochs:
            lines += [
                "",
                f"| `fit` of the `{RECIPE}` model | s/epoch (median of {a.repeats}) | vs no augmentation |",
                "|---|---:|---:|",
            ]
            lines += [f"| {k} | {v:.2f} | {v / epochs['no augmentation (arrays)']:.2f} |" for k, v in epochs.items()]
        write_section(a.docs, SECTION, "\n".join(lines))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

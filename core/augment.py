"""Data augmentation with Keras's own ImageDataGenerator (`tf.keras.preprocessing.image`).

The studio and the training engine use the same generator built from one
AugmentSpec, so the preview can show exactly the batches `fit` consumes:
`flow(...)` with the same seed gives the same images in the same order.

Keras 3 no longer exports `keras.preprocessing.image.ImageDataGenerator`; TensorFlow's
`tf.keras.preprocessing.image.ImageDataGenerator` still works (it needs scipy < 2).

Example:
    >>> spec = AugmentSpec(rotation_range=30, horizontal_flip=True)
    >>> variants(image, spec, n=8, seed=1).shape  # doctest: +SKIP
    (8, 60, 90, 3)

Keras and TensorFlow are imported inside the functions that use them, on purpose:
importing this module (the web server does) loads no TensorFlow.
"""

from __future__ import annotations

import threading
from dataclasses import fields
from functools import cache

import numpy as np

from core.spec import AugmentSpec

_NORMALISATION = ("featurewise_center", "featurewise_std_normalization", "samplewise_center", "samplewise_std_normalization")
_TRANSFORMS = (
    "rotation_range",
    "width_shift_range",
    "height_shift_range",
    "shear_range",
    "zoom_range",
    "channel_shift_range",
    "horizontal_flip",
    "vertical_flip",
)


def generator_kwargs(a: AugmentSpec, for_training: bool = False) -> dict:
    """The ImageDataGenerator arguments that differ from Keras's defaults.

    For training, `rescale` is left out: the model's own `rescale` layer divides by 255.
    """
    kwargs = {}
    for name in _TRANSFORMS + _NORMALISATION:
        value = getattr(a, name)
        if value:
            kwargs[name] = value
    if (a.brightness_min, a.brightness_max) != (1.0, 1.0):
        kwargs["brightness_range"] = (min(a.brightness_min, a.brightness_max), max(a.brightness_min, a.brightness_max))
    if a.fill_mode != "nearest":
        kwargs["fill_mode"] = a.fill_mode
    if a.fill_mode == "constant" and a.cval:
        kwargs["cval"] = a.cval
    if a.rescale and not for_training:
        kwargs["rescale"] = a.rescale
    return kwargs


def is_identity(a: AugmentSpec) -> bool:
    """True when the generator would return the images unchanged."""
    return not generator_kwargs(a, for_training=True)


def make_generator(a: AugmentSpec, for_training: bool = False):
    import tensorflow as tf

    return tf.keras.preprocessing.image.ImageDataGenerator(**generator_kwargs(a, for_training))


def needs_fit(a: AugmentSpec) -> bool:
    """Featurewise statistics come from the training data (`datagen.fit(x_train)`)."""
    return a.featurewise_center or a.featurewise_std_normalization


def variants(image: np.ndarray, a: AugmentSpec, n: int, seed: int, sample: np.ndarray | None = None) -> np.ndarray:
    """`n` augmented versions of one (H, W, C) image, reproducible for a seed.

    Geometric and colour transforms only (`random_transform`), as a grid of what the
    network might see. Normalisation is shown on a batch by `normalise_batch`.
    """
    gen = make_generator(a, for_training=True)
    x = np.asarray(image, "float32")
    out = [np.clip(gen.random_transform(x, seed=seed * 1000 + i), 0, 255) for i in range(n)]
    return np.stack(out).astype("uint8")


def normalise_batch(batch: np.ndarray, a: AugmentSpec, fit_on: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """The batch after the generator's centering / std normalisation, with mean and std before and after."""
    gen = make_generator(AugmentSpec(**{name: getattr(a, name) for name in _NORMALISATION}))
    x = np.asarray(batch, "float32")
    if needs_fit(a):
        gen.fit(np.asarray(fit_on if fit_on is not None else batch, "float32"))
    out = np.stack([gen.standardize(np.array(img)) for img in x])
    stats = {
        "mean_before": float(x.mean()),
        "std_before": float(x.std()),
        "mean_after": float(out.mean()),
        "std_after": float(out.std()),
    }
    return out, stats


# ImageDataGenerator draws its random transforms from NumPy's global generator, which every
# thread shares: draw the parameters under a lock, apply them (the expensive part) in parallel.
_PARAMS_LOCK = threading.Lock()


def flow(x: np.ndarray, y: np.ndarray, a: AugmentSpec, batch_size: int, seed: int, shuffle: bool = True, workers: int = 2):
    """The training input: augmented batches, as `fit` consumes them (see `batches_class`)."""
    return batches_class()(x, y, a, batch_size, seed, shuffle, workers)


def first_batches(x: np.ndarray, y: np.ndarray, a: AugmentSpec, batch_size: int, seed: int, count: int = 1) -> list[tuple]:
    """The first `count` batches `fit` will see in epoch 1 (same generator, same seed)."""
    batches = flow(x, y, a, batch_size, seed, workers=1)
    return [batches[i] for i in range(min(count, len(batches)))]


@cache
def batches_class():
    """`AugmentedBatches`, a keras.utils.PyDataset; defined on first use so importing this module stays light."""
    import keras

    return type("AugmentedBatches", (_AugmentedBatchesMixin, keras.utils.PyDataset), {})


class _AugmentedBatchesMixin:
    """Augmented (x, y) batches for `fit`, deterministic for a seed whatever the worker threads do.

    Each sample's transform is drawn from a seed made of (seed, epoch, sample index), so
    batch k of epoch e is always the same images; the order is reshuffled every epoch.
    With `workers` > 1, Keras prepares the next batches in background threads.
    """

    def __init__(self, x, y, a: AugmentSpec, batch_size: int, seed: int, shuffle: bool = True, workers: int = 2):
        # A mixin: the next class in the MRO is keras.utils.PyDataset (see batches_class), which takes these.
        super().__init__(workers=workers, use_multiprocessing=False, max_queue_size=max(4, 2 * workers))  # type: ignore[call-arg]
        self.x, self.y, self.batch_size, self.seed, self.shuffle = x, y, batch_size, seed, shuffle
        self.generator = make_generator(a, for_training=True)
        if needs_fit(a):
            self.generator.fit(np.asarray(x, "float32"))
        self.epoch = 0
        self._order()

    def _order(self) -> None:
        n = len(self.x)
        self.order = np.random.default_rng([self.seed, self.epoch]).permutation(n) if self.shuffle else np.arange(n)

    def __len__(self) -> int:
        return (len(self.x) + self.batch_size - 1) // self.batch_size

    def __getitem__(self, idx: int):
        indices = self.order[idx * self.batch_size : (idx + 1) * self.batch_size]
        batch = np.empty((len(indices), *self.x.shape[1:]), "float32")
        for j, i in enumerate(indices):
            with _PARAMS_LOCK:
                params = self.generator.get_random_transform(self.x.shape[1:], seed=_sample_seed(self.seed, self.epoch, int(i)))
            image = self.generator.apply_transform(self.x[i].astype("float32"), params)
            batch[j] = self.generator.standardize(image)
        return batch, self.y[indices]

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._order()


def _sample_seed(seed: int, epoch: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, epoch, index]).generate_state(1)[0])


def code(a: AugmentSpec) -> str:
    """The Python a learner would write for the current settings."""
    kwargs = generator_kwargs(a)
    args = "".join(f"\n    {k}={v!r}," for k, v in kwargs.items())
    lines = [
        "import tensorflow as tf",
        "",
        "# Keras 3 moved it: keras.preprocessing.image.ImageDataGenerator no longer exists.",
        f"datagen = tf.keras.preprocessing.image.ImageDataGenerator({args}\n)"
        if kwargs
        else "datagen = tf.keras.preprocessing.image.ImageDataGenerator()",
    ]
    if needs_fit(a):
        lines.append("datagen.fit(x_train)  # featurewise statistics from the training images")
    lines += [
        f"batches = datagen.flow(x_train, y_train, batch_size=32, seed={a.seed})",
        "model.fit(batches, epochs=20, validation_data=(x_test, y_test))",
    ]
    return "\n".join(lines)


def changed(a: AugmentSpec) -> list[str]:
    """Names of the settings that differ from the defaults (for the runs table)."""
    default = AugmentSpec()
    return [
        f.name
        for f in fields(AugmentSpec)
        if f.name not in ("enabled", "seed") and getattr(a, f.name) != getattr(default, f.name)
    ]

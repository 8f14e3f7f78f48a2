"""Give back what TensorFlow keeps after a model is gone, without `keras.backend.clear_session()`.

`clear_session()` would reset Keras's global state under the feet of every other training in the
process, so the app never calls it (see `ui/runtime.py`). Without it one thing leaks for good:
each time a Keras optimizer step is traced into a `tf.function`, the default distribution
strategy's `all_reduce` is wrapped in `tf.custom_gradient`, and in graph mode that registers a
gradient function under a fresh name ("CustomGradient-386") in TensorFlow's process-wide gradient
registry. The registry never drops it, and the function's closure holds the traced graph: about
1000 graph operations and 8-9 MB per trained model (measured in bench/memory.py).

That name is only looked up (`ops.get_gradient_function`) to differentiate *through* the
all-reduce symbolically, which fit() never does: Keras closes its GradientTape before
`apply_gradients`, and the all-reduce there sums gradients already computed, on one replica
(inside a tape, `tf.custom_gradient` records its own function, not the registered name). So the
registrations can be dropped whenever a training (or a timed batch) ends, even while other
threads are tracing theirs: names come from `ops.uid()` and are never reused.

    >>> forget_all_reduce_gradients()  # after model.fit / train_on_batch  # doctest: +SKIP
    2
"""

from __future__ import annotations

import ctypes
import sys

_PREFIX = "CustomGradient-"


def _closure_values(fn) -> list:
    values = []
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            values.append(cell.cell_contents)
        except ValueError:  # an empty cell
            pass
    return values


def _wraps_all_reduce(grad_fn) -> bool:
    """True for the gradient `ReplicaContextBase.all_reduce` registered via `tf.custom_gradient`."""
    # internal_grad_fn -> tape_grad_fn -> (the all_reduce's gradient lambda, ...)
    for inner in _closure_values(grad_fn):
        if callable(inner) and any(getattr(f, "__qualname__", "").startswith("ReplicaContextBase.all_reduce.")
                                   for f in _closure_values(inner)):
            return True
    return False


def forget_all_reduce_gradients() -> int:
    """Drop the all-reduce gradient registrations (see above); return how many went."""
    ops = sys.modules.get("tensorflow.python.framework.ops")
    if ops is None:  # TensorFlow never imported: nothing was traced
        return 0
    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    if not isinstance(registry, dict):  # another TensorFlow layout: leave it alone
        return 0
    dropped = 0
    for name in [k for k in list(registry) if isinstance(k, str) and k.startswith(_PREFIX)]:
        entry = registry.get(name)
        if isinstance(entry, dict) and _wraps_all_reduce(entry.get("type")):
            registry.pop(name, None)
            dropped += 1
    return dropped


def _libc():
    try:
        return ctypes.CDLL("libc.so.6")  # glibc; elsewhere (musl, macOS) there is no malloc_trim
    except OSError:
        return None


_LIBC = _libc()


def give_back_free_memory() -> bool:
    """Return the C allocator's free pages to the system (glibc `malloc_trim`); False where there is none.

    A training allocates and frees hundreds of MB in its own thread's malloc arena; glibc keeps
    the freed pages for later, so RSS only ever climbs as learners come and go. Trimming after each
    job keeps RSS close to what is really in use (a few ms of CPU).
    """
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is None:
        return False
    return bool(trim(0))

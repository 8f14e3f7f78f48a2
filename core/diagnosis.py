"""Curve diagnosis: read the loss and accuracy curves and say in plain words what they show.

After every epoch the Train page can call `diagnose` with the run's history (the
same dict of per-epoch lists as Keras's `History.history`) and the run's spec. It
returns a list of `Finding`s, most urgent first; an empty list means "nothing to
report" (a healthy run, or too few epochs to judge). Each finding carries a
message (`core.i18n.Msg`, rendered in the learner's language) and one-click
`Fix`es: `fix.apply(spec)` returns a changed *copy* of the spec, the original is
left alone.

The kinds of finding (`KINDS`):

* `diverging` (severity `error`): a NaN/inf loss, a run the trainer stopped as
  diverged, a training loss far above where it started or far beyond guessing,
  one climbing steadily away from its lowest point, or one that blew up and left
  the accuracy back at chance ("collapsed"). Fix: learning rate / 10.
* `overfitting` (`warning`; `info` when early stopping already restored the best
  weights): the validation loss has risen for several epochs from its minimum by
  a clear margin while the training loss kept falling. Fixes: Dropout before the
  output layer (or a higher rate), L2 on the Dense layers, data augmentation
  (image data), early stopping, fewer epochs (the epoch of lowest val_loss).
* `underfitting` (`warning`): training accuracy still close to chance after
  many epochs, or a finished run whose training and validation accuracy are both
  poor and close while the loss was still falling. Fixes: more units, more
  epochs, a higher learning rate, Adam.
* `plateau` (`warning`): the training loss has stopped improving while the
  training accuracy is still poor. Fixes: a higher learning rate, Adam, more units.
* `noisy` (`info`): the training or validation loss jumps up and down from
  epoch to epoch by a large fraction of its level. Fixes: learning rate / 2,
  twice the batch size.

Rules need a minimum number of epochs (see the constants below), so a one- or
two-epoch history can only ever be `diverging`. Nothing here imports Keras or
Streamlit.

Example:
    >>> from core.spec import ExperimentSpec
    >>> spec = ExperimentSpec.default_for("mnist")
    >>> spec.fit.epochs = 12
    >>> history = {"loss": [0.50, 0.30, 0.20, 0.14, 0.10, 0.07, 0.05, 0.035, 0.025, 0.018],
    ...            "val_loss": [0.40, 0.30, 0.26, 0.25, 0.27, 0.30, 0.34, 0.38, 0.42, 0.46],
    ...            "accuracy": [0.85, 0.91, 0.94, 0.96, 0.97, 0.98, 0.985, 0.99, 0.993, 0.995],
    ...            "val_accuracy": [0.88, 0.91, 0.92, 0.925, 0.924, 0.922, 0.921, 0.92, 0.919, 0.918]}
    >>> [f.kind for f in diagnose(history, spec, "running", n_classes=10)]
    ['overfitting']
    >>> finding = diagnose(history, spec, "running", n_classes=10)[0]
    >>> finding.message.key, finding.epoch
    ('diagnosis.overfitting', 4)
    >>> [fix.id for fix in finding.fixes]  # the stack ends in Dropout(0.2): raise its rate
    ['raise_dropout', 'l2', 'augment', 'early_stopping', 'fewer_epochs']
    >>> shorter = finding.fixes[-1].apply(spec)
    >>> shorter.fit.epochs, spec.fit.epochs
    (4, 12)

A page shows `finding.message.render(lang)` and one button per fix
(`fix.label.render(lang)`); on click: `state.replace_spec(fix.apply(job.spec))`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from core.i18n import Msg
from core.spec import DEFAULT_LEARNING_RATES, ExperimentSpec, dataset_kind, tutorial_augmentation

KINDS = ("diverging", "overfitting", "underfitting", "plateau", "noisy")
SEVERITIES = ("error", "warning", "info")  # as st.error / st.warning / st.info

# --------------------------------------------------------------------------- thresholds

#: Diverging: the training loss ends this many times above its first epoch ...
DIVERGE_FROM_FIRST = 2.0
#: ... or this many times above its lowest value, rising over the last two epochs ...
DIVERGE_FROM_BEST = 1.5
#: ... and in both cases by at least this much in absolute terms (tiny losses jitter harmlessly).
DIVERGE_MIN_RISE = 0.05
#: Diverging: a cross-entropy loss this many times the loss of guessing (ln K) means blown-up weights.
DIVERGE_CHANCE_FACTOR = 10.0
#: Diverging ("collapsed"): an epoch above this many times ln K, and the accuracy now back at chance
#: (the large first steps wrecked the weights, e.g. ReLUs that no longer fire; the loss then sits at ln K).
COLLAPSE_CHANCE_FACTOR = 2.0

#: Overfitting: judged from this many epochs on ...
OVERFIT_MIN_EPOCHS = 5
#: ... when val_loss has been above its minimum for at least this many epochs ...
OVERFIT_SINCE = 3
#: ... the mean of its last two epochs is this fraction above the minimum ...
OVERFIT_RISE = 0.10
#: ... and the training loss has fallen by at least this fraction since the val_loss minimum.
OVERFIT_TRAIN_DROP = 0.03

#: Accuracy as a fraction of the way from chance to 1 ((acc - chance) / (1 - chance)):
#: below POOR the model does badly, below NEAR_CHANCE it is barely better than guessing.
POOR = 0.5
NEAR_CHANCE = 0.2
#: Training and validation accuracy this close count as "close" (no overfitting gap).
CLOSE_GAP = 0.1
#: Underfitting: judged from this many epochs on; near-chance while still running from UNDERFIT_CHANCE_EPOCHS.
UNDERFIT_MIN_EPOCHS = 5
UNDERFIT_CHANCE_EPOCHS = 10

#: Plateau: the mean training loss of the last PLATEAU_WINDOW epochs is within PLATEAU_GAIN
#: (relative) of the mean of the window before it. Needs two windows of epochs.
PLATEAU_WINDOW = 4
PLATEAU_GAIN = 0.02

#: Noisy: over the last NOISY_WINDOW epochs (at least NOISY_MIN_EPOCHS), at least NOISY_FLIPS of the
#: successive differences change sign, and the median jump is at least NOISY_AMPLITUDE of the level
#: (the level floored at NOISY_LEVEL_FLOOR so near-zero losses jittering in the 4th decimal do not count).
#: The training loss is an average over batches of a model that changes (and drops units) during the
#: epoch: on small data it wobbles more in a healthy run, so it needs a larger jump.
NOISY_MIN_EPOCHS = 6
NOISY_WINDOW = 10
NOISY_FLIPS = 0.4
NOISY_AMPLITUDE = {"val_loss": 0.10, "loss": 0.25}
NOISY_LEVEL_FLOOR = 0.1

#: Limits of the one-click changes (the spec's own ranges).
MIN_LEARNING_RATE, MAX_LEARNING_RATE = 1e-7, 100.0
MAX_EPOCHS, MAX_BATCH_SIZE, MAX_UNITS = 1000, 8192, 4096
DROPOUT_RATE, MAX_DROPOUT_RATE = 0.3, 0.5
L2_STRENGTH = 0.01

_ENDED = ("finished",)  # "stopped" is the learner pressing Stop: the planned epochs did not run
_NOT_DIAGNOSED = ("queued", "failed")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Fix:
    """One change to try. `apply(spec)` returns a changed copy; `spec` itself is never touched.

    `id` is stable (`"lower_lr"`, `"add_dropout"`, ...: see `FIX_IDS`) for tests and page keys;
    `label` says exactly what changes, with the numbers worked out from the diagnosed spec.
    """

    id: str
    label: Msg
    change: Callable[[ExperimentSpec], None] = field(repr=False, compare=False)

    def apply(self, spec: ExperimentSpec) -> ExperimentSpec:
        new = spec.copy()
        self.change(new)
        return new


FIX_IDS = (
    "lower_lr",
    "add_dropout",
    "raise_dropout",
    "l2",
    "augment",
    "early_stopping",
    "fewer_epochs",
    "more_units",
    "more_epochs",
    "higher_lr",
    "adam",
    "larger_batch",
)


@dataclass(frozen=True)
class Finding:
    """What the curves show: a kind (see `KINDS`), how bad, a message and the fixes to try (best first).

    `epoch` (1-based) is the epoch the finding points at, for marking on a chart: the bad
    epoch for `diverging`, the lowest val_loss for `overfitting`, else the last epoch.
    `curve` is the history key the finding is about (`"loss"` or `"val_loss"`).
    """

    kind: str
    severity: str
    message: Msg
    fixes: list[Fix] = field(default_factory=list)
    epoch: int | None = None
    curve: str = "loss"


# --------------------------------------------------------------------------- the rules


def diagnose(
    history: dict[str, list[float]],
    spec: ExperimentSpec,
    status: str = "running",
    n_classes: int | None = None,
) -> list[Finding]:
    """The findings for a run's curves so far, most urgent first ([] for a healthy run).

    `history`: per-epoch lists as Keras's History (`loss`, `val_loss`, `accuracy`,
    `val_accuracy`; other keys are ignored). `status`: the job status (`running`,
    `finished`, `stopped`, `diverged`; `queued` and `failed` give []). `n_classes`
    sets the chance level (1/K accuracy, ln K loss); without it those rules are skipped
    or judged against 0.
    """
    if status in _NOT_DIAGNOSED:
        return []
    loss = _series(history, "loss")
    val_loss = _series(history, "val_loss")
    acc = _series(history, "accuracy") if "accuracy" in history else _series(history, "acc")
    val_acc = _series(history, "val_accuracy") if "val_accuracy" in history else _series(history, "val_acc")
    diverging = _diverging(loss, val_loss, acc, spec, status, n_classes)
    if diverging:
        return [diverging]
    noisy = _noisy(loss, val_loss, spec)
    findings = []
    # A jumpy validation loss has spikes that look like a rise from its minimum: say "noisy" only.
    overfitting = None if noisy and noisy.curve == "val_loss" else _overfitting(loss, val_loss, spec, status)
    if overfitting:
        findings.append(overfitting)
    weak = (
        _stalled_regression(loss, spec)
        if spec.regression
        else _underfitting_or_plateau(loss, acc, val_acc, spec, status, n_classes)
    )
    if weak and not overfitting:
        findings.append(weak)
    if noisy:
        findings.append(noisy)
    return findings


def _series(history: dict, key: str) -> np.ndarray:
    return np.asarray([np.nan if v is None else float(v) for v in history.get(key) or []], dtype=float)


def _loss_of_guessing(spec: ExperimentSpec, n_classes: int | None) -> float | None:
    """ln K for cross-entropy losses with K classes (None when unknown or not cross-entropy)."""
    if not n_classes or spec.compile.loss == "mean_squared_error":
        return None
    return math.log(max(n_classes, 2))


def _optimizer(spec: ExperimentSpec) -> Msg:
    return Msg(f"optimizer.{spec.compile.optimizer}")


def _num(x: float) -> str:
    return f"{x:.3g}"


def _pct(x: float) -> str:
    return f"{x:.0%}"


def _not_a_number(loss, val_loss, lr, fixes) -> Finding | None:
    for name, curve in (("loss", loss), ("val_loss", val_loss)):
        bad = np.flatnonzero(~np.isfinite(curve))
        if bad.size:
            i = int(bad[0])
            msg = Msg(
                "diagnosis.diverging_nan", dict(curve=Msg(f"diagnosis.curve.{name}"), value=str(curve[i]), epoch=i + 1, **lr)
            )
            return Finding("diverging", "error", msg, fixes, i + 1, name)
    return None


def _beyond_guessing(loss, acc, guess, n_classes, lr, fixes) -> Finding | None:
    """Far above the loss of guessing now, or once so far that the accuracy fell back to chance."""
    n, last = len(loss), float(loss[-1])
    if last > DIVERGE_CHANCE_FACTOR * guess:
        msg = Msg("diagnosis.diverging_huge", dict(value=_num(last), epoch=n, chance=_num(guess), **lr))
        return Finding("diverging", "error", msg, fixes, n)
    if n >= 3 and acc.size >= n:
        p = int(loss.argmax())
        now = float(acc[:n][-3:].mean())
        if loss[p] > COLLAPSE_CHANCE_FACTOR * guess and normalized_accuracy(now, n_classes) < NEAR_CHANCE:
            fields = dict(peak=_num(float(loss[p])), peak_epoch=p + 1, chance=_num(guess), acc=_pct(now), **lr)
            return Finding("diverging", "error", Msg("diagnosis.diverging_collapsed", fields), fixes, p + 1)
    return None


def _rising(loss, lr, fixes) -> Finding | None:
    """Far above where it started, or climbing steadily away from its best (one spike of a jumpy curve is "noisy")."""
    n, last = len(loss), float(loss[-1])
    first, best, b = float(loss[0]), float(loss.min()), int(loss.argmin())
    from_first = last > DIVERGE_FROM_FIRST * first and last - first >= DIVERGE_MIN_RISE
    climbing = (
        n >= 4
        and last > DIVERGE_FROM_BEST * best
        and last - best >= DIVERGE_MIN_RISE
        and loss[-1] > loss[-2] > loss[-3]
        and _jumpiness(loss)[0] < NOISY_FLIPS
    )
    if not (from_first or climbing):
        return None
    msg = Msg("diagnosis.diverging_rising", dict(value=_num(last), epoch=n, best=_num(best), best_epoch=b + 1, **lr))
    return Finding("diverging", "error", msg, fixes, n)


def _diverging(loss, val_loss, acc, spec, status, n_classes) -> Finding | None:
    lr = dict(lr=f"{spec.compile.learning_rate:g}", optimizer=_optimizer(spec))
    fixes = [f for f in (lower_lr(spec, 10),) if f]
    found = _not_a_number(loss, val_loss, lr, fixes)
    if found is not None:
        return found
    if status == "diverged":
        return Finding("diverging", "error", Msg("diagnosis.diverging_stopped", lr), fixes, len(loss) + 1)
    if not loss.size:
        return None
    guess = _loss_of_guessing(spec, n_classes)
    found = _beyond_guessing(loss, acc, guess, n_classes, lr, fixes) if guess is not None else None
    if found is None and len(loss) >= 2:
        found = _rising(loss, lr, fixes)
    return found


def _overfitting(loss, val_loss, spec, status) -> Finding | None:
    n = min(len(loss), len(val_loss))
    if n < OVERFIT_MIN_EPOCHS:
        return None
    loss, val_loss = loss[:n], val_loss[:n]
    m = int(val_loss.argmin())
    best = float(val_loss[m])
    since = n - 1 - m
    if since < OVERFIT_SINCE:
        return None
    recent = float(val_loss[-2:].mean())
    rising = recent >= (1 + OVERFIT_RISE) * best and min(val_loss[-2:]) >= (1 + OVERFIT_RISE / 2) * best
    train_falling = loss[-1] <= (1 - OVERFIT_TRAIN_DROP) * loss[m]
    if not (rising and train_falling and val_loss[-1] > loss[-1]):
        return None
    fields = dict(
        best_epoch=m + 1,
        best=_num(best),
        now=_num(float(val_loss[-1])),
        since=since,
        train_then=_num(float(loss[m])),
        train_now=_num(float(loss[-1])),
    )
    f = spec.fit
    stopped_early = f.early_stopping and f.restore_best_weights and status == "finished" and n < f.epochs
    fixes = [dropout_fix(spec), l2_fix(spec), augment_fix(spec), early_stopping_fix(spec), fewer_epochs(spec, m + 1)]
    if stopped_early:
        return Finding(
            "overfitting",
            "info",
            Msg("diagnosis.overfitting_early_stopped", fields),
            [x for x in fixes[:3] if x],
            m + 1,
            "val_loss",
        )
    return Finding("overfitting", "warning", Msg("diagnosis.overfitting", fields), [x for x in fixes if x], m + 1, "val_loss")


def normalized_accuracy(acc: float, n_classes: int | None) -> float:
    """How far from chance (0) to perfect (1) an accuracy is; the raw accuracy without n_classes."""
    chance = 1.0 / n_classes if n_classes and n_classes > 1 else 0.0
    return (acc - chance) / (1.0 - chance)


def _underfitting_or_plateau(loss, acc, val_acc, spec, status, n_classes) -> Finding | None:
    n = min(len(loss), len(acc))
    if n < UNDERFIT_MIN_EPOCHS:
        return None
    train_acc = float(acc[:n][-3:].mean())
    level = normalized_accuracy(train_acc, n_classes)
    if level >= POOR:
        return None
    w = PLATEAU_WINDOW
    flat = n >= 2 * w and float(loss[n - w : n].mean()) >= (1 - PLATEAU_GAIN) * float(loss[n - 2 * w : n - w].mean())
    acc_text = _pct(train_acc)
    if flat:
        fields = dict(
            window=w, before=_num(float(loss[n - 2 * w : n - w].mean())), now=_num(float(loss[n - w : n].mean())), acc=acc_text
        )
        fixes = [higher_lr(spec), adam_fix(spec), more_units(spec)]
        return Finding("plateau", "warning", Msg("diagnosis.plateau", fields), [x for x in fixes if x], n)
    near_chance = n_classes and n_classes > 1 and level < NEAR_CHANCE
    if near_chance and n >= UNDERFIT_CHANCE_EPOCHS:
        fields = dict(epochs=n, acc=acc_text, chance=_pct(1.0 / n_classes), classes=n_classes)
        fixes = [higher_lr(spec), adam_fix(spec), more_epochs(spec), more_units(spec)]
        return Finding("underfitting", "warning", Msg("diagnosis.underfitting_chance", fields), [x for x in fixes if x], n)
    ended = status in _ENDED or n >= spec.fit.epochs
    if not ended:
        return None
    if val_acc.size >= n:
        valid = float(val_acc[:n][-3:].mean())
        if abs(train_acc - valid) > CLOSE_GAP:
            return None
        val_text = _pct(valid)
    else:
        val_text = "-"
    fields = dict(epochs=n, acc=acc_text, val_acc=val_text)
    fixes = [more_units(spec), more_epochs(spec), higher_lr(spec), adam_fix(spec)]
    return Finding("underfitting", "warning", Msg("diagnosis.underfitting", fields), [x for x in fixes if x], n)


def _stalled_regression(loss, spec) -> Finding | None:
    """A regression has no accuracy to judge by: its loss stopped falling while still near where it started."""
    n, w = len(loss), PLATEAU_WINDOW
    if n < max(UNDERFIT_MIN_EPOCHS, 2 * w):
        return None
    before, now = float(loss[n - 2 * w : n - w].mean()), float(loss[n - w : n].mean())
    if now < (1 - PLATEAU_GAIN) * before or now < POOR * float(loss[0]):
        return None  # still falling, or it learned most of what it could
    fields = dict(window=w, before=_num(before), now=_num(now), first=_num(float(loss[0])))
    fixes = [higher_lr(spec), adam_fix(spec), more_units(spec)]
    return Finding("plateau", "warning", Msg("diagnosis.plateau_regression", fields), [x for x in fixes if x], n)


def _jumpiness(curve: np.ndarray) -> tuple[float, float]:
    """(fraction of successive differences that change sign, median jump / level) over the last epochs."""
    tail = curve[-NOISY_WINDOW:]
    d = np.diff(tail)
    signs = np.sign(d[d != 0])
    flips = float(np.mean(signs[1:] != signs[:-1])) if signs.size >= 2 else 0.0
    level = max(float(np.median(tail)), NOISY_LEVEL_FLOOR)
    return flips, float(np.median(np.abs(d))) / level


def _noisy(loss, val_loss, spec) -> Finding | None:
    for name, curve in (("val_loss", val_loss), ("loss", loss)):
        if len(curve) < NOISY_MIN_EPOCHS:
            continue
        flips, amplitude = _jumpiness(curve)
        if flips >= NOISY_FLIPS and amplitude >= NOISY_AMPLITUDE[name]:
            tail = curve[-NOISY_WINDOW:]
            fields = dict(
                curve=Msg(f"diagnosis.curve.{name}"),
                epochs=len(tail),
                jump=_num(float(np.median(np.abs(np.diff(tail))))),
                level=_num(float(np.median(tail))),
            )
            fixes = [lower_lr(spec, 2), larger_batch(spec)]
            return Finding("noisy", "info", Msg("diagnosis.noisy", fields), [x for x in fixes if x], len(curve), name)
    return None


# --------------------------------------------------------------------------- the fixes
# Each returns a Fix, or None when the change is not possible (already at a limit, nothing to change).


def _round(x: float) -> float:
    return float(f"{x:.3g}")


def lower_lr(spec: ExperimentSpec, factor: float = 10) -> Fix | None:
    """The learning rate divided by `factor` (10 for diverging, 2 for noisy)."""
    old = spec.compile.learning_rate
    new = max(MIN_LEARNING_RATE, _round(old / factor))
    if new >= old:
        return None

    def change(s: ExperimentSpec) -> None:
        s.compile.learning_rate = new

    return Fix("lower_lr", Msg("diagnosis.fix.lower_lr", dict(old=f"{old:g}", new=f"{new:g}")), change)


def higher_lr(spec: ExperimentSpec, factor: float = 3) -> Fix | None:
    """The learning rate x3, or straight to the optimizer's Keras default when that is higher still."""
    old = spec.compile.learning_rate
    new = min(MAX_LEARNING_RATE, max(_round(old * factor), DEFAULT_LEARNING_RATES.get(spec.compile.optimizer, 0.0)))
    if new <= old:
        return None

    def change(s: ExperimentSpec) -> None:
        s.compile.learning_rate = new

    return Fix("higher_lr", Msg("diagnosis.fix.higher_lr", dict(old=f"{old:g}", new=f"{new:g}")), change)


def adam_fix(spec: ExperimentSpec) -> Fix | None:
    """Switch to Adam with its Keras default learning rate (0.001)."""
    if spec.compile.optimizer == "adam":
        return None

    def change(s: ExperimentSpec) -> None:
        s.set_optimizer("adam")

    return Fix("adam", Msg("diagnosis.fix.adam", dict(old=_optimizer(spec), lr=f"{DEFAULT_LEARNING_RATES['adam']:g}")), change)


def larger_batch(spec: ExperimentSpec) -> Fix | None:
    old = spec.fit.batch_size
    new = min(MAX_BATCH_SIZE, old * 2)
    if new <= old:
        return None

    def change(s: ExperimentSpec) -> None:
        s.fit.batch_size = new

    return Fix("larger_batch", Msg("diagnosis.fix.larger_batch", dict(old=old, new=new)), change)


def more_epochs(spec: ExperimentSpec) -> Fix | None:
    old = spec.fit.epochs
    new = min(MAX_EPOCHS, old * 2)
    if new <= old:
        return None

    def change(s: ExperimentSpec) -> None:
        s.fit.epochs = new

    return Fix("more_epochs", Msg("diagnosis.fix.more_epochs", dict(old=old, new=new)), change)


def fewer_epochs(spec: ExperimentSpec, best_epoch: int) -> Fix | None:
    """Train only up to the epoch where the validation loss was lowest."""
    old, new = spec.fit.epochs, max(1, int(best_epoch))
    if new >= old:
        return None

    def change(s: ExperimentSpec) -> None:
        s.fit.epochs = new

    return Fix("fewer_epochs", Msg("diagnosis.fix.fewer_epochs", dict(old=old, new=new)), change)


def more_units(spec: ExperimentSpec) -> Fix | None:
    """Twice the units of every Dense layer of the stack (capped at 4096)."""
    dense = [layer.params["units"] for layer in spec.layers if layer.type == "Dense"]
    if not dense or all(u >= MAX_UNITS for u in dense):
        return None

    def change(s: ExperimentSpec) -> None:
        for layer in s.layers:
            if layer.type == "Dense":
                layer.params["units"] = min(MAX_UNITS, layer.params["units"] * 2)

    new = [min(MAX_UNITS, u * 2) for u in dense]
    return Fix(
        "more_units", Msg("diagnosis.fix.more_units", dict(old=", ".join(map(str, dense)), new=", ".join(map(str, new)))), change
    )


def dropout_fix(spec: ExperimentSpec) -> Fix | None:
    """Dropout(0.3) at the end of the stack, i.e. just before the output layer; or a higher rate
    (+0.2, at most 0.5) for a Dropout already there."""
    last = spec.layers[-1] if spec.layers else None
    if last is not None and last.type == "Dropout":
        old = float(last.params["rate"])
        new = round(min(MAX_DROPOUT_RATE, old + 0.2), 2)
        if new <= old:
            return None
        name = last.name

        def raise_rate(s: ExperimentSpec) -> None:
            for layer in s.layers:
                if layer.name == name and layer.type == "Dropout":
                    layer.params["rate"] = new

        return Fix(
            "raise_dropout", Msg("diagnosis.fix.raise_dropout", dict(layer=name, old=f"{old:g}", new=f"{new:g}")), raise_rate
        )

    def add(s: ExperimentSpec) -> None:
        s.add_layer("Dropout", rate=DROPOUT_RATE)

    return Fix("add_dropout", Msg("diagnosis.fix.add_dropout", dict(rate=f"{DROPOUT_RATE:g}")), add)


def l2_fix(spec: ExperimentSpec) -> Fix | None:
    """L2 0.01 on every Dense layer (or 3x the strongest L2 already there, at most 1)."""
    dense = [layer.params["l2"] for layer in spec.layers if layer.type == "Dense"]
    if not dense:
        return None
    strongest = max(dense)
    new = L2_STRENGTH if strongest < L2_STRENGTH else min(1.0, _round(strongest * 3))
    if new <= strongest and min(dense) >= new:
        return None

    def change(s: ExperimentSpec) -> None:
        for layer in s.layers:
            if layer.type == "Dense":
                layer.params["l2"] = new

    return Fix("l2", Msg("diagnosis.fix.l2", dict(l2=f"{new:g}")), change)


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


def augment_fix(spec: ExperimentSpec) -> Fix | None:
    """Train with augmentation (image data only; not in transfer learning's cached-features mode).

    Keeps the studio's transforms if any are set, else takes tutorial 003's."""
    if dataset_kind(spec.data.name) != "image" or spec.augment.enabled:
        return None
    if spec.transfer.base and spec.transfer.mode == "features":
        return None

    def change(s: ExperimentSpec) -> None:
        a = s.augment
        moves = any(getattr(a, k) for k in _TRANSFORMS) or a.brightness_min != 1.0 or a.brightness_max != 1.0
        if not moves:
            seed = a.seed
            s.augment = tutorial_augmentation(enabled=True)
            s.augment.seed = seed
        s.augment.enabled = True

    return Fix("augment", Msg("diagnosis.fix.augment"), change)


def early_stopping_fix(spec: ExperimentSpec) -> Fix | None:
    """EarlyStopping on val_loss with restore_best_weights (patience as set, 3 by default)."""
    f = spec.fit
    if f.early_stopping and f.restore_best_weights:
        return None

    def change(s: ExperimentSpec) -> None:
        s.fit.early_stopping = True
        s.fit.restore_best_weights = True

    return Fix("early_stopping", Msg("diagnosis.fix.early_stopping", dict(patience=f.patience)), change)

"""A whole setup in a link: the spec in the URL, plus an instructor's classroom settings.

The spec (dataset, model, hyperparameters, augmentation, transfer learning, recipe) is
JSON, compressed and base64url-encoded into one query parameter, so "Copy link" gives
another browser the same screen. An instructor link may also lock or hide controls
(as TensorFlow Playground's "use it in classroom") and open on a chosen page.

Example:
    >>> from core.spec import ExperimentSpec
    >>> spec = ExperimentSpec.default_for("moons")
    >>> decode_spec(encode_spec(spec)) == spec
    True
"""

from __future__ import annotations

import base64
import binascii
import zlib
from dataclasses import dataclass, field
from urllib.parse import urlencode

from core.spec import ExperimentSpec, SpecError

SPEC_PARAM, LOCK_PARAM, HIDE_PARAM, PAGE_PARAM = "s", "lock", "hide", "page"
MAX_PARAM_CHARS = 8000  # a link longer than this is refused (browsers and proxies cut long URLs)

#: Controls an instructor can lock or hide, by the spec field they edit (the widget's `attr`).
CONTROLS = (
    "dataset",
    "noise",
    "n_samples",
    "train_size",
    "validation",
    "layers",
    "optimizer",
    "learning_rate",
    "loss",
    "batch_size",
    "epochs",
    "early_stopping",
    "seed",
    "augment",
    "transfer",
)
#: Spec field names that a control covers, where they differ from the control's name.
FIELD_CONTROL = {
    "name": "dataset",
    "validation_split": "validation",
    "test_size": "train_size",
    "momentum": "optimizer",
    "nesterov": "optimizer",
    "weight_decay": "optimizer",
    "schedule": "learning_rate",
    "decay": "learning_rate",
    "schedule_factor": "learning_rate",
    "schedule_epochs": "learning_rate",
    "patience": "early_stopping",
    "restore_best_weights": "early_stopping",
    "enabled": "augment",
    "base": "transfer",
    "mode": "transfer",
    "frozen": "transfer",
    "preprocess": "transfer",
}
PAGES = ("home", "recipes", "data", "model", "augment", "transfer", "train", "compare", "runs", "classify")


def encode_spec(spec: ExperimentSpec) -> str:
    raw = zlib.compress(spec.to_json().encode("utf-8"), 9)
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_spec(text: str) -> ExperimentSpec:
    """The spec a link carries; SpecError with a plain reason when the link is damaged or too long."""
    if len(text) > MAX_PARAM_CHARS:
        raise SpecError("the link is too long")
    try:
        raw = zlib.decompressobj().decompress(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), 200_000)
        return ExperimentSpec.from_json(raw.decode("utf-8"))
    except (binascii.Error, zlib.error, UnicodeDecodeError, ValueError) as exc:
        raise SpecError(f"the link's setup cannot be read ({type(exc).__name__})") from exc


@dataclass
class Classroom:
    """What an instructor's link fixes: locked and hidden controls, the page to open."""

    locked: set[str] = field(default_factory=set)
    hidden: set[str] = field(default_factory=set)
    page: str = ""

    @classmethod
    def from_params(cls, params: dict) -> Classroom:
        def names(key: str) -> set[str]:
            return {n for n in str(params.get(key) or "").split(",") if n in CONTROLS}

        page = str(params.get(PAGE_PARAM) or "")
        return cls(names(LOCK_PARAM), names(HIDE_PARAM), page if page in PAGES else "")

    def control_of(self, attr: str) -> str:
        return FIELD_CONTROL.get(attr, attr)

    def is_locked(self, attr: str) -> bool:
        control = self.control_of(attr)
        return control in self.locked or control in self.hidden

    def is_hidden(self, attr: str) -> bool:
        return self.control_of(attr) in self.hidden


def link_query(spec: ExperimentSpec, lang: str = "", classroom: Classroom | None = None) -> str:
    """The query string of a link to this setup (`?s=...&lang=ja&lock=...`)."""
    params = {SPEC_PARAM: encode_spec(spec)}
    if lang:
        params["lang"] = lang
    if classroom is not None:
        if classroom.locked:
            params[LOCK_PARAM] = ",".join(sorted(classroom.locked))
        if classroom.hidden:
            params[HIDE_PARAM] = ",".join(sorted(classroom.hidden))
        if classroom.page:
            params[PAGE_PARAM] = classroom.page
    return urlencode(params)

"""The latest spec of each browser owner, kept on the server so a refresh loses nothing.

A browser refresh starts a new Streamlit session with empty session state; the
owner token in the URL finds the spec again here.

Example:
    >>> remember("owner-1", ExperimentSpec.default_for("iris"))
    >>> recall("owner-1").data.name
    'iris'
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from core.spec import ExperimentSpec, SpecError

_MAX_OWNERS = 2000
_lock = threading.Lock()
_specs: "OrderedDict[str, tuple[float, str]]" = OrderedDict()


def remember(owner: str, spec: ExperimentSpec) -> None:
    """Store the owner's current spec (as JSON, so later edits never alias it)."""
    with _lock:
        _specs[owner] = (time.time(), spec.to_json())
        _specs.move_to_end(owner)
        while len(_specs) > _MAX_OWNERS:
            _specs.popitem(last=False)


def recall(owner: str) -> ExperimentSpec | None:
    with _lock:
        item = _specs.get(owner)
    if item is None:
        return None
    try:
        return ExperimentSpec.from_json(item[1])
    except SpecError:
        return None

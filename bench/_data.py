"""Shared by the fidelity benchmarks: train on the offline copy of the real data, never waiting for a download.

>>> use_shared_data()  # doctest: +SKIP  (before anything imports core)
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data" / "keras_home"


def use_shared_data() -> None:
    """PLAYGROUND_DATA_DIR = ../shared/data/keras_home unless set; offline (the real data is local); quiet TensorFlow."""
    if not os.environ.get("PLAYGROUND_DATA_DIR") and SHARED_DATA.exists():
        os.environ["PLAYGROUND_DATA_DIR"] = str(SHARED_DATA)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("PLAYGROUND_OFFLINE", "1")

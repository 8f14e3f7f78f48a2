"""Shared setup of the core tests."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def keras_ready():
    """Keras and TensorFlow imported once, on this thread, before the first test (as a worker does at start)."""
    from core.pipeline import warm_imports

    warm_imports()

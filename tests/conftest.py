"""Test-wide settings: a private app home, no downloads, quiet TensorFlow.

Set before anything imports TensorFlow or the app, so every test (and every server
a browser test starts) sees the same clean, offline world.
"""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_HOME = tempfile.mkdtemp(prefix="playground-test-home-")
os.environ["PLAYGROUND_HOME"] = _HOME
os.environ["PLAYGROUND_OFFLINE"] = "1"
os.environ["PLAYGROUND_RAISE_ERRORS"] = "1"  # a bug must fail the tests, not turn into a polite message
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_HOME", tempfile.mkdtemp(prefix="playground-test-keras-"))
os.environ.pop("PLAYGROUND_DATA_DIR", None)  # tests never need the real data folder
os.environ.setdefault("PLAYGROUND_ORPHAN_GRACE", "10")  # web servers and workers must agree; short, so a left-over job ends soon
os.environ.setdefault("PLAYGROUND_POOL_GRACE", "20")  # a pool a crashed test run leaves behind goes soon
os.environ.setdefault("PLAYGROUND_CALIBRATE", "0")  # workers start faster; tests/core/test_eta.py measures the machine itself


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the session (Debian's package, a throw-away cluster on loopback)."""
    from tests.servers import Postgres

    server = Postgres()
    yield server
    server.stop()


# What runs while no other test runs: these tests time the machine, or drive real servers, browsers and training
# workers whose waits and bounds (Stop within a second, a queue's order) assume the cores are theirs. ./test.sh runs
# the others first, two pytest processes at once (pytest-xdist), then these one at a time.
ALONE = ("browser", "pool", "cluster")  # markers that make a test `alone`; other tests are marked so by hand


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by the markers
def pytest_collection_modifyitems(items):
    for item in items:
        if any(item.get_closest_marker(name) for name in ALONE):
            item.add_marker(pytest.mark.alone)


def pytest_sessionfinish(session, exitstatus):
    """The training pool of the session's home goes with the session."""
    from core import workers

    os.environ["PLAYGROUND_HOME"] = _HOME
    workers.shutdown_pool()

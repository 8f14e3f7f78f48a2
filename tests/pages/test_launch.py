"""ui/launch.py: `./run.sh` starts the training workers and the pages' libraries with the server, not on a first click."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ui import launch

ROOT = Path(__file__).resolve().parents[2]

WARM = """
import json, sys, time
from core import workers
from ui import launch
launch.warm()
deadline = time.time() + 60
while not workers.pool_running() and time.time() < deadline:  # the supervisor takes its lock as it starts
    time.sleep(0.2)
try:
    print(json.dumps({"pool": workers.pool_running(), "tensorflow": "tensorflow" in sys.modules,
                      "warmed": [m for m in launch.WARM_MODULES if m not in sys.modules]}))
finally:
    workers.shutdown_pool()
"""


@pytest.mark.pool
def test_the_warm_up_starts_the_workers_and_imports_the_pages_libraries_without_tensorflow(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PLAYGROUND_HOME": str(tmp_path), "PLAYGROUND_OFFLINE": "1", "PLAYGROUND_MAX_TRAININGS": "1"}
    out = subprocess.run([sys.executable, "-c", WARM], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"pool": True, "tensorflow": False, "warmed": []}  # the web process itself never loads TensorFlow


def test_the_tests_and_benchmarks_serve_the_app_as_run_sh_does():
    cmd = launch.command("python", 8765)
    assert cmd[:4] == ["python", "-m", "ui.launch", "app.py"]
    assert "ui.launch app.py" in (ROOT / "run.sh").read_text()
    assert cmd[cmd.index("--server.port") + 1] == "8765" and cmd[cmd.index("--server.headless") + 1] == "true"

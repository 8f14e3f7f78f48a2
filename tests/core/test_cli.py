"""The command line refuses what the spec would refuse, the way argparse refuses anything: exit 2, a plain line."""

import subprocess
import sys
from pathlib import Path

import pytest

from core import cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("epochs", ["0", "-1", "1001", "two", "1.5"])
def test_out_of_range_epochs_exit_2_with_a_message(epochs, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["recipe", "iris", f"--epochs={epochs}"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --epochs" in err and ("outside 1..1000" in err or "not a whole number" in err), err


def test_a_real_process_exits_2_and_trains_nothing():
    done = subprocess.run(
        [sys.executable, "-m", "core", "recipe", "iris", "--epochs", "0"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done
    assert "finished" not in done.stdout and "outside 1..1000" in done.stderr

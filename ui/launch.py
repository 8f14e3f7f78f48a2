"""`streamlit run`, with what the first learner would otherwise wait for started as the server starts.

`./run.sh` runs the app through this module (`python -m ui.launch app.py --server.port 8501 ...`, every
`streamlit run` option works). Before Streamlit's own start it begins, in a background thread:

- the training workers (core/workers.py), which import TensorFlow and measure the machine in their own
  processes: without this they start on the first page anybody opens, and that page shares the cores
  with two TensorFlow imports;
- the libraries the pages draw with (Plotly, pandas, Pillow, SQLAlchemy), imported once for all sessions.

A plain `streamlit run app.py` (Streamlit Community Cloud) still works: app.py starts the workers on the
first page run, as before.

Example:
    $ .venv/bin/python -m ui.launch app.py --server.port 8501
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading

from streamlit.web import cli

from core import jobs

log = logging.getLogger(__name__)

#: Imported in the background while the server starts: what the first run of app.py and of the Data page load.
WARM_MODULES = ("core.charts", "core.datasets", "core.images", "ui.state", "ui.upload_view", "pandas")


def command(python: str, port: int, script: str = "app.py") -> list[str]:
    """The command that serves the app on 127.0.0.1:`port` as ./run.sh does, headless (the tests and benchmarks).

    >>> command("python", 8501)[:4]
    ['python', '-m', 'ui.launch', 'app.py']
    """
    local = ["--server.port", str(port), "--server.address", "127.0.0.1"]
    return [python, "-m", "ui.launch", script, *local, "--server.headless", "true", "--browser.gatherUsageStats", "false"]


def warm() -> None:
    """Start the training workers, then import the pages' heavy libraries (errors are left to the page that needs them)."""
    try:
        jobs.dispatch_soon()
        for name in WARM_MODULES:
            importlib.import_module(name)
    except Exception:  # noqa: BLE001 - a warm-up never stops the server; the first page meets the error plainly
        log.warning("warm-up stopped early", exc_info=True)


def main(argv: list[str]) -> None:
    threading.Thread(target=warm, name="warm-up", daemon=True).start()
    sys.argv = ["streamlit", "run", *argv]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])

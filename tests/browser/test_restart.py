"""Restart the web server while a learner's job trains: the job lives on in its worker, and the learner's
link (same `?u=` token) on the new server shows it still running with every epoch so far — then stops it."""

from __future__ import annotations

import os
import signal

import pytest

from tests.browser.conftest import App, new_page, start_server

pytestmark = pytest.mark.browser


def test_a_web_server_restart_loses_nothing(browser, tmp_path_factory):
    # The learner has no tab open while the server is down and the new one starts: on a busy machine that takes
    # longer than the tests' short orphan grace, which would (rightly) stop the job. This test is about the restart.
    env = {"PLAYGROUND_HOME": str(tmp_path_factory.mktemp("restart-home")), "PLAYGROUND_ORPHAN_GRACE": "60"}
    first = start_server(tmp_path_factory.mktemp("streamlit-first"), "first-server", env)
    second = None
    try:
        page = new_page(browser, first.url)
        app = App(page)
        app.open_train()
        app.set_epochs(300)
        app.start_training()
        before = app.wait_loss_epochs(3, app.FIRST_EPOCH_TIMEOUT_MS)
        token = app.token
        page.context.close()

        os.killpg(first.proc.pid, signal.SIGKILL)  # the web server dies (its training workers do not)
        first.proc.wait(timeout=15)
        second = start_server(tmp_path_factory.mktemp("streamlit-second"), "second-server", env)
        page = new_page(browser, second.url)
        app = App(page)
        page.goto(f"/train?u={token}")
        app.wait_status(r"^Running · Epoch \d+/300\b", 60_000)  # still training, found again by the token
        assert app.wait_loss_epochs(before + 2, 60_000) >= before + 2  # the epochs before the restart are drawn too
        app.stop_training()
        page.context.close()
    except BaseException:
        for server in (first, second):
            if server is not None:
                print(f"\n----- {server.log_path.name} (tail) -----\n{server.log_tail()}")
        raise
    finally:
        if second is not None:
            second.stop()  # and with it the pool of this home
        first.stop()

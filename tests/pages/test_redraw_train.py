"""The Train page's live charts are sent anew only when what they show changed (issue 14, item 2).

Streamlit keeps a chart in the browser as it is (no new Plotly element, no re-render, the reader's zoom kept)
when a rerun sends the same element id, and its id is a hash of the figure. So: a rerun with no new epoch (a
status change, a click elsewhere on the page) must give every chart the same id; a new epoch changes the curves'
ids, and the decision map's only when the map itself is new. The page itself runs the charts once per epoch
(ui/polling.py); bench/page.py counts what the browser then does.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

TIMEOUT = 60


def _script():
    import numpy as np
    import streamlit as st

    from core import runs
    from core.evaluation import DecisionMap
    from core.jobs import JobView
    from core.spec import ExperimentSpec
    from core.status import Phase, Status
    from ui import train_view

    case = st.session_state["case"]
    spec = ExperimentSpec.default_for(case["dataset"])
    spec.fit.epochs = 5
    n = case["epochs"]
    history = {
        "loss": [1.0 / (k + 1) for k in range(n)],
        "val_loss": [1.1 / (k + 1) for k in range(n)],
        "accuracy": [0.5 + 0.05 * k for k in range(n)],
        "val_accuracy": [0.45 + 0.05 * k for k in range(n)],
    }
    settled = case.get("settled", False)
    run = runs.Run(
        "job-redraw",
        "owner-redraw",
        "redraw",
        spec,
        Status.FINISHED if settled else Status.RUNNING,
        history=history,
        phase=Phase.DONE if settled else Phase.TRAINING,
    )
    view = JobView(run)
    if case["dataset"] == "moons":
        grid = np.linspace(-1.0, 1.0, 4)
        z = np.full((4, 4), 0.1 * case["map_epoch"])
        points = np.zeros((3, 2))
        view.__dict__["decision_map"] = DecisionMap(grid, grid, z, points, np.array([0, 1, 0]), 2, case["map_epoch"])
    train_view.live_charts(view)


def _charts(at: AppTest) -> list[str]:
    """The element id of each chart, in page order: what the browser keys the chart by."""
    ids = [chart.proto.id for chart in at.get("plotly_chart")]
    assert all(ids), "every chart has an id"
    return ids


def _open(case: dict) -> AppTest:
    at = AppTest.from_function(_script, default_timeout=TIMEOUT)
    at.session_state["case"] = case
    at.run()
    assert not at.exception, at.exception
    return at


def _rerun(at: AppTest, **change) -> list[str]:
    at.session_state["case"] = {**at.session_state["case"], **change}
    at.run()
    assert not at.exception, at.exception
    return _charts(at)


def test_a_rerun_without_a_new_epoch_sends_the_same_charts():
    at = _open({"dataset": "iris", "epochs": 2})
    first = _charts(at)
    assert len(first) == 2  # loss, accuracy
    assert _rerun(at) == first  # e.g. the fragment saw a new phase or message: nothing for the charts
    assert _rerun(at) == first


def test_a_new_epoch_changes_the_curves_and_only_them():
    at = _open({"dataset": "moons", "epochs": 2, "map_epoch": 2})
    loss, accuracy, boundary = _charts(at)
    after = _rerun(at, epochs=3)  # the curves have a new point, the map is still epoch 2's
    assert after[0] != loss and after[1] != accuracy
    assert after[2] == boundary
    again = _rerun(at, map_epoch=3)
    assert again[:2] == after[:2] and again[2] != boundary


def test_the_end_of_a_run_that_trained_every_epoch_redraws_nothing():
    at = _open({"dataset": "iris", "epochs": 5})
    live = _charts(at)
    assert _rerun(at, settled=True) == live  # same curves, same axis (5 of 5 epochs): the browser keeps them

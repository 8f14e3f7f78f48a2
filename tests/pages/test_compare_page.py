"""The Compare page (AppTest): build a comparison, train it as a group, rank it, reveal the guess; races from Recipes."""

from __future__ import annotations

import time

import pytest

from core import datasets, jobs, queue, runs
from core.spec import ExperimentSpec
from tests.core import fabricate
from tests.pages.helpers import button, open_page, settled


def _compare_page():
    """The Compare page of a new learner whose setup is iris for 2 epochs (seconds per run)."""
    at = open_page("pages/compare.py")
    spec = ExperimentSpec.default_for("iris")
    spec.fit.epochs = 2
    at.session_state["spec"] = spec
    return at.run()


def test_a_two_value_comparison_trains_as_a_group_and_ranks_its_runs():
    at = _compare_page()
    at.text_input(key="cmp.values.0.learning_rate.en").set_value("0.001, 0.1").run()
    at.selectbox(key="cmp.guess.en").set_value("0.1").run()
    assert not at.warning, [w.value for w in at.warning]
    button(at, "Train 2 runs").click().run()
    assert not at.exception
    group = at.session_state["comparison"]
    views = jobs.group(at.session_state["owner"], group)
    assert [v.spec.compile.learning_rate for v in views] == [0.001, 0.1]
    assert [v.spec.compare for v in views] == [[["learning_rate", 0.001]], [["learning_rate", 0.1]]]
    assert all(v.name.startswith(("0.001 ", "0.1 ")) for v in views)
    for view in views:
        settled(view.id)
    at.run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["Learning rate"]) == ["0.1", "0.001"]  # best validation accuracy first: 0.1 learns in 2 epochs
    assert table["validation accuracy"].iloc[0] >= table["validation accuracy"].iloc[1]
    said = [s.value.replace("\\", "") for s in at.success]  # Markdown escapes: "0\\.1" shows as "0.1"
    assert any("You guessed 0.1, and it won" in s for s in said), said


def test_two_settings_draw_a_heatmap_and_parallel_coordinates():
    at = _compare_page()
    owner = at.session_state["owner"]
    at.text_input(key="cmp.values.0.learning_rate.en").set_value("0.01, 0.1, 0.3").run()
    at.selectbox(key="cmp.setting.1.en").set_value("batch_size").run()
    at.text_input(key="cmp.values.1.batch_size.en").set_value("8, 32").run()
    assert "Train 6 runs" in [b.label for b in at.button]
    # Six settled runs of a comparison written straight into the store (training them is the test above's job).
    group = "cmp-fake2axes"
    for i, (lr, batch) in enumerate([(lr, b) for lr in (0.01, 0.1, 0.3) for b in (8, 32)]):
        spec = ExperimentSpec.default_for("iris")
        spec.compile.learning_rate, spec.fit.batch_size = lr, batch
        spec.compare = [["learning_rate", lr], ["batch_size", batch]]
        acc = 0.5 + lr + batch / 1000
        run = runs.Run(
            f"two{i}{owner[:6]}",
            owner,
            "x 10:00:00",
            spec,
            "finished",
            {"loss": [1.0, 0.5], "accuracy": [0.5, acc], "val_loss": [1.0, 0.6], "val_accuracy": [0.4, acc]},
            created=1000.0 + i,
            group_id=group,
            seq=i,
        )
        runs.store().save(run)
    at.session_state["comparison"] = group
    at.run()
    assert not at.exception, at.exception[0].stack_trace if at.exception else ""
    assert queue.groups_of(owner, "cmp-")[0] == group
    table = at.dataframe[0].value
    assert len(table) == 6 and (table.iloc[0]["Learning rate"], table.iloc[0]["Batch size"]) == ("0.3", "32")
    kinds = [chart.proto.spec for chart in at.get("plotly_chart")]
    assert any('"heatmap"' in k for k in kinds) and any('"parcoords"' in k for k in kinds)


def test_a_comparison_over_the_limit_says_so_and_offers_no_train_button():
    at = _compare_page()
    at.text_input(key="cmp.values.0.learning_rate.en").set_value("0.0001..1 x17").run()
    assert any("17 values is too many: at most 16" in w.value for w in at.warning), [w.value for w in at.warning]
    at.text_input(key="cmp.values.0.learning_rate.en").set_value("fast").run()
    assert any("“fast” is not a value" in w.value for w in at.warning)
    assert not [b for b in at.button if b.label.startswith("Train")]


def test_a_race_without_its_data_says_why_on_the_compare_page():
    at = open_page("pages/recipes.py")  # the tests have no MNIST and no network
    button(at, key="race.train.optimizer-race").click().run()
    assert at.title[0].value == "Compare"
    assert any("mnist.npz" in e.value for e in at.error), [e.value for e in at.error]
    assert "comparison" not in at.session_state


@pytest.fixture()
def stand_in_mnist(tmp_path, monkeypatch):
    """Random 28x28 "MNIST" in a data folder, forgotten afterwards (later tests expect no MNIST here)."""
    fabricate.mnist_npz(tmp_path)
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path))
    yield tmp_path
    datasets._load_full.cache_clear()


def test_a_race_from_the_recipes_page_opens_its_comparison(stand_in_mnist):
    at = open_page("pages/recipes.py")
    at.selectbox(key="race.guess.initializer-race").set_value("he_normal").run()
    button(at, key="race.train.initializer-race").click().run()
    assert not at.exception
    assert at.title[0].value == "Compare"
    group = at.session_state["comparison"]
    assert group.startswith("cmp-initializer-race-")
    views = jobs.group(at.session_state["owner"], group)
    initializers = [v.spec.layers[1].params["kernel_initializer"] for v in views]
    assert initializers == ["zeros", "random_uniform", "glorot_uniform", "he_normal"]
    said = [i.value.replace("\\", "") for i in at.info]
    assert any("Your guess: he_normal" in s for s in said), said
    button(at, "Stop all").click().run()
    for view in views:
        assert settled(view.id, timeout=60).status in ("stopped", "cancelled", "finished", "failed")


def test_the_compare_page_in_japanese():
    at = open_page("pages/compare.py", lang="ja")
    assert at.title[0].value == "比較"
    assert any(b.label.endswith("回の学習を開始") for b in at.button)


def test_a_smart_search_starts_one_trial_per_slot_and_says_how_far_it_is():
    at = _compare_page()
    at.segmented_control(key="cmp.mode.en").set_value("smart").run()
    at.text_input(key="cmp.values.0.learning_rate.en").set_value("0.001, 0.3").run()
    at.number_input(key="cmp.trials.en").set_value(4).run()
    assert not at.warning, [w.value for w in at.warning]
    assert not [b for b in at.button if b.label.startswith("Train")]  # no guess, no grid: a search
    button(at, "Search 4 trials").click().run()
    assert not at.exception
    group = at.session_state["comparison"]
    assert group.startswith("cmp-search-")
    views = jobs.group(at.session_state["owner"], group)
    assert len(views) == 2 and all(0.001 <= v.spec.compile.learning_rate <= 0.3 for v in views)
    assert any("Smart (Optuna) search: 2 of 4 trials so far" in c.value for c in at.caption), [c.value for c in at.caption]
    button(at, "Stop all").click().run()  # Stop ends the search: no trial queues another
    for view in views:
        settled(view.id, timeout=60)
    time.sleep(1.0)
    assert len(jobs.group(at.session_state["owner"], group)) == 2


def test_a_search_needs_a_range():
    at = _compare_page()
    at.segmented_control(key="cmp.mode.en").set_value("random").run()
    at.text_input(key="cmp.values.0.learning_rate.en").set_value("0.01").run()
    assert any("A search needs a range" in w.value for w in at.warning), [w.value for w in at.warning]

"""Every page, driven through app.py's navigation with Streamlit's AppTest."""

import subprocess
import sys
import textwrap

import pytest
from streamlit.testing.v1 import AppTest

from core import jobs
from tests.pages.helpers import ROOT, button, open_page, settled, texts, trained


def test_home_page_paints_without_importing_tensorflow():
    # In a fresh interpreter: other tests in this process have imported TensorFlow already.
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from streamlit.testing.v1 import AppTest
        at = AppTest.from_file({str(ROOT / "app.py")!r}, default_timeout=30).run()
        assert not at.exception, at.exception
        assert at.title[0].value == "Keras Playground"
        heavy = [m for m in ("tensorflow", "keras", "sklearn") if m in sys.modules]
        print("HEAVY", heavy)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "HEAVY []" in out.stdout


def test_home_page_links_the_three_steps():
    at = open_page("pages/home.py")
    assert at.title[0].value == "Keras Playground"
    links = ["Choose a dataset", "Build the model", "Train it", "Open the room board"]  # and how to run a workshop room
    assert [p.proto.label for p in at.get("page_link")] == links
    assert [p.proto.page for p in at.get("page_link")] == ["data", "model", "train", "board"]
    assert "Running a workshop room" in texts(at)


def test_data_page_previews_points_then_images_and_resets_the_model():
    at = open_page("pages/data.py")
    assert [m.value for m in at.metric][:2] == ["450", "150"]
    at.selectbox(key="w.DataSpec.name").set_value("digits").run()
    assert not at.exception
    assert at.session_state["spec"].layers[0].type == "Flatten"  # image data: the image default model
    assert "The model was reset to the default for images." in [t.value for t in at.toast]
    assert [m.value for m in at.metric][2] == "8 x 8 x 1"
    grids = at.get("image")  # the preview grid: a row per class
    assert len(grids) == 10 and [img.caption for img in grids[7].proto.imgs] == ["7"] * 3


def test_data_page_subset_and_validation_controls_write_the_spec():
    at = open_page("pages/data.py")
    at.selectbox(key="w.DataSpec.name").set_value("iris").run()
    at.number_input(key="w.DataSpec.train_size").set_value(50).run()
    at.radio(key="w.DataSpec.validation").set_value("split").run()
    spec = at.session_state["spec"]
    assert spec.data.train_size == 50 and spec.data.validation == "split"
    assert [m.value for m in at.metric][0] == "50"
    assert len(at.dataframe) == 1  # the table preview


def test_data_page_offline_mnist_is_a_message_not_a_traceback():
    at = open_page("pages/data.py")
    at.selectbox(key="w.DataSpec.name").set_value("mnist").run()
    assert not at.exception
    assert any("datasets/mnist.npz" in w.value for w in at.warning)


def test_model_page_shows_the_summary_and_edits_the_stack():
    at = open_page("pages/model.py")
    assert [m.value for m in at.metric][0] == "105"  # moons default: 2-8-8-1
    button(at, key="del.dense_2").click().run()
    assert [layer.name for layer in at.session_state["spec"].layers] == ["dense_1"]
    assert [m.value for m in at.metric][0] == str(2 * 8 + 8 + 8 + 1)
    at.selectbox(key="add_layer_type").set_value("Dropout").run()
    button(at, label="Add layer").click().run()
    button(at, key="up.dropout_1").click().run()
    assert [layer.name for layer in at.session_state["spec"].layers] == ["dropout_1", "dense_1"]
    at.number_input(key="w.layer.dense_1.units").set_value(4).run()
    assert at.session_state["spec"].layers[1].params["units"] == 4


def test_model_page_names_the_layer_that_cannot_be_built():
    at = open_page("pages/model.py")
    at.session_state["spec"].layers[0].type = "Dense"
    at.selectbox(key="add_layer_type").set_value("Conv2D").run()
    button(at, label="Add layer").click().run()
    assert not at.exception
    assert any("conv2d_1" in e.value and "this dataset gives each sample as a flat vector" in e.value for e in at.error)


def test_model_page_optimizer_switch_takes_its_default_learning_rate():
    at = open_page("pages/model.py")
    at.selectbox(key="w.CompileSpec.optimizer").set_value("sgd").run()
    assert at.session_state["spec"].compile.learning_rate == 0.01
    assert at.number_input(key="w.CompileSpec.learning_rate").value == 0.01
    at.slider(key="w.CompileSpec.momentum").set_value(0.9).run()
    assert at.session_state["spec"].compile.momentum == 0.9


def test_train_page_trains_and_shows_results():
    at = open_page("pages/train.py")
    at.number_input(key="w.FitSpec.epochs").set_value(3).run()
    button(at, label="Train").click().run()
    assert not at.exception
    job = jobs.view(at.session_state["job_id"])
    assert job is not None and job.spec.fit.epochs == 3
    settled(job.id)
    at.run()
    page = texts(at)
    assert "**Finished** · 3 of 3 epochs" in page
    assert "Results on the test set" in [s.value for s in at.subheader]
    assert {m.label for m in at.metric} >= {"Test accuracy", "Test loss"}
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["History (CSV)", "History (JSON)", "Model (.keras)", "Model (.tflite)", "Script (.py)"]
    assert any("model.fit(" in c.value for c in at.code)  # show me the code

    # A refresh (a new session on the learner's link) finds the same results in the run store.
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    again.query_params["lang"], again.query_params["u"] = "en", at.session_state["owner"]
    again.run()
    again.switch_page("pages/train.py").run()
    assert not again.exception and "**Finished** · 3 of 3 epochs" in texts(again)
    assert [b.proto.label for b in again.get("download_button")] == labels


def test_train_page_stop_button_stops_the_running_job():
    at = open_page("pages/train.py")
    at.number_input(key="w.FitSpec.epochs").set_value(1000).run()
    button(at, label="Train").click().run()
    job_id = at.session_state["job_id"]
    assert button(at, label="Train").disabled and not button(at, label="Stop").disabled
    button(at, label="Stop").click().run()
    assert settled(job_id, 60).status == "stopped"
    at.run()
    assert "**Stopped**" in texts(at)
    assert not button(at, label="Train").disabled and button(at, label="Stop").disabled


def test_train_page_refuses_a_model_that_cannot_be_built():
    at = open_page("pages/train.py")
    spec = at.session_state["spec"]
    spec.add_layer("Flatten")
    spec.add_layer("Conv2D")
    at.run()
    assert any("conv2d_1" in e.value for e in at.error)
    assert button(at, label="Train").disabled


@pytest.mark.parametrize(
    "page, title, caption_start",
    [
        ("pages/home.py", "Keras Playground", "TensorFlow Playground のような"),
        ("pages/data.py", "データ", "ネットワーク"),
        ("pages/model.py", "モデル", "隠れ層"),
        ("pages/train.py", "学習", "「学習」"),
        ("pages/recipes.py", "チュートリアルのレシピ", "日本語の Keras"),
        ("pages/runs.py", "実行結果", "完了または停止"),
    ],
)
def test_every_page_in_japanese(page, title, caption_start):
    at = open_page(page, lang="ja")
    assert at.title[0].value == title
    assert at.caption[0].value.startswith(caption_start)
    assert "言語" in [g.proto.label for g in at.get("button_group")]


def test_the_language_switch_changes_the_page_and_is_kept_in_the_url():
    at = open_page("pages/home.py")
    assert at.query_params["lang"] == "en"
    at.get("button_group")[0].set_value("ja").run()
    assert at.query_params["lang"] == "ja"
    links = ["データセットを選ぶ", "モデルを組み立てる", "学習させる", "ルームのボードを開く"]
    assert [p.proto.label for p in at.get("page_link")] == links


def test_a_refreshed_session_finds_its_spec_and_job_again():
    at = open_page("pages/model.py")
    at.number_input(key="w.layer.dense_1.units").set_value(5).run()
    owner = at.session_state["owner"]
    fresh = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    fresh.query_params["u"] = owner  # a refresh: new session, same URL
    fresh.switch_page("pages/model.py").run()
    assert fresh.session_state["spec"].layers[0].params["units"] == 5


def test_recipes_page_lists_every_recipe_and_loads_one():
    at = open_page("pages/recipes.py")
    from core import recipes

    shown = [b.key for b in at.button if b.key and b.key.startswith("load.")]
    assert sorted(k.split(".", 1)[1] for k in shown) == sorted(recipes.RECIPES)
    button(at, key="load.two-layer-net").click().run()
    spec = at.session_state["spec"]
    assert spec.recipe == "two-layer-net" and spec.compile.learning_rate == 0.1 and spec.fit.epochs == 17
    assert any("Two-layer net" in toast.value for toast in at.toast)


def test_recipes_page_trains_a_recipe_in_one_click_and_opens_the_train_page():
    at = open_page("pages/recipes.py")
    button(at, key="train.iris").click().run()
    assert not at.exception
    job = jobs.view(at.session_state["job_id"])
    assert job.spec.recipe == "iris" and job.spec.fit.batch_size == 1
    assert at.title[0].value == "Train"  # switched to the Train page
    assert any("Iris 4-50-3" in i.value and "test accuracy ~0.947" in i.value for i in at.info)
    jobs.stop(job.id, job.owner)


def test_runs_page_compares_runs_and_offers_their_exports():
    at = open_page("pages/train.py")
    owner = at.session_state["owner"]
    from core.spec import ExperimentSpec

    for lr in (0.01, 0.05):
        spec = ExperimentSpec.default_for("iris")
        spec.fit.epochs, spec.compile.learning_rate = 2, lr
        trained(spec, owner)
    at.switch_page("pages/runs.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == 2
    at.session_state["runs_table"] = {"selection": {"rows": [0, 1], "columns": []}}
    at.run()
    assert not at.exception
    diff = at.dataframe[1].value
    assert list(diff.loc["learning rate"]) == ["0.05", "0.01"]
    assert "Highlighted: the one setting that differs" in texts(at)


def test_runs_page_for_one_run_has_downloads_code_and_rename():
    at = open_page("pages/train.py")
    owner = at.session_state["owner"]
    from core.spec import ExperimentSpec

    spec = ExperimentSpec.default_for("iris")
    spec.fit.epochs = 1
    job = trained(spec, owner)
    at.switch_page("pages/runs.py").run()
    at.session_state["runs_table"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["History (CSV)", "History (JSON)", "Model (.keras)", "Model (.tflite)", "Script (.py)"]
    assert any("model.fit(" in c.value for c in at.code)
    at.text_input(key=f"rename.{job.id}").set_value("my iris")
    button(at, key=f"do_rename.{job.id}").click().run()
    from core import runs

    assert runs.store().get(owner, job.id).name == "my iris"


def test_runs_page_reveals_the_guess_once_the_trio_has_finished():
    from core import recipes, runs

    at = open_page("pages/recipes.py")
    at.radio(key="guess_pick_overfitting_en").set_value("Overfitting: 500 samples, 4x Dense100, 100 epochs").run()
    assert at.session_state["guess_overfitting"] == "overfit"
    at.session_state["guess_since_overfitting"] = 100.0
    owner = at.session_state["owner"]
    for i, (recipe_id, val) in enumerate([("overfit", 0.80), ("overfit-l2", 0.86), ("overfit-dropout", 0.84)]):
        runs.store().save(
            runs.Run(
                f"guess{i}{owner[:4]}",
                owner,
                recipe_id,
                recipes.get(recipe_id).build_spec(),
                "finished",
                {"val_accuracy": [0.5, val], "accuracy": [0.5, 1.0], "loss": [1, 0.1], "val_loss": [1, 0.5]},
                created=200.0 + i,
            )
        )
    at.switch_page("pages/runs.py").run()
    assert not at.exception
    assert any("ended best" in w.value and "Score: 0 of 1" in w.value for w in at.warning), [w.value for w in at.warning]


def test_train_page_diagnoses_a_diverging_run_and_applies_the_fix():
    at = open_page("pages/train.py")
    spec = at.session_state["spec"]
    spec.compile.optimizer, spec.compile.learning_rate, spec.fit.epochs = "sgd", 50.0, 5
    at.run()
    button(at, label="Train").click().run()
    job = settled(at.session_state["job_id"])
    at.run()
    assert not at.exception
    assert any("Diverging" in e.value for e in at.error), [e.value for e in at.error]
    fix = [b for b in at.button if b.key and b.key.startswith(f"diag-{job.id}-diverging-lower_lr")]
    assert fix, [b.key for b in at.button]
    fix[0].click().run()
    assert at.session_state["spec"].compile.learning_rate == 5.0


def test_a_regression_trains_to_its_error_figures_scatter_and_one_prediction():
    at = open_page("pages/data.py")
    at.selectbox(key="w.DataSpec.name").set_value("plane").run()
    assert not at.exception and at.session_state["spec"].regression
    assert "The model was reset" in at.toast[0].value  # classes -> values: a linear output needs a new model
    at.switch_page("pages/train.py").run()
    at.number_input(key="w.FitSpec.epochs").set_value(5).run()
    button(at, label="Train").click().run()
    settled(at.session_state["job_id"])
    at.run()
    assert not at.exception
    labels = {m.label for m in at.metric}
    assert {"Test MAE (mean absolute error)", "Test RMSE"} <= labels and "Test accuracy" not in labels
    titles = " ".join(c.proto.spec for c in at.get("plotly_chart"))
    assert "Predicted vs actual" in titles and "Errors (predicted" in titles
    assert "The model predicts **" in texts(at) and "the true value is" in texts(at)
    assert any("model.predict(x)[0]" in c.value for c in at.code)
    index = at.number_input(key=f"predict.{at.session_state['job_id']}")
    index.set_value(7).run()
    assert any("x_test[7]" in c.value for c in at.code)  # the chosen sample, with the Keras lines that predict it


def test_predict_one_on_a_classification_says_the_verdict_in_japanese():
    at = open_page("pages/train.py", lang="ja")  # the default points: two classes
    at.number_input(key="w.FitSpec.epochs").set_value(2).run()
    button(at, label="学習").click().run()
    settled(at.session_state["job_id"])
    at.run()
    assert not at.exception
    page = texts(at)
    assert "モデルの答えは **" in page, page[-800:]
    assert any("np.argmax(probabilities)" in c.value for c in at.code)

"""Regression end to end: the datasets as the tutorials prepare them, the output plan, training,
the evaluation a results panel shows, the exported script and the command line."""

import json

import numpy as np
import pytest

from core import codegen, datasets, model_rules, recipes
from core.evaluation import Evaluation
from core.pipeline import train
from core.spec import DataSpec, ExperimentSpec
from tests.core.test_codegen_and_cli import run_cli, run_script

#: Five rows of UCI's auto-mpg.data as it is published: fixed-width numbers, "?" for an unknown horsepower,
#: a tab before the car's quoted name.
AUTO_MPG_ROWS = """\
18.0   8   307.0      130.0      3504.      12.0   70  1\t"chevrolet chevelle malibu"
15.0   8   350.0      165.0      3693.      11.5   70  1\t"buick skylark 320"
25.0   4   98.00      ?          2046.      19.0   71  1\t"ford pinto"
24.0   4   113.0      95.00      2372.      15.0   70  3\t"toyota corona mark ii"
26.0   4   97.00      46.00      1835.      20.5   70  2\t"volkswagen 1131 deluxe sedan"
"""


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    (tmp_path / "datasets").mkdir()
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path))
    datasets._load_full.cache_clear()
    yield tmp_path
    datasets._load_full.cache_clear()


def test_auto_mpg_is_prepared_as_the_tutorial_prepares_it(data_dir):
    (data_dir / "datasets" / "auto-mpg.data").write_text(AUTO_MPG_ROWS)
    data = datasets.load(DataSpec("auto_mpg"))
    assert data.regression and data.task == "regression" and data.n_outputs == 1
    assert len(data.x_train) + len(data.x_test) == 4  # the unknown horsepower is dropped
    assert data.feature_names == datasets.AUTO_MPG_FEATURES and data.x_train.shape[1] == 9
    origins = np.concatenate([data.x_train, data.x_test])[:, -3:]
    assert (origins.sum(axis=1) == 1).all()  # Origin one-hot: Europe, Japan, USA
    assert sorted(np.concatenate([data.y_train, data.y_test]).tolist()) == [15.0, 18.0, 24.0, 26.0]
    assert data.y_train.dtype == np.float32 and data.target_names == ("MPG",)


def test_california_housing_is_in_units_of_100000_dollars(data_dir):
    x = np.arange(40 * 8, dtype="float32").reshape(40, 8)
    np.savez(data_dir / "datasets" / "california_housing.npz", x=x, y=np.full(40, 250_000.0))
    data = datasets.load(DataSpec("california_housing"))
    assert len(data.x_train) == 32 and len(data.x_test) == 8  # Keras's 80/20 split
    assert np.allclose(data.y_train, 2.5) and data.feature_names == datasets.CALIFORNIA_FEATURES


def test_a_missing_auto_mpg_says_so_plainly(data_dir):
    with pytest.raises(datasets.DatasetUnavailable):
        datasets.load(DataSpec("auto_mpg"))


@pytest.mark.parametrize("name", ["plane", "gaussians", "diabetes"])
def test_offline_regression_data_has_float_targets_and_no_classes(name):
    data = datasets.load(DataSpec(name))
    assert data.regression and data.n_classes == 0 and data.n_outputs == 1
    assert data.y_train.dtype.kind == "f" and np.unique(data.y_train).size > 20


def test_a_regression_ends_in_linear_units_and_refuses_a_classification_loss():
    plan = model_rules.plan_loss("regression", 1)
    assert plan.regression and plan.activation == "linear" and plan.units == 1 and plan.headline == "mae"
    assert model_rules.loss_fits("mean_squared_error", regression=True)
    assert model_rules.loss_fits("huber", regression=True)
    assert not model_rules.loss_fits("sparse_categorical_crossentropy", regression=True)
    assert not model_rules.loss_fits("mean_absolute_error", regression=False)
    spec = ExperimentSpec.default_for("plane")
    spec.compile.loss = "categorical_crossentropy"
    outcome = train(spec, owner="t")
    assert outcome.status == "failed" and "categorical_crossentropy" in str(outcome.message), outcome.message


def trained_plane(epochs: int = 30):
    spec = ExperimentSpec.default_for("plane")
    spec.fit.epochs = epochs
    outcome = train(spec, owner="t")
    assert outcome.status == "finished", outcome.message
    return spec, outcome


def test_the_plane_is_learned_far_better_than_predicting_the_mean():
    spec, outcome = trained_plane()
    ev: Evaluation = outcome.evaluation
    data = datasets.load(spec.data)
    baseline = float(np.abs(data.y_test - data.y_train.mean()).mean())  # the mean of the training values, always
    assert ev.regression and ev.test_accuracy is None and ev.headline == ev.test_mae
    assert ev.test_mae < 0.3 * baseline, (ev.test_mae, baseline)
    assert ev.test_rmse >= ev.test_mae  # always so: RMSE weighs big errors more
    assert ev.outputs.shape == (ev.n_test, 1) and ev.actual.shape == (ev.n_test, 1)
    errors = np.abs(ev.outputs - ev.actual).sum(axis=1)
    assert errors[ev.worst[0]] == pytest.approx(errors.max(), rel=1e-5)  # worst first
    restored = Evaluation.from_blob(ev.to_blob())
    assert restored.test_mae == ev.test_mae and np.array_equal(restored.worst, ev.worst)
    assert {"val_mae", "mae", "loss"} <= set(outcome.history)


def test_the_exported_regression_script_reproduces_the_run(tmp_path):
    spec, outcome = trained_plane(epochs=3)
    stdout = run_script(codegen.script(spec), tmp_path)
    line = [row for row in stdout.splitlines() if row.startswith("test loss")][-1]
    assert float(line.split("test MAE ")[1].split(",")[0]) == pytest.approx(outcome.evaluation.test_mae, abs=1e-4)


def test_the_regression_recipe_trains_on_diabetes_offline_and_makes_no_tutorial_claim(data_dir):
    recipe = recipes.get("regression-mlp")
    spec = recipe.build_spec()
    assert spec.data.name == "diabetes" and not recipe.compares_with_tutorial(spec)
    (data_dir / "datasets" / "auto-mpg.data").write_text(AUTO_MPG_ROWS)
    assert recipe.build_spec().data.name == "auto_mpg"  # the tutorial's data, once it is there


def test_cli_reports_a_regression_s_test_mae():
    out = run_cli("recipe", "regression-mlp", "--epochs", "3", "--json")
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["dataset"] == "diabetes" and result["task"] == "regression"
    assert result["test_mae"] > 0 and result["test_rmse"] >= result["test_mae"]
    assert result["reported"] is None  # other data than the tutorial's: no comparison
    assert "val_mae" in out.stdout.splitlines()[0]  # each epoch line shows the error the learner watches

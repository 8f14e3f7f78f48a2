import json
import subprocess
import sys

import pytest

from core import codegen, recipes
from core.spec import ExperimentSpec, LayerSpec
from core.training import JobRegistry, warm_imports
from tests.pages.helpers import ROOT

warm_imports()


def run_script(source: str, tmp_path, name="experiment.py") -> str:
    path = tmp_path / name
    path.write_text(source)
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


@pytest.mark.parametrize("dataset", ["digits", "xor"])
def test_the_exported_script_trains_and_reproduces_the_run(dataset, tmp_path):
    spec = ExperimentSpec.default_for(dataset)
    spec.fit.epochs = 2
    job = JobRegistry(record_runs=False).submit(spec, owner="code")
    assert job.done.wait(120)
    ours = job.snapshot().evaluation.test_accuracy
    stdout = run_script(codegen.script(spec), tmp_path)
    line = [l for l in stdout.splitlines() if l.startswith("test loss")][-1]
    assert float(line.split("test accuracy ")[1]) == pytest.approx(ours, abs=1e-4)  # same seed, same model, same numbers
    assert f"Total params: {job.built.total_params:,}" in stdout


def test_scripts_for_every_recipe_are_valid_python_with_the_tutorial_settings():
    for recipe in recipes.RECIPES.values():
        source = codegen.script(recipe.build_spec())
        compile(source, recipe.id, "exec")
        assert f"epochs={recipe.spec.fit.epochs}" in source and f"batch_size={recipe.spec.fit.batch_size}" in source
    assert "keras.datasets.mnist.load_data()" in codegen.script(recipes.get("two-layer-net").build_spec())
    assert "SGD(learning_rate=0.1," in codegen.script(recipes.get("two-layer-net").build_spec())
    assert "x_train[:500]" in codegen.script(recipes.get("overfit").build_spec())
    assert "Concatenate(axis=-1" in codegen.script(recipes.get("inception-block").build_spec())
    assert "keras.layers.Add(" in codegen.script(recipes.get("residual-block").build_spec())
    assert codegen.file_name(recipes.get("iris").build_spec()) == "iris.py"


def test_blocks_regularizers_and_callbacks_in_a_script_run(tmp_path):
    spec = ExperimentSpec.default_for("digits")
    spec.layers = [LayerSpec.make("Conv2D", filters=4, padding="same", l2=0.01), LayerSpec.make("InceptionBlock", filters=2),
                   LayerSpec.make("ResidualBlock", filters=4), LayerSpec.make("GlobalAveragePooling2D")]
    spec.ensure_layer_names()
    spec.fit.epochs, spec.fit.early_stopping, spec.compile.loss = 1, True, "categorical_crossentropy"
    spec.data.validation = "split"
    stdout = run_script(codegen.script(spec), tmp_path)
    assert "test accuracy" in stdout


def run_cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "core", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def test_cli_lists_every_recipe_id():
    out = run_cli("recipes")
    assert out.returncode == 0
    assert sorted(line.split()[0] for line in out.stdout.splitlines()) == sorted(recipes.RECIPES)


def test_cli_trains_a_recipe_and_ends_with_one_json_line():
    out = run_cli("recipe", "iris", "--epochs", "2", "--json")
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("epoch 1/2")
    result = json.loads(lines[-1])
    assert result["recipe"] == "iris" and result["epochs"] == 2 and result["status"] == "finished"
    assert len(result["history"]["loss"]) == 2 and len(result["history"]["val_accuracy"]) == 2
    assert 0 <= result["test_accuracy"] <= 1 and result["train_accuracy"] == result["history"]["accuracy"][-1]
    assert result["reported"] is None and result["seconds"] > 0  # 2 epochs is not the tutorial's 20


def test_cli_reports_a_missing_dataset_plainly():
    out = run_cli("recipe", "two-layer-net", "--epochs", "1", "--json")
    assert out.returncode == 1
    assert "datasets/mnist.npz" in out.stderr and "Traceback" not in out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == "failed" and result["test_accuracy"] is None and result["val_accuracy"] is None


@pytest.mark.parametrize("mode", ["features", "finetune"])
def test_transfer_scripts_run_with_the_base_from_the_keras_cache(mode, tmp_path):
    """The script asks Keras for weights="imagenet": a cached file (here untrained, fabricated) is used offline."""
    import os
    from pathlib import Path

    from core import builder, transfer
    from core.spec import TransferSpec
    from tests.core import fabricate

    fabricate.zoo_weights(Path(os.environ["KERAS_HOME"]), "mobilenet_0.25", include_top=False)
    spec = ExperimentSpec.default_for("digits")
    spec.layers = transfer.head_layers("flatten", 8, 0.5)
    spec.ensure_layer_names()
    spec.transfer = TransferSpec(base="mobilenet_0.25", mode=mode, frozen=80)
    spec.fit.epochs = 1
    source = codegen.script(spec)
    assert 'mobilenet.MobileNet(alpha=0.25, include_top=False, weights="imagenet", input_tensor=x)' in source
    stdout = run_script(source, tmp_path)
    assert "test accuracy" in stdout
    if mode == "finetune":
        assert f"Trainable params: {builder.summarize(spec).trainable_params:,}" in stdout

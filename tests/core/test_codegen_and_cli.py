import json
import os
import subprocess
import sys

import pytest

from core import codegen, recipes
from core.pipeline import train
from core.spec import ExperimentSpec, LayerSpec
from tests.pages.helpers import ROOT


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
    outcome = train(spec, owner="code")
    ours = outcome.evaluation.test_accuracy
    stdout = run_script(codegen.script(spec), tmp_path)
    line = [row for row in stdout.splitlines() if row.startswith("test loss")][-1]
    assert float(line.split("test accuracy ")[1]) == pytest.approx(ours, abs=1e-4)  # same seed, same model, same numbers
    assert f"Total params: {outcome.n_params:,}" in stdout


def unzip_demo_folder(where) -> None:
    """The bundled kinoko/takenoko zip, unzipped next to the script as its header says."""
    import io
    import zipfile

    from core import demo_folders

    zipfile.ZipFile(io.BytesIO(demo_folders.kinoko_takenoko_zip())).extractall(where)


def engine_run(spec):
    outcome = train(spec, owner="t")
    assert outcome.status == "finished", outcome.message
    return outcome


def script_numbers(source: str, tmp_path) -> dict:
    """Run the script with a last line that prints its history and test figures at full precision."""
    tail = '\nimport json\nprint("NUMBERS " + json.dumps({"history": history.history, "test": [loss, accuracy]}))\n'
    stdout = run_script(source + tail, tmp_path)
    line = [row for row in stdout.splitlines() if row.startswith("NUMBERS ")][-1]
    return {**json.loads(line.removeprefix("NUMBERS ")), "stdout": stdout}


def augmented_spec(case: str) -> ExperimentSpec:
    from core.spec import AugmentSpec, tutorial_augmentation

    if case == "digits":  # tutorial 003's settings, the test set validates
        spec = ExperimentSpec.default_for("digits")
        spec.augment, spec.fit.batch_size = tutorial_augmentation(), 64
    else:  # the demo folder, small: validation split, featurewise normalisation, brightness (PIL), shuffle off
        spec = ExperimentSpec.default_for("folder")
        spec.data.image_height, spec.data.image_width, spec.data.validation = 24, 36, "split"
        spec.augment = AugmentSpec(
            enabled=True,
            rotation_range=20.0,
            width_shift_range=0.2,
            horizontal_flip=True,
            brightness_min=0.7,
            brightness_max=1.3,
            featurewise_center=True,
            featurewise_std_normalization=True,
        )
        spec.fit.batch_size, spec.fit.shuffle = 32, False
    spec.fit.epochs = 2
    return spec


@pytest.mark.parametrize("case", ["digits", "folder"])
def test_an_augmented_run_s_script_reproduces_its_numbers(case, tmp_path):
    """The engine's AugmentedBatches (two worker threads) and the script's one-worker copy: the same batches."""
    spec = augmented_spec(case)
    ours = engine_run(spec)
    if case == "folder":
        unzip_demo_folder(tmp_path)
    source = codegen.script(spec, data_name="kinoko_takenoko.zip" if case == "folder" else "")
    assert "AugmentedBatches(datagen" in source and "datagen.flow(x_train, y_train," not in source
    theirs = script_numbers(source, tmp_path)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert theirs["history"][key] == pytest.approx(ours.history[key], abs=1e-4), key
    assert theirs["test"] == pytest.approx([ours.evaluation.test_loss, ours.evaluation.test_accuracy], abs=1e-4)


def test_a_csv_run_s_script_reads_the_table_as_the_app_and_reproduces_its_numbers(tmp_path):
    """A byte-order mark, padded header names, a text column, rows with a gap or no label: read as the app reads them."""
    from sklearn.datasets import load_iris

    from core import uploads

    bunch = load_iris()
    rows = [" sepal length,sepal width , petal length,petal width,note,species"]
    rows += [
        ",".join(f"{v:g}" for v in x) + f",n{k},{bunch.target_names[k]}" for x, k in zip(bunch.data, bunch.target, strict=True)
    ]
    rows[3:3] = ["5.0,,1.4,0.2,gap,setosa", "5.0,3.1,1.4,0.2,no label,"]
    table = ("\ufeff" + "\n".join(rows) + "\n").encode()
    spec = ExperimentSpec.default_for("csv")
    spec.data.source, spec.data.label_column = uploads.store().put("t", "csv", "flowers.csv", table).id, "species"
    spec.fit.epochs = 3
    ours = engine_run(spec)
    (tmp_path / "flowers.csv").write_bytes(table)
    theirs = script_numbers(codegen.script(spec, data_name="flowers.csv", n_classes=3), tmp_path)
    assert theirs["history"]["loss"] == pytest.approx(ours.history["loss"], abs=1e-4)
    assert theirs["test"] == pytest.approx([ours.evaluation.test_loss, ours.evaluation.test_accuracy], abs=1e-4)


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


@pytest.mark.parametrize("schedule", ["keras2_decay", "plateau"])  # a keras.optimizers schedule, and the callback
def test_a_run_with_initializers_and_a_schedule_is_reproduced_by_its_script(schedule, tmp_path):
    """Tutorial 003's kernel_initializer='random_uniform', bias_initializer='zeros' and a learning-rate schedule:
    the script's history, learning rate per epoch included, is the engine's."""
    spec = ExperimentSpec.default_for("iris")
    spec.layers = [
        LayerSpec.make("Dense", units=16, activation="relu", kernel_initializer="random_uniform", bias_initializer="ones"),
        LayerSpec.make("Dense", units=8, activation="tanh", kernel_initializer="he_normal"),
    ]
    spec.ensure_layer_names()
    spec.compile.optimizer, spec.compile.learning_rate, spec.compile.momentum = "sgd", 0.05, 0.9
    spec.compile.schedule, spec.compile.decay, spec.compile.schedule_epochs = schedule, 0.01, 2
    spec.fit.epochs = 4
    ours = engine_run(spec)
    source = codegen.script(spec)
    assert "kernel_initializer='random_uniform'" in source or 'kernel_initializer="random_uniform"' in source
    theirs = script_numbers(source, tmp_path)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert theirs["history"][key] == pytest.approx(ours.history[key], abs=1e-4), key
    assert theirs["test"] == pytest.approx([ours.evaluation.test_loss, ours.evaluation.test_accuracy], abs=1e-4)
    if "learning_rate" in theirs["history"]:
        assert theirs["history"]["learning_rate"] == pytest.approx(ours.history["learning_rate"], rel=1e-5)


def test_blocks_regularizers_and_callbacks_in_a_script_run(tmp_path):
    spec = ExperimentSpec.default_for("digits")
    spec.layers = [
        LayerSpec.make("Conv2D", filters=4, padding="same", l2=0.01),
        LayerSpec.make("InceptionBlock", filters=2),
        LayerSpec.make("ResidualBlock", filters=4),
        LayerSpec.make("GlobalAveragePooling2D"),
    ]
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
    assert sorted(line.split()[0] for line in out.stdout.splitlines()) == sorted([*recipes.RECIPES, *recipes.RACES])
    assert "activation-race    tutorial 003  Activation race" in out.stdout and "race: sigmoid, tanh, relu, elu" in out.stdout


def test_cli_trains_a_race_and_ends_with_one_json_object_with_a_row_per_run(tmp_path):
    """A race on the tests' stand-in MNIST (random pixels, so only the shape of the answer is checked): one JSON
    object, a row per run with its place and final figures, and the best run named."""
    from tests.core import fabricate

    fabricate.mnist_npz(tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "core", "recipe", "activation-race", "--epochs", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "PLAYGROUND_DATA_DIR": str(tmp_path)},
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["race"] == "activation-race" and result["metric"] == "val_accuracy"
    assert [r["place"] for r in result["runs"]] == [{"activation": a} for a in ("sigmoid", "tanh", "relu", "elu")]
    assert all(r["status"] == "finished" and r["epochs"] == 1 and 0 <= r["val_accuracy"] <= 1 for r in result["runs"])
    best = max(r["val_accuracy"] for r in result["runs"])
    assert result["best"] == [r["label"] for r in result["runs"] if round(r["val_accuracy"], 6) == round(best, 6)]


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
    """The script asks Keras for weights="imagenet": a cached file (here untrained, fabricated) is used offline.

    Same weights file, same numbers as the app's run (features mode: the head is seeded after the base).
    """
    import os
    from pathlib import Path

    from core import summary, transfer
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
    ours = engine_run(spec)
    theirs = script_numbers(source, tmp_path)
    assert theirs["history"]["loss"] == pytest.approx(ours.history["loss"], abs=1e-4)
    assert theirs["test"] == pytest.approx([ours.evaluation.test_loss, ours.evaluation.test_accuracy], abs=1e-4)
    stdout = theirs["stdout"]
    if mode == "finetune":
        assert f"Trainable params: {summary.summarize(spec).trainable_params:,}" in stdout

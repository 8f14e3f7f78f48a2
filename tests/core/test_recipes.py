import pytest

from core import compare, datasets, recipes
from core.builder import build_model
from core.pipeline import train
from core.spec import ExperimentSpec
from core.status import Status
from tests.core import fabricate

IDS = [
    "dummy-3-2-3",
    "iris",
    "intro-mlp",
    "two-layer-net",
    "sgd-decay",
    "batchnorm-mlp",
    "small-cnn",
    "deeper-cnn",
    "inception-block",
    "residual-block",
    "overfit",
    "overfit-l2",
    "overfit-dropout",
    "regression-mlp",
    "fashion-mlp",
    "folder-mlp",
    "folder-cnn",
    "folder-cnn-augmented",
    "transfer-features",
    "transfer-finetune",
]


@pytest.fixture(scope="module")
def tiny_keras_data(tmp_path_factory):
    """Small fabricated MNIST and Fashion-MNIST in a read-only data dir, as an offline room has."""
    root = tmp_path_factory.mktemp("data_dir")
    fabricate.mnist_npz(root, n_train=96, n_test=32)
    fabricate.fashion_gz(root, n_train=64, n_test=16)
    fabricate.zoo_weights(root, "mobilenet_0.75", include_top=False)  # the transfer recipes' offline base
    mp = pytest.MonkeyPatch()
    mp.setenv("PLAYGROUND_DATA_DIR", str(root))
    datasets._load_full.cache_clear()
    yield root
    mp.undo()
    datasets._load_full.cache_clear()


def test_the_issue_lists_every_recipe():
    assert sorted(recipes.RECIPES) == sorted(IDS)


@pytest.mark.parametrize("recipe_id", IDS)
def test_each_recipe_round_trips_through_json(recipe_id):
    spec = recipes.get(recipe_id).build_spec()
    assert spec.recipe == recipe_id
    assert ExperimentSpec.from_json(spec.to_json()) == spec


@pytest.mark.parametrize("recipe_id", IDS)
def test_each_recipe_builds_and_trains_one_epoch_on_small_data(recipe_id, tiny_keras_data):
    spec = recipes.get(recipe_id).build_spec(epochs=1)
    if spec.data.train_size is None or spec.data.train_size > 96:
        spec.data.train_size = 96
    outcome = train(spec, owner="test")
    assert outcome.status == Status.FINISHED, outcome.message
    assert len(outcome.history["loss"]) == 1 and outcome.evaluation is not None
    assert outcome.model.get_layer("output") is not None


def test_keras2_learning_rates_are_set_explicitly():
    assert recipes.get("small-cnn").spec.compile.learning_rate == 0.01  # Keras 2 Adagrad default
    assert recipes.get("deeper-cnn").spec.compile.learning_rate == 1.0  # Keras 2 Adadelta default
    assert recipes.get("two-layer-net").spec.compile.learning_rate == 0.1


def test_recipe_models_match_the_tutorials_parameter_counts(tiny_keras_data):
    counts = {
        "two-layer-net": 79_510,
        "deeper-cnn": 1_199_882,
        "dummy-3-2-3": 17,
        "iris": 403,
        "intro-mlp": 784 * 50 + 50 + 50 * 20 + 20 + 20 * 10 + 10,
        "small-cnn": 320 + 13 * 13 * 32 * 10 + 10,
    }
    for recipe_id, expected in counts.items():
        spec = recipes.get(recipe_id).build_spec()
        assert build_model(spec, datasets.load(spec.data)).total_params == expected, recipe_id


def test_the_overfitting_trio_shares_data_and_differs_only_in_the_cure():
    trio = recipes.group("overfitting")
    assert [r.id for r in trio] == ["overfit", "overfit-l2", "overfit-dropout"]
    assert {(r.spec.data.train_size, r.spec.data.test_size, r.spec.fit.epochs) for r in trio} == {(500, 500, 100)}
    assert {layer.params["l2"] for layer in trio[1].spec.layers if layer.type == "Dense"} == {0.03}
    assert [layer.params["rate"] for layer in trio[2].spec.layers if layer.type == "Dropout"] == [0.3] * 4


def test_fashion_epoch_choices_carry_their_own_figures():
    fashion = recipes.get("fashion-mlp")
    assert {e: r.value for e, r in fashion.epoch_choices.items()} == {1: 0.849, 5: 0.864, 500: 0.886}
    assert fashion.build_spec(500).fit.epochs == 500 and fashion.reported_for(500).value == 0.886
    assert fashion.reported_for(7) is None


def test_our_number_for_each_metric():
    history = {"accuracy": [0.5, 0.9], "val_accuracy": [0.4, 0.8]}
    assert recipes.ours("train_accuracy", history, 0.7) == 0.9
    assert recipes.ours("val_accuracy", history, 0.7) == 0.8
    assert recipes.ours("test_accuracy", history, 0.7) == 0.7
    assert recipes.ours("val_accuracy", {}, None) is None


def test_unknown_recipe():
    with pytest.raises(KeyError, match="unknown recipe"):
        recipes.get("resnet-152")


def test_predict_then_reveal_scores_a_guess_against_the_groups_newest_runs():
    from core.runs import Run

    def run(recipe_id, val, created, status="finished"):
        return Run(
            f"{recipe_id}-{created}",
            "me",
            recipe_id,
            recipes.get(recipe_id).build_spec(),
            status,
            {"val_accuracy": [0.5, val]},
            created=created,
        )

    old = [run("overfit", 0.99, 1.0)]
    fresh = [run("overfit", 0.80, 10.0), run("overfit-l2", 0.86, 11.0), run("overfit-dropout", 0.84, 12.0)]
    assert recipes.group_outcome("overfitting", fresh[:2], since=5.0) is None  # dropout has not finished yet
    outcome = recipes.group_outcome("overfitting", old + fresh, since=5.0)
    assert outcome == {"overfit": 0.80, "overfit-l2": 0.86, "overfit-dropout": 0.84}  # the old round does not count
    assert compare.reveal("overfit-l2", outcome) == (("overfit-l2",), "right")
    assert compare.reveal("overfit", outcome) == (("overfit-l2",), "wrong")
    tied = {"overfit": 0.802, "overfit-l2": 0.796, "overfit-dropout": 0.802}
    assert compare.reveal("overfit", tied) == (("overfit", "overfit-dropout"), "tie")  # a tie is not a win
    assert compare.reveal("overfit-l2", tied) == (("overfit", "overfit-dropout"), "wrong")

"""The tutorials' experiments as one-click recipes, with the numbers the tutorials report.

A recipe is a full ExperimentSpec (dataset, layers, compile and fit settings)
plus what the tutorial reports. The tutorials ran Keras 2, whose defaults
differ from Keras 3 (Adagrad's learning rate was 0.01, Adadelta's 1.0), so every
recipe sets its learning rate explicitly. Texts (title, what it teaches) live
in the catalogues under `recipes.<id>`.

Example:
    >>> r = get("two-layer-net")
    >>> r.spec.compile.optimizer, r.spec.compile.learning_rate, r.reported.value
    ('sgd', 0.1, 0.9497)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from core import datasets, pretrained
from core.compare import TUTORIAL_OPTIMIZERS, Axis, Comparison
from core.spec import CompileSpec, DataSpec, ExperimentSpec, FitSpec, LayerSpec, TransferSpec, tutorial_augmentation

METRICS = ("train_accuracy", "val_accuracy", "test_accuracy", "test_mae")


@dataclass(frozen=True)
class Reported:
    """A figure a tutorial prints, and which of our numbers it compares to."""

    metric: str  # one of METRICS
    value: float
    approximate: bool = False  # "~0.95": the tutorial rounds or reads it off a plot


@dataclass(frozen=True)
class Recipe:
    id: str
    tutorial: str  # the seed file number: "000" ... "004"
    spec: ExperimentSpec
    reported: Reported | None
    epoch_choices: dict[int, Reported] = field(default_factory=dict)  # fashion-mlp: 1 / 5 / 500 epochs
    group: str = ""  # recipes trained and compared together (the overfitting trio)
    criterion: str = ""  # how fidelity is judged when there is no single figure
    fallback: TransferSpec | None = None  # transfer recipes: the base to use when the tutorial's weights are missing offline
    data_fallback: str = ""  # a dataset to train on when the tutorial's cannot be had (not here, no internet)

    def build_spec(self, epochs: int | None = None) -> ExperimentSpec:
        """A fresh copy of the spec (optionally with another epoch count), tagged with this recipe.

        A transfer recipe whose base weights are missing offline (VGG16 is 58 MB) takes its
        fallback base when that one's weights are on disk.
        """
        spec = self.spec.copy()
        if epochs is not None:
            spec.fit.epochs = epochs
        if self.fallback is not None and spec.transfer.base:
            wanted, fallback = pretrained.get(spec.transfer.base), pretrained.get(self.fallback.base)
            if (
                pretrained.availability(wanted, include_top=False) == "missing"
                and pretrained.availability(fallback, include_top=False) == "local"
            ):
                spec.transfer = replace(self.fallback)
        if self.data_fallback and datasets.availability_now(spec.data.name) == "missing":
            spec.data = replace(spec.data, name=self.data_fallback)
        spec.recipe = self.id
        spec.ensure_layer_names()
        return spec

    def uses_fallback(self, spec: ExperimentSpec) -> bool:
        """True when `spec` (built from this recipe) trains on the fallback base instead of the tutorial's."""
        return self.fallback is not None and spec.transfer.base == self.fallback.base != self.spec.transfer.base

    def compares_with_tutorial(self, spec: ExperimentSpec) -> bool:
        """False when the spec trains on other data than the tutorial did: its figure says nothing of ours."""
        return spec.data.name == self.spec.data.name

    def reported_for(self, epochs: int) -> Reported | None:
        """The tutorial's figure for this epoch count (recipes with choices), else the figure."""
        if self.epoch_choices:
            return self.epoch_choices.get(epochs)
        return self.reported if epochs == self.spec.fit.epochs else None


def _spec(
    dataset: str,
    layers: list[LayerSpec],
    optimizer: str,
    lr: float,
    batch: int,
    epochs: int,
    initial_accumulator: float = 0.1,
    **data,
) -> ExperimentSpec:
    spec = ExperimentSpec(
        data=DataSpec(name=dataset, **data),
        layers=layers,
        compile=CompileSpec(optimizer=optimizer, learning_rate=lr, initial_accumulator=initial_accumulator),
        fit=FitSpec(batch_size=batch, epochs=epochs, seed=42),
    )
    spec.ensure_layer_names()
    return spec


L = LayerSpec.make


def _sgd_decay_spec() -> ExperimentSpec:
    """Tutorial 003's `SGD(lr=0.01, decay=1e-6, momentum=0.9)` on its MNIST MLP (784-50-20-10, sigmoid)."""
    spec = _spec(
        "mnist",
        [L("Flatten"), L("Dense", units=50, activation="sigmoid"), L("Dense", units=20, activation="sigmoid")],
        "sgd",
        0.01,
        32,
        10,
    )
    spec.compile.momentum, spec.compile.schedule, spec.compile.decay = 0.9, "keras2_decay", 1e-6
    return spec


def keras2_rate(c: CompileSpec, updates: int) -> float:
    """Keras 2's decayed learning rate after `updates` optimizer steps: lr / (1 + decay * updates).

    >>> round(keras2_rate(CompileSpec(learning_rate=0.01, decay=1e-6), 1875), 9)
    0.009981285
    """
    return c.learning_rate / (1 + c.decay * updates)


def _overfit_layers(l2: float = 0.0, dropout: float = 0.0) -> list[LayerSpec]:
    layers = []
    for _ in range(4):
        layers.append(L("Dense", units=100, activation="relu", l2=l2))
        if dropout:
            layers.append(L("Dropout", rate=dropout))
    return layers


_OVERFIT_DATA = dict(train_size=500, test_size=500)

#: Tutorial 003's augmentation for the apple/banana CNN.


def _folder_mlp() -> ExperimentSpec:
    """Tutorial 000: grayscale images flattened into three Dense(512) layers; softmax over the folders."""
    spec = _spec(
        "folder",
        [
            L("Flatten"),
            L("Dense", units=512, activation="relu"),
            L("Dropout", rate=0.2),
            L("Dense", units=512, activation="relu"),
            L("Dropout", rate=0.2),
            L("Dense", units=512, activation="relu"),
            L("Dropout", rate=0.2),
        ],
        "adam",
        0.001,
        32,
        30,
        image_height=32,
        image_width=32,
        color_mode="grayscale",
    )
    spec.compile.loss = "categorical_crossentropy"  # len(categories) softmax units, one-hot labels
    return spec


def _folder_cnn(epochs: int, augmented: bool) -> ExperimentSpec:
    """Tutorial 003: 60x90 two-class CNN, Adadelta (Keras 2's learning rate 1.0), binary sigmoid output."""
    spec = _spec(
        "folder",
        [
            L("Conv2D", filters=128, kernel_size=3, activation="relu"),
            L("Conv2D", filters=64, kernel_size=3, activation="relu"),
            L("MaxPooling2D", pool_size=2),
            L("Dropout", rate=0.25),
            L("Flatten"),
            L("Dense", units=128, activation="relu"),
            L("Dropout", rate=0.5),
        ],
        "adadelta",
        1.0,
        32,
        epochs,
        image_height=60,
        image_width=90,
        color_mode="rgb",
    )
    if augmented:
        spec.augment = tutorial_augmentation()
    return spec


def _regression_spec() -> ExperimentSpec:
    """The regression tutorial's DNN: standardised features, Dense(64) x 2 ReLU, one linear output, MSE with MAE,
    RMSprop(0.001), up to 1000 epochs stopped when the validation loss (20 % of the training data) stalls 10 epochs."""
    spec = _spec(
        "auto_mpg",
        [L("Dense", units=64, activation="relu"), L("Dense", units=64, activation="relu")],
        "rmsprop",
        0.001,
        32,
        1000,
        standardize=True,
        validation="split",
        validation_split=0.2,
    )
    spec.fit.early_stopping, spec.fit.patience, spec.fit.restore_best_weights = True, 10, False
    return spec


def _transfer(mode: str) -> ExperimentSpec:
    """Tutorial 003, 4.4: VGG16 without its top under Flatten - Dense(256) - Dropout(0.5) - Dense(1, sigmoid).

    Features: Adadelta (Keras 2's lr 1.0), 10 epochs on the frozen base's outputs. Fine-tuning:
    the first 15 layers frozen, SGD (lr 0.01), tutorial 003's augmentation, 10 epochs. The
    tutorial feeds `rescale=1/255` images to VGG16 (not `preprocess_input`): so do we.
    """
    head = [L("Flatten"), L("Dense", units=256, activation="relu"), L("Dropout", rate=0.5)]
    if mode == "features":
        spec = _spec("folder", head, "adadelta", 1.0, 32, 10, image_height=60, image_width=90, color_mode="rgb")
    else:
        spec = _spec("folder", head, "sgd", 0.01, 32, 10, image_height=60, image_width=90, color_mode="rgb")
        spec.augment = tutorial_augmentation()
    spec.transfer = TransferSpec(base="vgg16", mode=mode, frozen=15, preprocess="rescale")
    return spec


#: Offline, VGG16's weights are rarely there; MobileNet (alpha 0.75, 10 MB) often is. Its last block
#: (6 of its 86 layers) trains when fine-tuning, as VGG16's last block does; its own preprocessing.
_MOBILENET_FEATURES = TransferSpec(base="mobilenet_0.75", mode="features", frozen=80, preprocess="model")
_MOBILENET_FINETUNE = TransferSpec(base="mobilenet_0.75", mode="finetune", frozen=80, preprocess="model")

RECIPES: dict[str, Recipe] = {
    r.id: r
    for r in [
        # Tutorial 002: Keras intro.
        Recipe(
            "dummy-3-2-3",
            "002",
            # Dense(2) + Activation(sigmoid) + Dense(3) + Activation(softmax): the output layer adds the last two.
            _spec(
                "dummy", [L("Dense", units=2, activation="linear"), L("Activation", activation="sigmoid")], "sgd", 0.01, 32, 10
            ),
            Reported("train_accuracy", 0.3333),
            criterion="chance",
        ),
        Recipe(
            "iris",
            "002",
            _spec("iris", [L("Dense", units=50, activation="sigmoid")], "sgd", 0.01, 1, 20, test_fraction=0.25),
            Reported("test_accuracy", 0.947, approximate=True),
        ),
        Recipe(
            "intro-mlp",
            "002",
            _spec(
                "mnist",
                [L("Flatten"), L("Dense", units=50, activation="sigmoid"), L("Dense", units=20, activation="sigmoid")],
                "sgd",
                0.01,
                32,
                10,
            ),
            Reported("test_accuracy", 0.8855),
        ),
        Recipe(
            "deeper-cnn",
            "002",
            _spec(
                "mnist",
                [
                    L("Conv2D", filters=32, kernel_size=3, activation="relu"),
                    L("Conv2D", filters=64, kernel_size=3, activation="relu"),
                    L("MaxPooling2D", pool_size=2),
                    L("Dropout", rate=0.25),
                    L("Flatten"),
                    L("Dense", units=128, activation="relu"),
                    L("Dropout", rate=0.5),
                ],
                "adadelta",
                1.0,
                512,
                3,
            ),  # Keras 2's Adadelta default learning rate was 1.0
            Reported("test_accuracy", 0.9797),
        ),
        # Tutorial 001: the two-layer net of "Deep Learning from Scratch".
        Recipe(
            "two-layer-net",
            "001",
            _spec("mnist", [L("Flatten"), L("Dense", units=100, activation="sigmoid")], "sgd", 0.1, 100, 17),
            Reported("train_accuracy", 0.9497),
        ),
        # Tutorial 003: the long course.
        Recipe(
            "sgd-decay",
            "003",
            _sgd_decay_spec(),
            None,
            criterion="lr_decay",
        ),
        Recipe(
            "batchnorm-mlp",
            "003",
            _spec(
                "mnist",
                [
                    L("Flatten"),
                    L("Dense", units=50, activation="linear"),
                    L("BatchNormalization"),
                    L("Activation", activation="relu"),
                    L("Dense", units=20, activation="linear"),
                    L("BatchNormalization"),
                    L("Activation", activation="relu"),
                ],
                "sgd",
                0.01,
                32,
                10,
            ),
            Reported("val_accuracy", 0.9691),
        ),
        Recipe(
            "small-cnn",
            "003",
            _spec(
                "mnist",
                [
                    L("Conv2D", filters=32, kernel_size=3, activation="linear"),
                    L("Activation", activation="relu"),
                    L("MaxPooling2D", pool_size=2),
                    L("Flatten"),
                ],
                "adagrad",
                0.01,
                64,
                5,
                initial_accumulator=0.0,
            ),  # Keras 2's Adagrad: lr 0.01, sums from 0
            Reported("test_accuracy", 0.9772),
        ),
        Recipe(
            "inception-block",
            "003",
            _spec(
                "mnist",
                [
                    L("Conv2D", filters=32, kernel_size=3, activation="linear"),
                    L("Activation", activation="relu"),
                    L("MaxPooling2D", pool_size=2),
                    L("InceptionBlock", filters=64),
                    L("Flatten"),
                ],
                "rmsprop",
                0.001,
                32,
                10,
            ),
            Reported("val_accuracy", 0.9839),
        ),
        Recipe(
            "residual-block",
            "003",
            _spec(
                "mnist",
                [
                    L("Conv2D", filters=32, kernel_size=3, activation="linear"),
                    L("Activation", activation="relu"),
                    L("MaxPooling2D", pool_size=2),
                    L("ResidualBlock", filters=32, kernel_size=3),
                    L("Flatten"),
                ],
                "rmsprop",
                0.001,
                32,
                10,
            ),
            Reported("val_accuracy", 0.9846),
        ),
        Recipe(
            "overfit",
            "003",
            _spec("mnist", [L("Flatten"), *_overfit_layers()], "sgd", 0.01, 32, 100, **_OVERFIT_DATA),
            Reported("train_accuracy", 1.0, approximate=True),
            group="overfitting",
            criterion="overfits",
        ),
        Recipe(
            "overfit-l2",
            "003",
            _spec("mnist", [L("Flatten"), *_overfit_layers(l2=0.03)], "sgd", 0.01, 32, 100, **_OVERFIT_DATA),
            None,
            group="overfitting",
            criterion="smaller_gap",
        ),
        Recipe(
            "overfit-dropout",
            "003",
            _spec("mnist", [L("Flatten"), *_overfit_layers(dropout=0.3)], "sgd", 0.01, 32, 100, **_OVERFIT_DATA),
            None,
            group="overfitting",
            criterion="smaller_gap",
        ),
        # Tutorial 000: own image folders (kinoko / takenoko), an MLP with Dropout.
        Recipe(
            "folder-mlp",
            "000",
            _folder_mlp(),
            Reported("test_accuracy", 0.879),  # the tutorial's own photos; ours are the bundled drawings
            criterion="own_data",
        ),
        # Tutorial 003, section on own images: the same CNN without and with ImageDataGenerator.
        Recipe(
            "folder-cnn",
            "003",
            _folder_cnn(20, augmented=False),
            Reported("val_accuracy", 0.75, approximate=True),
            group="augmentation",
            criterion="own_data",
        ),
        Recipe(
            "folder-cnn-augmented",
            "003",
            _folder_cnn(100, augmented=True),
            Reported("val_accuracy", 0.83, approximate=True),
            group="augmentation",
            criterion="own_data",
        ),
        # Tutorial 003, section 4.4: transfer learning from ImageNet.
        Recipe(
            "transfer-features",
            "003",
            _transfer("features"),
            Reported("val_accuracy", 0.91, approximate=True),
            group="transfer",
            criterion="own_data",
            fallback=_MOBILENET_FEATURES,
        ),
        Recipe(
            "transfer-finetune",
            "003",
            _transfer("finetune"),
            Reported("val_accuracy", 0.93, approximate=True),
            group="transfer",
            criterion="own_data",
            fallback=_MOBILENET_FINETUNE,
        ),
        # Tutorial 004 announces its next chapter: TensorFlow's regression tutorial (fuel efficiency, Auto MPG).
        Recipe(
            "regression-mlp",
            "004",
            _regression_spec(),
            Reported("test_mae", 1.9, approximate=True),
            data_fallback="diabetes",
        ),
        # Tutorial 004: Fashion-MNIST, the TensorFlow basic classification tutorial.
        Recipe(
            "fashion-mlp",
            "004",
            _spec("fashion_mnist", [L("Flatten"), L("Dense", units=128, activation="relu")], "adam", 0.001, 32, 5),
            Reported("test_accuracy", 0.864),
            epoch_choices={
                1: Reported("test_accuracy", 0.849),
                5: Reported("test_accuracy", 0.864),
                500: Reported("test_accuracy", 0.886),
            },
        ),
    ]
}

TUTORIALS = ("000", "001", "002", "003", "004")


def get(recipe_id: str) -> Recipe:
    if recipe_id not in RECIPES:
        raise KeyError(f"unknown recipe {recipe_id!r}; known: {', '.join(RECIPES)}")
    return RECIPES[recipe_id]


def by_tutorial() -> dict[str, list[Recipe]]:
    out: dict[str, list[Recipe]] = {}
    for recipe in RECIPES.values():
        out.setdefault(recipe.tutorial, []).append(recipe)
    return dict(sorted(out.items()))


def group(name: str) -> list[Recipe]:
    """Recipes meant to be trained one after another and compared (e.g. 'overfitting')."""
    return [r for r in RECIPES.values() if r.group == name]


def ours(metric: str, history: dict[str, list[float]], test_value: float | None) -> float | None:
    """Our number for a reported metric: last epoch's train/val accuracy, or the test figure (accuracy, a regression's MAE)."""
    if metric.startswith("test_"):
        return test_value
    values = history.get({"train_accuracy": "accuracy", "val_accuracy": "val_accuracy"}[metric])
    return float(values[-1]) if values else None


def group_outcome(name: str, runs: list, since: float = 0.0) -> dict[str, float] | None:
    """Final validation accuracy of the newest finished run of each recipe in a group (runs created after
    `since`), or None until every recipe of the group has one. `runs` are core.runs.Run records."""
    outcome: dict[str, float] = {}
    for recipe in group(name):
        mine = [
            r
            for r in runs
            if r.spec.recipe == recipe.id and r.status == "finished" and r.created >= since and r.history.get("val_accuracy")
        ]
        if not mine:
            return None
        outcome[recipe.id] = float(max(mine, key=lambda r: r.created).history["val_accuracy"][-1])
    return outcome


# --------------------------------------------------------------------------- races: the tutorials' comparisons


@dataclass(frozen=True)
class Race:
    """A comparison the tutorials make: one recipe's net, one setting, the values the tutorial tries.

    Texts (title, what to look for) live in the catalogues under `races.<id>`.

    >>> [spec.compile.optimizer for spec in get_race("optimizer-race").plan()][:3]
    ['sgd', 'sgd', 'sgd']
    """

    id: str
    tutorial: str
    recipe: str  # the recipe whose net races
    axis: Axis
    metric: str = "val_accuracy"
    data: dict = field(default_factory=dict)  # changes to the recipe's data (less of it, so batch size 1 ends in a minute)

    def comparison(self, epochs: int | None = None) -> Comparison:
        base = get(self.recipe).build_spec(epochs)
        base.data = replace(base.data, **self.data)
        return Comparison(base, (self.axis,))

    def plan(self, epochs: int | None = None) -> list[ExperimentSpec]:
        return self.comparison(epochs).plan()


RACES: dict[str, Race] = {
    r.id: r
    for r in [
        # Tutorial 003: SGD (with momentum, with Nesterov), AdaGrad, RMSprop, Adam; tutorial 002's Adadelta. Each at
        # its Keras 2 default learning rate, as the tutorials ran them.
        Race("optimizer-race", "003", "intro-mlp", Axis("tutorial_optimizer", tuple(TUTORIAL_OPTIMIZERS))),
        Race("activation-race", "003", "intro-mlp", Axis("activation", ("sigmoid", "tanh", "relu", "elu"))),
        Race(
            "initializer-race",
            "003",
            "intro-mlp",
            Axis("kernel_initializer", ("zeros", "random_uniform", "glorot_uniform", "he_normal")),
        ),
        # Tutorial 002: "other batch sizes". Equal epochs on 10,000 images, so batch size 1 (50,000 updates) ends in
        # about a minute and batch size 1024 makes only 50.
        Race("batch-size-race", "002", "intro-mlp", Axis("batch_size", (1, 32, 128, 1024)), data=dict(train_size=10_000)),
        # Tutorial 004: Fashion-MNIST after 1, 5 and 500 epochs.
        Race("fashion-epochs-race", "004", "fashion-mlp", Axis("epochs", (1, 5, 500))),
    ]
}


def get_race(race_id: str) -> Race:
    if race_id not in RACES:
        raise KeyError(f"unknown race {race_id!r}; known: {', '.join(RACES)}")
    return RACES[race_id]

"""Every variant the script generator can emit is valid Python, and its header names exactly what it needs.

The needs are read from the script itself, independently of core.codegen: its imports (parsed
with `ast`, mapped to pip names; imports inside `try: ... except ImportError` are optional), plus
what the imported code needs at run time for what the script calls: the Keras backend it sets,
`keras.callbacks.TensorBoard` (tensorboard), ImageDataGenerator's geometric transforms (scipy)
and brightness shifts (pillow).
"""

import ast
import sys

import pytest

from core import codegen, recipes
from core.datasets import DATASETS
from core.spec import AugmentSpec, ExperimentSpec, LayerSpec, TransferSpec, tutorial_augmentation

#: Top-level module -> pip package.
PIP_NAMES = {
    "numpy": "numpy",
    "keras": "keras",
    "tensorflow": "tensorflow",
    "sklearn": "scikit-learn",
    "PIL": "pillow",
    "pandas": "pandas",
    "matplotlib": "matplotlib",
    "scipy": "scipy",
    "tensorboard": "tensorboard",
}
GEOMETRIC = {"rotation_range", "width_shift_range", "height_shift_range", "shear_range", "zoom_range"}


def _optional_imports(tree: ast.AST) -> set[int]:
    """ids of the import nodes guarded by `except ImportError`."""
    guarded = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError") for h in node.handlers
        ):
            guarded |= {id(n) for stmt in node.body for n in ast.walk(stmt) if isinstance(n, (ast.Import, ast.ImportFrom))}
    return guarded


def _backend(tree: ast.AST) -> str | None:
    """The value of `os.environ["KERAS_BACKEND"] = ...`, if the script sets it."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript):
            key = node.targets[0].slice
            if isinstance(key, ast.Constant) and key.value == "KERAS_BACKEND":
                return node.value.value
    return None


def needs_of(source: str) -> tuple[set[str], set[str]]:
    """(required, optional) pip packages, read from the script's code."""
    tree = ast.parse(source)
    optional_ids, required, optional = _optional_imports(tree), set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module]
        else:
            continue
        for module in modules:
            top = module.split(".")[0]
            if top in sys.stdlib_module_names:
                continue
            assert top in PIP_NAMES, f"the script imports {module}: which pip package is that?"
            (optional if id(node) in optional_ids else required).add(PIP_NAMES[top])
    if "keras" in required:
        backend = _backend(tree)
        assert backend, "a script that imports keras sets its backend (os.environ['KERAS_BACKEND'])"
        required.add(backend)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "TensorBoard":
            required.add("tensorboard")
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "ImageDataGenerator":
            keywords = {k.arg for k in node.keywords}
            if keywords & GEOMETRIC:
                required.add("scipy")
            if "brightness_range" in keywords:
                required.add("pillow")
    return required, optional


def header_needs(source: str) -> tuple[list[str], list[str]]:
    """The packages named in the docstring's `Needs: pip install ...` and `Optional: pip install ...` lines."""
    doc = ast.get_docstring(ast.parse(source)) or ""
    found = {"Needs": [], "Optional": []}
    for line in doc.splitlines():
        for key in found:
            if line.startswith(f"{key}: pip install "):
                found[key] = line.removeprefix(f"{key}: pip install ").split(" (")[0].split()
    return found["Needs"], found["Optional"]


# --------------------------------------------------------------------------- the variants


def _spec(dataset: str, **fit) -> ExperimentSpec:
    spec = ExperimentSpec.default_for(dataset)
    for key, value in fit.items():
        setattr(spec.fit, key, value)
    return spec


def _with(spec: ExperimentSpec, **changes) -> ExperimentSpec:
    for path, value in changes.items():
        part, name = path.split("__")
        setattr(getattr(spec, part), name, value)
    return spec


def _optimizer(name: str, **settings) -> ExperimentSpec:
    spec = ExperimentSpec.default_for("iris")
    spec.set_optimizer(name)
    for key, value in settings.items():
        setattr(spec.compile, key, value)
    return spec


def _augmented(dataset: str, augment: AugmentSpec, validation: str = "test") -> ExperimentSpec:
    spec = ExperimentSpec.default_for(dataset)
    spec.augment, spec.data.validation = augment, validation
    return spec


def _transfer(base: str, mode: str, preprocess: str = "model", augment: bool = False) -> ExperimentSpec:
    from core import transfer

    spec = ExperimentSpec.default_for("digits")
    spec.layers = transfer.head_layers("gap", 16, 0.2)
    spec.ensure_layer_names()
    spec.transfer = TransferSpec(base=base, mode=mode, frozen=20, preprocess=preprocess)
    spec.augment = tutorial_augmentation(enabled=augment)
    return spec


def _blocks(*layers: LayerSpec, dataset: str = "digits") -> ExperimentSpec:
    spec = ExperimentSpec.default_for(dataset)
    spec.layers = [*layers, LayerSpec.make("Flatten")]
    spec.ensure_layer_names()
    return spec


def _upload(name: str) -> ExperimentSpec:
    spec = ExperimentSpec.default_for(name)
    spec.data.label_column = "species" if name == "csv" else ""
    return spec


FEATUREWISE = AugmentSpec(enabled=True, featurewise_center=True, featurewise_std_normalization=True, rotation_range=10.0)
VARIANTS = {
    **{
        f"dataset-{name}": (lambda name=name: _upload(name) if DATASETS[name].group == "upload" else _spec(name))
        for name in DATASETS
    },
    "xor-noisy-subset": lambda: _with(_spec("xor"), data__noise=0.5, data__train_size=100, data__test_size=50),
    "spiral-standardized": lambda: _with(_spec("spiral"), data__standardize=True, data__validation="split"),
    "tensorboard-iris": lambda: _spec("iris", tensorboard=True),
    "tensorboard-digits-early-stopping": lambda: _spec("digits", tensorboard=True, early_stopping=True),
    "early-stopping-no-restore": lambda: _spec("moons", early_stopping=True, restore_best_weights=False, patience=2),
    "no-shuffle": lambda: _spec("wine", shuffle=False),
    "augment-tutorial-digits": lambda: _augmented("digits", tutorial_augmentation()),
    "augment-featurewise-split": lambda: _augmented("digits", FEATUREWISE, validation="split"),
    "augment-brightness-only": lambda: _augmented("digits", AugmentSpec(enabled=True, brightness_min=0.5, brightness_max=1.5)),
    "augment-flips-only": lambda: _augmented("cifar10", AugmentSpec(enabled=True, horizontal_flip=True)),
    "augment-samplewise-channel-shift": lambda: _augmented(
        "mnist", AugmentSpec(enabled=True, samplewise_center=True, samplewise_std_normalization=True, channel_shift_range=20.0)
    ),
    "augment-constant-fill": lambda: _augmented(
        "fashion_mnist", AugmentSpec(enabled=True, zoom_range=0.2, fill_mode="constant", cval=10.0)
    ),
    "augment-enabled-but-identity": lambda: _augmented("digits", AugmentSpec(enabled=True, rescale=1 / 255)),
    "augment-on-points-is-ignored": lambda: _augmented("moons", tutorial_augmentation()),
    "augment-folder": lambda: _augmented("folder", tutorial_augmentation(), validation="split"),
    "folder-grayscale-small": lambda: _with(
        _upload("folder"), data__color_mode="grayscale", data__image_height=16, data__image_width=24
    ),
    "inception-and-residual": lambda: _blocks(
        LayerSpec.make("InceptionBlock", filters=4), LayerSpec.make("ResidualBlock", filters=12)
    ),
    "residual-projection-conv-l2-pooling": lambda: _blocks(
        LayerSpec.make("Conv2D", filters=4, padding="same", l2=0.01),
        LayerSpec.make("ResidualBlock", filters=8, kernel_size=5),
        LayerSpec.make("AveragePooling2D", padding="same"),
        LayerSpec.make("BatchNormalization"),
        LayerSpec.make("Activation", activation="gelu"),
    ),
    "dense-l2-categorical": lambda: _with(
        _blocks(LayerSpec.make("Dense", units=8, l2=0.001), dataset="iris"), compile__loss="categorical_crossentropy"
    ),
    "binary-mse": lambda: _with(_spec("breast_cancer"), compile__loss="mean_squared_error"),
    "binary-as-two-softmax": lambda: _with(_spec("moons"), compile__loss="categorical_crossentropy"),
    "sgd": lambda: _optimizer("sgd"),
    "sgd-momentum-nesterov": lambda: _optimizer("sgd", momentum=0.9, nesterov=True),
    "adagrad-keras2-start": lambda: _optimizer("adagrad", initial_accumulator=0.0),
    "adagrad-default": lambda: _optimizer("adagrad"),
    "rmsprop-momentum": lambda: _optimizer("rmsprop", momentum=0.5),
    "adam": lambda: _optimizer("adam"),
    "adamw": lambda: _optimizer("adamw", weight_decay=0.01),
    "adadelta": lambda: _optimizer("adadelta", learning_rate=1.0),
    **{
        f"transfer-{base}-{mode}": (lambda base=base, mode=mode: _transfer(base, mode))
        for base in ("mobilenet_0.25", "resnet50", "densenet121", "efficientnet_b0", "inception_v3")
        for mode in ("features", "finetune")
    },
    "transfer-rescale-features": lambda: _transfer("vgg16", "features", preprocess="rescale"),
    "transfer-finetune-augmented": lambda: _transfer("mobilenet_v2", "finetune", augment=True),
    "transfer-features-augmentation-is-ignored": lambda: _transfer("mobilenet_0.25", "features", augment=True),
    **{f"recipe-{key}": (lambda key=key: recipes.get(key).build_spec()) for key in recipes.RECIPES},
}


def _source(spec: ExperimentSpec) -> str:
    upload = spec.data.name in ("folder", "csv")
    return codegen.script(
        spec, data_name={"folder": "flowers.zip", "csv": "iris.csv"}.get(spec.data.name, ""), n_classes=3 if upload else None
    )


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_variant_compiles_and_its_header_lists_exactly_what_it_needs(variant):
    spec = VARIANTS[variant]()
    source = _source(spec)
    compile(source, f"{variant}.py", "exec")
    needs, optional = header_needs(source)
    required, optional_found = needs_of(source)
    assert sorted(needs) == sorted(required) and len(needs) == len(set(needs)), source.split('"""')[1]
    assert optional == sorted(optional_found) == ["matplotlib"]
    assert needs == codegen.requirements(spec)
    assert ("tensorboard" in needs) == spec.fit.tensorboard
    assert "datagen.flow(" not in source.replace("`datagen.flow(x_train, y_train)`", "")  # only named in the why-comment
    assert ("AugmentedBatches(datagen" in source) == codegen.augmented(spec)


def test_the_variants_cover_what_the_brief_asks_for():
    specs = {key: make() for key, make in VARIANTS.items()}
    assert {s.compile.optimizer for s in specs.values()} == {"sgd", "adagrad", "rmsprop", "adam", "adamw", "adadelta"}
    assert {s.data.name for s in specs.values()} == set(DATASETS)
    assert {(s.transfer.mode, s.transfer.preprocess) for s in specs.values() if s.transfer.base} >= {
        ("features", "model"),
        ("finetune", "model"),
        ("features", "rescale"),
    }
    from core import pretrained

    families = {pretrained.PREPROCESS_MODE[pretrained.get(s.transfer.base).module] for s in specs.values() if s.transfer.base}
    assert families == set(pretrained.PREPROCESS_MODE.values())  # tf, caffe, torch, none
    assert sum(codegen.augmented(s) for s in specs.values()) >= 8
    assert any(s.fit.tensorboard and s.fit.early_stopping for s in specs.values())


def test_tensorboard_callback_is_code_not_swallowed_by_its_comment():
    """The bug: `callbacks=[keras.callbacks.TensorBoard(...)  # tensorboard --logdir logs],` hid `],`."""
    source = _source(_spec("digits", tensorboard=True, early_stopping=True))
    tree = ast.parse(source)
    fit = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "fit")
    assert [k.arg for k in fit.keywords if k.arg == "callbacks"] == ["callbacks"]
    listed = next(n.value for n in ast.walk(tree) if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "callbacks")
    assert [c.func.attr for c in listed.elts] == ["EarlyStopping", "TensorBoard"]
    assert "tensorboard --logdir logs" in source


def test_a_run_name_with_quotes_backslashes_and_lines_keeps_the_script_valid():
    source = codegen.script(_spec("iris"), title='my """best""" run \\ C:\\new\nsecond line')
    compile(source, "named.py", "exec")
    assert "my '''best''' run / C:/new second line" in ast.get_docstring(ast.parse(source))


def test_augmented_scripts_need_scipy_for_geometry_and_pillow_for_brightness():
    assert "scipy" in codegen.requirements(_augmented("mnist", tutorial_augmentation()))
    flips = codegen.requirements(_augmented("cifar10", AugmentSpec(enabled=True, horizontal_flip=True)))
    assert flips == ["numpy", "keras", "tensorflow"]  # flips are NumPy: no scipy, nothing else
    assert codegen.requirements(_augmented("mnist", AugmentSpec(enabled=True, brightness_min=0.8))) == [
        "numpy",
        "keras",
        "tensorflow",
        "pillow",
    ]
    assert codegen.requirements(_augmented("folder", tutorial_augmentation())) == [
        "numpy",
        "keras",
        "tensorflow",
        "scikit-learn",
        "pillow",
        "scipy",
    ]


def test_the_header_pins_the_versions_the_app_ran_with():
    from importlib import metadata

    source = _source(_spec("iris"))
    assert f"keras=={metadata.version('keras')}" in source and "scikit-learn==" in source and "tensorflow==" in source


def test_only_uploads_carry_a_reproduction_note():
    assert codegen.reproduction_note(_spec("digits")) == ""
    assert codegen.reproduction_note(_augmented("digits", tutorial_augmentation())) == ""
    note = codegen.reproduction_note(_upload("folder"))
    header = _source(_upload("folder")).split('"""')[1]
    assert note and " ".join(note.split()) in " ".join(header.split())

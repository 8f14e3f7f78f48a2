""" "Show me the code": a standalone plain-Keras script that reproduces a run.

The script tells the same story as the app, in keras-io style: load the data,
build the model (functional API, the same explicit layer names), compile, fit,
evaluate, plot the curves. Its header names exactly the pip packages it needs
(`requirements`): numpy, keras and tensorflow always; scikit-learn, pillow, pandas,
tensorboard, scipy when the run uses what needs them; matplotlib optionally.

Augmented runs get a small `keras.utils.PyDataset` in the script with the engine's
per-sample seeds (core.augment), so they train on the very same images as the app.
`reproduction_note` says when a script cannot give the run's numbers exactly.

Example:
    >>> source = script(ExperimentSpec.default_for("iris"))
    >>> "model.fit(" in source and "load_iris" in source
    True
    >>> requirements(ExperimentSpec.default_for("iris"))
    ['numpy', 'keras', 'tensorflow', 'scikit-learn']
"""

from __future__ import annotations

import inspect
import textwrap
from datetime import date
from importlib import metadata

from core import augment, datasets, pretrained, transfer
from core.datasets import DATASETS, UPLOADED
from core.model_rules import LossPlan, plan_loss, task_name
from core.spec import INITIALIZER_DEFAULTS, CompileSpec, ExperimentSpec, LayerSpec

#: ImageDataGenerator settings that move pixels: apply_transform hands those to scipy.ndimage.
_GEOMETRIC = ("rotation_range", "width_shift_range", "height_shift_range", "shear_range", "zoom_range")


class Code(str):
    """Python source to paste as it is (`_args` writes other values with repr)."""

    def __repr__(self) -> str:
        return str(self)


def _args(*positional, **keywords) -> str:
    parts = [repr(p) for p in positional]
    parts += [f"{k}={v!r}" for k, v in keywords.items()]
    return ", ".join(parts)


def augmented(spec: ExperimentSpec) -> bool:
    """True when the run trains on augmented batches, as `core.training.training_input` decides.

    In transfer learning's features mode the base's outputs are trained on, not images: no augmentation.
    """
    features = bool(spec.transfer.base) and spec.transfer.mode == "features"
    return (
        spec.augment.enabled
        and DATASETS[spec.data.name].kind == "image"
        and not features
        and not augment.is_identity(spec.augment)
    )


def requirements(spec: ExperimentSpec) -> list[str]:
    """The pip packages the script needs to run: what it imports, and what Keras needs for what it uses."""
    info = DATASETS[spec.data.name]
    needs = ["numpy", "keras", "tensorflow"]  # tensorflow: Keras's backend, as in the app
    if info.kind == "points" or info.group in ("sklearn", "upload"):
        needs.append("scikit-learn")
    if spec.data.name == "folder":
        needs.append("pillow")
    if spec.data.name in ("csv", "auto_mpg"):
        needs.append("pandas")
    if spec.fit.tensorboard:
        needs.append("tensorboard")  # keras.callbacks.TensorBoard writes through it
    if augmented(spec):
        kwargs = augment.generator_kwargs(spec.augment, for_training=True)
        if any(name in kwargs for name in _GEOMETRIC):
            needs.append("scipy")  # ImageDataGenerator's rotations, shifts, shear and zoom
        if "brightness_range" in kwargs and "pillow" not in needs:
            needs.append("pillow")  # ImageDataGenerator's brightness shifts
    return needs


def optional_requirements(spec: ExperimentSpec) -> list[str]:
    """Packages the script uses when they are there: matplotlib for the plot of the curves."""
    return ["matplotlib"]


def reproduction_note(spec: ExperimentSpec) -> str:
    """Why the script may not give the run's numbers exactly, or "" when it does (for a note by the download)."""
    if spec.data.name in UPLOADED:
        return (
            "The script reads your files with its own short loader: it gives the run's numbers when it reads "
            "the same samples as the app did (the Data page's report lists what the app skipped or converted)."
        )
    return ""


def _installed(package: str) -> str | None:
    for dist in (package, "tensorflow-cpu") if package == "tensorflow" else (package,):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def _header_lines(spec: ExperimentSpec, title: str) -> list[str]:
    info = DATASETS[spec.data.name]
    about = title or (f"recipe {spec.recipe}" if spec.recipe else f"{info.title} experiment")
    about = " ".join(about.replace("\\", "/").replace('"', "'").split())  # a run's own name: the docstring stays whole
    needs = requirements(spec)
    pins = [f"{p}=={v}" for p in needs if (v := _installed(p))]
    lines = [
        f'"""Keras Playground: {about}, reproduced with plain Keras.',
        "",
        f"Generated on {date.today().isoformat()}. Run it with `python {file_name(spec)}`.",
        "",
        f"Needs: pip install {' '.join(needs)}",
        f"Optional: pip install {' '.join(optional_requirements(spec))} (to plot the curves)",
    ]
    if len(pins) == len(needs):
        lines += ["The run used these versions (the same versions give the same numbers):", f"    pip install {' '.join(pins)}"]
    note = reproduction_note(spec)
    if note:
        lines += ["", *textwrap.wrap(note, 96)]
    return [*lines, '"""', ""]


def _setup_lines(spec: ExperimentSpec) -> list[str]:
    return [
        "import os",
        "",
        'os.environ["KERAS_BACKEND"] = "tensorflow"  # the app trains with TensorFlow: same backend, same numbers',
        "",
        "import numpy as np",
        "import keras",
        "",
        f"keras.utils.set_random_seed({spec.fit.seed})  # same initial weights and shuffling on every run",
        "",
    ]


_FOLDER_LOADER = '''
def load_folder(folder, size=({h}, {w}), color_mode={mode!r}):
    """Images of folder/CLASS/*, as flow_from_directory reads them: sorted class names, resized."""
    class_names = sorted(p.name for p in folder.iterdir() if p.is_dir())
    images, labels = [], []
    for k, name in enumerate(class_names):
        for path in sorted((folder / name).rglob("*")):
            try:
                img = ImageOps.exif_transpose(Image.open(path))
            except OSError:
                continue  # not an image
            img = img.convert("RGB" if color_mode == "rgb" else "L").resize((size[1], size[0]), Image.BILINEAR)
            images.append(np.asarray(img))
            labels.append(k)
    x = np.stack(images)
    return (x if x.ndim == 4 else x[..., None]), np.array(labels), class_names
'''


def _split_lines(spec: ExperimentSpec) -> list[str]:
    stratify = "" if spec.regression else ", stratify=labels"  # values are not stratified, classes are
    return [
        "x_train, x_test, y_train, y_test = train_test_split(",
        f"    features, labels, test_size={spec.data.test_fraction!r}, random_state={spec.data.seed}{stratify}",
        ")",
    ]


def _folder_lines(spec: ExperimentSpec, data_name: str) -> list[str]:
    d = spec.data
    folder = (data_name or "kinoko_takenoko.zip").rsplit(".", 1)[0]
    return [
        "from pathlib import Path",
        "from PIL import Image, ImageOps",
        "from sklearn.model_selection import train_test_split",
        *_FOLDER_LOADER.format(h=d.image_height, w=d.image_width, mode=d.color_mode).splitlines(),
        f"# Unzip {folder}.zip next to this script (the Data page offers the demo as a zip).",
        f"DATA_DIR = Path({folder!r})",
        'if not (DATA_DIR / "train").is_dir() and len(list(DATA_DIR.iterdir())) == 1:',
        "    DATA_DIR = next(DATA_DIR.iterdir())  # one wrapping folder",
        'if (DATA_DIR / "train").is_dir():  # train/ and test/ (or validation/) folders, as tutorial 003',
        '    x_train, y_train, class_names = load_folder(DATA_DIR / "train")',
        '    test_dir = next(DATA_DIR / n for n in ("test", "validation", "val", "valid") if (DATA_DIR / n).is_dir())',
        "    x_test, y_test, _ = load_folder(test_dir)",
        "else:",
        "    features, labels, class_names = load_folder(DATA_DIR)",
        *("    " + line for line in _split_lines(spec)),
    ]


def _csv_lines(spec: ExperimentSpec, data_name: str) -> list[str]:
    return [
        "import pandas as pd",
        "from sklearn.model_selection import train_test_split",
        "",
        f'frame = pd.read_csv({(data_name or "your_table.csv")!r}, sep=None, engine="python", encoding="utf-8-sig")',
        "frame.columns = [str(c).strip() for c in frame.columns]",
        f"labels_text = frame.pop({spec.data.label_column!r})",
        'numeric = frame.apply(pd.to_numeric, errors="coerce")',
        "numeric = numeric.loc[:, numeric.isna().mean() <= 0.5]  # text columns are not features",
        'keep = np.isfinite(numeric.to_numpy("float64")).all(axis=1) & labels_text.notna().to_numpy()  # rows with gaps go',
        "labels_text = labels_text[keep].astype(str).str.strip()",
        "class_names = sorted(labels_text.unique())",
        'features = numeric[keep].to_numpy("float32")',
        "labels = labels_text.map({c: i for i, c in enumerate(class_names)}).to_numpy()",
        *_split_lines(spec),
    ]


def _points_lines(spec: ExperimentSpec) -> list[str]:
    d = spec.data
    lines = ["from sklearn.model_selection import train_test_split"]
    if d.name in ("xor", "spiral", "plane", "gaussians"):
        fn = {
            "xor": datasets.make_xor,
            "spiral": datasets.make_spiral,
            "plane": datasets.make_plane,
            "gaussians": datasets.make_gaussians,
        }[d.name]
        if d.name == "gaussians":
            lines += ["", f"GAUSSIANS = {datasets.GAUSSIANS!r}"]
        lines += ["", *inspect.getsource(fn).rstrip().splitlines(), ""]
        lines.append(f"features, labels = {fn.__name__}({d.n_samples}, noise={d.noise!r}, seed={d.seed})")
    else:
        call = {
            "moons": f"make_moons({d.n_samples}, noise={d.noise!r}, random_state={d.seed})",
            "circles": f"make_circles({d.n_samples}, noise={d.noise!r}, factor=0.5, random_state={d.seed})",
            "blobs": f"make_blobs({d.n_samples}, centers=3, cluster_std={0.5 + d.noise * 2!r}, random_state={d.seed})",
        }[d.name]
        lines.append(f"from sklearn.datasets import {call.split('(')[0]}")
        lines.append(f"features, labels = {call}")
    labels = ['labels = labels.astype("float32")'] if spec.regression else []
    return [*lines, 'features = features.astype("float32")', *labels, *_split_lines(spec)]


def _sklearn_lines(spec: ExperimentSpec) -> list[str]:
    name = spec.data.name
    loader = {
        "iris": "load_iris",
        "wine": "load_wine",
        "breast_cancer": "load_breast_cancer",
        "digits": "load_digits",
        "diabetes": "load_diabetes",
    }[name]
    lines = [
        f"from sklearn.datasets import {loader}",
        "from sklearn.model_selection import train_test_split",
        "",
        f"bunch = {loader}(scaled=False)  # the measurements as taken" if name == "diabetes" else f"bunch = {loader}()",
    ]
    if name == "digits":
        lines.append('features = np.round(bunch.images * (255 / 16)).astype("uint8")[..., None]  # 0..16 grey levels -> 0..255')
    else:
        lines.append('features = bunch.data.astype("float32")')
    labels = 'labels = bunch.target.astype("float32")' if spec.regression else "labels = bunch.target"
    return [*lines, labels, *_split_lines(spec)]


_AUTO_MPG = f"""import pandas as pd

# The TensorFlow regression tutorial's data and preparation; Keras keeps the file in ~/.keras/datasets.
path = keras.utils.get_file("auto-mpg.data", "{datasets.AUTO_MPG_URL}", cache_subdir="datasets")
table = pd.read_csv(path, names={list(datasets.AUTO_MPG_COLUMNS)!r},
                    na_values="?", comment="\\t", sep=" ", skipinitialspace=True)
table = table.dropna()  # six cars without horsepower
table["Origin"] = table["Origin"].map({{1: "USA", 2: "Europe", 3: "Japan"}})
table = pd.get_dummies(table, columns=["Origin"], prefix="", prefix_sep="", dtype="float32")
train = table.sample(frac=0.8, random_state=0)
test = table.drop(train.index)
features = {list(datasets.AUTO_MPG_FEATURES)!r}
x_train, y_train = train[features].to_numpy("float32"), train["MPG"].to_numpy("float32")
x_test, y_test = test[features].to_numpy("float32"), test["MPG"].to_numpy("float32")"""

_CALIFORNIA = """# Keras downloads the 1990 census districts on first use into ~/.keras/datasets.
(x_train, y_train), (x_test, y_test) = keras.datasets.california_housing.load_data()
x_train, x_test = x_train.astype("float32"), x_test.astype("float32")
y_train, y_test = (y_train / 100_000).astype("float32"), (y_test / 100_000).astype("float32")  # in $100,000"""


def _keras_dataset_lines(spec: ExperimentSpec) -> list[str]:
    name, info = spec.data.name, DATASETS[spec.data.name]
    if name in ("auto_mpg", "california_housing"):
        return (_AUTO_MPG if name == "auto_mpg" else _CALIFORNIA).splitlines()
    lines = [
        f"# Keras downloads {info.title} on first use into ~/.keras/datasets.",
        f"(x_train, y_train), (x_test, y_test) = keras.datasets.{name}.load_data()",
    ]
    if name == "cifar10":
        lines.append("y_train, y_test = y_train.reshape(-1), y_test.reshape(-1)")
    else:
        lines.append("x_train, x_test = x_train[..., None], x_test[..., None]  # add the channel axis")
    return lines


_DUMMY = [
    "# Tutorial 002's dummy data: three samples, three classes.",
    'x_train = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]], "float32")',
    "y_train = np.array([2, 1, 0])",
    'x_test, y_test = np.array([[0.1, 0.3, 0.5]], "float32"), np.array([2])',
]


def _data_lines(spec: ExperimentSpec, data_name: str = "") -> list[str]:
    """Section 1: the arrays x_train, y_train, x_test, y_test, as the app loads them."""
    d, info = spec.data, DATASETS[spec.data.name]
    if info.kind == "points":
        lines = _points_lines(spec)
    elif d.name == "folder":
        lines = _folder_lines(spec, data_name)
    elif d.name == "csv":
        lines = _csv_lines(spec, data_name)
    elif d.name == "dummy":
        lines = list(_DUMMY)
    elif info.group == "sklearn":
        lines = _sklearn_lines(spec)
    else:
        lines = _keras_dataset_lines(spec)
    if d.train_size:
        lines.append(f"x_train, y_train = x_train[:{d.train_size}], y_train[:{d.train_size}]  # a subset, as the tutorial")
    if d.test_size:
        lines.append(f"x_test, y_test = x_test[:{d.test_size}], y_test[:{d.test_size}]")
    return ["# 1. The data", *lines, 'print("train", x_train.shape, "test", x_test.shape)']


def _target_lines(plan: LossPlan, n_classes: int) -> list[str]:
    if plan.regression:
        return ["y_train, y_test = y_train.reshape(-1, 1), y_test.reshape(-1, 1)  # one column per value predicted"]
    if not plan.one_hot:
        return []
    return [
        f"y_train = keras.utils.to_categorical(y_train, {n_classes})  # one-hot targets for {plan.loss}",
        f"y_test = keras.utils.to_categorical(y_test, {n_classes})",
    ]


def _layer_lines(layer: LayerSpec) -> list[str]:
    p, n, t = layer.params, layer.name, layer.type
    reg = lambda: {"kernel_regularizer": f"keras.regularizers.L2({p['l2']!r})"} if p.get("l2") else {}  # noqa: E731
    init = {  # only what differs from Keras's defaults, so the usual script stays as short as the tutorials'
        key: repr(p[key]) for key, default in INITIALIZER_DEFAULTS.items() if p.get(key, default) != default
    }

    def call(cls: str, *args, src: str = "x", out: str = "x", extra: dict | None = None, **kw) -> str:
        text = _args(*args, **kw)
        for key, code in (extra or {}).items():
            text += f", {key}={code}"
        return f"{out} = keras.layers.{cls}({text})({src})"

    if t == "Dense":
        return [call("Dense", p["units"], activation=p["activation"], name=n, extra={**reg(), **init})]
    if t == "Dropout":
        return [call("Dropout", p["rate"], name=n)]
    if t in ("BatchNormalization", "Flatten", "GlobalAveragePooling2D"):
        return [call(t, name=n)]
    if t == "Activation":
        return [call("Activation", p["activation"], name=n)]
    if t == "Conv2D":
        return [
            call(
                "Conv2D",
                p["filters"],
                p["kernel_size"],
                strides=p["strides"],
                padding=p["padding"],
                activation=p["activation"],
                name=n,
                extra={**reg(), **init},
            )
        ]
    if t in ("MaxPooling2D", "AveragePooling2D"):
        return [call(t, p["pool_size"], strides=p["strides"] or None, padding=p["padding"], name=n)]
    if t == "InceptionBlock":
        f = p["filters"]
        conv = lambda k, src, out, suffix: call(
            "Conv2D", f, k, src=src, out=out, padding="same", activation="relu", name=f"{n}_{suffix}"
        )  # noqa: E731
        return [
            "# Inception block: three towers side by side, concatenated on the channel axis.",
            conv(1, "x", "tower_1", "1x1_a"),
            conv(3, "tower_1", "tower_1", "3x3"),
            conv(1, "x", "tower_2", "1x1_b"),
            conv(5, "tower_2", "tower_2", "5x5"),
            call("MaxPooling2D", 3, out="tower_3", strides=1, padding="same", name=f"{n}_pool"),
            conv(1, "tower_3", "tower_3", "pool_1x1"),
            f"x = keras.layers.Concatenate(axis=-1, name={n!r})([tower_1, tower_2, tower_3])",
        ]
    if t == "ResidualBlock":
        f = p["filters"]
        return [
            "# Residual block: a convolution plus a shortcut (1x1 projection when channels differ).",
            call("Conv2D", f, p["kernel_size"], out="y", padding="same", name=f"{n}_conv"),
            f"shortcut = x if x.shape[-1] == {f} else keras.layers.Conv2D({f}, 1, name={n + '_projection'!r})(x)",
            f"x = keras.layers.Add(name={n!r})([shortcut, y])",
        ]
    raise ValueError(f"unknown layer type {t}")


def _optimizer(c: CompileSpec) -> str:
    lr = Code("learning_rate") if c.schedule not in ("none", "plateau") else c.learning_rate
    if c.optimizer == "sgd":
        return f"keras.optimizers.SGD({_args(learning_rate=lr, momentum=c.momentum, nesterov=c.nesterov)})"
    if c.optimizer == "rmsprop":
        return f"keras.optimizers.RMSprop({_args(learning_rate=lr, momentum=c.momentum)})"
    if c.optimizer == "adamw":
        return f"keras.optimizers.AdamW({_args(learning_rate=lr, weight_decay=c.weight_decay)})"
    if c.optimizer == "adagrad" and c.initial_accumulator != 0.1:
        return f"keras.optimizers.Adagrad({_args(learning_rate=lr, initial_accumulator_value=c.initial_accumulator)})"
    cls = {"adagrad": "Adagrad", "adam": "Adam", "adadelta": "Adadelta"}[c.optimizer]
    return f"keras.optimizers.{cls}(learning_rate={lr!r})"


def _schedule_lines(spec: ExperimentSpec) -> list[str]:
    """The learning-rate schedule, as core/builder.learning_rate makes it (plateau is a callback instead)."""
    c, d = spec.compile, spec.data
    if c.schedule in ("none", "plateau"):
        return []
    if c.schedule == "keras2_decay":
        return [
            f"# Keras 2's SGD(decay={c.decay!r}): lr / (1 + decay * updates). Keras 3 dropped `decay`; this is the same.",
            f"learning_rate = keras.optimizers.schedules.InverseTimeDecay({c.learning_rate!r}, decay_steps=1, decay_rate={c.decay!r})",
        ]
    trained = "len(x_train)" if d.validation == "test" else f"int(np.floor(len(x_train) * (1 - {d.validation_split!r})))"
    lines = [f"steps_per_epoch = -(-{trained} // {spec.fit.batch_size})  # optimizer updates per epoch"]
    if c.schedule == "cosine":
        return [
            *lines,
            f"learning_rate = keras.optimizers.schedules.CosineDecay({c.learning_rate!r}, decay_steps=steps_per_epoch * {spec.fit.epochs})",
        ]
    staircase = c.schedule == "step"
    return [
        *lines,
        f"# x {c.schedule_factor:g} every {c.schedule_epochs} epochs" + (", in steps" if staircase else ", smoothly"),
        f"learning_rate = keras.optimizers.schedules.ExponentialDecay({c.learning_rate!r}, steps_per_epoch * {c.schedule_epochs}, "
        f"{c.schedule_factor!r}, staircase={staircase})",
    ]


def _transfer_lines(spec: ExperimentSpec) -> list[str]:
    """The pretrained base, as tutorial 003 (4.4) wires it: include_top=False on our input tensor."""

    tr = spec.transfer
    m = pretrained.get(tr.base)
    least = transfer.MIN_SIDE.get(m.module, 32)
    lines = [
        f"# Transfer learning: {m.label} trained on ImageNet, without its classifier (include_top=False).",
        f"from keras.applications import {m.module}",
        "",
        "x = inputs",
        "if x.shape[-1] == 1:  # ImageNet networks see colour: repeat the gray channel",
        '    x = keras.layers.Concatenate(name="to_rgb")([x, x, x])',
        f"if min(x.shape[1], x.shape[2]) < {least}:  # the smallest input {m.constructor} accepts",
        f'    x = keras.layers.Resizing(max(x.shape[1], {least}), max(x.shape[2], {least}), name="resize")(x)',
    ]
    mode = "rescale" if tr.preprocess == "rescale" else pretrained.PREPROCESS_MODE[m.module]
    lines += {
        "rescale": ['x = keras.layers.Rescaling(1 / 255, name="rescale")(x)  # as the tutorial: pixels 0..1'],
        "tf": [f'x = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="preprocess")(x)  # = {m.module}.preprocess_input'],
        "caffe": [
            f"# = {m.module}.preprocess_input: RGB -> BGR, minus the ImageNet mean (layers, so the model saves safely)",
            'to_bgr = keras.layers.Conv2D(3, 1, use_bias=False, trainable=False, name="to_bgr")',
            "x = to_bgr(x)",
            'to_bgr.set_weights([np.eye(3, dtype="float32")[::-1].reshape(1, 1, 3, 3)])',
            'x = keras.layers.Normalization(mean=[103.939, 116.779, 123.68], variance=[1.0, 1.0, 1.0], name="imagenet_mean")(x)',
        ],
        "torch": [
            f"# = {m.module}.preprocess_input: 0..1, then the ImageNet mean and standard deviation",
            'x = keras.layers.Rescaling(1 / 255, name="rescale")(x)',
            'x = keras.layers.Normalization(mean=[0.485, 0.456, 0.406], variance=[0.229**2, 0.224**2, 0.225**2], name="imagenet_mean")(x)',
        ],
        "none": [f"# {m.constructor} scales its input itself"],
    }[mode]
    kwargs = "".join(f"{k}={v}, " for k, v in m.kwargs.items())
    lines += [
        "ours = len(keras.Model(inputs, x).layers)  # input + preprocessing: the base's own layers come after",
        f'base = {m.module}.{m.constructor}({kwargs}include_top=False, weights="imagenet", input_tensor=x)',
    ]
    if tr.mode == "features":
        lines += [
            "",
            "# Bottleneck features: run the frozen base once over every image, then train only the head on them.",
            "extractor = keras.Model(inputs, base.output)",
            'x_train = extractor.predict(x_train.astype("float32"), batch_size=32, verbose=0)',
            'x_test = extractor.predict(x_test.astype("float32"), batch_size=32, verbose=0)',
            'print("features:", x_train.shape)',
            f"keras.utils.set_random_seed({spec.fit.seed})  # the head starts from the run's weights: the base used random numbers",
            'inputs = keras.Input(shape=x_train.shape[1:], name="input")',
            "x = inputs",
        ]
    else:
        lines += [
            f"for layer in base.layers[ours:][:{max(0, tr.frozen - 1)}]:  # the first {tr.frozen} layers (its input counts) keep their weights",
            "    layer.trainable = False",
            "x = base.output",
        ]
    return lines


def _model_lines(spec: ExperimentSpec, plan: LossPlan) -> list[str]:
    """Section 2: input, the model's own preprocessing, the layer stack, the output layer."""
    lines = [
        "",
        "# 2. The model: the input shape and the output layer come from the data.",
        'inputs = keras.Input(shape=x_train.shape[1:], name="input")',
    ]
    if spec.transfer.base:
        lines += _transfer_lines(spec)
    elif DATASETS[spec.data.name].kind == "image":
        lines.append('x = keras.layers.Rescaling(1 / 255, name="rescale")(inputs)  # pixels 0..255 -> 0..1')
    elif spec.data.standardize:
        lines += [
            'normalize = keras.layers.Normalization(name="normalize")',
            "normalize.adapt(x_train)  # mean 0, variance 1, from the training data",
            "x = normalize(inputs)",
        ]
    else:
        lines.append("x = inputs")
    for layer in spec.layers:
        lines += _layer_lines(layer)
    return [
        *lines,
        f'outputs = keras.layers.Dense({plan.units}, activation={plan.activation!r}, name="output")(x)',
        "model = keras.Model(inputs, outputs)",
        "model.summary()",
    ]


def _compile_lines(spec: ExperimentSpec, plan: LossPlan) -> list[str]:
    """Section 3: optimizer, loss, metric."""
    metrics = (
        '[keras.metrics.MeanAbsoluteError(name="mae"), keras.metrics.RootMeanSquaredError(name="rmse")]'
        if plan.regression
        else '["accuracy"]'
    )
    return [
        "",
        "# 3. How it learns",
        *_schedule_lines(spec),
        f"model.compile(optimizer={_optimizer(spec.compile)}, loss={plan.loss!r}, metrics={metrics})",
    ]


_AUGMENTED_BATCHES = '''
class AugmentedBatches(keras.utils.PyDataset):
    """Augmented training batches, the very ones the app trained on.

    Why not `datagen.flow(x_train, y_train)`: flow draws the transforms from NumPy's one global
    random stream, so which image gets which rotation depends on how batches are prepared, and
    the numbers drift from the app's. Here image i of epoch e has its own seed (seed, e, i), and
    each epoch's order its own (seed, e): the same images in the same order as in the app's run.
    """

    def __init__(self, datagen, x, y, batch_size, seed, shuffle=True):
        super().__init__()  # one worker, batches in order (the app's two worker threads make the same ones)
        self.datagen, self.x, self.y = datagen, x, y
        self.batch_size, self.seed, self.shuffle = batch_size, seed, shuffle
        self.epoch = 0
        self.order = self.epoch_order()

    def epoch_order(self):
        n = len(self.x)
        return np.random.default_rng([self.seed, self.epoch]).permutation(n) if self.shuffle else np.arange(n)

    def __len__(self):
        return (len(self.x) + self.batch_size - 1) // self.batch_size

    def __getitem__(self, idx):
        indices = self.order[idx * self.batch_size : (idx + 1) * self.batch_size]
        images = []
        for i in indices:
            seed = int(np.random.SeedSequence([self.seed, self.epoch, int(i)]).generate_state(1)[0])
            params = self.datagen.get_random_transform(self.x.shape[1:], seed=seed)
            image = self.datagen.apply_transform(self.x[i].astype("float32"), params)
            images.append(self.datagen.standardize(image))  # the normalisation settings, if any
        return np.stack(images).astype("float32"), self.y[indices]

    def on_epoch_end(self):
        self.epoch += 1
        self.order = self.epoch_order()
'''


def _augment_lines(spec: ExperimentSpec) -> list[str]:
    """Augmented batches, as core.training.training_input builds them (split first, then the generator's fit)."""
    a, f = spec.augment, spec.fit
    kwargs = "".join(f"\n    {k}={v!r}," for k, v in augment.generator_kwargs(a, for_training=True).items())
    lines = [
        "# Data augmentation: new variants of the training images every epoch (Keras 3: tf.keras.preprocessing).",
        "import tensorflow as tf",
        "",
    ]
    if spec.data.validation == "split":
        lines += [
            f"# The last {spec.data.validation_split:.0%} of the training images validate, unaugmented, "
            "as validation_split would take them.",
            f"cut = int(len(x_train) * (1 - {spec.data.validation_split!r}))",
            "x_train, y_train, x_val, y_val = x_train[:cut], y_train[:cut], x_train[cut:], y_train[cut:]",
        ]
    lines += f"datagen = tf.keras.preprocessing.image.ImageDataGenerator({kwargs}\n)".splitlines()
    if augment.needs_fit(a):
        lines.append("datagen.fit(x_train)  # featurewise statistics: the mean and std of the training images")
    return [
        *lines,
        "",
        *_AUGMENTED_BATCHES.splitlines(),
        "",
        f"train_batches = AugmentedBatches(datagen, x_train, y_train, batch_size={f.batch_size}, seed={a.seed}, shuffle={f.shuffle})",
    ]


def _callback_lines(spec: ExperimentSpec) -> list[str]:
    f = spec.fit
    items = []
    if f.early_stopping:
        items.append(
            f'    keras.callbacks.EarlyStopping(monitor="val_loss", patience={f.patience}, '
            f"restore_best_weights={f.restore_best_weights}),"
        )
    c = spec.compile
    if c.schedule == "plateau":
        items.append(
            f'    keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor={c.schedule_factor!r}, patience={c.schedule_epochs}),'
        )
    if f.tensorboard:
        items += [
            "    # Logs with weight histograms every epoch, as tutorial 000; look at them with `tensorboard --logdir logs`.",
            '    keras.callbacks.TensorBoard(log_dir="logs", histogram_freq=1),',
        ]
    return ["callbacks = [", *items, "]"] if items else []


def _training_lines(spec: ExperimentSpec) -> list[str]:
    """Section 4: `fit`, on the arrays or on the augmented batches."""
    f, d = spec.fit, spec.data
    lines = ["", "# 4. Training"]
    validation = "validation_data=(x_test, y_test)" if d.validation == "test" else f"validation_split={d.validation_split!r}"
    inputs = f"x_train, y_train, batch_size={f.batch_size}, epochs={f.epochs}, shuffle={f.shuffle},"
    if augmented(spec):
        lines += _augment_lines(spec)
        inputs = f"train_batches, epochs={f.epochs},"
        if d.validation == "split":
            validation = "validation_data=(x_val, y_val)"
    callbacks = _callback_lines(spec)
    return [
        *lines,
        *callbacks,
        "history = model.fit(",
        f"    {inputs}",
        f"    {validation},",
        *(["    callbacks=callbacks,"] if callbacks else []),
        ")",
    ]


_EVALUATION = """
# 5. Evaluation on the test set
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test loss {loss:.4f}, test accuracy {accuracy:.4f}")
"""
_EVALUATION_REGRESSION = """
# 5. Evaluation on the test set
loss, mae, rmse = model.evaluate(x_test, y_test, verbose=0)
print(f"test loss {loss:.4f}, test MAE {mae:.4f}, test RMSE {rmse:.4f}")
"""


def _plot_lines(headline: str) -> list[str]:
    """Section 6: the loss curve and the accuracy (a regression: MAE) curve, saved as pictures."""
    return f"""
# 6. The curves, as in the tutorials
try:
    import matplotlib.pyplot as plt
except ImportError:
    print("pip install matplotlib to plot the curves")
else:
    for metric in ("loss", "{headline}"):
        plt.figure()
        epochs = range(1, len(history.history[metric]) + 1)
        plt.plot(epochs, history.history[metric], marker=".", label="train")
        plt.plot(epochs, history.history["val_" + metric], marker=".", label="validation")
        plt.xlabel("epoch"), plt.ylabel(metric), plt.legend(), plt.grid()
        plt.savefig(f"{{metric}}.png")
    print("saved loss.png and {headline}.png")
""".splitlines()


def file_name(spec: ExperimentSpec) -> str:
    """'two-layer-net.py', or the dataset's name for a spec that is not a recipe."""
    return f"{spec.recipe or spec.data.name}.py"


def script(spec: ExperimentSpec, title: str = "", data_name: str = "", n_classes: int | None = None) -> str:
    """The whole script as text. Uploaded data needs its file name and class count (`data_name`, `n_classes`)."""
    info = DATASETS[spec.data.name]
    n_classes = (info.n_outputs if spec.regression else n_classes or info.n_classes) or 2
    plan = plan_loss(task_name(spec.regression, n_classes), n_classes, spec.compile.loss)
    lines = [
        *_header_lines(spec, title),
        *_setup_lines(spec),
        *_data_lines(spec, data_name),
        *_target_lines(plan, n_classes),
        *_model_lines(spec, plan),
        *_compile_lines(spec, plan),
        *_training_lines(spec),
        *(_EVALUATION_REGRESSION if plan.regression else _EVALUATION).splitlines(),
        *_plot_lines(plan.headline),
    ]
    return "\n".join(lines) + "\n"

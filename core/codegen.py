""""Show me the code": a standalone plain-Keras script that reproduces a run.

The script tells the same story as the app, in keras-io style: load the data,
build the model (functional API, the same explicit layer names), compile, fit,
evaluate, plot the curves. It needs only keras (+ scikit-learn for the built-in
datasets, matplotlib for the plot if installed).

Example:
    >>> source = script(ExperimentSpec.default_for("iris"))
    >>> "model.fit(" in source and "load_iris" in source
    True
"""

from __future__ import annotations

import inspect
from datetime import date

from core import augment, datasets
from core.builder import plan_loss
from core.datasets import DATASETS
from core.spec import CompileSpec, ExperimentSpec, LayerSpec


def _args(*positional, **keywords) -> str:
    parts = [repr(p) for p in positional]
    parts += [f"{k}={v!r}" for k, v in keywords.items()]
    return ", ".join(parts)


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


def _upload_lines(spec: ExperimentSpec, data_name: str, split: list[str]) -> list[str]:
    d = spec.data
    if d.name == "folder":
        folder = (data_name or "kinoko_takenoko.zip").rsplit(".", 1)[0]
        return [
            "from pathlib import Path",
            "from PIL import Image, ImageOps",
            "from sklearn.model_selection import train_test_split",
            *_FOLDER_LOADER.format(h=d.image_height, w=d.image_width, mode=d.color_mode).splitlines(),
            f"# Unzip {folder}.zip next to this script (the Data page offers the demo as a zip).",
            f"DATA_DIR = Path({folder!r})",
            "if not (DATA_DIR / \"train\").is_dir() and len(list(DATA_DIR.iterdir())) == 1:",
            "    DATA_DIR = next(DATA_DIR.iterdir())  # one wrapping folder",
            "if (DATA_DIR / \"train\").is_dir():  # train/ and test/ folders, as tutorial 003",
            "    x_train, y_train, class_names = load_folder(DATA_DIR / \"train\")",
            "    x_test, y_test, _ = load_folder(DATA_DIR / \"test\")",
            "else:",
            "    features, labels, class_names = load_folder(DATA_DIR)",
            *("    " + line for line in split),
        ]
    return [
        "import pandas as pd",
        "from sklearn.model_selection import train_test_split",
        "",
        f"frame = pd.read_csv({(data_name or 'your_table.csv')!r}, sep=None, engine=\"python\")",
        f"labels_text = frame.pop({d.label_column!r}).astype(str).str.strip()",
        "numeric = frame.apply(pd.to_numeric, errors=\"coerce\")",
        "numeric = numeric.loc[:, numeric.isna().mean() <= 0.5]  # text columns are not features",
        "keep = numeric.notna().all(axis=1)",
        "class_names = sorted(labels_text[keep].unique())",
        'features = numeric[keep].to_numpy("float32")',
        "labels = labels_text[keep].map({c: i for i, c in enumerate(class_names)}).to_numpy()",
        *split,
    ]


def _data_lines(spec: ExperimentSpec, data_name: str = "") -> list[str]:
    d, info = spec.data, DATASETS[spec.data.name]
    lines: list[str] = []
    split = [
        "x_train, x_test, y_train, y_test = train_test_split(",
        f"    features, labels, test_size={d.test_fraction!r}, random_state={d.seed}, stratify=labels",
        ")",
    ]
    if info.kind == "points":
        lines.append("from sklearn.model_selection import train_test_split")
        if d.name in ("xor", "spiral"):
            fn = datasets.make_xor if d.name == "xor" else datasets.make_spiral
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
        lines += ['features = features.astype("float32")', *split]
    elif info.group == "upload":
        lines += _upload_lines(spec, data_name, split)
    elif d.name == "dummy":
        lines += [
            "# Tutorial 002's dummy data: three samples, three classes.",
            'x_train = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]], "float32")',
            "y_train = np.array([2, 1, 0])",
            'x_test, y_test = np.array([[0.1, 0.3, 0.5]], "float32"), np.array([2])',
        ]
    elif info.group == "sklearn":
        loader = {"iris": "load_iris", "wine": "load_wine", "breast_cancer": "load_breast_cancer", "digits": "load_digits"}[d.name]
        lines += [f"from sklearn.datasets import {loader}", "from sklearn.model_selection import train_test_split", "", f"bunch = {loader}()"]
        if d.name == "digits":
            lines.append('features = np.round(bunch.images * (255 / 16)).astype("uint8")[..., None]  # 0..16 grey levels -> 0..255')
        else:
            lines.append('features = bunch.data.astype("float32")')
        lines += ["labels = bunch.target", *split]
    else:
        module = {"mnist": "mnist", "fashion_mnist": "fashion_mnist", "cifar10": "cifar10"}[d.name]
        lines.append(f"# Keras downloads {info.title} on first use into ~/.keras/datasets.")
        lines.append(f"(x_train, y_train), (x_test, y_test) = keras.datasets.{module}.load_data()")
        if info.class_names and d.name != "cifar10":
            lines.append("x_train, x_test = x_train[..., None], x_test[..., None]  # add the channel axis")
        if d.name == "cifar10":
            lines.append("y_train, y_test = y_train.reshape(-1), y_test.reshape(-1)")
    if d.train_size:
        lines.append(f"x_train, y_train = x_train[:{d.train_size}], y_train[:{d.train_size}]  # a subset, as the tutorial")
    if d.test_size:
        lines.append(f"x_test, y_test = x_test[:{d.test_size}], y_test[:{d.test_size}]")
    lines.append('print("train", x_train.shape, "test", x_test.shape)')
    return lines


def _layer_lines(layer: LayerSpec) -> list[str]:
    p, n, t = layer.params, layer.name, layer.type
    reg = lambda: {"kernel_regularizer": f"keras.regularizers.L2({p['l2']!r})"} if p.get("l2") else {}  # noqa: E731

    def call(cls: str, *args, src: str = "x", out: str = "x", extra: dict | None = None, **kw) -> str:
        text = _args(*args, **kw)
        for key, code in (extra or {}).items():
            text += f", {key}={code}"
        return f"{out} = keras.layers.{cls}({text})({src})"

    if t == "Dense":
        return [call("Dense", p["units"], activation=p["activation"], name=n, extra=reg())]
    if t == "Dropout":
        return [call("Dropout", p["rate"], name=n)]
    if t in ("BatchNormalization", "Flatten", "GlobalAveragePooling2D"):
        return [call(t, name=n)]
    if t == "Activation":
        return [call("Activation", p["activation"], name=n)]
    if t == "Conv2D":
        return [call("Conv2D", p["filters"], p["kernel_size"], strides=p["strides"], padding=p["padding"],
                     activation=p["activation"], name=n, extra=reg())]
    if t in ("MaxPooling2D", "AveragePooling2D"):
        return [call(t, p["pool_size"], strides=p["strides"] or None, padding=p["padding"], name=n)]
    if t == "InceptionBlock":
        f = p["filters"]
        conv = lambda k, src, out, suffix: call("Conv2D", f, k, src=src, out=out, padding="same", activation="relu", name=f"{n}_{suffix}")  # noqa: E731
        return [
            "# Inception block: three towers side by side, concatenated on the channel axis.",
            conv(1, "x", "tower_1", "1x1_a"), conv(3, "tower_1", "tower_1", "3x3"),
            conv(1, "x", "tower_2", "1x1_b"), conv(5, "tower_2", "tower_2", "5x5"),
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
    if c.optimizer == "sgd":
        return f"keras.optimizers.SGD({_args(learning_rate=c.learning_rate, momentum=c.momentum, nesterov=c.nesterov)})"
    if c.optimizer == "rmsprop":
        return f"keras.optimizers.RMSprop({_args(learning_rate=c.learning_rate, momentum=c.momentum)})"
    if c.optimizer == "adamw":
        return f"keras.optimizers.AdamW({_args(learning_rate=c.learning_rate, weight_decay=c.weight_decay)})"
    if c.optimizer == "adagrad" and c.initial_accumulator != 0.1:
        return f"keras.optimizers.Adagrad({_args(learning_rate=c.learning_rate, initial_accumulator_value=c.initial_accumulator)})"
    cls = {"adagrad": "Adagrad", "adam": "Adam", "adadelta": "Adadelta"}[c.optimizer]
    return f"keras.optimizers.{cls}(learning_rate={c.learning_rate!r})"


def _transfer_lines(spec: ExperimentSpec) -> list[str]:
    """The pretrained base, as tutorial 003 (4.4) wires it: include_top=False on our input tensor."""
    from core import pretrained, transfer

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
        "caffe": [f"# = {m.module}.preprocess_input: RGB -> BGR, minus the ImageNet mean (layers, so the model saves safely)",
                  'to_bgr = keras.layers.Conv2D(3, 1, use_bias=False, trainable=False, name="to_bgr")',
                  "x = to_bgr(x)",
                  "to_bgr.set_weights([np.eye(3, dtype=\"float32\")[::-1].reshape(1, 1, 3, 3)])",
                  'x = keras.layers.Normalization(mean=[103.939, 116.779, 123.68], variance=[1.0, 1.0, 1.0], name="imagenet_mean")(x)'],
        "torch": [f"# = {m.module}.preprocess_input: 0..1, then the ImageNet mean and standard deviation",
                  'x = keras.layers.Rescaling(1 / 255, name="rescale")(x)',
                  'x = keras.layers.Normalization(mean=[0.485, 0.456, 0.406], variance=[0.229**2, 0.224**2, 0.225**2], name="imagenet_mean")(x)'],
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
            "x_train = extractor.predict(x_train.astype(\"float32\"), batch_size=32, verbose=0)",
            "x_test = extractor.predict(x_test.astype(\"float32\"), batch_size=32, verbose=0)",
            "print(\"features:\", x_train.shape)",
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


def file_name(spec: ExperimentSpec) -> str:
    """'two-layer-net.py', or the dataset's name for a spec that is not a recipe."""
    return f"{spec.recipe or spec.data.name}.py"


def script(spec: ExperimentSpec, title: str = "", data_name: str = "", n_classes: int | None = None) -> str:
    """The whole script as text. Uploaded data needs its file name and class count (`data_name`, `n_classes`)."""
    info = DATASETS[spec.data.name]
    n_classes = n_classes or info.n_classes or 2
    plan = plan_loss("binary" if n_classes == 2 else "multiclass", n_classes, spec.compile.loss)
    f = spec.fit
    about = title or (f"recipe {spec.recipe}" if spec.recipe else f"{info.title} experiment")
    lines = [
        f'"""Keras Playground: {about}, reproduced with plain Keras.',
        "",
        f"Generated on {date.today().isoformat()}. Run it with `python {file_name(spec)}`.",
        '"""',
        "",
        "import numpy as np",
        "import keras",
        "",
        f"keras.utils.set_random_seed({f.seed})  # same initial weights and shuffling on every run",
        "",
        "# 1. The data",
        *_data_lines(spec, data_name),
    ]
    if plan.one_hot:
        lines += [f"y_train = keras.utils.to_categorical(y_train, {n_classes})  # one-hot targets for {plan.loss}",
                  f"y_test = keras.utils.to_categorical(y_test, {n_classes})"]
    lines += ["", "# 2. The model: the input shape and the output layer come from the data.",
              'inputs = keras.Input(shape=x_train.shape[1:], name="input")']
    if spec.transfer.base:
        lines += _transfer_lines(spec)
    elif info.kind == "image":
        lines.append('x = keras.layers.Rescaling(1 / 255, name="rescale")(inputs)  # pixels 0..255 -> 0..1')
    elif spec.data.standardize:
        lines += ['normalize = keras.layers.Normalization(name="normalize")',
                  "normalize.adapt(x_train)  # mean 0, variance 1, from the training data", "x = normalize(inputs)"]
    else:
        lines.append("x = inputs")
    for layer in spec.layers:
        lines += _layer_lines(layer)
    lines += [
        f"outputs = keras.layers.Dense({plan.units}, activation={plan.activation!r}, name=\"output\")(x)",
        "model = keras.Model(inputs, outputs)",
        "model.summary()",
        "",
        "# 3. How it learns",
        f"model.compile(optimizer={_optimizer(spec.compile)}, loss={plan.loss!r}, metrics=[\"accuracy\"])",
        "",
        "# 4. Training",
    ]
    callbacks = []
    if f.early_stopping:
        callbacks.append(f"keras.callbacks.EarlyStopping(monitor=\"val_loss\", patience={f.patience}, restore_best_weights={f.restore_best_weights})")
    if f.tensorboard:
        callbacks.append('keras.callbacks.TensorBoard(log_dir="logs", histogram_freq=1)  # tensorboard --logdir logs')
    validation = (
        "validation_data=(x_test, y_test)" if spec.data.validation == "test" else f"validation_split={spec.data.validation_split!r}"
    )
    inputs = f"x_train, y_train, batch_size={f.batch_size}, epochs={f.epochs}, shuffle={f.shuffle},"
    if spec.augment.enabled and info.kind == "image" and not augment.is_identity(spec.augment):
        kwargs = ", ".join(f"{k}={v!r}" for k, v in augment.generator_kwargs(spec.augment, for_training=True).items())
        lines += [
            "# Data augmentation: new variants of the training images every epoch (Keras 3: tf.keras.preprocessing).",
            "import tensorflow as tf",
            "",
            f"datagen = tf.keras.preprocessing.image.ImageDataGenerator({kwargs})",
        ]
        if augment.needs_fit(spec.augment):
            lines.append("datagen.fit(x_train)")
        if spec.data.validation == "split":
            lines += [f"cut = int(len(x_train) * (1 - {spec.data.validation_split!r}))  # what validation_split would do",
                      "x_train, y_train, x_val, y_val = x_train[:cut], y_train[:cut], x_train[cut:], y_train[cut:]"]
            validation = "validation_data=(x_val, y_val)"
        inputs = f"datagen.flow(x_train, y_train, batch_size={f.batch_size}, seed={spec.augment.seed}), epochs={f.epochs},"
    lines += [
        "history = model.fit(",
        f"    {inputs}",
        f"    {validation},",
        *([f"    callbacks=[{', '.join(callbacks)}],"] if callbacks else []),
        ")",
        "",
        "# 5. Evaluation on the test set",
        "loss, accuracy = model.evaluate(x_test, y_test, verbose=0)",
        'print(f"test loss {loss:.4f}, test accuracy {accuracy:.4f}")',
        "",
        "# 6. The curves, as in the tutorials",
        "try:",
        "    import matplotlib.pyplot as plt",
        "except ImportError:",
        '    print("pip install matplotlib to plot the curves")',
        "else:",
        "    for metric in (\"loss\", \"accuracy\"):",
        "        plt.figure()",
        "        epochs = range(1, len(history.history[metric]) + 1)",
        '        plt.plot(epochs, history.history[metric], marker=".", label="train")',
        '        plt.plot(epochs, history.history["val_" + metric], marker=".", label="validation")',
        '        plt.xlabel("epoch"), plt.ylabel(metric), plt.legend(), plt.grid()',
        '        plt.savefig(f"{metric}.png")',
        '    print("saved loss.png and accuracy.png")',
        "",
    ]
    return "\n".join(lines)

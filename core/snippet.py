""" "Use this model": a short script that loads a downloaded model and predicts one picture (or one sample).

The model carries its own scaling (`Rescaling(1/255)` for pictures, `Normalization` for standardized
features, core/builder.py), so the script prepares the input exactly as training did and no more:
a picture is read upright, converted to the input's channels (grey or colour), resized (bilinear, as uploads are)
to the model's input size and handed over as 0-255 floats. For a `.tflite` file the same input goes
through LiteRT's interpreter (`pip install ai-edge-litert`).

Example:
    >>> "Interpreter(model_path=" in use_model(ExperimentSpec.default_for("digits"), "abc.tflite", ["0", "1"])
    True
"""

from __future__ import annotations

from core.spec import ExperimentSpec, kind_of

_LOAD = {
    "keras": [
        "import keras",
        "",
        'model = keras.saving.load_model("{file}", compile=False)',
        "shape = model.input_shape[1:]",
    ],
    "tflite": [
        "from ai_edge_litert.interpreter import Interpreter  # pip install ai-edge-litert",
        "",
        'interpreter = Interpreter(model_path="{file}")',
        "interpreter.allocate_tensors()",
        "given, answer = interpreter.get_input_details()[0], interpreter.get_output_details()[0]",
        'shape = tuple(given["shape"][1:])',
    ],
}
_PREDICT = {
    "keras": ["output = model.predict_on_batch(x)[0]"],
    "tflite": [
        'interpreter.set_tensor(given["index"], x)',
        "interpreter.invoke()",
        'output = interpreter.get_tensor(answer["index"])[0]',
    ],
}
_PICTURE = [
    "import sys",
    "",
    "import numpy as np",
    "from PIL import Image, ImageOps",
    "",
    "",
    "def prepare(path, shape):",
    '    """One picture as training saw it: upright, grey or colour as the input, resized to it, 0-255 (the model scales it)."""',
    "    height, width, channels = shape",
    '    image = ImageOps.exif_transpose(Image.open(path)).convert("L" if channels == 1 else "RGB")',
    "    image = image.resize((width, height), Image.BILINEAR)",
    '    return np.asarray(image, dtype="float32").reshape(1, height, width, channels)',
    "",
    "",
]
_SAMPLE = [
    "import numpy as np",
    "",
    "",
    "def prepare(values, shape):",
    '    """One sample of raw feature values, in the training data\'s column order (the model standardizes it)."""',
    '    return np.asarray(values, dtype="float32").reshape(1, *shape)',
    "",
    "",
]


def runtime_of(file_name: str) -> str:
    return "tflite" if file_name.endswith(".tflite") else "keras"


def use_model(spec: ExperimentSpec, file_name: str, class_names: list[str], regression: bool = False) -> str:
    """The runnable script for a downloaded model file (`.keras` or `.tflite`): load, prepare one input, predict."""
    runtime = runtime_of(file_name)
    picture = kind_of(spec.data.name) == "image"
    lines = [f"# Use this model: python {'use_model.py picture.png' if picture else 'use_model.py'}"]
    if spec.transfer.base and spec.transfer.mode == "features":
        lines.append(f"# Note: this run trained a head on {spec.transfer.base}'s features: its model takes those features, not")
        lines.append("# pictures (the base ran once, before training). A fine-tuning run's model takes pictures as below.")
    lines.append("")
    lines += _PICTURE if picture else _SAMPLE
    lines += [line.format(file=file_name) for line in _LOAD[runtime]]
    if picture:
        lines.append("x = prepare(sys.argv[1] if len(sys.argv) > 1 else 'picture.png', shape)")
        lines.append("# (a grayscale picture for a colour model, or the other way round, is converted by prepare)")
    else:
        lines.append("x = prepare([0.0] * int(np.prod(shape)), shape)  # put one sample's feature values here")
    lines += _PREDICT[runtime]
    if regression:
        lines.append('print(f"predicted value: {float(output[0]):.4f}")')
    else:
        lines.append(f"CLASS_NAMES = {list(class_names)!r}")
        lines.append("# one sigmoid output (two classes): the probability of the second class; else one probability per class")
        lines.append("probabilities = np.array([1 - output[0], output[0]]) if len(output) == 1 else output")
        lines.append("best = int(np.argmax(probabilities))")
        lines.append('print(f"{CLASS_NAMES[best] if best < len(CLASS_NAMES) else best} ({float(probabilities[best]):.1%} sure)")')
    return "\n".join(lines) + "\n"

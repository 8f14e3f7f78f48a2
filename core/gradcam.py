"""Grad-CAM: where a convolutional network looked when it chose a class.

Selvaraju et al. (2017), as in the keras-io example "Grad-CAM class activation
visualization": the gradient of the class score with respect to the last
convolutional feature map, averaged per channel, weights that map; the positive
part, scaled to [0, 1], is the heatmap.

Any model Keras loads works: a functional model gives its feature map directly; a
Sequential one (whose `output` Keras leaves undefined after loading) is replayed layer by
layer on a new `keras.Input`, reusing its layers and weights. A model nested in another
is looked into when its own output is no longer a feature map (a base with pooling).

Example:
    >>> heat, cls = gradcam(model, batch)  # doctest: +SKIP
    >>> heat.shape, float(heat.min()) >= 0, float(heat.max()) <= 1  # doctest: +SKIP
    ((7, 7), True, True)

Keras and TensorFlow are imported inside the functions that use them, on purpose:
importing this module (the web server does) loads no TensorFlow.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np

_PROBES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> {layer name or None: probe}
_PROBES_LOCK = threading.Lock()


def _spatial(tensor) -> bool:
    """A feature map: (batch, height, width, channels) with more than one position."""
    shape = getattr(tensor, "shape", None)
    return shape is not None and len(shape) == 4 and (shape[1] or 0) * (shape[2] or 0) > 1


def _is_model(layer) -> bool:
    return hasattr(layer, "layers") and hasattr(layer, "inputs")


def has_conv(layer) -> bool:
    """A 2-D convolution (a layer with a 4-D kernel), or a model holding one."""
    if _is_model(layer):
        return any(has_conv(inner) for inner in layer.layers)
    return any(len(w.shape) == 4 for w in getattr(layer, "weights", []))


def _output(layer):
    try:
        return layer.output
    except (AttributeError, ValueError):  # a layer Keras never called in this graph
        return None


def last_conv_layer(model) -> str | None:
    """The last top-level layer with a feature-map output at or after the first convolution, or None (an MLP)."""
    found, seen_conv = None, False
    for layer in model.layers:
        seen_conv = seen_conv or has_conv(layer)
        if seen_conv and type(layer).__name__ != "InputLayer" and _spatial(_output(layer)):
            found = layer.name
    return found


def _is_sequential(model) -> bool:
    import keras

    return isinstance(model, keras.Sequential)


def _own_layers(model) -> list:
    return [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]


def _is_chain(model) -> bool:
    """A functional model whose layers follow each other, one input and one output each (no branches)."""
    try:
        previous = model.inputs[0]
        for layer in _own_layers(model):
            node = layer._inbound_nodes[0]
            if len(node.input_tensors) != 1 or node.input_tensors[0] is not previous or len(node.output_tensors) != 1:
                return False
            previous = node.output_tensors[0]
        return len(model.outputs) == 1 and previous is model.outputs[0]
    except (AttributeError, IndexError, TypeError):
        return False


def _replay(model, x):
    """Apply `model` to the symbolic `x`: (its last feature map after a convolution, or None; its output)."""
    if _is_sequential(model) or _is_chain(model):
        return _replay_chain(_own_layers(model), x)
    name = last_conv_layer(model)
    if name is None:
        return None, model(x)
    import keras

    features, out = keras.Model(model.inputs, [model.get_layer(name).output, model.outputs[0]])(x)
    return features, out


def _replay_chain(layers, x):
    features, seen_conv = None, False
    for layer in layers:
        if _is_model(layer):
            inner, x = _replay(layer, x)
        else:
            inner, x = None, layer(x)
        seen_conv = seen_conv or has_conv(layer)
        if seen_conv and _spatial(x):
            features = x
        elif inner is not None:
            features = inner
    return features, x


def _build_probe(model, layer_name: str | None):
    import keras

    name = layer_name or (None if _is_sequential(model) else last_conv_layer(model))
    if name is not None:  # a functional graph holds the feature map itself
        return keras.Model(model.inputs, [model.get_layer(name).output, model.outputs[0]])
    inputs = keras.Input(tuple(model.inputs[0].shape[1:]), name="gradcam_input")
    features, scores = _replay(model, inputs)
    if features is None:
        raise ValueError("no convolutional layer")
    return keras.Model(inputs, [features, scores])


def probe(model, layer_name: str | None = None):
    """A functional model: picture batch -> [feature map, scores]; ValueError without a convolution.

    Built once per model (and layer) and kept while the model lives.
    """
    with _PROBES_LOCK:
        cached = _PROBES.get(model, {}).get(layer_name)
    if cached is None:
        cached = _build_probe(model, layer_name)
        with _PROBES_LOCK:
            _PROBES.setdefault(model, {})[layer_name] = cached
    return cached


def gradcam(model, batch: np.ndarray, class_index: int | None = None, layer_name: str | None = None) -> tuple[np.ndarray, int]:
    """(heatmap (h, w) in [0, 1], explained class) for the first image of `batch`.

    With one sigmoid output, class 1 explains the score and class 0 explains 1 - score.
    Raises ValueError when the model has no convolutional layer.
    """
    import tensorflow as tf

    explain = probe(model, layer_name)
    x = tf.convert_to_tensor(np.asarray(batch[:1], "float32"))
    with tf.GradientTape() as tape:
        features, scores = explain(x, training=False)
        if scores.shape[-1] == 1:
            p = scores[:, 0]
            if class_index is None:
                class_index = int(float(p[0]) >= 0.5)
            score = p if class_index == 1 else 1.0 - p
        else:
            if class_index is None:
                class_index = int(tf.argmax(scores[0]))
            score = scores[:, class_index]
    grads = tape.gradient(score, features)
    weights = tf.reduce_mean(grads, axis=(0, 1, 2))
    cam = tf.nn.relu(tf.reduce_sum(features[0] * weights, axis=-1)).numpy()
    top = float(cam.max())
    return (cam / top if top > 0 else cam).astype("float32"), int(class_index)

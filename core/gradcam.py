"""Grad-CAM: where a convolutional network looked when it chose a class.

Selvaraju et al. (2017), as in the keras-io example "Grad-CAM class activation
visualization": the gradient of the class score with respect to the last
convolutional feature map, averaged per channel, weights that map; the positive
part, scaled to [0, 1], is the heatmap.

Example:
    >>> heat, cls = gradcam(model, batch)  # doctest: +SKIP
    >>> heat.shape, float(heat.min()) >= 0, float(heat.max()) <= 1  # doctest: +SKIP
    ((7, 7), True, True)
"""

from __future__ import annotations

import numpy as np


def last_conv_layer(model) -> str | None:
    """The name of the last layer with a spatial (4-D) output bigger than 1x1, or None (an MLP)."""
    for layer in reversed(model.layers):
        shape = getattr(layer, "output", None)
        shape = getattr(shape, "shape", None)
        if shape is not None and len(shape) == 4 and (shape[1] or 0) * (shape[2] or 0) > 1:
            return layer.name
    return None


def gradcam(model, batch: np.ndarray, class_index: int | None = None, layer_name: str | None = None) -> tuple[np.ndarray, int]:
    """(heatmap (h, w) in [0, 1], explained class) for the first image of `batch`.

    With one sigmoid output, class 1 explains the score and class 0 explains 1 - score.
    Raises ValueError when the model has no convolutional layer.
    """
    import keras
    import tensorflow as tf

    name = layer_name or last_conv_layer(model)
    if name is None:
        raise ValueError("no convolutional layer")
    probe = keras.Model(model.inputs, [model.get_layer(name).output, model.output])
    x = tf.convert_to_tensor(np.asarray(batch[:1], "float32"))
    with tf.GradientTape() as tape:
        features, scores = probe(x, training=False)
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

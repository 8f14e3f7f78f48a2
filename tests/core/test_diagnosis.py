"""Curve diagnosis: each rule on synthetic histories, every fix on a copy, silence on healthy runs."""

import math
import re
from pathlib import Path

import numpy as np
import pytest

from core import diagnosis, i18n
from core.diagnosis import Finding, Fix, diagnose
from core.i18n import Msg
from core.spec import ExperimentSpec, LayerSpec

ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- helpers


def decay(n, start, end, rate=0.3, noise=0.0, seed=0):
    """start -> end exponentially over n epochs, times (1 + noise * N(0, 1))."""
    t = np.arange(n)
    clean = end + (start - end) * np.exp(-rate * t)
    rng = np.random.default_rng(seed)
    return [float(x) for x in clean * (1 + noise * rng.standard_normal(n))]


def rise(n, start, end, rate=0.3, noise=0.0, seed=0):
    """start -> end (upwards) exponentially: accuracies."""
    return decay(n, start, end, rate, noise, seed)


def healthy(n=30, noise=0.0, seed=0, gap=0.02):
    """Both losses fall smoothly and level off; validation follows training with a small gap."""
    loss = decay(n, 0.6, 0.05, 0.25, noise, seed)
    val = decay(n, 0.5, 0.05 + gap, 0.25, noise, seed + 1)
    acc = [min(0.999, x) for x in rise(n, 0.75, 0.985, 0.25, noise / 4, seed + 2)]
    val_acc = [min(0.999, x) for x in rise(n, 0.8, 0.975, 0.25, noise / 4, seed + 3)]
    return {"loss": loss, "val_loss": val, "accuracy": acc, "val_accuracy": val_acc}


def overfit(n=25, best=8, climb=0.04):
    """Training loss keeps falling; validation loss bottoms out at epoch `best` then climbs `climb` per epoch."""
    loss = decay(n, 0.6, 0.01, 0.3)
    val = [0.2 + 0.3 * math.exp(-0.5 * t) for t in range(best)]
    val += [val[-1] * (1 + climb * (k + 1)) for k in range(n - best)]
    acc = [min(0.999, x) for x in rise(n, 0.8, 1.0, 0.3)]
    val_acc = rise(n, 0.85, 0.93, 0.5)
    return {"loss": loss, "val_loss": val, "accuracy": acc, "val_accuracy": val_acc}


def prefixes(history, start=1):
    n = len(history["loss"])
    for k in range(start, n + 1):
        yield k, {key: values[:k] for key, values in history.items()}


def spec_for(dataset="moons", **changes):
    spec = ExperimentSpec.default_for(dataset)
    for key, value in changes.items():
        part, name = key.split("__")
        setattr(getattr(spec, part), name, value)
    return spec


def kinds(findings):
    return [f.kind for f in findings]


def fix(finding: Finding, fix_id: str) -> Fix:
    found = [f for f in finding.fixes if f.id == fix_id]
    assert found, (fix_id, [f.id for f in finding.fixes])
    return found[0]


def assert_applies_to_a_copy(fix_: Fix, spec: ExperimentSpec) -> ExperimentSpec:
    before = spec.to_json()
    new = fix_.apply(spec)
    assert new is not spec
    assert spec.to_json() == before, f"{fix_.id} changed the original spec"
    assert new.to_json() != before, f"{fix_.id} changed nothing"
    ExperimentSpec.from_json(new.to_json())  # still a valid spec
    return new


#: Histories of real Keras runs of this app (core.training, CPU), rounded to 4 decimals.
#: name -> (spec settings, n_classes, history)
REAL = {
    'moons': (
        {'dataset': 'moons', 'optimizer': 'adam', 'learning_rate': 0.01, 'epochs': 40, 'batch_size': 16, 'train_size': None, 'early_stopping': False},
        2,
        {
            'loss': [0.5733, 0.3162, 0.2697, 0.2625, 0.2605, 0.259, 0.2577, 0.2567, 0.2558, 0.255, 0.2541, 0.2529, 0.2511, 0.2477, 0.2408, 0.2265, 0.2013, 0.1668, 0.1313, 0.1031, 0.084, 0.0714, 0.063, 0.0571, 0.0528, 0.0495, 0.0469, 0.0448, 0.043, 0.0416, 0.0404, 0.0393, 0.0384, 0.0376, 0.0369, 0.0363, 0.0357, 0.0352, 0.0348, 0.0343],
            'val_loss': [0.4235, 0.3523, 0.3321, 0.3306, 0.3292, 0.3276, 0.3264, 0.3253, 0.3242, 0.3231, 0.3217, 0.3198, 0.3164, 0.3097, 0.2956, 0.2691, 0.2292, 0.1849, 0.1475, 0.1208, 0.1028, 0.0909, 0.0832, 0.0784, 0.0754, 0.0736, 0.0725, 0.0718, 0.0713, 0.0709, 0.0704, 0.07, 0.0696, 0.0692, 0.0688, 0.0684, 0.0681, 0.0677, 0.0675, 0.0672],
            'accuracy': [0.7067, 0.8644, 0.8978, 0.8978, 0.8978, 0.8978, 0.8978, 0.8978, 0.8978, 0.8978, 0.8978, 0.9, 0.9, 0.9022, 0.9044, 0.9044, 0.9156, 0.9289, 0.9467, 0.9667, 0.9711, 0.9733, 0.9778, 0.9844, 0.9844, 0.9844, 0.9844, 0.9844, 0.9844, 0.9844, 0.9844, 0.9844, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867],
            'val_accuracy': [0.8133, 0.8533, 0.8467, 0.8467, 0.8533, 0.8533, 0.8533, 0.8533, 0.8467, 0.8467, 0.8467, 0.8467, 0.8533, 0.8533, 0.86, 0.86, 0.8667, 0.9133, 0.9333, 0.96, 0.96, 0.96, 0.9667, 0.9667, 0.9667, 0.9667, 0.9667, 0.9667, 0.9667, 0.9667, 0.9667, 0.9667, 0.9667, 0.9733, 0.9733, 0.9733, 0.9733, 0.9733, 0.98, 0.98],
        },
    ),
    'iris': (
        {'dataset': 'iris', 'optimizer': 'adam', 'learning_rate': 0.001, 'epochs': 20, 'batch_size': 32, 'train_size': None, 'early_stopping': False},
        3,
        {
            'loss': [1.1304, 1.0692, 1.0126, 0.9803, 0.9335, 0.9036, 0.8529, 0.8323, 0.8135, 0.7771, 0.7438, 0.7199, 0.6825, 0.6699, 0.6551, 0.6362, 0.6148, 0.591, 0.5842, 0.5548],
            'val_loss': [1.0732, 1.0312, 0.9912, 0.9535, 0.9181, 0.8849, 0.8535, 0.8242, 0.7967, 0.7711, 0.747, 0.7244, 0.7031, 0.6833, 0.6649, 0.6476, 0.6315, 0.6163, 0.6019, 0.5883],
            'accuracy': [0.3393, 0.4107, 0.4911, 0.4821, 0.5179, 0.5893, 0.6339, 0.7321, 0.6964, 0.7321, 0.7857, 0.7857, 0.8036, 0.7857, 0.8036, 0.8125, 0.8214, 0.8214, 0.8125, 0.8214],
            'val_accuracy': [0.3947, 0.3947, 0.4474, 0.5, 0.6316, 0.8421, 0.8421, 0.8421, 0.8421, 0.8421, 0.8421, 0.8421, 0.8421, 0.8421, 0.8421, 0.8421, 0.8421, 0.8421, 0.8421, 0.8421],
        },
    ),
    'breast_80': (
        {'dataset': 'breast_cancer', 'optimizer': 'adam', 'learning_rate': 0.001, 'epochs': 80, 'batch_size': 32, 'train_size': None, 'early_stopping': False},
        2,
        {
            'loss': [0.6171, 0.4184, 0.2987, 0.2327, 0.1964, 0.1685, 0.1503, 0.1371, 0.1249, 0.1135, 0.1011, 0.1015, 0.0927, 0.0933, 0.087, 0.0834, 0.0764, 0.0721, 0.0725, 0.0718, 0.0662, 0.0639, 0.0629, 0.0648, 0.0593, 0.0544, 0.0573, 0.0562, 0.0562, 0.0495, 0.0511, 0.051, 0.0502, 0.0502, 0.0504, 0.0449, 0.0439, 0.0495, 0.0406, 0.0421, 0.0419, 0.0414, 0.0397, 0.0388, 0.039, 0.0424, 0.0384, 0.0386, 0.0371, 0.0344, 0.035, 0.0364, 0.0353, 0.0355, 0.036, 0.0329, 0.0298, 0.0315, 0.0313, 0.0306, 0.0321, 0.0304, 0.03, 0.0312, 0.0294, 0.0294, 0.0276, 0.0295, 0.0239, 0.0281, 0.028, 0.0257, 0.0264, 0.0258, 0.0254, 0.0229, 0.0246, 0.0231, 0.0214, 0.0216],
            'val_loss': [0.4777, 0.3463, 0.2752, 0.2317, 0.2032, 0.183, 0.168, 0.1566, 0.1478, 0.1407, 0.1344, 0.1293, 0.1249, 0.1212, 0.1181, 0.1154, 0.1129, 0.1107, 0.1088, 0.1074, 0.1061, 0.1052, 0.1044, 0.1036, 0.1028, 0.1021, 0.1018, 0.1015, 0.1013, 0.1011, 0.101, 0.101, 0.1011, 0.101, 0.101, 0.1011, 0.1013, 0.1013, 0.1014, 0.1015, 0.1016, 0.1019, 0.1021, 0.1023, 0.1025, 0.1025, 0.1023, 0.1023, 0.102, 0.1018, 0.102, 0.1022, 0.1023, 0.1024, 0.1018, 0.1019, 0.1022, 0.1022, 0.1028, 0.1033, 0.1034, 0.1035, 0.1034, 0.1038, 0.104, 0.1037, 0.1041, 0.1044, 0.1046, 0.1046, 0.1043, 0.1045, 0.1045, 0.1046, 0.1045, 0.1049, 0.1052, 0.1058, 0.1057, 0.1057],
            'accuracy': [0.6338, 0.8545, 0.939, 0.9437, 0.9577, 0.9671, 0.9718, 0.9718, 0.9765, 0.9742, 0.9789, 0.9812, 0.9859, 0.9789, 0.9812, 0.9789, 0.9906, 0.9906, 0.9883, 0.9906, 0.9883, 0.9883, 0.9906, 0.9883, 0.9906, 0.993, 0.9883, 0.9906, 0.9883, 0.9906, 0.9906, 0.9906, 0.9906, 0.9906, 0.9883, 0.993, 0.9906, 0.9883, 0.993, 0.9906, 0.9906, 0.9906, 0.9906, 0.993, 0.9906, 0.9883, 0.993, 0.993, 0.9906, 0.9906, 0.993, 0.9906, 0.993, 0.993, 0.9906, 0.993, 0.993, 0.9906, 0.9906, 0.993, 0.9906, 0.993, 0.9953, 0.993, 0.9906, 0.9953, 0.993, 0.993, 0.9953, 0.993, 0.993, 0.9953, 0.9953, 0.993, 0.993, 0.9953, 0.9953, 0.993, 0.9953, 0.993],
            'val_accuracy': [0.8252, 0.8951, 0.9301, 0.9301, 0.951, 0.951, 0.951, 0.9441, 0.9441, 0.9441, 0.951, 0.951, 0.958, 0.958, 0.958, 0.965, 0.965, 0.958, 0.958, 0.958, 0.958, 0.958, 0.965, 0.958, 0.958, 0.958, 0.958, 0.951, 0.951, 0.951, 0.951, 0.951, 0.951, 0.951, 0.951, 0.951, 0.958, 0.958, 0.958, 0.958, 0.958, 0.958, 0.958, 0.958, 0.958, 0.958, 0.958, 0.958, 0.958, 0.958, 0.958, 0.958, 0.958, 0.958, 0.958, 0.958, 0.958, 0.958, 0.958, 0.958, 0.951, 0.951, 0.951, 0.951, 0.951, 0.951, 0.951, 0.951, 0.951, 0.951, 0.951, 0.951, 0.951, 0.951, 0.951, 0.951, 0.951, 0.951, 0.951, 0.951],
        },
    ),
    'digits_overfit_lr01': (
        {'dataset': 'digits', 'optimizer': 'adam', 'learning_rate': 0.01, 'epochs': 60, 'batch_size': 128, 'train_size': 150, 'early_stopping': False},
        10,
        {
            'loss': [2.3252, 1.8755, 1.6361, 1.3302, 1.0903, 0.8392, 0.736, 0.5912, 0.4817, 0.4367, 0.3842, 0.3109, 0.3183, 0.2865, 0.2622, 0.1929, 0.1741, 0.1607, 0.1466, 0.1228, 0.1505, 0.1245, 0.1259, 0.0826, 0.0939, 0.1002, 0.0887, 0.0761, 0.0642, 0.065, 0.0675, 0.056, 0.0502, 0.0542, 0.0367, 0.0466, 0.0471, 0.0468, 0.0408, 0.0435, 0.0372, 0.0295, 0.0418, 0.0304, 0.0295, 0.023, 0.0254, 0.0279, 0.0262, 0.0194, 0.0226, 0.0186, 0.0217, 0.0227, 0.0171, 0.02, 0.0145, 0.0224, 0.016, 0.0188],
            'val_loss': [2.0018, 1.7627, 1.4873, 1.2086, 0.9811, 0.7976, 0.6717, 0.5945, 0.5244, 0.4585, 0.4077, 0.3877, 0.3851, 0.372, 0.3397, 0.3255, 0.3211, 0.32, 0.3235, 0.3161, 0.3002, 0.3008, 0.3039, 0.3078, 0.3103, 0.3028, 0.2896, 0.2758, 0.2721, 0.2683, 0.27, 0.2753, 0.2742, 0.2734, 0.2731, 0.2703, 0.2677, 0.2684, 0.2742, 0.2783, 0.278, 0.2728, 0.2744, 0.2748, 0.2693, 0.2703, 0.2646, 0.2641, 0.2685, 0.2709, 0.2791, 0.2835, 0.2795, 0.2698, 0.2654, 0.2606, 0.26, 0.2675, 0.2829, 0.2996],
            'accuracy': [0.16, 0.4067, 0.5, 0.64, 0.7533, 0.7933, 0.8267, 0.88, 0.8733, 0.8867, 0.9, 0.94, 0.8933, 0.9267, 0.9, 0.96, 0.9467, 0.9533, 0.9667, 0.9667, 0.96, 0.9467, 0.96, 0.9933, 0.9867, 0.98, 0.98, 0.9867, 0.9933, 0.9867, 0.9867, 0.9867, 0.9933, 0.9933, 1, 1, 0.9867, 1, 0.9933, 0.9933, 1, 1, 0.9933, 1, 1, 0.9933, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
            'val_accuracy': [0.2644, 0.4, 0.5533, 0.7356, 0.7956, 0.8311, 0.8422, 0.8467, 0.8689, 0.8889, 0.9, 0.8778, 0.8822, 0.8822, 0.9, 0.9044, 0.9089, 0.9044, 0.9067, 0.9067, 0.9178, 0.9156, 0.9133, 0.9089, 0.9133, 0.9156, 0.92, 0.9289, 0.9289, 0.9333, 0.9333, 0.9356, 0.9289, 0.9289, 0.9311, 0.9356, 0.9356, 0.9333, 0.9333, 0.9333, 0.9311, 0.9311, 0.9311, 0.9356, 0.9378, 0.9333, 0.9333, 0.9333, 0.9378, 0.9356, 0.9333, 0.9333, 0.9333, 0.9333, 0.9333, 0.9333, 0.9333, 0.9333, 0.9311, 0.9311],
        },
    ),
    'wine_sgd': (
        {'dataset': 'wine', 'optimizer': 'sgd', 'learning_rate': 0.01, 'epochs': 60, 'batch_size': 32, 'train_size': None, 'early_stopping': False},
        3,
        {
            'loss': [1.3024, 1.1737, 1.0445, 1.0184, 0.9355, 0.8441, 0.8183, 0.7681, 0.7307, 0.6896, 0.6744, 0.6602, 0.6383, 0.5957, 0.5614, 0.5491, 0.5218, 0.5056, 0.4823, 0.476, 0.4614, 0.4378, 0.4356, 0.4108, 0.4086, 0.4047, 0.3796, 0.3912, 0.3695, 0.348, 0.3265, 0.3341, 0.3244, 0.3153, 0.325, 0.3161, 0.2939, 0.3009, 0.2864, 0.2864, 0.2931, 0.258, 0.2655, 0.2663, 0.2556, 0.2695, 0.2495, 0.2475, 0.2308, 0.2359, 0.2262, 0.2208, 0.2056, 0.2134, 0.2187, 0.2255, 0.2156, 0.206, 0.2189, 0.2009],
            'val_loss': [1.1122, 1.009, 0.9303, 0.8612, 0.8025, 0.7508, 0.7085, 0.6715, 0.6359, 0.6037, 0.5733, 0.5465, 0.5217, 0.4997, 0.4795, 0.4607, 0.4425, 0.4263, 0.411, 0.3969, 0.3834, 0.3711, 0.3594, 0.3485, 0.3378, 0.3274, 0.3175, 0.3085, 0.2999, 0.2913, 0.2832, 0.2757, 0.2685, 0.2618, 0.2556, 0.2495, 0.2436, 0.2381, 0.2326, 0.2271, 0.2221, 0.2173, 0.2127, 0.2083, 0.2038, 0.1997, 0.1953, 0.1915, 0.1877, 0.1843, 0.1809, 0.1776, 0.1744, 0.1713, 0.1683, 0.1653, 0.1626, 0.1598, 0.1573, 0.1547],
            'accuracy': [0.2406, 0.2556, 0.3759, 0.4135, 0.5188, 0.594, 0.6466, 0.7068, 0.7594, 0.8045, 0.812, 0.782, 0.8195, 0.8797, 0.8571, 0.8872, 0.8947, 0.8722, 0.9173, 0.9173, 0.8947, 0.9323, 0.9023, 0.9248, 0.9173, 0.9098, 0.9398, 0.9023, 0.9248, 0.9398, 0.9474, 0.9398, 0.9323, 0.9323, 0.9248, 0.9248, 0.9398, 0.9323, 0.9398, 0.9398, 0.9248, 0.9624, 0.9398, 0.9398, 0.9549, 0.9398, 0.9474, 0.9398, 0.9549, 0.9398, 0.9549, 0.9474, 0.9474, 0.9474, 0.9398, 0.9398, 0.9549, 0.9398, 0.9549, 0.9624],
            'val_accuracy': [0.2889, 0.3111, 0.4222, 0.5778, 0.7111, 0.7556, 0.8, 0.8, 0.8667, 0.8667, 0.8889, 0.8889, 0.8889, 0.9333, 0.9333, 0.9333, 0.9333, 0.9556, 0.9556, 0.9556, 0.9556, 0.9556, 0.9556, 0.9556, 0.9556, 0.9556, 0.9556, 0.9556, 0.9556, 0.9556, 0.9556, 0.9556, 0.9556, 0.9556, 0.9556, 0.9556, 0.9556, 0.9556, 0.9556, 0.9556, 0.9556, 0.9556, 0.9556, 0.9556, 0.9556, 0.9556, 0.9556, 0.9778, 0.9778, 0.9778, 0.9778, 0.9778, 0.9778, 0.9778, 0.9778, 0.9778, 0.9778, 0.9778, 0.9778, 0.9778],
        },
    ),
    'moons_es': (
        {'dataset': 'moons', 'optimizer': 'adam', 'learning_rate': 0.01, 'epochs': 100, 'batch_size': 16, 'train_size': None, 'early_stopping': True},
        2,
        {
            'loss': [0.5733, 0.3162, 0.2697, 0.2625, 0.2605, 0.259, 0.2577, 0.2567, 0.2558, 0.255, 0.2541, 0.2529, 0.2511, 0.2477, 0.2408, 0.2265, 0.2013, 0.1668, 0.1313, 0.1031, 0.084, 0.0714, 0.063, 0.0571, 0.0528, 0.0495, 0.0469, 0.0448, 0.043, 0.0416, 0.0404, 0.0393, 0.0384, 0.0376, 0.0369, 0.0363, 0.0357, 0.0352, 0.0348, 0.0343, 0.0339, 0.0336, 0.0333, 0.033, 0.0327, 0.0324, 0.0322, 0.0319, 0.0317, 0.0315, 0.0313, 0.0311, 0.0309, 0.0307, 0.0306, 0.0304, 0.0303, 0.0301, 0.03, 0.0298, 0.0297, 0.0296, 0.0294, 0.0293, 0.0292, 0.0291, 0.029, 0.0289, 0.0288, 0.0286, 0.0285, 0.0284, 0.0283, 0.0282, 0.0281, 0.028, 0.0279, 0.0279, 0.0278, 0.0277, 0.0276, 0.0275, 0.0274, 0.0273, 0.0272, 0.0272, 0.0271, 0.027, 0.0269, 0.0269, 0.0268, 0.0267, 0.0266, 0.0266, 0.0265, 0.0264, 0.0264, 0.0263, 0.0262, 0.0262],
            'val_loss': [0.4235, 0.3523, 0.3321, 0.3306, 0.3292, 0.3276, 0.3264, 0.3253, 0.3242, 0.3231, 0.3217, 0.3198, 0.3164, 0.3097, 0.2956, 0.2691, 0.2292, 0.1849, 0.1475, 0.1208, 0.1028, 0.0909, 0.0832, 0.0784, 0.0754, 0.0736, 0.0725, 0.0718, 0.0713, 0.0709, 0.0704, 0.07, 0.0696, 0.0692, 0.0688, 0.0684, 0.0681, 0.0677, 0.0675, 0.0672, 0.0669, 0.0667, 0.0665, 0.0663, 0.0661, 0.0659, 0.0658, 0.0656, 0.0654, 0.0653, 0.0652, 0.065, 0.0649, 0.0648, 0.0647, 0.0646, 0.0645, 0.0643, 0.0642, 0.0641, 0.064, 0.0639, 0.0638, 0.0637, 0.0636, 0.0635, 0.0634, 0.0633, 0.0632, 0.0631, 0.063, 0.0629, 0.0628, 0.0628, 0.0627, 0.0626, 0.0625, 0.0624, 0.0623, 0.0622, 0.0621, 0.0621, 0.062, 0.0619, 0.0618, 0.0617, 0.0617, 0.0616, 0.0615, 0.0614, 0.0614, 0.0613, 0.0612, 0.0612, 0.0611, 0.061, 0.061, 0.0609, 0.0608, 0.0608],
            'accuracy': [0.7067, 0.8644, 0.8978, 0.8978, 0.8978, 0.8978, 0.8978, 0.8978, 0.8978, 0.8978, 0.8978, 0.9, 0.9, 0.9022, 0.9044, 0.9044, 0.9156, 0.9289, 0.9467, 0.9667, 0.9711, 0.9733, 0.9778, 0.9844, 0.9844, 0.9844, 0.9844, 0.9844, 0.9844, 0.9844, 0.9844, 0.9844, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9889, 0.9889, 0.9889, 0.9889, 0.9889, 0.9889, 0.9889, 0.9889, 0.9889, 0.9889, 0.9889, 0.9889, 0.9889, 0.9889, 0.9889, 0.9889, 0.9889, 0.9889, 0.9889, 0.9889, 0.9889, 0.9889, 0.9889, 0.9889, 0.9889, 0.9889],
            'val_accuracy': [0.8133, 0.8533, 0.8467, 0.8467, 0.8533, 0.8533, 0.8533, 0.8533, 0.8467, 0.8467, 0.8467, 0.8467, 0.8533, 0.8533, 0.86, 0.86, 0.8667, 0.9133, 0.9333, 0.96, 0.96, 0.96, 0.9667, 0.9667, 0.9667, 0.9667, 0.9667, 0.9667, 0.9667, 0.9667, 0.9667, 0.9667, 0.9667, 0.9733, 0.9733, 0.9733, 0.9733, 0.9733, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867, 0.9867],
        },
    ),
    'digits_sgd_lr05_bs8': (
        {'dataset': 'digits', 'optimizer': 'sgd', 'learning_rate': 0.5, 'epochs': 20, 'batch_size': 8, 'train_size': None, 'early_stopping': False},
        10,
        {
            'loss': [0.8801, 0.3072, 0.2248, 0.1695, 0.1268, 0.1066, 0.1089, 0.0728, 0.063, 0.0831, 0.044, 0.0738, 0.044, 0.0475, 0.0311, 0.0514, 0.0438, 0.0295, 0.0309, 0.0368],
            'val_loss': [0.3692, 0.3453, 0.2333, 0.3791, 0.1544, 0.1176, 0.361, 0.0997, 0.1722, 0.1378, 0.1259, 0.1877, 0.084, 0.0862, 0.0986, 0.1402, 0.0877, 0.1064, 0.1086, 0.0785],
            'accuracy': [0.7112, 0.9072, 0.9235, 0.9399, 0.9517, 0.9651, 0.9636, 0.974, 0.974, 0.9696, 0.9844, 0.9733, 0.9859, 0.9844, 0.9903, 0.9814, 0.98, 0.9889, 0.9896, 0.9844],
            'val_accuracy': [0.8733, 0.9067, 0.9333, 0.8844, 0.9511, 0.9533, 0.9, 0.9756, 0.9489, 0.9533, 0.9689, 0.9556, 0.9778, 0.9733, 0.9756, 0.9667, 0.9756, 0.9756, 0.9756, 0.9711],
        },
    ),
    'digits_sgd_lr5': (
        {'dataset': 'digits', 'optimizer': 'sgd', 'learning_rate': 5.0, 'epochs': 15, 'batch_size': 128, 'train_size': None, 'early_stopping': False},
        10,
        {
            'loss': [8.7043, 4.1907, 2.6022, 2.3264, 2.469, 2.3368, 2.3156, 2.3095, 2.3153, 2.3156, 2.3156, 2.3156, 2.3156, 2.3156, 2.3156],
            'val_loss': [12.3456, 2.444, 2.4071, 2.3107, 2.4119, 2.3153, 2.3152, 2.3131, 2.3152, 2.3152, 2.3152, 2.3152, 2.3153, 2.3152, 2.3152],
            'accuracy': [0.1292, 0.1151, 0.1047, 0.1076, 0.1143, 0.0906, 0.0906, 0.0943, 0.0906, 0.0906, 0.0906, 0.0906, 0.0906, 0.0906, 0.0906],
            'val_accuracy': [0.1, 0.0956, 0.0956, 0.1178, 0.0956, 0.0956, 0.0978, 0.0956, 0.0956, 0.0956, 0.0956, 0.0956, 0.0956, 0.0956, 0.0956],
        },
    ),
}


def real_case(name):
    settings, n_classes, history = REAL[name]
    spec = spec_for(settings["dataset"], compile__optimizer=settings["optimizer"],
                    compile__learning_rate=settings["learning_rate"], fit__epochs=settings["epochs"],
                    fit__batch_size=settings["batch_size"], data__train_size=settings["train_size"],
                    fit__early_stopping=settings["early_stopping"])
    return spec, n_classes, history


# --------------------------------------------------------------------------- healthy runs say nothing


HEALTHY_REAL = ["moons", "iris", "breast_80", "digits_overfit_lr01", "wine_sgd", "moons_es"]


@pytest.mark.parametrize("name", HEALTHY_REAL)
def test_real_healthy_runs_produce_no_findings_at_any_epoch(name):
    spec, n_classes, history = real_case(name)
    for k, part in prefixes(history):
        assert diagnose(part, spec, "running", n_classes) == [], (name, k)
    assert diagnose(history, spec, "finished", n_classes) == []
    assert diagnose(history, spec, "stopped", n_classes) == []


@pytest.mark.parametrize("noise, seed", [(0.0, 0), (0.01, 1), (0.02, 2), (0.02, 3), (0.03, 4), (0.03, 5)])
@pytest.mark.parametrize("n_classes", [2, 10, None])
def test_synthetic_healthy_runs_with_small_noise_produce_no_findings(noise, seed, n_classes):
    history = healthy(40, noise, seed)
    spec = spec_for("mnist", fit__epochs=40)
    for k, part in prefixes(history):
        assert diagnose(part, spec, "running", n_classes) == [], k
    assert diagnose(history, spec, "finished", n_classes) == []


def test_a_converged_run_on_noisy_data_is_not_a_plateau():
    """Loss flat at 0.3 with 88% accuracy on two overlapping classes: done, not stuck."""
    n = 30
    history = {"loss": decay(n, 0.69, 0.30, 0.5), "val_loss": decay(n, 0.65, 0.32, 0.5),
               "accuracy": rise(n, 0.6, 0.88, 0.5), "val_accuracy": rise(n, 0.6, 0.87, 0.5)}
    assert diagnose(history, spec_for("moons", fit__epochs=30), "finished", 2) == []


def test_validation_loss_levelling_off_above_training_is_not_overfitting():
    """A steady gap, or a val_loss a few percent above its minimum, is normal."""
    n = 40
    loss = decay(n, 0.6, 0.02, 0.25)
    val = decay(n, 0.5, 0.12, 0.4)
    val[-6:] = [v * f for v, f in zip(val[-6:], [1.02, 1.04, 1.03, 1.05, 1.04, 1.06])]
    history = {"loss": loss, "val_loss": val, "accuracy": rise(n, 0.8, 0.995), "val_accuracy": rise(n, 0.8, 0.96)}
    assert diagnose(history, spec_for("mnist", fit__epochs=40), "finished", 10) == []


@pytest.mark.parametrize("history", [
    healthy(2), overfit(2), {"loss": [0.69, 0.69], "val_loss": [0.69, 0.69], "accuracy": [0.5, 0.5], "val_accuracy": [0.5, 0.5]},
    {"loss": [0.5, 0.9], "val_loss": [0.5, 0.2]}, {"loss": [0.7], "val_loss": [1.4], "accuracy": [0.4]},
    {"loss": [0.4, 0.7], "val_loss": [0.4, 1.5], "accuracy": [0.9, 0.6], "val_accuracy": [0.9, 0.5]},
])
@pytest.mark.parametrize("status", ["running", "finished", "stopped"])
def test_one_or_two_epochs_say_nothing_unless_diverging(history, status):
    assert diagnose(history, spec_for("mnist", fit__epochs=2), status, 10) == []


def test_nothing_to_judge():
    spec = spec_for()
    assert diagnose({}, spec) == []
    assert diagnose({"loss": []}, spec, "running", 2) == []
    assert diagnose(overfit(), spec, "queued", 2) == []
    assert diagnose({"loss": [float("nan")]}, spec, "failed", 2) == []


# --------------------------------------------------------------------------- diverging


@pytest.mark.parametrize("history, epoch, curve", [
    ({"loss": [0.7, float("nan")]}, 2, "loss"),
    ({"loss": [float("inf")], "val_loss": [0.5]}, 1, "loss"),
    ({"loss": [0.7, 0.5, 0.4], "val_loss": [0.6, float("nan"), float("nan")]}, 2, "val_loss"),
])
def test_nan_or_inf_is_diverging_from_the_first_epoch(history, epoch, curve):
    spec = spec_for("moons", compile__learning_rate=0.5)
    (finding,) = diagnose(history, spec, "running", 2)
    assert (finding.kind, finding.severity, finding.epoch) == ("diverging", "error", epoch)
    assert finding.message.key == "diagnosis.diverging_nan"
    assert finding.message.fields["curve"] == Msg(f"diagnosis.curve.{curve}") and finding.curve == curve
    assert [f.id for f in finding.fixes] == ["lower_lr"]
    assert assert_applies_to_a_copy(finding.fixes[0], spec).compile.learning_rate == 0.05


def test_a_run_the_trainer_stopped_as_diverged_is_diverging_even_without_history():
    spec = spec_for("moons", compile__optimizer="sgd", compile__learning_rate=20.0)
    for history in ({}, {"loss": [0.6]}, healthy(6)):
        (finding,) = diagnose(history, spec, "diverged", 2)
        assert finding.kind == "diverging" and finding.message.key == "diagnosis.diverging_stopped"
        assert finding.message.fields["lr"] == "20"
        assert fix(finding, "lower_lr").apply(spec).compile.learning_rate == 2.0


def test_a_loss_far_beyond_guessing_is_diverging():
    spec = spec_for("moons", compile__optimizer="sgd", compile__learning_rate=50.0)
    (finding,) = diagnose({"loss": [38.6], "val_loss": [47.8]}, spec, "running", 2)
    assert finding.message.key == "diagnosis.diverging_huge"
    assert finding.message.fields["chance"] == "0.693"
    # Not without the number of classes, nor for mean squared error.
    assert diagnose({"loss": [38.6]}, spec, "running", None) == []
    mse = spec_for("moons", compile__loss="mean_squared_error")
    assert diagnose({"loss": [38.6]}, mse, "running", 2) == []


@pytest.mark.parametrize("loss", [
    [0.5, 1.2],  # two epochs: far above the first
    [0.7, 0.5, 0.4, 0.6, 0.9, 1.4],  # a steady climb from the lowest point
    [0.7, 0.45, 0.4, 0.38, 0.45, 0.5, 0.62],
])
def test_a_climbing_training_loss_is_diverging(loss):
    spec = spec_for("moons", compile__learning_rate=0.3)
    history = {"loss": loss, "val_loss": loss, "accuracy": [0.8] * len(loss), "val_accuracy": [0.8] * len(loss)}
    (finding,) = diagnose(history, spec, "running", 2)
    assert finding.message.key == "diagnosis.diverging_rising"
    assert finding.epoch == len(loss)
    assert fix(finding, "lower_lr").apply(spec).compile.learning_rate == 0.03


def test_tiny_losses_wobbling_upwards_are_not_diverging():
    loss = [0.3, 0.05, 0.01, 0.004, 0.005, 0.007, 0.009]
    history = {"loss": loss, "val_loss": [0.3, 0.08, 0.05, 0.05, 0.05, 0.05, 0.05],
               "accuracy": [0.95, 0.99, 1, 1, 1, 1, 1], "val_accuracy": [0.95, 0.98, 0.985, 0.985, 0.985, 0.985, 0.985]}
    assert diagnose(history, spec_for("mnist", fit__epochs=7), "finished", 10) == []


def test_a_blow_up_that_leaves_the_accuracy_at_chance_is_diverging_not_a_plateau():
    spec, n_classes, history = real_case("digits_sgd_lr5")
    (finding,) = diagnose(history, spec, "finished", n_classes)
    assert finding.kind == "diverging" and finding.message.key == "diagnosis.diverging_collapsed"
    assert finding.epoch == 1 and finding.message.fields["chance"] == "2.3"
    assert fix(finding, "lower_lr").apply(spec).compile.learning_rate == 0.5


def test_diverging_hides_the_other_findings():
    history = overfit(20)
    history["loss"][-1] = float("nan")
    assert kinds(diagnose(history, spec_for("mnist"), "running", 10)) == ["diverging"]


# --------------------------------------------------------------------------- overfitting


def test_overfitting_on_an_image_dataset_offers_every_remedy():
    spec = spec_for("mnist", fit__epochs=25)
    spec.layers = [LayerSpec.make("Flatten"), LayerSpec.make("Dense", units=100), LayerSpec.make("Dense", units=100)]
    spec.ensure_layer_names()
    (finding,) = diagnose(overfit(25, best=8), spec, "finished", 10)
    assert (finding.kind, finding.severity, finding.epoch, finding.curve) == ("overfitting", "warning", 8, "val_loss")
    assert finding.message.key == "diagnosis.overfitting"
    assert finding.message.fields["best_epoch"] == 8 and finding.message.fields["since"] == 17
    assert [f.id for f in finding.fixes] == ["add_dropout", "l2", "augment", "early_stopping", "fewer_epochs"]

    new = assert_applies_to_a_copy(fix(finding, "add_dropout"), spec)
    assert [l.type for l in new.layers] == ["Flatten", "Dense", "Dense", "Dropout"]
    assert new.layers[-1].params["rate"] == 0.3 and new.layers[-1].name == "dropout_1"

    new = assert_applies_to_a_copy(fix(finding, "l2"), spec)
    assert [l.params["l2"] for l in new.layers if l.type == "Dense"] == [0.01, 0.01]

    new = assert_applies_to_a_copy(fix(finding, "augment"), spec)
    assert new.augment.enabled and new.augment.rotation_range == spec.augment.rotation_range

    new = assert_applies_to_a_copy(fix(finding, "early_stopping"), spec)
    assert new.fit.early_stopping and new.fit.restore_best_weights

    new = assert_applies_to_a_copy(fix(finding, "fewer_epochs"), spec)
    assert new.fit.epochs == 8


def test_overfitting_is_seen_while_running_once_the_rise_is_clear():
    history = overfit(25, best=8, climb=0.04)
    spec = spec_for("mnist", fit__epochs=25)
    seen = [k for k, part in prefixes(history) if kinds(diagnose(part, spec, "running", 10)) == ["overfitting"]]
    first = seen[0]
    assert 8 + diagnosis.OVERFIT_SINCE <= first <= 8 + 5
    assert seen == list(range(first, 26))  # and it stays


def test_overfitting_on_points_offers_no_augmentation_and_raises_an_existing_dropout():
    spec = spec_for("moons", fit__epochs=25)
    spec.add_layer("Dropout", rate=0.1)
    (finding,) = diagnose(overfit(25), spec, "running", 2)
    assert "augment" not in [f.id for f in finding.fixes]
    new = assert_applies_to_a_copy(fix(finding, "raise_dropout"), spec)
    assert len(new.layers) == len(spec.layers)
    assert new.layers[-1].params["rate"] == pytest.approx(0.3)
    assert finding.fixes[0].label.fields == {"layer": "dropout_1", "old": "0.1", "new": "0.3"}


def test_overfitting_after_early_stopping_restored_the_best_weights_is_information():
    spec = spec_for("mnist", fit__epochs=50, fit__early_stopping=True)
    (finding,) = diagnose(overfit(14, best=8, climb=0.05), spec, "finished", 10)
    assert (finding.kind, finding.severity) == ("overfitting", "info")
    assert finding.message.key == "diagnosis.overfitting_early_stopped"
    assert [f.id for f in finding.fixes] == ["raise_dropout", "l2", "augment"]


def test_overfitting_needs_five_epochs_and_a_clear_rise():
    spec = spec_for("mnist")
    assert diagnose(overfit(4, best=1, climb=0.3), spec, "running", 10) == []
    assert diagnose(overfit(20, best=10, climb=0.005), spec, "running", 10) == []  # +5% over 10 epochs
    history = overfit(20, best=10)
    history["loss"] = [0.3] * 20  # training loss not falling: not overfitting
    assert "overfitting" not in kinds(diagnose(history, spec, "running", 10))


# --------------------------------------------------------------------------- underfitting and plateau


def test_plateau_when_the_loss_stops_improving_far_from_a_good_accuracy():
    spec = spec_for("spiral", compile__optimizer="sgd", compile__learning_rate=0.01, fit__epochs=40)
    n = 12
    history = {"loss": decay(n, 0.69, 0.667, 0.8), "val_loss": decay(n, 0.69, 0.665, 0.8),
               "accuracy": rise(n, 0.55, 0.6, 0.8), "val_accuracy": rise(n, 0.55, 0.62, 0.8)}
    assert diagnose({k: v[:7] for k, v in history.items()}, spec, "running", 2) == []  # two windows needed
    (finding,) = diagnose(history, spec, "running", 2)
    assert (finding.kind, finding.severity, finding.epoch) == ("plateau", "warning", 12)
    assert finding.message.fields["acc"] == "60%"
    assert [f.id for f in finding.fixes] == ["higher_lr", "adam", "more_units"]

    new = assert_applies_to_a_copy(fix(finding, "higher_lr"), spec)
    assert new.compile.learning_rate == pytest.approx(0.03)
    new = assert_applies_to_a_copy(fix(finding, "adam"), spec)
    assert (new.compile.optimizer, new.compile.learning_rate) == ("adam", 0.001)
    new = assert_applies_to_a_copy(fix(finding, "more_units"), spec)
    assert [l.params["units"] for l in new.layers] == [16, 16]
    assert finding.fixes[2].label.fields == {"old": "8, 8", "new": "16, 16"}


def test_underfitting_close_to_chance_after_many_epochs():
    spec = spec_for("mnist", compile__learning_rate=1e-5, fit__epochs=50)
    n = 12
    loss = [2.30 * 0.985 ** t for t in range(n)]  # still falling, slowly
    history = {"loss": loss, "val_loss": [x * 1.01 for x in loss],
               "accuracy": [0.1 + 0.005 * t for t in range(n)], "val_accuracy": [0.1 + 0.005 * t for t in range(n)]}
    assert diagnose({k: v[:9] for k, v in history.items()}, spec, "running", 10) == []
    (finding,) = diagnose(history, spec, "running", 10)
    assert finding.kind == "underfitting" and finding.message.key == "diagnosis.underfitting_chance"
    assert finding.message.fields["chance"] == "10%" and finding.message.fields["classes"] == 10
    assert [f.id for f in finding.fixes] == ["higher_lr", "more_epochs", "more_units"]  # already Adam
    new = assert_applies_to_a_copy(fix(finding, "higher_lr"), spec)
    assert new.compile.learning_rate == 0.001  # straight to Adam's default, more than x3
    new = assert_applies_to_a_copy(fix(finding, "more_epochs"), spec)
    assert new.fit.epochs == 100


def test_underfitting_when_a_finished_run_is_poor_on_both_and_still_improving():
    spec = spec_for("cifar10", fit__epochs=5)
    history = {"loss": [2.0, 1.8, 1.7, 1.62, 1.56], "val_loss": [1.9, 1.78, 1.7, 1.64, 1.6],
               "accuracy": [0.28, 0.36, 0.40, 0.43, 0.45], "val_accuracy": [0.33, 0.37, 0.40, 0.42, 0.44]}
    assert diagnose(history, spec_for("cifar10", fit__epochs=20), "running", 10) == []  # 15 epochs to go
    assert diagnose(history, spec_for("cifar10", fit__epochs=20), "stopped", 10) == []  # the learner pressed Stop
    for status in ("finished", "running"):  # running at its last epoch
        (finding,) = diagnose(history, spec, status, 10)
        assert finding.kind == "underfitting" and finding.message.key == "diagnosis.underfitting"
        assert finding.message.fields == {"epochs": 5, "acc": "43%", "val_acc": "42%"}
    assert [f.id for f in finding.fixes] == ["more_units", "more_epochs", "higher_lr"]
    new = assert_applies_to_a_copy(fix(finding, "more_units"), spec)
    assert [l.params.get("units") for l in new.layers] == [None, 256, None]
    assert new.fit.epochs == 5
    # A good accuracy is not underfitting, however short the run.
    good = dict(history, accuracy=[0.8, 0.85, 0.88, 0.9, 0.91], val_accuracy=[0.8, 0.84, 0.86, 0.87, 0.88])
    assert diagnose(good, spec, "finished", 10) == []


# --------------------------------------------------------------------------- noisy


def zigzag(n, level, amplitude, trend=0.0):
    return [level * (1 + amplitude * (1 if t % 2 else -1)) * (1 - trend * t) for t in range(n)]


def test_a_jumpy_validation_loss_is_noisy_not_overfitting():
    spec = spec_for("moons", compile__optimizer="sgd", compile__learning_rate=3.0, fit__batch_size=16)
    n = 14
    history = {"loss": decay(n, 0.6, 0.2, 0.3), "val_loss": zigzag(n, 0.4, 0.35),
               "accuracy": rise(n, 0.8, 0.93), "val_accuracy": zigzag(n, 0.85, 0.05)}
    history["val_loss"][-1] *= 1.5
    assert diagnose({k: v[:5] for k, v in history.items()}, spec, "running", 2) == []
    (finding,) = diagnose(history, spec, "running", 2)
    assert (finding.kind, finding.severity) == ("noisy", "info")
    assert finding.message.fields["curve"] == Msg("diagnosis.curve.val_loss") and finding.curve == "val_loss"
    assert [f.id for f in finding.fixes] == ["lower_lr", "larger_batch"]
    new = assert_applies_to_a_copy(fix(finding, "lower_lr"), spec)
    assert new.compile.learning_rate == 1.5
    new = assert_applies_to_a_copy(fix(finding, "larger_batch"), spec)
    assert new.fit.batch_size == 32


def test_a_jumpy_training_loss_is_noisy():
    spec = spec_for("mnist", fit__epochs=20)
    n = 12
    history = {"loss": zigzag(n, 0.5, 0.4, 0.02), "val_loss": decay(n, 0.5, 0.3, 0.3),
               "accuracy": rise(n, 0.8, 0.9), "val_accuracy": rise(n, 0.8, 0.9)}
    (finding,) = diagnose(history, spec, "running", 10)
    assert finding.kind == "noisy" and finding.message.fields["curve"] == Msg("diagnosis.curve.loss")


def test_real_noisy_run():
    spec, n_classes, history = real_case("digits_sgd_lr05_bs8")
    assert kinds(diagnose(history, spec, "finished", n_classes)) == ["noisy"]


def test_small_wobbles_are_not_noisy():
    n = 20
    history = {"loss": zigzag(n, 0.3, 0.05), "val_loss": zigzag(n, 0.35, 0.04),
               "accuracy": [0.9] * n, "val_accuracy": [0.88] * n}
    assert diagnose(history, spec_for("mnist"), "running", 10) == []
    tiny = {"loss": zigzag(n, 0.002, 0.4), "val_loss": zigzag(n, 0.01, 0.3), "accuracy": [1.0] * n, "val_accuracy": [0.99] * n}
    assert diagnose(tiny, spec_for("mnist"), "running", 10) == []


# --------------------------------------------------------------------------- the fixes themselves


def test_learning_rate_fixes_respect_the_spec_limits():
    spec = spec_for(compile__learning_rate=1e-7)
    assert diagnosis.lower_lr(spec, 10) is None
    spec = spec_for(compile__learning_rate=3e-7)
    assert diagnosis.lower_lr(spec, 10).apply(spec).compile.learning_rate == 1e-7
    spec = spec_for(compile__learning_rate=0.003)
    new = diagnosis.lower_lr(spec, 10).apply(spec)
    assert new.compile.learning_rate == 0.0003 and spec.compile.learning_rate == 0.003
    assert diagnosis.lower_lr(spec, 10).label == Msg("diagnosis.fix.lower_lr", {"old": "0.003", "new": "0.0003"})
    spec = spec_for(compile__optimizer="sgd", compile__learning_rate=50.0)
    assert diagnosis.higher_lr(spec).apply(spec).compile.learning_rate == 100.0
    spec.compile.learning_rate = 100.0
    assert diagnosis.higher_lr(spec) is None


def test_batch_epoch_and_unit_fixes_are_capped():
    spec = spec_for(fit__batch_size=5000, fit__epochs=700)
    assert diagnosis.larger_batch(spec).apply(spec).fit.batch_size == 8192
    assert diagnosis.more_epochs(spec).apply(spec).fit.epochs == 1000
    spec = spec_for(fit__batch_size=8192, fit__epochs=1000)
    assert diagnosis.larger_batch(spec) is None and diagnosis.more_epochs(spec) is None
    assert diagnosis.fewer_epochs(spec, 1000) is None
    assert diagnosis.fewer_epochs(spec, 0).apply(spec).fit.epochs == 1
    spec.layers = [LayerSpec.make("Dense", units=3000), LayerSpec.make("Dense", units=4096)]
    assert [l.params["units"] for l in diagnosis.more_units(spec).apply(spec).layers] == [4096, 4096]
    spec.layers = [LayerSpec.make("Dense", units=4096)]
    assert diagnosis.more_units(spec) is None
    spec.layers = [LayerSpec.make("Flatten")]
    assert diagnosis.more_units(spec) is None and diagnosis.l2_fix(spec) is None


def test_regularisation_fixes_step_up_from_what_is_there():
    spec = spec_for("mnist")
    spec.layers = [LayerSpec.make("Flatten"), LayerSpec.make("Dense", units=64, l2=0.03), LayerSpec.make("Dense", units=64)]
    new = diagnosis.l2_fix(spec).apply(spec)
    assert [l.params["l2"] for l in new.layers if l.type == "Dense"] == [0.09, 0.09]
    assert [l.params["l2"] for l in spec.layers if l.type == "Dense"] == [0.03, 0.0]
    for layer in spec.layers[1:]:
        layer.params["l2"] = 1.0
    assert diagnosis.l2_fix(spec) is None
    spec.layers = [LayerSpec.make("Flatten"), LayerSpec.make("Dropout", rate=0.5)]
    assert diagnosis.dropout_fix(spec) is None
    spec.layers = []
    new = diagnosis.dropout_fix(spec).apply(spec)
    assert [l.type for l in new.layers] == ["Dropout"] and spec.layers == []


def test_augmentation_fix_only_where_it_applies():
    assert diagnosis.augment_fix(spec_for("moons")) is None
    assert diagnosis.augment_fix(spec_for("iris")) is None
    assert diagnosis.augment_fix(spec_for("mnist", augment__enabled=True)) is None
    features = spec_for("folder")
    features.transfer.base, features.transfer.mode = "mobilenet", "features"
    assert diagnosis.augment_fix(features) is None
    features.transfer.mode = "finetune"
    assert diagnosis.augment_fix(features) is not None
    # No transform set in the studio: tutorial 003's settings, enabled.
    bare = spec_for("cifar10")
    bare.augment = type(bare.augment)(seed=7)
    new = diagnosis.augment_fix(bare).apply(bare)
    assert new.augment.enabled and new.augment.rotation_range == 30.0 and new.augment.seed == 7
    assert not bare.augment.enabled and bare.augment.rotation_range == 0.0
    # The learner's own transforms are kept.
    own = spec_for("mnist")
    own.augment.rotation_range, own.augment.vertical_flip = 10.0, False
    new = diagnosis.augment_fix(own).apply(own)
    assert new.augment.enabled and new.augment.rotation_range == 10.0 and not new.augment.vertical_flip


def test_early_stopping_fix_turns_on_restoring_the_best_weights():
    spec = spec_for(fit__early_stopping=True, fit__restore_best_weights=False)
    new = diagnosis.early_stopping_fix(spec).apply(spec)
    assert new.fit.early_stopping and new.fit.restore_best_weights and not spec.fit.restore_best_weights
    assert diagnosis.early_stopping_fix(new) is None


def test_fix_is_applied_to_any_copy_independently():
    spec = spec_for("mnist")
    f = diagnosis.dropout_fix(spec)
    first, second = f.apply(spec), f.apply(spec)
    assert first == second and first is not second
    assert first.layers[-1] is not second.layers[-1]


# --------------------------------------------------------------------------- messages


def scenario_findings():
    """Every finding the scenarios above produce, with the spec it was made for."""
    out = []
    cases = [
        ({"loss": [0.7, float("nan")]}, spec_for(), "running", 2),
        ({}, spec_for(), "diverged", 2),
        ({"loss": [38.6]}, spec_for(), "running", 2),
        ({"loss": [0.7, 0.5, 0.4, 0.6, 0.9, 1.4]}, spec_for(), "running", 2),
        (REAL["digits_sgd_lr5"][2], spec_for("digits", compile__optimizer="sgd"), "finished", 10),
        (overfit(25), spec_for("mnist", fit__epochs=25), "running", 10),
        (overfit(14, climb=0.05), spec_for("mnist", fit__epochs=50, fit__early_stopping=True), "finished", 10),
        ({"loss": [0.68] * 12, "val_loss": [0.68] * 12, "accuracy": [0.6] * 12}, spec_for("spiral", compile__optimizer="sgd"), "running", 2),
        ({"loss": [2.3 * 0.985 ** t for t in range(12)], "accuracy": [0.1] * 12}, spec_for("mnist"), "running", 10),
        ({"loss": [2.0, 1.8, 1.7, 1.62, 1.56], "accuracy": [0.28, 0.36, 0.40, 0.43, 0.45]}, spec_for("cifar10"), "finished", 10),
        ({"loss": decay(14, 0.6, 0.2), "val_loss": zigzag(14, 0.4, 0.35)}, spec_for(), "running", 2),
    ]
    for history, spec, status, n_classes in cases:
        found = diagnose(history, spec, status, n_classes)
        assert found, history
        out += [(f, spec) for f in found]
    return out


def all_msgs(msg: Msg):
    yield msg
    for value in msg.fields.values():
        if isinstance(value, Msg):
            yield from all_msgs(value)


def test_every_kind_and_message_key_is_covered_by_the_scenarios():
    found = scenario_findings()
    assert {f.kind for f, _ in found} == set(diagnosis.KINDS)
    keys = {f.message.key for f, _ in found}
    in_code = set(re.findall(r'"(diagnosis\.[a-z_]+)"', (ROOT / "core" / "diagnosis.py").read_text()))
    assert in_code <= keys | {"diagnosis.curve", "diagnosis.fix"}, in_code - keys


def test_every_message_and_label_exists_in_both_catalogues_and_renders():
    ids = set()
    for finding, spec in scenario_findings():
        assert finding.severity in diagnosis.SEVERITIES
        msgs = list(all_msgs(finding.message))
        for f in finding.fixes:
            ids.add(f.id)
            msgs += list(all_msgs(f.label))
            assert_applies_to_a_copy(f, spec)
        for msg in msgs:
            for lang in i18n.LANGUAGES:
                assert i18n.has(lang, msg.key), (lang, msg.key)
                text = msg.render(lang)  # every placeholder has its field
                assert "{" not in text and msg.key not in text, text
    assert ids <= set(diagnosis.FIX_IDS)
    for fix_id in diagnosis.FIX_IDS:
        for lang in i18n.LANGUAGES:
            assert i18n.has(lang, f"diagnosis.fix.{fix_id}"), (lang, fix_id)
    for kind in diagnosis.KINDS:
        for lang in i18n.LANGUAGES:
            assert i18n.has(lang, f"diagnosis.kind.{kind}")


def test_japanese_uses_the_tutorials_words():
    ja = i18n.catalogue("ja")
    assert ja["diagnosis.kind.overfitting"] == "過学習" and "検証データ" in ja["diagnosis.overfitting"]
    assert "発散" in ja["diagnosis.diverging_rising"] and "学習率" in ja["diagnosis.fix.lower_lr"]
    assert "早期終了" in ja["diagnosis.fix.early_stopping"] and "データ拡張" in ja["diagnosis.fix.augment"]
    assert "バッチサイズ" in ja["diagnosis.fix.larger_batch"] and "L2正則化" in ja["diagnosis.fix.l2"]
    assert "ドロップアウト" in ja["diagnosis.fix.add_dropout"] and "最適化アルゴリズム" in ja["diagnosis.fix.adam"]


def test_messages_do_not_repeat_their_headline():
    """The panel shows the kind in bold before the message: the message must not say it again."""
    for lang in i18n.LANGUAGES:
        catalogue = i18n.catalogue(lang)
        for kind in diagnosis.KINDS:
            headline = catalogue[f"diagnosis.kind.{kind}"]
            for key, text in catalogue.items():
                if key.startswith(f"diagnosis.{kind}"):
                    assert not text.startswith(headline), (lang, key)
        assert not catalogue["diagnosis.noisy"].startswith(("Noisy", "学習が不安定"))


def test_the_module_is_a_leaf():
    source = (ROOT / "core" / "diagnosis.py").read_text()
    imported = set(re.findall(r"^(?:from|import) ([\w.]+)", source, re.M))
    assert imported <= {"__future__", "math", "dataclasses", "typing", "numpy", "core.i18n", "core.spec"}, imported

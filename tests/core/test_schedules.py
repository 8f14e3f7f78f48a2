"""Initializers and learning-rate schedules (tutorial 003): in the spec, the model, the history, the script."""

import json

import numpy as np
import pytest

from core import codegen, recipes
from core.builder import build_model, steps_per_epoch
from core.datasets import load
from core.pipeline import train
from core.share import decode_spec, encode_spec
from core.spec import ExperimentSpec, LayerSpec, SpecError
from tests.core.test_codegen_and_cli import script_numbers


def digits_mlp(schedule: str = "none", epochs: int = 3, **compile_settings) -> ExperimentSpec:
    spec = ExperimentSpec.default_for("digits")
    spec.layers = [LayerSpec.make("Flatten"), LayerSpec.make("Dense", units=32, activation="relu")]
    spec.ensure_layer_names()
    spec.compile.optimizer, spec.compile.learning_rate, spec.compile.schedule = "sgd", 0.05, schedule
    for key, value in compile_settings.items():
        setattr(spec.compile, key, value)
    spec.fit.epochs = epochs
    return spec


def rates(spec: ExperimentSpec) -> list[float]:
    outcome = train(spec, owner="t")
    assert outcome.status == "finished", outcome.message
    return outcome.history["learning_rate"]


def test_keras2_decay_is_lr_over_one_plus_decay_times_updates():
    spec = digits_mlp("keras2_decay", epochs=2, decay=1e-3, momentum=0.9)
    updates = steps_per_epoch(spec, len(load(spec.data).x_train))
    got = rates(spec)
    for epoch, rate in enumerate(got, start=1):
        assert rate == pytest.approx(recipes.keras2_rate(spec.compile, epoch * updates), rel=1e-6)


def test_step_halves_the_rate_every_n_epochs_and_cosine_ends_near_zero():
    step = rates(digits_mlp("step", epochs=4, schedule_factor=0.5, schedule_epochs=2))
    assert step == pytest.approx([0.05, 0.025, 0.025, 0.0125], rel=1e-6)  # read after each epoch: the next one's rate
    cosine = rates(digits_mlp("cosine", epochs=3))
    assert cosine[0] < 0.05 and cosine[-1] == pytest.approx(0.0, abs=1e-9)


def test_on_plateau_lowers_the_rate_when_validation_stops_improving():
    got = rates(digits_mlp("plateau", epochs=4, learning_rate=1e-7, schedule_factor=0.5, schedule_epochs=1))
    assert got[0] == pytest.approx(1e-7) and got[-1] < got[0]  # 1e-7 cannot move the loss by Keras's min_delta


@pytest.mark.parametrize("name, value", [("zeros", 0.0), ("ones", 1.0)])
def test_initializers_reach_the_keras_layer(name, value):
    spec = digits_mlp()
    spec.layers[1].params.update(kernel_initializer=name, bias_initializer=name)
    built = build_model(spec, load(spec.data))
    kernel, bias = built.model.get_layer(spec.layers[1].name).get_weights()
    assert np.all(kernel == value) and np.all(bias == value)
    assert spec.layers[1].short() == {"zeros": "Dense(32, relu, zeros)", "ones": "Dense(32, relu, ones, bias ones)"}[name]


def test_an_unknown_initializer_or_schedule_is_refused_plainly():
    with pytest.raises(SpecError, match="kernel_initializer must be one of"):
        LayerSpec.make("Dense", kernel_initializer="normalish")
    raw = digits_mlp().to_json().replace('"schedule": "none"', '"schedule": "sometimes"')
    with pytest.raises(SpecError, match="schedule"):
        ExperimentSpec.from_json(raw)


def test_a_spec_saved_before_initializers_existed_still_loads_with_keras_defaults():
    old = json.loads(digits_mlp().to_json())
    for layer in old["layers"]:
        layer["params"].pop("kernel_initializer", None), layer["params"].pop("bias_initializer", None)
    layer = ExperimentSpec.from_json(json.dumps(old)).layers[1]
    assert layer.params["kernel_initializer"] == "glorot_uniform" and layer.params["bias_initializer"] == "zeros"


def test_the_share_link_carries_the_schedule_and_the_initializers():
    spec = digits_mlp("step", schedule_factor=0.3, schedule_epochs=4)
    spec.layers[1].params["kernel_initializer"] = "he_normal"
    assert decode_spec(encode_spec(spec)) == spec


@pytest.mark.parametrize("schedule", ["keras2_decay", "step", "plateau"])
def test_the_script_of_a_run_with_an_initializer_and_a_schedule_reproduces_it(schedule, tmp_path):
    spec = digits_mlp(schedule, epochs=3, decay=1e-3, momentum=0.9, schedule_factor=0.5, schedule_epochs=1)
    spec.layers[1].params.update(kernel_initializer="random_uniform", bias_initializer="zeros")
    if schedule == "step":
        spec.data.validation = "split"  # the updates per epoch count the training part only
    outcome = train(spec, owner="t")
    source = codegen.script(spec)
    assert "kernel_initializer='random_uniform'" in source and "bias_initializer" not in source  # zeros is the default
    numbers = script_numbers(source, tmp_path)
    assert numbers["history"]["loss"] == pytest.approx(outcome.history["loss"], rel=1e-4)
    assert numbers["test"][1] == pytest.approx(outcome.evaluation.test_accuracy, abs=1e-4)

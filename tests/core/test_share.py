"""A whole setup in a link, and the instructor's classroom settings."""

import pytest

from core import recipes, share
from core.spec import ExperimentSpec, SpecError, TransferSpec, tutorial_augmentation


@pytest.mark.parametrize("recipe_id", sorted(recipes.RECIPES))
def test_every_recipe_round_trips_through_a_link(recipe_id):
    spec = recipes.get(recipe_id).build_spec()
    assert share.decode_spec(share.encode_spec(spec)) == spec


def test_a_full_custom_setup_round_trips_and_stays_short():
    spec = ExperimentSpec.default_for("folder")
    spec.augment = tutorial_augmentation()
    spec.transfer = TransferSpec(base="mobilenet_0.75", mode="finetune", frozen=70)
    spec.compile.learning_rate, spec.fit.epochs = 0.0123, 42
    encoded = share.encode_spec(spec)
    assert share.decode_spec(encoded) == spec
    assert len(encoded) < 2000 and set(encoded) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@pytest.mark.parametrize("text", ["", "not-base64!!", "AAAA", "x" * (share.MAX_PARAM_CHARS + 1)])
def test_a_damaged_link_is_a_spec_error(text):
    with pytest.raises(SpecError):
        share.decode_spec(text)


def test_a_link_cannot_smuggle_out_of_range_values():
    spec = ExperimentSpec.default_for("moons")
    raw = spec.to_dict()
    raw["compile"]["learning_rate"] = 1e9
    import base64
    import json
    import zlib

    text = base64.urlsafe_b64encode(zlib.compress(json.dumps(raw).encode())).decode().rstrip("=")
    with pytest.raises(SpecError):
        share.decode_spec(text)


def test_classroom_settings_from_the_url():
    room = share.Classroom.from_params({"lock": "learning_rate,layers,bogus", "hide": "augment", "page": "train"})
    assert room.locked == {"learning_rate", "layers"} and room.hidden == {"augment"} and room.page == "train"
    assert room.is_locked("learning_rate") and room.is_locked("enabled") and room.is_hidden("enabled")
    assert room.is_locked("momentum") is False and room.is_locked("name") is False
    assert share.Classroom.from_params({"page": "../etc"}).page == ""


def test_link_query_carries_spec_language_and_classroom():
    from urllib.parse import parse_qs

    spec = ExperimentSpec.default_for("iris")
    query = parse_qs(share.link_query(spec, "ja", share.Classroom({"epochs"}, set(), "train")))
    assert query["lang"] == ["ja"] and query["lock"] == ["epochs"] and query["page"] == ["train"]
    assert share.decode_spec(query["s"][0]) == spec

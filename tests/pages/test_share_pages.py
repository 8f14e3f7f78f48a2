"""Links: a shared setup opens in another browser; an instructor's link locks and hides controls."""

from streamlit.testing.v1 import AppTest

from core import share
from core.spec import ExperimentSpec, LayerSpec
from tests.pages.helpers import ROOT, TIMEOUT


def open_link(spec: ExperimentSpec, **params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["s"] = share.encode_spec(spec)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def custom_spec() -> ExperimentSpec:
    spec = ExperimentSpec.default_for("iris")
    spec.layers = [LayerSpec.make("Dense", units=7, activation="tanh")]
    spec.ensure_layer_names()
    spec.compile.learning_rate, spec.fit.epochs = 0.0123, 42
    return spec


def test_a_shared_link_reproduces_the_setup_in_a_new_session():
    spec = custom_spec()
    at = open_link(spec, page="model")
    assert at.session_state["spec"] == spec
    assert at.title[0].value == "Model"
    assert at.number_input(key="w.CompileSpec.learning_rate").value == 0.0123
    assert "s" not in at.query_params  # applied once: later edits are the learner's own


def test_the_copy_link_of_one_session_opens_the_same_spec_in_another():
    first = open_link(custom_spec(), page="model")
    link = [c.value for c in first.code if "?s=" in c.value][0]
    from urllib.parse import parse_qs, urlsplit

    query = parse_qs(urlsplit(link).query)
    assert share.decode_spec(query["s"][0]) == first.session_state["spec"]


def test_locked_controls_cannot_be_changed_and_hidden_ones_are_not_drawn():
    at = open_link(custom_spec(), page="model", lock="learning_rate,layers", hide="optimizer")
    assert at.number_input(key="w.CompileSpec.learning_rate").disabled
    assert not [s for s in at.selectbox if s.key == "w.CompileSpec.optimizer"]
    assert at.number_input(key="w.layer.dense_1.units").disabled
    assert not [b for b in at.button if b.label == "Add layer"]
    assert at.session_state["spec"].compile.learning_rate == 0.0123
    at.switch_page("pages/train.py").run()  # the lock survives page switches
    at.switch_page("pages/model.py").run()
    assert at.number_input(key="w.CompileSpec.learning_rate").disabled


def test_a_damaged_link_opens_the_app_with_a_plain_message():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["s"] = "damaged!!"
    at.run()
    assert not at.exception
    assert any("could not be opened" in e.value for e in at.error)

"""Streamlit must not clear Keras's global session after a rerun while other sessions use the shared Classify models."""

from streamlit.runtime.scriptrunner import script_runner

from tests.pages.helpers import open_page


def test_reruns_leave_the_keras_session_alone(monkeypatch):
    import keras

    calls = []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *a, **k: calls.append(1))
    open_page("pages/home.py")
    script_runner._clean_problem_modules()  # what Streamlit runs after every script run
    assert getattr(script_runner._clean_problem_modules, "keeps_keras", False)
    assert calls == []

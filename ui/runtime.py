"""One change to how Streamlit runs scripts, for the models the web server itself holds.

After every script run (fragment reruns included) Streamlit calls
`keras.backend.clear_session()` (`script_runner._clean_problem_modules`). Trainings no longer
run in the web server (core/workers.py), but the Classify page shares loaded ImageNet networks
and the learners' own models between sessions (st.cache_resource), and Grad-CAM builds small
probe models on them in the sessions' threads: clearing Keras's process-wide state under
another session's call breaks it. The app keeps Streamlit's other clean-up (closing
matplotlib figures) and skips the Keras one.
"""

from __future__ import annotations

import sys

from streamlit.runtime.scriptrunner import script_runner


def keep_keras_session() -> None:

    if getattr(script_runner._clean_problem_modules, "keeps_keras", False):
        return

    def clean_problem_modules() -> None:
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            try:
                plt.close("all")
            except Exception:  # noqa: BLE001 - as Streamlit: never crash a rerun over figures
                pass

    clean_problem_modules.keeps_keras = True  # type: ignore[attr-defined]  # a marker on the function: patched once
    script_runner._clean_problem_modules = clean_problem_modules

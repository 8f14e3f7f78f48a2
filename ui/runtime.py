"""One change to how Streamlit runs scripts, needed for training in background threads.

After every script run (fragment reruns included) Streamlit calls
`keras.backend.clear_session()` (`script_runner._clean_problem_modules`). Keras's global
state is process-wide: clearing it while a training job builds or fits a model in its
worker thread breaks that job ("ValueError: too many values to unpack", measured by
bench/load.py: 3 of 8 concurrent runs failed). Our jobs never share Keras state with the
script thread, so the app keeps Streamlit's other clean-up (closing matplotlib figures)
and skips the Keras one. What clear_session would have freed of finished models, the engine
frees itself when a job ends (core/housekeeping.py, measured by bench/memory.py).
"""

from __future__ import annotations

import sys


def keep_keras_session() -> None:
    from streamlit.runtime.scriptrunner import script_runner

    if getattr(script_runner._clean_problem_modules, "keeps_keras", False):
        return

    def clean_problem_modules() -> None:
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            try:
                plt.close("all")
            except Exception:  # noqa: BLE001 - as Streamlit: never crash a rerun over figures
                pass

    clean_problem_modules.keeps_keras = True
    script_runner._clean_problem_modules = clean_problem_modules

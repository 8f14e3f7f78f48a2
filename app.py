"""Keras Playground: the entry point and page registry.

Run with `streamlit run app.py`. This file stays light (no TensorFlow import) so
the landing page paints at once; pages import Keras only when they need it.
"""

import streamlit as st

from core import jobs
from ui import errors, keys, runtime, sidebar, state
from ui.state import t

st.set_page_config(page_title="Keras Playground", page_icon=":material/neurology:", layout="wide")
errors.load_secrets_into_environment()
runtime.keep_keras_session()  # Streamlit's keras.backend.clear_session() after each rerun breaks running jobs

PAGES = {
    "home": st.Page("pages/home.py", title=t("nav.home"), icon=":material/home:", default=True),
    "recipes": st.Page("pages/recipes.py", title=t("nav.recipes"), icon=":material/menu_book:", url_path="recipes"),
    "data": st.Page("pages/data.py", title=t("nav.data"), icon=":material/dataset:", url_path="data"),
    "model": st.Page("pages/model.py", title=t("nav.model"), icon=":material/account_tree:", url_path="model"),
    "augment": st.Page("pages/augment.py", title=t("nav.augment"), icon=":material/auto_awesome:", url_path="augment"),
    "transfer": st.Page("pages/transfer.py", title=t("nav.transfer"), icon=":material/school:", url_path="transfer"),
    "train": st.Page("pages/train.py", title=t("nav.train"), icon=":material/monitoring:", url_path="train"),
    "compare": st.Page("pages/compare.py", title=t("nav.compare"), icon=":material/stacked_line_chart:", url_path="compare"),
    "runs": st.Page("pages/runs.py", title=t("nav.runs"), icon=":material/compare:", url_path="runs"),
    "classify": st.Page("pages/classify.py", title=t("nav.classify"), icon=":material/image_search:", url_path="classify"),
    "board": st.Page("pages/board.py", title=t("room.nav"), icon=":material/leaderboard:", url_path="board"),
}

page = st.navigation(list(PAGES.values()))
jobs.dispatch_soon()  # the training workers are started (warm) before anybody presses Train
target = state.apply_link() or st.session_state.pop(keys.GO_TO, None)  # a link's page, or where a button sends the learner
if target and target in PAGES and PAGES[target].url_path != page.url_path:
    st.switch_page(PAGES[target])
sidebar.render(show_job_status=page.url_path != "train", page=page.url_path or "home")
with errors.friendly_errors():
    state.show_start_error()
    page.run()

"""One card per tutorial recipe: what it teaches, its settings, the tutorial's figure, Load and Train."""

from __future__ import annotations

import time
import uuid

import streamlit as st

from core import compare, datasets, recipes
from core.recipes import Recipe
from ui import keys, state
from ui.state import t


def reported_text(reported) -> str:
    approx = "~" if reported.approximate else ""
    return t("recipebook.reported", metric=t(f"metric.{reported.metric}"), value=f"{approx}{reported.value:g}")


def settings_line(spec) -> str:
    """A setup in one line: `Moons (2-D) · Dense(8, tanh) → Dense(8, tanh) · Adam lr 0.01 · batch 16 · 40 epochs`."""
    c = spec.compile
    return t(
        "recipebook.settings",
        dataset=t(f"datasets.{spec.data.name}.title"),
        layers=" → ".join(layer.short() for layer in spec.layers) or "-",
        optimizer=t(f"optimizer.{c.optimizer}"),
        lr=f"{c.learning_rate:g}",
        batch=spec.fit.batch_size,
        epochs=spec.fit.epochs,
    )


def _load(recipe: Recipe, epochs: int | None) -> None:
    state.replace_spec(recipe.build_spec(epochs))
    st.toast(t("recipebook.loaded", title=t(f"recipes.{recipe.id}.title")))


def _train(recipe: Recipe, epochs: int | None) -> None:
    spec = recipe.build_spec(epochs)
    state.replace_spec(spec)
    state.start_job(spec)
    st.session_state[keys.GO_TO] = "train"  # app.py opens the Train page, whichever page the card is on


def guess_widget(name: str) -> None:
    """Predict, then reveal: the learner bets on the run that will end best before training the group."""
    titles = {t(f"recipes.{r.id}.title"): r.id for r in recipes.group(name)}
    choice = st.radio(t("recipebook.guess"), list(titles), index=None, key=f"guess_pick_{name}_{state.lang()}", horizontal=True)
    if choice is not None:
        st.session_state[keys.guess(name)] = titles[choice]


def reveal_panel(name: str, all_runs: list) -> None:
    """Once the group's runs have finished: the learner's guess against the result, and their score so far."""
    guess = st.session_state.get(keys.guess(name))
    since = st.session_state.get(keys.guess_since(name))
    if not guess or since is None:
        return
    outcome = recipes.group_outcome(name, all_runs, since)
    if outcome is None:
        st.info(t("recipebook.guess_waiting", guess=t(f"recipes.{guess}.title")), icon=":material/hourglass_top:")
        return
    best, verdict = compare.reveal(guess, outcome)
    key = keys.guess_scored(name, since)
    if key not in st.session_state:  # score each round once
        st.session_state[key] = verdict
        hits, rounds = st.session_state.get(keys.GUESS_SCORE, (0, 0))
        st.session_state[keys.GUESS_SCORE] = (hits + int(verdict == "right"), rounds + 1)
    hits, rounds = st.session_state[keys.GUESS_SCORE]
    values = ", ".join(f"{t(f'recipes.{rid}.title')} {acc:.3f}" for rid, acc in outcome.items())
    text = t(
        f"recipebook.guess_{verdict}",
        guess=t(f"recipes.{guess}.title"),
        best=" / ".join(t(f"recipes.{rid}.title") for rid in best),
        others=" / ".join(t(f"recipes.{rid}.title") for rid in best if rid != guess),
        values=values,
        hits=hits,
        rounds=rounds,
    )
    right = verdict == "right"
    (st.success if right else st.warning)(text, icon=":material/emoji_events:" if right else ":material/lightbulb:")


def train_group(name: str) -> None:
    """Train a group of recipes (the overfitting trio) one after another."""

    if st.session_state.get(keys.guess(name)):
        st.session_state[keys.guess_since(name)] = time.time()  # the runs of this round are the ones that start now

    group, previous = f"{name}-{uuid.uuid4().hex[:8]}", None
    for recipe in recipes.group(name):
        previous = state.start_job(recipe.build_spec(), after=previous, group=group)
        if previous is None:
            break  # refused (a limit): the message says why, on the page the learner lands on
    st.session_state[keys.GO_TO] = "runs"


def card(recipe: Recipe) -> None:
    spec = recipe.spec
    with st.container(border=True):
        st.markdown(f"**{t(f'recipes.{recipe.id}.title')}** · `{recipe.id}`")
        st.caption(t(f"recipes.{recipe.id}.teaches"))
        st.markdown(settings_line(spec))
        epochs = None
        if recipe.epoch_choices:
            epochs = (
                st.segmented_control(
                    t("train.epochs"),
                    list(recipe.epoch_choices),
                    default=spec.fit.epochs,
                    key=f"epochs.{recipe.id}",
                    help=t("recipebook.epochs_help"),
                )
                or spec.fit.epochs
            )
        reported = recipe.reported_for(epochs or spec.fit.epochs)
        st.markdown(reported_text(reported) if reported else t(f"recipebook.criterion.{recipe.criterion}"))
        if datasets.availability(spec.data.name) == "download":
            st.caption(t("recipebook.needs_download", dataset=t(f"datasets.{spec.data.name}.title")))
        load, train = st.columns(2)
        load.button(
            t("recipebook.load"),
            key=f"load.{recipe.id}",
            icon=":material/edit:",
            on_click=_load,
            args=(recipe, epochs),
            width="stretch",
        )
        train.button(
            t("recipebook.train"),
            key=f"train.{recipe.id}",
            type="primary",
            icon=":material/play_arrow:",
            on_click=_train,
            args=(recipe, epochs),
            width="stretch",
        )

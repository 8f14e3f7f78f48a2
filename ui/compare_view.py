"""The Compare page's parts: the builder (settings, values, a guess, Train) and one comparison's results.

Optuna (core/search.py) is imported inside the functions that use it: only a search needs it, and the Recipes
page imports this module for its race cards.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import streamlit as st

from core import charts, compare, jobs, queue, recipes, settings
from core.compare import Axis, Comparison, ComparisonError
from core.i18n import Plain, markdown_escape
from ui import keys, polling, recipes_view, runs_view, state
from ui.state import t


def setting_label(s: compare.Setting) -> str:
    """`Learning rate`, `Units of dense_1`: a setting in the learner's language."""
    if s.layer:
        return t(f"compare.setting.{s.name}_of", layer=s.layer)
    return t(f"compare.setting.{s.name}")


def value_label(value) -> str:
    if isinstance(value, bool):
        return t("compare.on" if value else "compare.off")
    return compare.value_text(value)


def place_label(place) -> str:
    return " · ".join(value_label(v) for _, v in place)


def _values(s: compare.Setting, spec, slot: int) -> tuple:
    """The values to try for one setting: picked from its words, or typed (a list, or a range)."""
    key = f"cmp.values.{slot}.{s.id}.{state.lang()}"
    start = compare.suggestions(spec, s)
    if s.kind in ("choice", "bool"):
        options = list(s.choices)
        return tuple(st.multiselect(t("compare.values"), options, default=list(start), format_func=value_label, key=key))
    text = st.text_input(
        t("compare.values"), value=", ".join(compare.value_text(v) for v in start), key=key, help=t("compare.values_help")
    )
    return compare.parse_values(s, text)


def _axis(spec, slot: int, taken: str = "") -> Axis | None:
    choices = [s for s in compare.settings_for(spec) if s.id != taken]
    by_id = {s.id: s for s in choices}
    options = ([] if slot == 0 else [""]) + list(by_id)
    default = "learning_rate" if slot == 0 else ""
    picked = st.selectbox(
        t("compare.setting_n", n=slot + 1),
        options,
        index=options.index(default) if default in options else 0,
        format_func=lambda sid: setting_label(by_id[sid]) if sid else t("compare.no_second"),
        key=f"cmp.setting.{slot}.{state.lang()}",
    )
    if not picked:
        return None
    return Axis(picked, _values(by_id[picked], spec, slot))


def _train(specs: list, guess: str, metric: str) -> None:
    group = f"{compare.GROUP_PREFIX}{uuid.uuid4().hex[:10]}"
    if state.start_group(specs, group):
        st.session_state[keys.COMPARISON] = group
        if guess:
            st.session_state[keys.guess(group)] = (guess, metric)


MODES = ("grid", "random", "smart")  # every combination; or a number of trials drawn at random, or by Optuna's TPE


def builder(spec) -> None:
    """Pick one or two settings and their values: every combination trains (a grid), or trials draw from the range."""
    st.markdown(t("compare.base", setup=markdown_escape(recipes_view.settings_line(spec))))
    mode = (
        st.segmented_control(
            t("compare.mode"),
            MODES,
            default="grid",
            format_func=lambda m: t(f"compare.mode_name.{m}"),
            key=f"cmp.mode.{state.lang()}",
            help=t("compare.mode_help"),
        )
        or "grid"
    )
    left, right = st.columns(2)
    try:
        with left:
            first = _axis(spec, 0)
        with right:
            second = _axis(spec, 1, taken=first.setting if first else "")
        axes = tuple(a for a in (first, second) if a is not None)
        plan = Comparison(spec, axes).plan() if mode == "grid" else []
        ranges = [] if mode == "grid" else [(a.setting, _search_range(spec, a)) for a in axes]
    except ComparisonError as exc:
        st.warning(state.say(exc.msg), icon=":material/rule:")
        return
    metrics = [m for m in compare.METRICS if m.startswith("val_") and (m == "val_mae") == spec.regression]
    metric = st.selectbox(
        t("compare.metric"), metrics, format_func=lambda m: t(f"compare.metric_name.{m}"), key=f"cmp.metric.{state.lang()}"
    )
    if mode == "grid":
        _grid_button(plan, metric)
    else:
        _search_button(spec, ranges, mode, metric)


def _search_range(spec, axis: Axis) -> tuple:
    from core import search  # Optuna loads only when somebody searches

    return search.ranges_from(spec, axis.setting, axis.values)


def _grid_button(plan: list, metric: str) -> None:
    labels = [place_label(p.compare) for p in plan]
    guess = st.selectbox(
        t("compare.guess"), labels, index=None, key=f"cmp.guess.{state.lang()}", placeholder=t("compare.guess_none")
    )
    raw = {place_label(p.compare): compare.place_text(p.compare) for p in plan}
    st.button(
        t("compare.train", runs=len(plan)),
        type="primary",
        icon=":material/play_arrow:",
        on_click=_train,
        args=(plan, raw.get(guess or "", ""), metric),
    )
    st.caption(t("compare.how", runs=len(plan), most=compare.MAX_RUNS))


def _search_button(spec, ranges: list, mode: str, metric: str) -> None:
    trials = st.number_input(
        t("compare.trials"), compare.MIN_TRIALS, compare.MAX_RUNS, compare.DEFAULT_TRIALS, key=f"cmp.trials.{state.lang()}"
    )
    prune = st.checkbox(t("compare.prune"), value=True, key=f"cmp.prune.{state.lang()}", help=t("compare.prune_help"))
    st.button(
        t("compare.search_train", trials=int(trials)),
        type="primary",
        icon=":material/travel_explore:",
        on_click=_search,
        args=(spec.copy(), ranges, mode, metric, int(trials), prune),
    )
    st.caption(t(f"compare.search_how_{mode}", slots=settings.max_concurrent_trainings()))


def _search(spec, ranges: list, mode: str, metric: str, trials: int, prune: bool) -> None:
    from core import search

    plan = search.SearchPlan(
        spec,
        [(name, values) for name, (values, _) in ranges],
        trials=trials,
        sampler=mode,
        prune=prune,
        metric=metric,
        parallel=settings.max_concurrent_trainings(),
        numbers={name: numbers for name, (_, numbers) in ranges},
    )
    group = f"{compare.SEARCH_PREFIX}{uuid.uuid4().hex[:10]}"
    if state.start_search(plan, group):
        st.session_state[keys.COMPARISON] = group


def shown_group() -> str | None:
    """The comparison the page shows: the one this tab started last, else the learner's newest; a picker for older ones."""
    groups = queue.groups_of(state.owner(), compare.GROUP_PREFIX)
    if not groups:
        return None
    if st.session_state.get(keys.COMPARISON) not in groups:
        st.session_state[keys.COMPARISON] = groups[0]
    st.session_state[keys.COMPARISON_PICKER] = st.session_state[keys.COMPARISON]  # a comparison started elsewhere shows at once
    names = {g: _group_name(g) for g in groups}
    return st.selectbox(t("compare.shown"), groups, format_func=lambda g: names[g], key=keys.COMPARISON_PICKER, on_change=_picked)


def _picked() -> None:
    st.session_state[keys.COMPARISON] = st.session_state[keys.COMPARISON_PICKER]


def _group_name(group: str) -> str:
    views = jobs.group(state.owner(), group)
    if not views:
        return group
    axes = [name for name, _ in views[0].spec.compare]
    settings = {s.id: s for s in compare.settings_for(views[0].spec)}
    what = " × ".join(setting_label(settings[a]) if a in settings else a for a in axes)
    return t("compare.group_name", what=what, runs=len(views), name=views[0].name.rsplit(" ", 1)[-1])


def _lines(group: str) -> tuple:
    """One line per run still queued or training; returns what the charts below were drawn from."""
    views = jobs.group(state.owner(), group)
    for view in views:
        if view.settled:
            continue
        p = view.progress
        where = t("train.progress", epoch=p.epoch, epochs=p.epochs) if view.status == "running" else t("runs.waiting")
        st.markdown(f"**{markdown_escape(place_label(view.spec.compare))}** · {t(f'status.{view.status}')} · {where}")
    return _drawn(views)


def _drawn(views) -> tuple:
    return tuple((v.id, v.status, v.phase, v.epochs_done) for v in views)


def _stop_all(group: str) -> None:
    for view in jobs.group(state.owner(), group):
        if view.active:
            state.stop_job(view.id, wait=0.5)


def results(group: str) -> None:
    """One comparison: live overlaid curves (a colour per value), the ranked table, a heatmap for two settings, the reveal."""
    views = jobs.group(state.owner(), group)
    if not views:
        return
    active = any(not v.settled for v in views) or _search_going(group, views)
    polling.follow(lambda: _lines(group), drawn=_drawn(views), active=active)
    if active:
        st.button(t("compare.stop_all"), icon=":material/stop:", on_click=_stop_all, args=(group,))
    runs_view.compare([(place_label(v.spec.compare), v.history) for v in views if v.history], key=f"cmp_{group}")
    guessed = st.session_state.get(keys.guess(group))
    default = guessed[1] if guessed else compare.default_metric(views[0].spec)
    metrics = compare.metrics_of([v.run for v in views]) or [default]
    metric = st.selectbox(
        t("compare.rank_by"),
        metrics,
        index=metrics.index(default) if default in metrics else 0,
        format_func=lambda m: t(f"compare.metric_name.{m}"),
        key=f"cmp.rank.{group}.{state.lang()}",
    )
    rows = compare.table([v.run for v in views], metric)
    _table(rows, views, metric)
    axes = compare.axes_of([v.run for v in views])
    searched = group.startswith(compare.SEARCH_PREFIX)
    if searched:
        _search_progress(group, views)
    if (len(axes) == 2 or searched) and any(r.get(metric) is not None for r in rows):
        _plots(rows, axes, views[0].spec, metric, heatmap=not searched)
    if guessed:
        _reveal(group, guessed, [v.run for v in views])


def _table(rows: list[dict], views, metric: str) -> None:
    settings = {s.id: s for s in compare.settings_for(views[0].spec)}
    axes = compare.axes_of([v.run for v in views])
    shown = []
    for rank, r in enumerate(rows, start=1):
        line: dict[str, Any] = {t("compare.rank"): rank}
        line |= {setting_label(settings[a]) if a in settings else a: value_label(r[a]) for a in axes}
        line |= {t(f"compare.metric_name.{m}"): r[m] for m in compare.metrics_of([v.run for v in views])}
        line |= {
            t("compare.status"): t(f"status.{r['status']}"),
            t("compare.epochs"): r["epochs_trained"],
            t("compare.seconds"): r["seconds"],
        }
        shown.append(line)
    st.subheader(t("compare.table_title", metric=t(f"compare.metric_name.{metric}")))
    st.dataframe(shown, hide_index=True, width="stretch")
    st.download_button(
        t("compare.download"), compare.table_csv(rows), file_name="comparison.csv", mime="text/csv", icon=":material/download:"
    )


def _search_going(group: str, views) -> bool:
    """A search between two trials (one ended, its worker is queueing the next) is still under way."""
    if not group.startswith(compare.SEARCH_PREFIX):
        return False
    from core import search

    plan = search.plan_of_group(state.owner(), group)
    return plan is not None and search.going(plan, [v.run for v in views], time.time())


def _search_progress(group: str, views) -> None:
    from core import search

    plan = search.plan_of_group(state.owner(), group)
    if plan is not None:
        pruned = sum(1 for v in views if v.message is not None and v.message.key == compare.PRUNED)
        st.caption(
            t(
                "compare.search_progress",
                queued=len(views),
                trials=plan.trials,
                pruned=pruned,
                sampler=t(f"compare.mode_name.{plan.sampler}"),
            )
        )


def _plots(rows: list[dict], axes: list[str], spec, metric: str, heatmap: bool = True) -> None:
    """Two settings of a grid: a heatmap (and parallel coordinates past four runs); a search: parallel coordinates."""
    settings = {s.id: s for s in compare.settings_for(spec)}
    label = {a: setting_label(settings[a]) if a in settings else a for a in axes}
    name = t(f"compare.metric_name.{metric}")
    heat, lines = st.columns(2)
    if heatmap and len(axes) == 2:
        x, y = axes[1], axes[0]
        shown = [{**r, x: value_label(r[x]), y: value_label(r[y])} for r in rows]
        planned = sorted(shown, key=lambda r: r["seq"])  # the values in the order they were asked for
        heat.plotly_chart(
            charts.comparison_heatmap(shown, x, y, metric, t("compare.heatmap", metric=name), label[x], label[y], planned),
            key="cmp_heatmap",
            width="stretch",
        )
    if len(rows) > 4 or not heatmap:
        (lines if heatmap else heat).plotly_chart(
            charts.parallel_coordinates_figure(rows, [(a, label[a]) for a in axes], metric, t("compare.parallel", metric=name)),
            key="cmp_parallel",
            width="stretch",
        )


def _reveal(group: str, guessed: tuple, runs: list) -> None:
    guess, metric = guessed
    outcome = compare.outcome(runs, metric)
    if outcome is None:
        st.info(t("compare.guess_waiting", guess=Plain(guess)), icon=":material/hourglass_top:")
        return
    best, verdict = compare.reveal(guess, outcome, higher_is_better=compare.METRICS[metric] is max)
    key = keys.guess_scored(group, 0)
    if key not in st.session_state:  # score each comparison once
        st.session_state[key] = verdict
        hits, rounds = st.session_state.get(keys.GUESS_SCORE, (0, 0))
        st.session_state[keys.GUESS_SCORE] = (hits + int(verdict == "right"), rounds + 1)
    hits, rounds = st.session_state[keys.GUESS_SCORE]
    text = t(
        f"compare.guess_{verdict}",
        guess=Plain(guess),
        best=Plain(" / ".join(b for b in best if b != guess or verdict != "tie")),  # a tie names the others
        value=f"{outcome[best[0]]:.3f}",
        metric=t(f"compare.metric_name.{metric}"),
        hits=hits,
        rounds=rounds,
    )
    right = verdict == "right"
    (st.success if right else st.warning)(text, icon=":material/emoji_events:" if right else ":material/lightbulb:")


def _train_race(race_id: str, guess: str) -> None:
    race = recipes.get_race(race_id)
    group = f"{compare.GROUP_PREFIX}{race.id}-{uuid.uuid4().hex[:8]}"
    if state.start_group(race.plan(), group):
        st.session_state[keys.COMPARISON] = group
        if guess:
            st.session_state[keys.guess(group)] = (guess, race.metric)
    st.session_state[keys.GO_TO] = "compare"  # app.py opens the Compare page, whichever page the card is on


def race_card(race) -> None:
    """One of the tutorials' races: what to look for, a guess, and Train (every value at once)."""
    with st.container(border=True):
        st.markdown(f"**{t(f'races.{race.id}.title')}** · `{race.id}`")
        st.caption(t(f"races.{race.id}.look_for"))
        labels = [compare.value_text(v) for v in race.axis.values]  # its runs' places (planning would load its data)
        guess = st.selectbox(
            t("compare.guess"), labels, index=None, key=f"race.guess.{race.id}", placeholder=t("compare.guess_none")
        )
        st.button(
            t("compare.train_race", runs=len(labels)),
            key=f"race.train.{race.id}",
            icon=":material/sprint:",
            on_click=_train_race,
            args=(race.id, guess or ""),
            width="stretch",
        )

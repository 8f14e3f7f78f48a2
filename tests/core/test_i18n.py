"""The catalogues are complete, every key the code uses exists, and pages hard-code no text."""

import ast
import re
from pathlib import Path

import pytest

from core import i18n, recipes
from core.datasets import DATASETS
from core.model_rules import headline_metric
from core.spec import LAYER_TYPES, OPTIMIZERS, VALIDATION_SOURCES

ROOT = Path(__file__).resolve().parents[2]
UI_FILES = sorted([ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py")])
CODE_FILES = UI_FILES + sorted((ROOT / "core").glob("*.py"))


def test_both_catalogues_have_the_same_keys():
    assert i18n.missing_keys() == {lang: set() for lang in i18n.LANGUAGES}


def test_placeholders_match_between_languages():
    for key, english in i18n.catalogue("en").items():
        japanese = i18n.catalogue("ja")[key]
        assert set(re.findall(r"{(\w+)}", english)) == set(re.findall(r"{(\w+)}", japanese)), key


FILE_TYPES = {"keras", "sqlite3", "py", "json", "csv", "zip", "npz", "h5"}


def test_every_literal_key_in_the_code_exists():
    sections = {key.split(".")[0] for key in i18n.catalogue("en")}
    pattern = re.compile(r"""["']((?:{})\.[a-z0-9_.]+)["']""".format("|".join(sorted(sections))))
    used = set()
    for path in CODE_FILES:
        used |= {m for m in pattern.findall(path.read_text()) if not m.endswith(".") and m.rsplit(".", 1)[1] not in FILE_TYPES}
    missing = sorted(k for k in used if not i18n.has("en", k))
    assert used and missing == []


def test_every_key_built_from_a_name_exists():
    keys = [f"datasets.{d}.{part}" for d in DATASETS for part in ("title", "about")]
    keys += [f"layer.{t}" for t in LAYER_TYPES]
    keys += [f"param.{p.name}" for params in LAYER_TYPES.values() for p in params]
    keys += [f"help.param.{p.name}" for params in LAYER_TYPES.values() for p in params]
    keys += [f"optimizer.{o}" for o in OPTIMIZERS]
    keys += [f"data.source_{v}" for v in VALIDATION_SOURCES]
    keys += [f"status.{s}" for s in ("queued", "running", "finished", "stopped", "diverged", "failed")]
    keys += [f"phase.{p}" for p in ("queued", "loading_data", "building_model", "training", "evaluating", "done")]
    keys += [f"kind.{info.kind}" for info in DATASETS.values()]
    keys += [f"recipes.{r}.{part}" for r in recipes.RECIPES for part in ("title", "teaches")]
    keys += [f"metric.{r.reported.metric}" for r in recipes.RECIPES.values() if r.reported]
    keys += [f"chart.{headline_metric(regression)}" for regression in (False, True)]
    for lang in i18n.LANGUAGES:
        assert [k for k in keys if not i18n.has(lang, k)] == [], lang


def test_translate_formats_and_falls_back():
    assert i18n.translate("ja", "train.progress", epoch=2, epochs=5) == "エポック 2/5"
    assert i18n.translate("xx", "nav.train") == "Train"
    assert i18n.translate("en", "no.such.key") == "no.such.key"
    assert i18n.Msg("job.stopped", {"epoch": 3}).render("ja").startswith("エポック 3")


@pytest.mark.parametrize(
    "requested, browser, expected",
    [("ja", None, "ja"), (None, "ja-JP", "ja"), (None, "de-DE", "en"), ("fr", "ja", "ja"), (None, None, "en")],
)
def test_language_choice(requested, browser, expected):
    assert i18n.pick_language(requested, browser) == expected


# --------------------------------------------------------------------------- no hard-coded text in pages

SHOWN = {
    "title",
    "header",
    "subheader",
    "markdown",
    "caption",
    "write",
    "text",
    "info",
    "warning",
    "error",
    "success",
    "toast",
    "button",
    "download_button",
    "checkbox",
    "radio",
    "selectbox",
    "multiselect",
    "slider",
    "number_input",
    "text_input",
    "file_uploader",
    "page_link",
    "metric",
    "expander",
    "tabs",
    "segmented_control",
    "spinner",
    "Page",
}
BOUND_HELPERS = {"bound", "optional_count"}
ALLOWED = re.compile(r"^(:material/[a-z_]+:|[^A-Za-z\u3040-\u30ff\u4e00-\u9fff]*)$")


def _literal_texts(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.JoinedStr):
        for part in node.values:
            if isinstance(part, ast.Constant):
                yield part.value


def hard_coded_texts(source: str) -> list[str]:
    offenders = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name) and node.func.id in BOUND_HELPERS:
            candidates = list(node.args[1:2])  # bound(widget, label, ...)
        elif isinstance(node.func, ast.Attribute) and node.func.attr in SHOWN:
            if isinstance(node.func.value, ast.Name) and node.func.value.id in ("log", "logger", "logging"):
                continue  # log.warning(...) goes to the server log, not to the learner
            candidates = list(node.args[:1])
        else:
            continue
        candidates += [k.value for k in node.keywords if k.arg in ("label", "body", "text", "title", "caption", "help")]
        for arg in candidates:
            for text in _literal_texts(arg):
                if not ALLOWED.match(text) and not text.startswith("pages/"):
                    offenders.append(f"line {node.lineno}: {text!r}")
    return offenders


def test_the_hard_coded_text_check_catches_literals():
    source = (
        'st.title("Train")\nst.button(":material/stop:")\ncol.caption(f"**{t(\'x\')}** · done")\nst.info(t("a.b"))\n'
        'st.error(label="学習")\nbound(st.checkbox, "vertical_flip", a, "vertical_flip")'
    )
    assert [o.split(": ", 1)[1] for o in hard_coded_texts(source)] == ["'Train'", "'** · done'", "'学習'", "'vertical_flip'"]


@pytest.mark.parametrize("path", UI_FILES, ids=lambda p: p.name)
def test_pages_show_no_hard_coded_text(path):
    assert hard_coded_texts(path.read_text()) == []

"""The string catalogues: every user-facing text, in English and Japanese.

Catalogues are TOML files in `core/locales/` (one per language); a key is the
TOML section path plus the name, e.g. `train.button`. Texts may hold
`str.format` fields. A missing Japanese text falls back to English, a missing
English one to the key itself (the catalogue test makes sure neither happens).

Example:
    >>> translate("ja", "nav.train")
    '学習'
    >>> translate("en", "train.progress", epoch=2, epochs=5)
    'Epoch 2/5'
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = {"en": "English", "ja": "日本語"}
DEFAULT_LANGUAGE = "en"
_LOCALES = Path(__file__).with_name("locales")


def _flatten(table: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in table.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, full + "."))
        else:
            out[full] = str(value)
    return out


@cache
def catalogue(lang: str) -> dict[str, str]:
    """All texts of one language, flattened to dotted keys."""
    with open(_LOCALES / f"{lang}.toml", "rb") as f:
        return _flatten(tomllib.load(f))


def translate(lang: str, key: str, **fields) -> str:
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    text = catalogue(lang).get(key)
    if text is None:
        text = catalogue(DEFAULT_LANGUAGE).get(key, key)
    return text.format(**fields) if fields else text


class Plain(str):
    """Text that came from a learner (a file, folder, column or run name): shown as itself, never read as markup."""


def escape_fields(fields: dict[str, Any], lang: str, escape: Callable[[str], str] | None) -> dict[str, Any]:
    """Fields ready for a text: nested Msgs rendered, `Plain` ones passed through `escape`."""
    out = {}
    for key, value in fields.items():
        if isinstance(value, Msg):
            value = value.render(lang, escape)
        elif escape is not None and isinstance(value, Plain):
            value = escape(value)
        out[key] = value
    return out


@dataclass(frozen=True)
class Msg:
    """A message to show later, in whatever language the reader has: a key plus its fields.

    Field values may be Msgs themselves (rendered in the same language).

    >>> Msg("status.stopped").render("ja")
    '停止'
    """

    key: str
    fields: dict[str, Any] = field(default_factory=dict)

    def render(self, lang: str = DEFAULT_LANGUAGE, escape: Callable[[str], str] | None = None) -> str:
        """The text in `lang`; `escape` (e.g. for Markdown) is applied to the `Plain` fields, the learner's own names.

        >>> Msg("upload.warn.empty_class", {"name": Plain("[x](y)")}).render("en", escape=lambda s: s.upper())[:40]
        "The folder '[X](Y)' has no usable images"
        """
        return translate(lang, self.key, **escape_fields(self.fields, lang, escape))

    def __str__(self) -> str:
        return self.render(DEFAULT_LANGUAGE)


class LocalizedError(Exception):
    """An expected problem whose message the page can show in the learner's language."""

    def __init__(self, key: str, **fields: Any):
        self.msg = Msg(key, fields)
        super().__init__(str(self.msg))


_MARKDOWN_SPECIAL = set("\\`*_{}[]()#+-.!|<>~$:")


def markdown_escape(text: str) -> str:
    """Text shown as itself inside Markdown: no links, emphasis, HTML or Streamlit directives.

    >>> print(markdown_escape("[docs](https://example.com)"))
    \\[docs\\]\\(https\\://example\\.com\\)
    """
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in str(text))


def has(lang: str, key: str) -> bool:
    return key in catalogue(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)


def pick_language(requested: str | None = None, browser_locale: str | None = None) -> str:
    """The URL's `lang` if known, else the browser's language if we have it, else English.

    >>> pick_language(None, "ja-JP")
    'ja'
    """
    for candidate in (requested, (browser_locale or "").split("-")[0].split("_")[0]):
        if candidate and candidate.lower() in LANGUAGES:
            return candidate.lower()
    return DEFAULT_LANGUAGE


def missing_keys() -> dict[str, set[str]]:
    """Keys present in one catalogue but not in another, per language."""
    keys = {lang: set(catalogue(lang)) for lang in LANGUAGES}
    everything = set().union(*keys.values())
    return {lang: everything - have for lang, have in keys.items()}

"""Settings: one table drives the accessors and the README's table."""

from pathlib import Path

from core import settings

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_lists_every_setting_as_the_table_says():
    assert settings.markdown_table() in (ROOT / "README.md").read_text()


def test_whole_numbers_fall_back_to_their_default_and_respect_their_minimum(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_MAX_TRAININGS", "0")
    assert settings.max_concurrent_trainings() == 1  # at least one worker
    monkeypatch.setenv("PLAYGROUND_MAX_TRAININGS", "three")
    assert settings.max_concurrent_trainings() == 2
    monkeypatch.delenv("PLAYGROUND_MAX_QUEUE", raising=False)
    assert settings.max_queue() == int(settings.SETTINGS["PLAYGROUND_MAX_QUEUE"].default) == 100


def test_every_setting_of_the_table_has_its_accessor():
    accessors = (ROOT / "core" / "settings.py").read_text().split("def _raw(", 1)[1]  # the code after the table
    assert [name for name in settings.SETTINGS if f'("{name}")' not in accessors] == []

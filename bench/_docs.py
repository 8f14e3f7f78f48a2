"""Shared by the benchmarks: each script owns one `##` section of docs/benchmarks.md.

    >>> write_section(DOCS, "## Augmentation (bench/augment.py)", "## Augmentation ...\\n| table |")  # doctest: +SKIP

The section is replaced in place (or appended); other sections are left alone, and a
hand-written `### Notes` subsection inside the section survives reruns.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"
NOTES = "### Notes"
_HEADER = (
    "# Benchmarks\n\nMeasured results of the scripts in `bench/`. Each script owns one `##` section and rewrites only that.\n"
)


def write_section(path: Path, heading: str, body: str) -> None:
    """Replace (or append) the section that starts with `heading`; `body` starts with that heading."""
    text = path.read_text() if path.exists() else _HEADER
    lines = text.splitlines()
    try:
        start = lines.index(heading)
    except ValueError:
        new = text.rstrip("\n") + "\n\n" + body.rstrip("\n") + "\n"
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        notes = next((i for i in range(start + 1, end) if lines[i].strip() == NOTES), None)
        if notes is not None:
            body = body.rstrip("\n") + "\n\n" + "\n".join(lines[notes:end]).rstrip("\n")
        after = "\n".join(lines[end:])
        new = (
            "\n".join(lines[:start]) + ("\n" if start else "") + body.rstrip("\n") + "\n" + ("\n" + after + "\n" if after else "")
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new)

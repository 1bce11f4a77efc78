"""Prompt templates: the bundled fashion set, a file of your own, or a list."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from fashionclip.errors import ClassificationError

BUNDLED = ("fashion",)


def load_templates(spec: str | Path | Sequence[str]) -> list[str]:
    """Templates from a bundled set name (``"fashion"``), a text file (one per line, ``#``
    comments), or a list; each must hold exactly one ``{}`` for the label."""
    if isinstance(spec, (str, Path)) and str(spec) in BUNDLED:
        text = resources.files("fashionclip").joinpath(f"data/templates/{spec}.txt").read_text(encoding="utf-8")
        return check_templates(text_lines(text), f"bundled set {str(spec)!r}")
    if isinstance(spec, Path) or (isinstance(spec, str) and ("{}" not in spec)):
        path = Path(spec)
        if not path.is_file():
            raise ClassificationError(
                f"templates {str(spec)!r}: not a bundled set ({', '.join(BUNDLED)}), a file, or a template with {{}}"
            )
        return check_templates(text_lines(path.read_text(encoding="utf-8")), str(path))
    if isinstance(spec, str):
        return check_templates([spec], "template")
    return check_templates(list(spec), "templates")


def check_templates(templates: list[str], source: str) -> list[str]:
    if not templates:
        raise ClassificationError(f"{source}: no templates")
    for template in templates:
        if not isinstance(template, str) or template.count("{}") != 1:
            raise ClassificationError(f"{source}: template {template!r} must contain exactly one {{}} for the label")
    if len(set(templates)) != len(templates):
        raise ClassificationError(f"{source}: a template is listed twice")
    return templates


def text_lines(text: str) -> list[str]:
    """The non-empty, non-comment (``#``) lines of a text file, stripped."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]

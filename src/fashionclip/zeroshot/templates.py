"""Prompt templates: a bundled set (English fashion prompts, or one per language), a file of your own,
or a list."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from fashionclip.errors import ClassificationError, TemplateError, shown
from fashionclip.templating import check_label_template

# English ("fashion") and one set per other language (see zeroshot.languages)
BUNDLED = ("fashion", "zh", "ja", "ko", "fr", "de", "es")


def load_templates(spec: str | Path | Sequence[str], *, files: bool = True) -> list[str]:
    """Templates from a bundled set name (``"fashion"``), a text file (one per line, ``#``
    comments), a list, or one template; each must hold exactly one ``{}`` for the label.

    ``files=False`` for whatever a client sent (an HTTP request): a string is then a template or
    a bundled set's name, never a path, and no file is ever looked at."""
    named = shown(str(spec) if isinstance(spec, Path) else spec)
    if isinstance(spec, (str, Path)) and str(spec) in BUNDLED:
        # looked up among the package's own data by a fixed name, never a path built from the string
        text = resources.files("fashionclip").joinpath(f"data/templates/{spec}.txt").read_text(encoding="utf-8")
        return check_templates(text_lines(text), f"bundled set {str(spec)!r}")
    if isinstance(spec, str) and "{" in spec:
        return check_templates([spec], "template")
    if isinstance(spec, (str, Path)):
        if not files:
            raise ClassificationError(
                f"templates {named}: not a bundled set ({', '.join(BUNDLED)}) or a template with {{}}"
            )
        path = Path(spec)
        if not path.is_file():
            raise ClassificationError(
                f"templates {named}: not a bundled set ({', '.join(BUNDLED)}), a file, or a template with {{}}"
            )
        return check_templates(text_lines(path.read_text(encoding="utf-8")), str(path))
    if isinstance(spec, Sequence) and not isinstance(spec, (bytes, bytearray)):
        return check_templates(list(spec), "templates")
    raise ClassificationError(f"templates {named}: give a bundled set's name, a template, or a list of them")


def check_templates(templates: list[Any], source: str) -> list[str]:
    """``templates`` if each holds exactly one ``{}`` and no other field, with none listed twice."""
    if not templates:
        raise ClassificationError(f"{source}: no templates")
    for template in templates:
        try:
            check_label_template(template)
        except TemplateError as exc:
            raise ClassificationError(f"{source}: {exc}") from None
    if len(set(templates)) != len(templates):
        raise ClassificationError(f"{source}: a template is listed twice")
    return templates


def text_lines(text: str) -> list[str]:
    """The non-empty, non-comment (``#``) lines of a text file, stripped."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]

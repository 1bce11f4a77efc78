"""Text templates that are filled with ``str.format``: prompt templates (``"a photo of a {}"``) and
path templates (``"images/{id}.jpg"``).

A template is data, never code: before one is filled it is parsed, and only plain fields pass
(``{}`` or ``{column}``). Attribute and index access (``{0.__class__}``, ``{x[0]}``), conversions
(``{!r}``), format specs (``{:>10}``) and stray braces are refused with a message naming the
template, so filling a checked template can neither fail nor reach into Python objects.
"""

from __future__ import annotations

from string import Formatter
from typing import Any

from fashionclip.errors import TemplateError

_BRACES = "write {{ and }} for literal braces"


def template_fields(template: Any) -> list[str]:
    """The field names of ``template`` in order (``""`` for ``{}``); :class:`TemplateError` for
    anything but plain fields."""
    if not isinstance(template, str):
        raise TemplateError(f"template {template!r} must be a string")
    try:
        parsed = list(Formatter().parse(template))
    except ValueError as exc:  # "Single '{' encountered in format string", ...
        raise TemplateError(f"template {template!r}: {exc}; {_BRACES}") from None
    fields = []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if conversion is not None or spec or any(c in name for c in ".[]") or name.isdigit():
            shown = "{" + name + ("!" + conversion if conversion else "") + (":" + spec if spec else "") + "}"
            raise TemplateError(f"template {template!r}: field {shown} is not allowed; use {{}} or {{column}}")
        fields.append(name)
    return fields


def check_label_template(template: Any) -> str:
    """``template`` if it holds exactly one ``{}`` for the label and no other field."""
    fields = template_fields(template)
    if fields != [""]:
        raise TemplateError(f"template {template!r} must contain exactly one {{}} for the label ({_BRACES})")
    return template


def check_named_template(template: Any) -> list[str]:
    """The column names a path template such as ``"images/{id}.jpg"`` uses (at least one; ``{}``
    has no name to fill it from)."""
    fields = template_fields(template)
    if not fields or "" in fields:
        raise TemplateError(f"template {template!r} must name the columns it uses, as in 'images/{{id}}.jpg'")
    return fields

"""Languages of zero-shot prompts: a bundled template set per language (``data/templates/<code>.txt``;
English is the ``fashion`` set) and a language guessed from the script labels are written in."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from fashionclip.errors import ClassificationError

# language code -> bundled template set; English keeps the model's own template by default
TEMPLATE_SETS = {"en": "fashion", "zh": "zh", "ja": "ja", "ko": "ko", "fr": "fr", "de": "de", "es": "es"}
LANGUAGES = tuple(TEMPLATE_SETS)


def check_language(language: object, *, allow_auto: bool = True) -> str | None:
    """``language`` as a known code, None for automatic; ClassificationError otherwise (a client's
    string is only ever compared with this table)."""
    if language is None or (allow_auto and language == "auto"):
        return None
    if isinstance(language, str) and language.lower() in TEMPLATE_SETS:
        return language.lower()
    listed = ", ".join(LANGUAGES) + (", auto" if allow_auto else "")
    raise ClassificationError(f"language must be one of {listed}; got {str(language)[:40]!r}")


def detect_language(texts: Iterable[str]) -> str:
    """The language the texts' script says: Japanese where kana appear, Korean for Hangul, Chinese
    for Han characters alone, else English (a Latin script does not tell French from English:
    name those languages)."""
    han = kana = hangul = 0
    for text in texts:
        for char in str(text):
            if not char.isalpha():
                continue
            name = unicodedata.name(char, "")
            if name.startswith("CJK UNIFIED IDEOGRAPH") or name.startswith("CJK COMPATIBILITY IDEOGRAPH"):
                han += 1
            elif name.startswith(("HIRAGANA", "KATAKANA")):
                kana += 1
            elif name.startswith("HANGUL"):
                hangul += 1
    if kana:
        return "ja"
    if hangul and hangul >= han:
        return "ko"
    return "zh" if han else "en"

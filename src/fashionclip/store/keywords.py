"""How keyword search splits texts into words: per index, English words or CJK n-grams.

Chinese, Japanese and Korean write without spaces, so a whitespace tokenizer sees "红色连衣裙"
as one word and a query for "连衣裙" finds nothing. Each store therefore takes a ``keywords``
mode: ``english`` (words, lower-cased, stemmed, stop words dropped), ``cjk`` (runs of CJK
characters as single characters and pairs, what LanceDB's n-gram tokenizer and Milvus's jieba
analyzer give; other words as they are) or ``auto``: ``cjk`` when at least
:data:`CJK_SHARE` of the texts hold CJK characters when the text index is built, else ``english``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import islice

from fashionclip.errors import StoreError

KEYWORD_MODES = ("auto", "english", "cjk")
# a catalogue where one text in 20 is written in CJK is searched in it; fewer are stray brand names
CJK_SHARE = 0.05
SAMPLE = 5000  # texts read to decide

# Han (with extensions and compatibility forms), kana, Hangul syllables and jamo
_CJK = (
    "\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f"
)
_CJK_CHAR = re.compile(f"[{_CJK}]")
_CJK_RUN = re.compile(f"[{_CJK}]+")


def check_keywords(value: object) -> str:
    """``value`` as one of :data:`KEYWORD_MODES`; StoreError otherwise (the value is only compared)."""
    if isinstance(value, str) and value.lower() in KEYWORD_MODES:
        return value.lower()
    raise StoreError(f"keywords must be one of {', '.join(KEYWORD_MODES)}; got {str(value)[:40]!r}")


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds a Chinese, Japanese or Korean character."""
    return bool(_CJK_CHAR.search(text))


def detect(texts: Iterable[str]) -> str:
    """``cjk`` or ``english`` for these texts (the first :data:`SAMPLE` of them decide)."""
    seen = cjk = 0
    for text in islice(texts, SAMPLE):
        seen += 1
        cjk += has_cjk(text or "")
    return "cjk" if seen and cjk >= CJK_SHARE * seen else "english"


def resolve(mode: str, texts: Iterable[str]) -> str:
    """The tokenizer a text index built now uses: ``mode`` unless it is ``auto``."""
    return detect(texts) if mode == "auto" else mode


def split_cjk(text: str) -> tuple[str, list[str]]:
    """``text`` without its CJK runs, and those runs' characters and character pairs (the
    n-grams of LanceDB's ``ngram`` tokenizer with lengths 1-2)."""
    grams: list[str] = []
    for run in _CJK_RUN.findall(text):
        grams.extend(run)
        grams.extend(run[i : i + 2] for i in range(len(run) - 1))
    return _CJK_RUN.sub(" ", text), grams

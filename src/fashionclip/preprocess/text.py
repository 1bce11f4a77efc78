"""Text -> token ids with the checkpoint's own tokenizer (Hugging Face ``tokenizers``).

CLIP checkpoints share OpenAI's byte-pair encoding. Its merges file ships inside
this package, so a CLIP tokenizer can be built without any download: for
checkpoints saved without tokenizer files, and for tests.
"""

from __future__ import annotations

import functools
import gzip
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np

BOS_TOKEN = "<|startoftext|>"
EOS_TOKEN = "<|endoftext|>"
_BPE_FILE = "bpe_simple_vocab_16e6.txt.gz"
# OpenAI's SimpleTokenizer keeps the first 48,894 merges of the file
_N_MERGES = 49152 - 256 - 2


@dataclass(frozen=True)
class Tokens:
    """A padded batch of token ids, (N, L) int64, with its attention mask."""

    input_ids: np.ndarray
    attention_mask: np.ndarray


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte -> printable character table, in CLIP's order."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return {byte: chr(code) for byte, code in zip(printable, codes, strict=True)}


@functools.lru_cache(maxsize=1)
def clip_bpe_vocab() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """CLIP's vocabulary (49,408 ids) and merges, built from the bundled BPE file."""
    raw = resources.files("fashionclip.preprocess").joinpath(_BPE_FILE).read_bytes()
    lines = gzip.decompress(raw).decode("utf-8").split("\n")[1 : _N_MERGES + 1]
    merges = [tuple(line.split()) for line in lines]
    symbols = list(_bytes_to_unicode().values())
    symbols += [s + "</w>" for s in symbols]
    symbols += ["".join(pair) for pair in merges]
    symbols += [BOS_TOKEN, EOS_TOKEN]
    return {s: i for i, s in enumerate(symbols)}, merges  # type: ignore[return-value]


def clip_tokenizer() -> Any:
    """A transformers ``CLIPTokenizer`` built offline from the bundled BPE vocabulary."""
    from transformers import CLIPTokenizer

    vocab, merges = clip_bpe_vocab()
    try:
        return CLIPTokenizer(vocab=vocab, merges=merges)
    except TypeError:  # transformers 4.x: the slow tokenizer reads files only
        return _clip_tokenizer_from_files()


def _clip_tokenizer_from_files() -> Any:
    import json
    import tempfile

    from transformers import CLIPTokenizerFast

    vocab, merges = clip_bpe_vocab()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "vocab.json").write_text(json.dumps(vocab))
        (Path(tmp) / "merges.txt").write_text("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges))
        return CLIPTokenizerFast(vocab_file=f"{tmp}/vocab.json", merges_file=f"{tmp}/merges.txt")


def check_texts(texts: Sequence[Any]) -> list[str]:
    """The texts as a list, or TypeError naming the first non-string and its position."""
    out = list(texts)
    for index, text in enumerate(out):
        if not isinstance(text, str):
            raise TypeError(f"text #{index} is {type(text).__name__} ({text!r:.60}), expected str")
    return out


class Tokenizer(Protocol):
    """What the encoder needs from a tokenizer: texts in, a padded batch out."""

    context_length: int

    def __call__(self, texts: Sequence[str]) -> Tokens: ...


class TextTokenizer:
    """Wraps a Hugging Face tokenizer: truncation at the context length, padding per batch.

    ``pad_to_context_length`` is for models trained with fixed-length padding
    (SigLIP); CLIP's causal text tower ignores padding, so batches are padded
    only to their longest text.
    """

    def __init__(self, tokenizer: Any, context_length: int, *, pad_to_context_length: bool = False) -> None:
        self.tokenizer = tokenizer
        self.context_length = context_length
        self.pad_to_context_length = pad_to_context_length

    def __call__(self, texts: Sequence[str]) -> Tokens:
        texts = check_texts(texts)
        encoded = self.tokenizer(
            texts,
            padding="max_length" if self.pad_to_context_length else "longest",
            truncation=True,
            max_length=self.context_length,
            return_tensors="np",
        )
        ids = np.asarray(encoded["input_ids"], dtype=np.int64)
        mask = encoded.get("attention_mask")
        mask = np.ones_like(ids) if mask is None else np.asarray(mask, dtype=np.int64)
        return Tokens(ids, mask)

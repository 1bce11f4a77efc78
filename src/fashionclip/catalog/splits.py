"""The train / validation split rule: a hash of each item's key decides its side, so an item
keeps its side when the catalogue grows or is reordered. Training splits its data with it, and
evaluation finds the bundled model's held-out items with the same rule."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def in_validation(key: str, fraction: float, salt: str = "") -> bool:
    """Whether the item with split ``key`` falls on the validation side at ``fraction``."""
    digest = hashlib.sha1(f"{salt}{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def split_keys(keys: Sequence[str], fractions: float | Sequence[float], salt: str = "") -> tuple[list[int], list[int]]:
    """(train indices, validation indices) of ``keys``; ``fractions`` is one validation fraction
    for all keys or one per key."""
    if isinstance(fractions, (int, float)):
        fractions = [float(fractions)] * len(keys)
    if len(fractions) != len(keys):
        raise ValueError(f"{len(keys)} keys but {len(fractions)} fractions")
    train: list[int] = []
    val: list[int] = []
    for index, (key, fraction) in enumerate(zip(keys, fractions, strict=True)):
        (val if in_validation(key, fraction, salt) else train).append(index)
    return train, val

"""The plan of an indexing run, from content hashes alone (no I/O): which items to embed, which
rows to rewrite with their stored vector, which are unchanged or failed, and which stored items
to delete. Both executors (:mod:`~fashionclip.indexing.local`, :mod:`~fashionclip.indexing.ray`)
follow it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Final

from fashionclip.catalog.reader import NOT_A_NUMBER, CatalogData, CatalogItem, Problem, to_number
from fashionclip.errors import ImageLoadError
from fashionclip.indexing.hashes import content_hash, row_hash, vector_part

# what becomes of an item; the values are written into the Ray executor's shards, so they stay
EMBED: Final = "embedded"  # new, or its image, text or model changed: embed it
REWRITE: Final = "rewrite"  # only its row changed (image reference, metadata): keep the stored vector
UNCHANGED: Final = "unchanged"
FAILED: Final = "failed"  # its image could not be read or decoded: it keeps whatever entry it had


@dataclass(frozen=True)
class Decision:
    """What to do with one item, its new content hash ("" when its image could not be read) and,
    for a failure, why."""

    action: str
    content_hash: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Step:
    """One catalogue item with its decision, and the image bytes an embedding needs."""

    item: CatalogItem
    action: str
    content_hash: str = ""
    reason: str = ""
    image: bytes | None = None

    @property
    def problem(self) -> Problem:
        """How a failed step is reported."""
        return Problem(f"item {self.item.id!r}", self.reason, self.item.id)

    def undecodable(self, reason: str) -> Step:
        """This step, failed: its image read but did not decode, for ``reason``."""
        return replace(self, action=FAILED, reason=undecodable(self.item.image, reason), image=None)


def undecodable(image: str | None, reason: str) -> str:
    """The problem text of an image that was read but could not be decoded."""
    return f"image {image}: {reason}"


def decide(image: bytes | ImageLoadError | None, text: str, row: str, stored: str | None, model_key: str) -> Decision:
    """The decision for an item from its image bytes (or why they could not be read, or None for a
    text-only item), its text, its row hash, the content hash stored for it (None if it is not in
    the index) and the model's hash key."""
    if isinstance(image, ImageLoadError):
        return Decision(FAILED, "", f"image {image.reason}")
    new = content_hash(image, text, row, model_key)
    if stored == new:
        return Decision(UNCHANGED, new)
    if stored is not None and vector_part(stored) == vector_part(new):
        return Decision(REWRITE, new)
    return Decision(EMBED, new)


def plan_item(item: CatalogItem, image: bytes | ImageLoadError | None, stored: str | None, model_key: str) -> Step:
    """:func:`decide` for a catalogue item; the step keeps the image bytes it will be embedded from."""
    decision = decide(image, item.text, row_hash(item), stored, model_key)
    data = image if decision.action == EMBED and isinstance(image, bytes) else None
    return Step(item, decision.action, decision.content_hash, decision.reason, data)


def plan_row(item: CatalogItem, stored: str) -> Step:
    """The step of a stored item whose image and text did not change (an update that gave neither):
    its stored embedding hash with its new row hash. No image is read and nothing is embedded."""
    new = f"{vector_part(stored)}:{row_hash(item)}"
    return Step(item, UNCHANGED if new == stored else REWRITE, new)


def typed_items(items: Sequence[CatalogItem], numeric: Sequence[str]) -> tuple[list[CatalogItem], list[Problem]]:
    """The items with their values converted to the index's numeric columns, and a problem for each
    item whose value does not convert (it keeps whatever entry it had)."""
    good: list[CatalogItem] = []
    problems: list[Problem] = []
    for item in items:
        values = {n: to_number(item.metadata[n]) for n in numeric if isinstance(item.metadata.get(n), str)}
        bad = next((n for n, v in values.items() if v is NOT_A_NUMBER), None)
        if bad is not None:
            reason = f"column {bad!r} holds {item.metadata[bad]!r}, not a number (the index holds numbers there)"
            problems.append(Problem(f"item {item.id!r}", reason, item.id))
        else:
            good.append(replace(item, metadata={**item.metadata, **values}) if values else item)
    return good, problems


def deletions(stored: Iterable[str], catalog: CatalogData) -> list[str]:
    """The stored ids gone from ``catalog``. A row the reader skipped with a problem is still in the
    catalogue: its entry stays."""
    keep = {item.id for item in catalog.items} | {p.id for p in catalog.problems if p.id}
    return [item_id for item_id in stored if item_id not in keep]

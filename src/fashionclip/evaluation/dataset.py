"""The one record every evaluation dataset loader returns."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fashionclip.errors import DatasetError, EvaluationError

__all__ = ["DatasetError", "EvalDataset", "EvaluationError"]  # the errors live in fashionclip.errors


@dataclass
class EvalDataset:
    """Items to evaluate on: one image each, and whatever annotations the dataset has.

    ``images[i]`` is anything :meth:`Encoder.encode_images` accepts (a path, URL,
    bytes or a uint8 array); ``ids[i]`` is unique. Optional, each aligned with the
    items: ``captions`` (text->image / image->text retrieval), ``labels``
    (attribute name -> one class name per item, None where unknown: zero-shot
    classification, category->product retrieval, linear probe), ``tags`` (several
    labels per item: tag->image retrieval), ``products`` (a product id shared by
    the photos of one product: image->image retrieval) and ``split`` ("train" /
    "test", or "query" / "gallery", when the dataset defines its own).
    """

    name: str
    ids: list[str]
    images: list[Any]
    captions: list[str] | None = None
    labels: dict[str, list[str | None]] = field(default_factory=dict)
    tags: list[list[str]] | None = None
    products: list[str] | None = None
    split: list[str] | None = None
    # EvalOptions fields for this dataset only (``attribute``, ``top_classes``, ...)
    task_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        count = len(self.ids)
        if len(self.images) != count:
            raise DatasetError(f"dataset {self.name!r}: {count} ids but {len(self.images)} images")
        for what, values in (("captions", self.captions), ("tags", self.tags), ("products", self.products)):
            if values is not None and len(values) != count:
                raise DatasetError(f"dataset {self.name!r}: {count} items but {len(values)} {what}")
        if self.split is not None and len(self.split) != count:
            raise DatasetError(f"dataset {self.name!r}: {count} items but {len(self.split)} split entries")
        for column, values in self.labels.items():
            if len(values) != count:
                raise DatasetError(f"dataset {self.name!r}: {count} items but {len(values)} {column!r} labels")
        if len(set(self.ids)) != count:
            seen: set[str] = set()
            duplicate = next(i for i in self.ids if i in seen or seen.add(i))  # type: ignore[func-returns-value]
            raise DatasetError(f"dataset {self.name!r}: id {duplicate!r} appears more than once")

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, indices: Sequence[int], name: str | None = None) -> EvalDataset:
        """The items at ``indices``, in that order, with all their annotations."""
        pick = list(indices)

        def take(values: list | None) -> list | None:
            return None if values is None else [values[i] for i in pick]

        return EvalDataset(
            name=name or self.name,
            ids=[self.ids[i] for i in pick],
            images=[self.images[i] for i in pick],
            captions=take(self.captions),
            labels={column: [values[i] for i in pick] for column, values in self.labels.items()},
            tags=take(self.tags),
            products=take(self.products),
            split=take(self.split),
            task_options=dict(self.task_options),
        )

    def fingerprint(self) -> str:
        """A hash of the ids and image references (paths, or the bytes' hashes), for caches."""
        digest = hashlib.sha256()
        for item_id, image in zip(self.ids, self.images, strict=True):
            digest.update(item_id.encode())
            digest.update(b"\0")
            if isinstance(image, (bytes, bytearray, memoryview)):
                digest.update(hashlib.sha256(bytes(image)).digest())
            elif hasattr(image, "tobytes"):  # numpy arrays, PIL images
                digest.update(hashlib.sha256(image.tobytes()).digest())
            else:
                digest.update(str(image).encode())
            digest.update(b"\1")
        return digest.hexdigest()[:16]

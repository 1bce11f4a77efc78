"""The vector store protocols (the core every store implements, and the browsing the server's page
needs), the records a store holds and the checks every store shares."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from fashionclip.errors import ModelMismatchError, StoreError
from fashionclip.reserved_columns import RESERVED_COLUMNS
from fashionclip.store.filters import FilterSpec, check_column_name

__all__ = [  # RESERVED_COLUMNS lives in fashionclip.reserved_columns; this import place stays
    "RESERVED_COLUMNS",
    "Browsable",
    "Facet",
    "Hit",
    "IndexInfo",
    "Records",
    "Value",
    "VectorStore",
    "browsable",
]

Value = str | int | float | None


@dataclass(frozen=True)
class IndexInfo:
    """What made an index's vectors: the model's name (a local folder's absolute path), the
    embedding dimension, and the checkpoint's content key (:func:`fashionclip.identity.checkpoint_id`;
    "" where unknown, as in indexes written before it was recorded)."""

    model: str
    dim: int
    checkpoint: str = ""


@dataclass
class Records:
    """A batch of items to add: one row per id; ``vectors`` is float32 (N, D), L2-normalised."""

    ids: list[str]
    vectors: np.ndarray
    images: list[str | None]
    texts: list[str]
    hashes: list[str]
    metadata: dict[str, list[Value]] = field(default_factory=dict)
    vector_sources: list[str] | None = None  # "image" or "text" (an item with no image)

    def __post_init__(self) -> None:
        n = len(self.ids)
        if self.vectors.ndim != 2 or self.vectors.shape[0] != n:
            raise StoreError(f"records: vectors of shape {self.vectors.shape} for {n} ids")
        if self.vector_sources is None:
            self.vector_sources = ["image" if image else "text" for image in self.images]
        lengths = {len(self.images), len(self.texts), len(self.hashes), len(self.vector_sources)}
        lengths |= {len(v) for v in self.metadata.values()}
        if lengths != {n}:
            raise StoreError(f"records: columns of unequal length for {n} ids")
        if len(set(self.ids)) != n:
            raise StoreError("records: duplicate ids in one batch")
        for name in self.metadata:
            check_column_name(name)
            if name in RESERVED_COLUMNS:
                raise StoreError(f"records: metadata column {name!r} is a name the index keeps for itself")

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Hit:
    """One search result: id, score (higher is better), image reference, text and metadata."""

    id: str
    score: float
    image: str | None
    text: str
    metadata: dict[str, Value]
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        metadata = {name: shown_value(value) for name, value in self.metadata.items()}
        return {"id": self.id, "score": self.score, "image": self.image, "text": self.text, **metadata}


def shown_value(value: Value) -> Value:
    """A metadata value as JSON shows it: numeric columns are stored as floats, but a whole number
    is shown as one (``"year": 2012``, not ``2012.0``); a NaN or infinity is missing (null)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
    return value


@runtime_checkable
class VectorStore(Protocol):
    """What indexing and search need from a store. Scores are inner products of normalised vectors."""

    @property
    def location(self) -> str:
        """Where the store lives, the same on every run (a resolved folder, a collection's URI,
        ``:memory:``): a key for what is cached about it, and what messages name."""

    def info(self) -> IndexInfo | None:
        """The model and dimension of the stored vectors (None while empty and unclaimed)."""

    def claim(self, info: IndexInfo) -> None:
        """Record ``info`` for an empty store; raise ModelMismatchError if it holds another model's vectors."""

    def columns(self) -> dict[str, str]:
        """Metadata columns and their kinds ("numeric" or "text")."""

    def add(self, records: Records, *, new: bool = False) -> None:
        """Insert or replace (by id) a batch, atomically. ``new=True`` promises that no id is
        stored yet, which lets a store append instead of merging."""

    def delete(self, ids: Sequence[str]) -> int:
        """Remove items by id; returns how many were there."""

    def set_text_metadata(self, ids: Sequence[str], columns: dict[str, list[str]], *, overwrite: bool = False) -> int:
        """Write text metadata (e.g. zero-shot tags) for stored items, adding new (nullable) tag
        columns; vectors and other columns stay. A catalogue column is refused unless
        ``overwrite``. Returns how many ids were stored."""

    def count(self, where: FilterSpec = None) -> int:
        """How many items (matching ``where``)."""

    def hashes(self, ids: Sequence[str] | None = None) -> dict[str, str]:
        """id -> content hash of every stored item, or of those of ``ids`` that are stored (a
        feed of a few rows reads only theirs)."""

    def get(self, ids: Sequence[str], *, with_vectors: bool = False) -> list[Hit]:
        """The stored items with these ids (score 1.0), in the order asked; unknown ids are left out."""

    def search(
        self, vector: np.ndarray, k: int, *, where: FilterSpec = None, offset: int = 0, with_vectors: bool = False
    ) -> list[Hit]:
        """The ``k`` items nearest to ``vector`` after skipping ``offset``, filter applied in the store."""

    def keyword_search(self, query: str, k: int, *, where: FilterSpec = None, offset: int = 0) -> list[Hit]:
        """BM25 ranking of the items' texts for ``query``."""

    def optimize(self) -> None:
        """Bring the store's indices up to date after a run of writes (indexing calls it at the end)."""


@runtime_checkable
class Browsable(Protocol):
    """What the search page needs beyond the core: the values to build filter controls from, and
    the folders images are served from."""

    def facets(self, max_values: int = 50) -> dict[str, Facet]:
        """What each metadata column holds, to build filter controls (see :func:`summarise_column`)."""

    def image_folders(self) -> set[str]:
        """The distinct folders of the stored items' local image paths (URLs left out)."""


def browsable(store: VectorStore) -> Browsable:
    """``store`` as a :class:`Browsable`, or StoreError naming what it cannot do."""
    if not isinstance(store, Browsable):
        raise StoreError(f"{type(store).__name__} cannot list its facets and image folders for the search page")
    return store


@dataclass(frozen=True)
class Facet:
    """A metadata column's contents: a text column's distinct values (sorted by how many items hold
    them; ``complete`` is False when there were more than asked for), a numeric column's range."""

    column: str
    kind: str
    values: list[str] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    complete: bool = True
    min: float | None = None
    max: float | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "numeric":
            return {"column": self.column, "kind": self.kind, "min": self.min, "max": self.max}
        return {
            "column": self.column,
            "kind": self.kind,
            "values": self.values,
            "counts": self.counts,
            "complete": self.complete,
        }


def summarise_column(column: str, kind: str, values: Sequence[Value] | np.ndarray, max_values: int) -> Facet:
    """A :class:`Facet` of one column's values; empty and missing values are left out."""
    if kind == "numeric":
        numbers = np.asarray([v for v in values if v is not None], dtype=np.float64)
        numbers = numbers[np.isfinite(numbers)]
        if not len(numbers):
            return Facet(column, kind)
        return Facet(column, kind, min=float(numbers.min()), max=float(numbers.max()))
    texts = [str(v) for v in values if v is not None and str(v) != ""]
    unique, counts = np.unique(np.asarray(texts, dtype=object), return_counts=True) if texts else ([], [])
    order = sorted(range(len(unique)), key=lambda i: (-int(counts[i]), str(unique[i])))
    kept = order[:max_values]
    return Facet(
        column,
        kind,
        values=[str(unique[i]) for i in kept],
        counts=[int(counts[i]) for i in kept],
        complete=len(order) <= max_values,
    )


def check_records(info: IndexInfo | None, records: Records) -> IndexInfo:
    """The store's claimed model, after checking that ``records`` fit it."""
    if info is None:
        raise RuntimeError("claim() the store for a model before adding")
    if records.vectors.shape[1] != info.dim:
        raise StoreError(f"records of dim {records.vectors.shape[1]} for an index of dim {info.dim}")
    for column, values in records.metadata.items():
        # NaN stands for missing; an infinity has no SQL literal, JSON value or facet range
        for infinity in (math.inf, -math.inf):
            if infinity in values:  # a C-level scan; the item is looked up only when there is one
                item = records.ids[list(values).index(infinity)]
                raise StoreError(f"item {item!r}: column {column!r} holds {infinity}, not a finite number")
    return info


def column_kind(values: Sequence[Value]) -> str:
    """ "numeric" when every value given is a number (bools are not), else "text"."""
    filled = [v for v in values if v is not None]
    if filled and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in filled):
        return "numeric"
    return "text"


def check_claim(current: IndexInfo | None, wanted: IndexInfo, where: str) -> None:
    """Refuse to mix models or dimensions in one index. Where both sides know the checkpoint's
    content, it decides (whatever the name it was loaded by: a moved folder is the same model,
    new weights in the same folder are not); else the names do."""
    if current is None or same_model(current, wanted):
        return
    if current.model == wanted.model and current.dim == wanted.dim:
        raise ModelMismatchError(
            f"{where} was built with other weights of {current.model!r} (checkpoint {current.checkpoint}, now "
            f"{wanted.checkpoint}): its vectors no longer match the model's queries. Index into a new path "
            "(or delete this index) to embed everything again, or load the weights it was built with."
        )
    raise ModelMismatchError(
        f"{where} holds vectors of model {current.model!r} (dim {current.dim}); "
        f"refusing to mix in {wanted.model!r} (dim {wanted.dim}). Use another index path or rebuild it."
    )


def same_model(a: IndexInfo, b: IndexInfo) -> bool:
    """Whether two claims are one model: the same checkpoint content where both know it."""
    if a.dim != b.dim:
        return False
    if a.checkpoint and b.checkpoint:
        return a.checkpoint == b.checkpoint
    return a.model == b.model or _same_folder(a.model, b.model)


def _same_folder(a: str, b: str) -> bool:
    """Two spellings of one model folder (an index written before checkpoints were recorded holds
    the spelling it was built with)."""
    first, second = (Path(n[len("local-dir:") :] if n.startswith("local-dir:") else n).expanduser() for n in (a, b))
    return first.is_dir() and second.is_dir() and first.resolve() == second.resolve()


def check_query(vector: np.ndarray, dim: int | None, k: int, offset: int) -> np.ndarray:
    """A float32 (D,) query vector, or StoreError for a bad shape, k or offset."""
    check_paging(k, offset, StoreError)
    query = np.asarray(vector, dtype=np.float32)
    if query.ndim != 1 or (dim is not None and query.shape[0] != dim):
        raise StoreError(f"query vector of shape {query.shape}; the index holds {dim}-dimensional vectors")
    if not np.all(np.isfinite(query)):
        raise StoreError("query vector holds NaN or infinite values")
    return query


def check_paging(k: object, offset: object, error: type[Exception]) -> None:
    """Raise ``error`` unless ``k`` is a positive and ``offset`` a non-negative integer."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise error(f"k must be a positive integer, got {k!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise error(f"offset must be a non-negative integer, got {offset!r}")


def check_text_columns(
    ids: Sequence[str],
    columns: dict[str, list[str]],
    kinds: dict[str, str],
    tags: Collection[str],
    overwrite: bool = False,
) -> None:
    """Refuse what would corrupt an index: a base or numeric column, a catalogue column (unless
    ``overwrite``: tags written there would replace the catalogue's own values, and re-indexing
    would not bring them back), a bad name, uneven lengths. ``tags``: the columns tags were
    written to before."""
    for name, values in columns.items():
        check_column_name(name)
        if name in RESERVED_COLUMNS:
            raise StoreError(f"column {name!r} is the index's own; choose another name for tags")
        if kinds.get(name) == "numeric":
            raise StoreError(f"column {name!r} holds numbers in this index; tags are text")
        if name in kinds and name not in tags and not overwrite:
            raise StoreError(
                f"column {name!r} is a catalogue column of this index: tags written there would replace its "
                "values; give the tags another name (classify --name or --prefix), or overwrite it on purpose "
                "(classify --overwrite, overwrite=True)"
            )
        if len(values) != len(ids):
            raise StoreError(f"column {name!r}: {len(values)} values for {len(ids)} ids")

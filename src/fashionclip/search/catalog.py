"""``Catalog``: one object to index a product catalogue and search it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from fashionclip.catalog.reader import CatalogData, ColumnMap, read_catalog
from fashionclip.encoder import Encoder
from fashionclip.errors import QueryError
from fashionclip.indexing import IndexReport, RayOptions, check_engine, index_catalog
from fashionclip.indexing.hashes import index_info
from fashionclip.indexing.update import check_ids, feed_of, update_catalog
from fashionclip.preprocess.image import ImageInput
from fashionclip.registry import DEFAULT_MODEL
from fashionclip.search.ranking import collapse_duplicates, fuse_rrf, mmr
from fashionclip.store.base import Hit, VectorStore, check_claim, check_paging
from fashionclip.store.filters import FilterSpec
from fashionclip.store.uri import MEMORY, open_store


class Catalog:
    """A searchable catalogue: a vector store plus the encoder that made its vectors.

    >>> catalog = Catalog.open("catalog.lance", model="fashion-clip-mini")
    >>> catalog.index("products.csv")
    >>> catalog.update([{"id": "1163", "price": 19.5}])  # a price feed: no image read, nothing embedded
    >>> catalog.search("light red midi dress", where={"gender": "Women"}, k=5)
    """

    def __init__(self, store: VectorStore, encoder: Encoder | None = None) -> None:
        self.store = store
        self._encoder = encoder

    @classmethod
    def open(cls, db: str | Path = MEMORY, model: str | Encoder | None = None, **load_options: Any) -> Catalog:
        """Open (or create) the index at ``db``: a LanceDB directory, ``":memory:"`` for the exact
        in-memory store, ``milvus-lite:PATH`` or ``milvus://HOST:PORT/COLLECTION`` (see
        :mod:`fashionclip.store.uri`).

        ``model`` defaults to the model the index was built with, else the default model (the bundled
        ``fashion-clip-mini``).
        """
        store = open_store(db)
        if model is not None and not isinstance(model, str):
            return cls(store, model)  # an Encoder, or any object with its embedding methods
        info = store.info()
        name = model or (info.model if info else DEFAULT_MODEL)
        if model is None and info is not None and Path(name).is_absolute() and not Path(name).exists():
            raise QueryError(
                f"this index was built with the model folder {name!r}, which is not there any more; "
                "give the folder's new place (model=..., --model): its weights are checked against the index"
            )
        from fashionclip.loading import load_model

        return cls(store, load_model(name, **load_options))

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            raise QueryError("this catalog has no encoder; open it with a model to embed queries")
        return self._encoder

    def __len__(self) -> int:
        return self.store.count()

    def __repr__(self) -> str:
        return f"Catalog({self.store!r})"

    # ------------------------------------------------------------------ indexing
    def index(
        self,
        source: str | Path | CatalogData,
        columns: ColumnMap = ColumnMap(),
        *,
        root: str | Path | None = None,
        batch_size: int = 256,
        delete_missing: bool = True,
        show_progress: bool | None = None,
        engine: str = "local",
        ray: RayOptions | None = None,
        strict: bool = False,
    ) -> IndexReport:
        """Index a catalogue file or folder (see :func:`fashionclip.catalog.read_catalog`), incrementally.
        The report's ``warnings`` name what looks wrong with the file as a whole (no image column
        found, a column kept as text by a few values); ``strict`` makes them, and any bad row, errors.

        ``engine="ray"`` embeds with Ray Data (``ray``: :class:`fashionclip.indexing.RayOptions`,
        the cluster address, workers and GPUs); the result is the same index (see
        :func:`fashionclip.indexing.index_catalog`).
        """
        check_engine(engine)  # before reading what may be a large file
        if isinstance(source, CatalogData):
            data = source
        else:
            numeric = [name for name, kind in self.store.columns().items() if kind == "numeric"]
            data = read_catalog(source, columns, root=root, known_numeric=numeric, strict=strict)
        return index_catalog(
            self.store,
            self.encoder,
            data,
            engine=engine,
            ray=ray,
            batch_size=batch_size,
            delete_missing=delete_missing,
            show_progress=show_progress,
        )

    def update(
        self,
        rows: str | Path | CatalogData | Iterable[Mapping[str, Any]] | Any,
        columns: ColumnMap = ColumnMap(),
        *,
        delete: Iterable[str] = (),
        root: str | Path | None = None,
        new_columns: bool = False,
        skip_unknown: bool = False,
        image_refs: bool = True,
        batch_size: int = 256,
        show_progress: bool | None = None,
        optimize: bool = False,
    ) -> IndexReport:
        """Apply rows keyed by id, whole or partial (a price or stock feed: ``[{"id": "d1",
        "price": 35}]``), then remove the ``delete`` ids. ``rows``: a catalogue file or folder, a
        :class:`CatalogData`, a DataFrame or a list of mappings; ``columns`` as for :meth:`index`.

        A row for a stored product changes only the columns it gives. Unless it gives an image or
        a new text, no image is read and nothing is embedded: the row is written back with its
        stored vector. A row for an id not in the index adds a product (it needs an image or a
        text). Nothing is deleted for being absent from ``rows``.

        Refused before anything is written (CatalogError naming the item and the problem): a bad
        id or value, a column the index lacks (unless ``new_columns``), an id not in the index
        that cannot become a product (unless ``skip_unknown``: then it is skipped and reported in
        ``problems``), an image reference when not ``image_refs``. Unreadable images are reported
        in ``problems``; the item keeps its entry. ``optimize``: bring the store's indices up to
        date afterwards, as :meth:`index` does. See :mod:`fashionclip.indexing.update`.
        """
        return update_catalog(
            self.store,
            self.encoder,
            feed_of(rows, root),
            columns,
            delete=check_ids(delete, "delete"),
            new_columns=new_columns,
            skip_unknown=skip_unknown,
            image_refs=image_refs,
            batch_size=batch_size,
            show_progress=show_progress,
            optimize=optimize,
        )

    def delete(self, ids: Iterable[str]) -> int:
        """Remove products by id; returns how many were in the index (an id that is not is no
        error: it is gone either way). CatalogError for something that is no id."""
        return self.store.delete(check_ids(ids, "delete"))

    # ------------------------------------------------------------------ search
    def search(
        self,
        text: str | None = None,
        *,
        image: ImageInput | None = None,
        like: str | None = None,
        image_weight: float = 0.5,
        where: FilterSpec = None,
        k: int = 10,
        offset: int = 0,
        keyword_weight: float = 0.0,
        diversity: float = 0.0,
        dedupe: float | None = None,
    ) -> list[Hit]:
        """Products for a text, an image, a product id (``like``), or a text with an image.

        - ``image_weight``: share of the image (or ``like`` product) in a composed query
          ("like this, but in red": ``search("red", image=photo, image_weight=0.6)``).
        - ``where``: metadata filter, applied inside the store (see :mod:`fashionclip.store.filters`).
        - ``keyword_weight``: 0 = vectors only, 1 = BM25 keyword search on ``text`` only; in between,
          reciprocal rank fusion of both with weights ``1 - w`` and ``w``.
        - ``diversity``: MMR trade-off (0 = pure relevance); ``dedupe``: cosine above which a
          lower-ranked near-duplicate is dropped (e.g. 0.98).
        """
        for name, value in (
            ("image_weight", image_weight),
            ("keyword_weight", keyword_weight),
            ("diversity", diversity),
        ):
            if not _number_within(value, 0.0, 1.0, low_open=False):
                raise QueryError(f"{name} must be within [0, 1], got {value!r}")
        if dedupe is not None and not _number_within(dedupe, 0.0, 1.0, low_open=True):
            raise QueryError(f"dedupe must be within (0, 1], got {dedupe!r}")
        check_paging(k, offset, QueryError)
        if text is not None and not text.strip():
            raise QueryError("empty text query")
        if text is None and image is None and like is None:
            raise QueryError("give a text, an image or a product id (like=) to search for")
        if keyword_weight > 0 and text is None:
            raise QueryError("keyword search needs a text query")

        wanted = k + offset
        reranked = diversity > 0 or dedupe is not None
        pool = max(50, 4 * wanted) if reranked or 0 < keyword_weight < 1 else wanted
        exclude = {like} if like else set()

        if keyword_weight >= 1.0:
            return self.store.keyword_search(text, k, where=where, offset=offset)  # type: ignore[arg-type]
        vector = self._query_vector(text, image, like, image_weight)
        # fetch one more when the query product itself may come back
        hits = self.store.search(vector, pool + len(exclude), where=where, with_vectors=reranked)
        hits = [h for h in hits if h.id not in exclude]
        if keyword_weight > 0:
            words = self.store.keyword_search(text, pool, where=where)  # type: ignore[arg-type]
            if reranked:
                words = self.store.get([h.id for h in words], with_vectors=True)
            hits = fuse_rrf([hits, [h for h in words if h.id not in exclude]], [1 - keyword_weight, keyword_weight])
        if dedupe is not None:
            hits = collapse_duplicates(hits, dedupe)
        if diversity > 0:
            hits = mmr(hits, wanted, diversity)
        return [_without_vector(h) for h in hits[offset:wanted]]

    def navigate(
        self,
        like: str,
        toward: str,
        *,
        away: str | None = None,
        steps: int = 5,
        step_size: float = 0.25,
        k: int = 3,
        where: FilterSpec = None,
        distinct: bool = True,
    ) -> list[list[Hit]]:
        """Latent navigation ("GradedRecs"): start at product ``like``'s embedding, move it ``steps``
        times by ``step_size`` along the text direction ``toward`` (minus ``away``, e.g. "darker"
        away from "lighter"), and return the ``k`` nearest products at each step (the start
        product left out; with ``distinct``, no product twice)."""
        if not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= 50:
            raise QueryError(f"steps must be an integer in [1, 50], got {steps!r}")
        if not _number_within(step_size, 0.0, 2.0, low_open=True):
            raise QueryError(f"step_size must be within (0, 2], got {step_size!r}")
        check_paging(k, 0, QueryError)
        for name, text in (("toward", toward), ("away", away)):
            if text is not None and (not isinstance(text, str) or not text.strip()):
                raise QueryError(f"{name} must be a non-empty text")
        start = self._query_vector(None, None, like, 1.0)
        direction = self.encoder.encode_texts(toward)
        if away is not None:
            direction = direction - self.encoder.encode_texts(away)
        norm = float(np.linalg.norm(direction))
        if norm < 1e-6:
            raise QueryError(f"{toward!r} and {away!r} embed alike: no direction to move along")
        direction = direction / norm
        seen = {like}
        path = []
        for step in range(1, steps + 1):
            point = start + step * step_size * direction
            point = (point / np.linalg.norm(point)).astype(np.float32)
            hits = self.store.search(point, k + len(seen), where=where)
            found = [h for h in hits if h.id not in seen][:k]
            if distinct:
                seen.update(h.id for h in found)
            path.append(found)
        return path

    def keyword_search(self, text: str, *, where: FilterSpec = None, k: int = 10, offset: int = 0) -> list[Hit]:
        """BM25 keyword search over titles/captions."""
        return self.search(text, where=where, k=k, offset=offset, keyword_weight=1.0)

    def _query_vector(
        self, text: str | None, image: ImageInput | None, like: str | None, image_weight: float
    ) -> np.ndarray:
        # another model's queries would rank noise
        check_claim(self.store.info(), index_info(self.encoder), "this index")
        visual: list[np.ndarray] = []  # the image and/or the product named by `like`, equal shares
        if image is not None:
            visual.append(self.encoder.encode_images(image))
        if like is not None:
            found = self.store.get([like], with_vectors=True)
            if not found:
                raise QueryError(f"no product with id {like!r} in the index")
            visual.append(found[0].vector)  # type: ignore[arg-type]
        parts: list[tuple[np.ndarray, float]] = []
        if text is not None:
            parts.append((self.encoder.encode_texts(text), 1.0 - image_weight if visual else 1.0))
        share = (image_weight if text is not None else 1.0) / max(1, len(visual))
        parts.extend((v, share) for v in visual)
        vector = sum(w * v for v, w in parts)
        norm = float(np.linalg.norm(vector))
        if norm == 0:
            raise QueryError("the query parts cancel out (weights of 0?); give a non-zero weight")
        return (vector / norm).astype(np.float32)


def _number_within(value: object, low: float, high: float, *, low_open: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return False
    return (low < value if low_open else low <= value) and value <= high


def _without_vector(hit: Hit) -> Hit:
    if hit.vector is None:
        return hit
    return Hit(hit.id, hit.score, hit.image, hit.text, hit.metadata)

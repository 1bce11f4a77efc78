"""The full-text seam of the LanceDB store: LanceDB's BM25 index on the items' texts, made on the
first keyword query (or by ``optimize``) and kept up to date by ``optimize``.

Its tokenizer follows the store's ``keywords`` mode (:mod:`fashionclip.store.keywords`): English
words (lower-cased, stemmed, stop words dropped) or, for CJK catalogues, LanceDB's n-gram
tokenizer with lengths 1-2 (a character and a pair of characters). The mode the index was
built with is kept in the ``text`` field's metadata, so a later process rebuilds it only when
asked for another mode (or, under ``auto``, when ``optimize`` finds the texts changed script)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fashionclip.store.base import Hit
from fashionclip.store.filters import FilterSpec
from fashionclip.store.keywords import SAMPLE, check_keywords, resolve
from fashionclip.store.lance.table import LanceTable

_MODE_KEY = "fashionclip.keywords"  # field metadata of ``text``: the mode its index was built with


def _nothing() -> None:
    return None


def _config(mode: str) -> Any:
    from lancedb.index import FTS

    if mode == "cjk":
        # every character and pair: no stemming or stop words, which are English rules
        return FTS(
            base_tokenizer="ngram",
            ngram_min_length=1,
            ngram_max_length=2,
            lower_case=True,
            stem=False,
            remove_stop_words=False,
        )
    return FTS(base_tokenizer="simple", lower_case=True, stem=True, remove_stop_words=True)


class TextIndex:
    """Keyword (BM25) search over a :class:`LanceTable`'s ``text`` column."""

    def __init__(
        self, table: LanceTable, keywords: str = "auto", *, before_build: Callable[[], None] = _nothing
    ) -> None:
        self.table = table
        self.keywords = check_keywords(keywords)
        self.before_build = before_build  # the store settles its table's background upkeep

    def search(self, query: str, k: int, where: FilterSpec, offset: int) -> list[Hit]:
        """The ``k`` best-ranked hits after ``offset`` (the table holds rows; ``query`` is not blank)."""
        table = self.table
        self.ensure()
        search = table.handle.search(query, query_type="fts", fts_columns="text")
        sql = table.where(where)
        if sql:
            search = search.where(sql, prefilter=True)
        rows = search.select([*table.fields(False), "_score"]).limit(k + offset).to_arrow().to_pylist()
        hits = sorted((table.hit(row, float(row["_score"]), False) for row in rows), key=lambda h: (-h.score, h.id))
        return hits[offset:]

    def built_mode(self) -> str | None:
        """The mode of the index on disk: None without one; ``english`` for one built before modes."""
        handle = self.table.handle
        if handle is None or not [i for i in handle.list_indices() if i.columns == ["text"]]:
            return None
        metadata = handle.schema.field("text").metadata or {}
        return metadata.get(_MODE_KEY.encode(), b"english").decode()

    def ensure(self, *, recheck: bool = False) -> None:
        """Make the text index if the table has none, or has one of another mode than asked for;
        ``recheck``: under ``auto``, read the texts again to decide (``optimize`` does)."""
        built = self.built_mode()
        if built is not None and (self.keywords == built or (self.keywords == "auto" and not recheck)):
            return
        mode = resolve(self.keywords, self._texts())
        if mode == built:
            return
        self.before_build()
        handle = self.table.handle
        handle.create_index("text", config=_config(mode), replace=True)
        handle.update_field_metadata({"path": "text", "metadata": {_MODE_KEY: mode}})
        self.table.changed()

    def _texts(self) -> list[str]:
        rows = self.table.handle.search().select(["text"]).limit(SAMPLE).to_arrow()
        return [text or "" for text in rows.column("text").to_pylist()]

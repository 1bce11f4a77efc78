"""The full-text seam of the LanceDB store: LanceDB's BM25 index on the items' texts, made on the
first keyword query (or by ``optimize``) and kept up to date by ``optimize``."""

from __future__ import annotations

from fashionclip.store.base import Hit
from fashionclip.store.filters import FilterSpec
from fashionclip.store.lance.table import LanceTable


class TextIndex:
    """Keyword (BM25) search over a :class:`LanceTable`'s ``text`` column."""

    def __init__(self, table: LanceTable) -> None:
        self.table = table

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

    def ensure(self) -> None:
        """Make the text index if the table has none."""
        handle = self.table.handle
        if not [i for i in handle.list_indices() if i.columns == ["text"]]:
            from lancedb.index import FTS

            config = FTS(base_tokenizer="simple", lower_case=True, stem=True, remove_stop_words=True)
            handle.create_index("text", config=config, replace=True)
            self.table.changed()

"""Catalogue search: text / image / composed / hybrid queries over an index (``Catalog``).

``IndexReport`` and ``index_catalog`` live in :mod:`fashionclip.indexing`; they are named here too
because they always were."""

from fashionclip.indexing import IndexReport, index_catalog
from fashionclip.search.catalog import Catalog

__all__ = ["Catalog", "IndexReport", "index_catalog"]

"""Catalogue search: indexing into a store, and text / image / composed / hybrid queries."""

from fashionclip.search.catalog import Catalog
from fashionclip.search.indexer import IndexReport, index_catalog

__all__ = ["Catalog", "IndexReport", "index_catalog"]

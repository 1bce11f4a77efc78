"""Reading product catalogues: files and folders to validated items."""

from fashionclip.catalog.reader import CatalogData, CatalogItem, ColumnMap, Problem, read_catalog

__all__ = ["CatalogData", "CatalogItem", "ColumnMap", "Problem", "read_catalog"]

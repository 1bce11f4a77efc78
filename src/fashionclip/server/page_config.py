"""The search page's configuration, derived from the index's own columns: which metadata a result
card shows and which example queries the page offers (the settings may name both instead)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fashionclip.server.schemas import PageConfig

CARD_FIELDS = 3  # chips on one card: more would wrap on a narrow card
EXAMPLES = 5
# offered when no column says what the catalogue holds (only numbers, or only free text)
DEFAULT_EXAMPLES = ("red dress for women", "black leather handbag", "white sneakers", "denim jacket", "gold watch")
# a column is categorical when its most frequent values cover this share of the products: a
# title or description column, where nearly every value is unique, never is
_COVERAGE = 0.5


def page_config(
    facets: Mapping[str, Mapping[str, Any]],
    products: int,
    card_fields: Sequence[str] | None = None,
    examples: Sequence[str] | None = None,
) -> PageConfig:
    """The card fields and examples for a catalogue of ``products`` items whose columns are
    ``facets`` (``Facet.to_dict()`` by column): the given ones, else the categorical text columns
    with the most distinct values, and the most frequent values of the first of them."""
    derived = categorical_columns(facets, products)
    fields = list(card_fields) if card_fields is not None else derived[:CARD_FIELDS]
    if examples is None:
        source = next((c for c in (*fields, *derived) if c in derived), None)
        examples = facets[source]["values"][:EXAMPLES] if source else DEFAULT_EXAMPLES
    return PageConfig(card_fields=fields, examples=[str(e) for e in examples])


def categorical_columns(facets: Mapping[str, Mapping[str, Any]], products: int) -> list[str]:
    """Text columns that sort products into groups (two or more values, some shared, on average
    by two products or more, or the most frequent covering at least half of the products when
    there are more values than listed), most distinct values first; ties keep the catalogue's
    column order."""
    found = []
    for column, facet in facets.items():
        values, counts = facet.get("values") or [], facet.get("counts") or []
        if facet.get("kind") != "text" or len(values) < 2 or not counts or max(counts) < 2:
            continue
        # a complete facet lists every value: a category has products to share (two each, on
        # average); an incomplete one lists the most frequent: they must cover enough products
        if facet.get("complete", True) and len(values) * 2 > products:
            continue
        if not facet.get("complete", True) and sum(counts) < _COVERAGE * products:
            continue
        found.append((len(values), column))
    return [column for _, column in sorted(found, key=lambda found: -found[0])]

"""The tally of finished steps into an IndexReport."""

from __future__ import annotations

from fashionclip.catalog.reader import CatalogItem, Problem
from fashionclip.indexing.plan import EMBED, FAILED, REWRITE, UNCHANGED, Step
from fashionclip.indexing.report import IndexReport


def step(item_id: str, action: str, reason: str = "") -> Step:
    return Step(CatalogItem(item_id, None, item_id), action, "h:r", reason)


def test_each_outcome_is_counted_once() -> None:
    report = IndexReport(problems=[Problem("row 2", "no id")])
    stored = {"old-embedded", "old-rewritten", "old-same"}
    report.tally(
        [
            step("new", EMBED),
            step("new-text-only", EMBED),
            step("old-embedded", EMBED),
            step("old-rewritten", REWRITE),
            step("old-same", UNCHANGED),
            step("broken", FAILED, "image file not found"),
        ],
        stored,
    )
    assert (report.added, report.reembedded, report.rows_updated, report.unchanged) == (2, 1, 1, 1)
    assert report.problems == [Problem("row 2", "no id"), Problem("item 'broken'", "image file not found", "broken")]
    assert report.deleted == report.total == 0  # the run's end counts those


def test_a_rewrite_of_an_item_not_stored_before_counts_as_added() -> None:
    report = IndexReport()
    report.tally([step("x", REWRITE)], set())
    assert (report.added, report.rows_updated) == (1, 0)


def test_the_summary_names_every_count() -> None:
    report = IndexReport(added=3, reembedded=2, rows_updated=1, unchanged=4, deleted=5, total=10, seconds=1.25)
    report.problems.append(Problem("item 'x'", "image HTTP 404", "x"))
    assert report.summary() == (
        "10 items in the index: 3 added, 2 re-embedded, 1 rows updated, 4 unchanged, 5 deleted, "
        "1 skipped with problems (1.2 s)"
    )

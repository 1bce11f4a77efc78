"""Upkeep of a LanceDB table that takes a stream of small writes.

Every commit leaves a small fragment, and a merge by id reads every fragment the id index does
not cover: at 300k rows, a 9-row merge grew from 13 to 74 ms over 400 commits, and a full
``optimize`` (compaction to 1M-row fragments, every index brought up to date) took 1.7-3.4 s,
18 s at 1M rows. So the store keeps the table tidy as it goes:

- every ``COMPACT_EVERY`` commits, the small fragments are merged (``compact``, inline, tens of
  ms: queries meanwhile answer from the in-memory snapshot). Only fragments under a tier's size are
  rewritten, and the tier grows tenfold every tenth pass (1k, 10k, 100k rows), so a row is
  rewritten a few times, not once per pass. Index remapping is deferred to the index refresh;
- every ``INDEX_EVERY_ROWS`` rows written, the indices take in the new rows in a background
  thread on its own handle (seconds at 1M rows; its commit changes no row, so it does not
  conflict with the writes), and versions older than ``KEEP_VERSIONS`` are removed: compaction
  rewrites data, and a stream of writes would otherwise fill the disk with old versions.

A pass that fails (another process committed a conflicting change) is skipped: the data is
intact and the next pass tries again.
"""

from __future__ import annotations

import threading
import warnings
from datetime import timedelta

from fashionclip._extras import require

COMPACT_EVERY = 20  # commits between compactions (LanceDB's guide: optimize after ~20 modifications)
# measured at 300k rows, 10 commits/s of 9-row merges + 1 delete: compaction every 20 commits kept
# merges at 13-15 ms and deletes at 4-6 ms; a pass took 17-40 ms with remapping deferred (1.1 s with it)
FIRST_TIER_ROWS = 1_000
TIERS = 3  # 1k, 10k, 100k: larger fragments are left to ``optimize``
INDEX_EVERY_ROWS = 10_000  # rows written between index refreshes (they scan the rows not yet indexed)
KEEP_VERSIONS = timedelta(hours=1)


def tier_rows(passes: int) -> int:
    """The fragment size pass number ``passes`` (from 1) compacts up to: 10x for every factor of 10."""
    tier = 0
    while tier < TIERS - 1 and passes % 10 == 0:
        passes //= 10
        tier += 1
    return FIRST_TIER_ROWS * 10**tier


class Upkeep:
    """Compaction and index refresh for the table at ``uri``, driven by :meth:`committed`."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.commits = 0  # since the last compaction
        self.rows = 0  # written since the last index refresh
        self.passes = 0
        self.failures: list[str] = []  # why skipped passes failed (the last few)
        self._refreshing: threading.Thread | None = None
        self._refreshed = False  # a refresh committed a version the store's handle has not read

    def committed(self, rows: int) -> None:
        """A commit of ``rows`` rows was made through this store."""
        self.commits += 1
        self.rows += rows

    @property
    def compaction_due(self) -> bool:
        return self.commits >= COMPACT_EVERY

    def compact(self, version: int) -> bool:
        """Merge the small fragments of table version ``version``; True when a new version was committed."""
        lance = require("lance", "search", feature="compacting the LanceDB table")
        self.commits = 0
        self.passes += 1
        try:
            dataset = lance.dataset(self.uri, version=version)
            metrics = dataset.optimize.compact_files(
                target_rows_per_fragment=tier_rows(self.passes),
                materialize_deletions=False,  # a deletion file is cheap to read; rewriting 1M rows is not
                defer_index_remap=True,
                num_threads=1,
            )
        except (OSError, RuntimeError, ValueError) as exc:  # a commit conflict: the next pass tries again
            self._failed("compaction", exc)
            return False
        return bool(metrics.fragments_removed)

    def refresh_if_due(self) -> None:
        """Start the background index refresh when enough rows were written since the last."""
        if self.rows < INDEX_EVERY_ROWS or self.refreshing:
            return
        self.rows = 0
        self._refreshing = threading.Thread(target=self._refresh, name="fashionclip-lance-upkeep")
        self._refreshing.start()

    @property
    def refreshing(self) -> bool:
        return self._refreshing is not None and self._refreshing.is_alive()

    def _refresh(self) -> None:
        lance = require("lance", "search", feature="refreshing the LanceDB indices")
        try:
            dataset = lance.dataset(self.uri)
            dataset.optimize.optimize_indices()
            self._refreshed = True
            dataset.cleanup_old_versions(older_than=KEEP_VERSIONS)
        except (OSError, RuntimeError, ValueError) as exc:
            self._failed("index refresh", exc)

    def settle(self) -> bool:
        """Wait for a background refresh; True when one committed a version since the last call
        (an index built on an older version would conflict with it)."""
        if self._refreshing is not None:
            self._refreshing.join()
        refreshed, self._refreshed = self._refreshed, False
        return refreshed

    def _failed(self, what: str, exc: BaseException) -> None:
        self.failures = [*self.failures[-9:], f"{what}: {exc}"]
        if "conflict" not in str(exc).lower():  # a conflict is expected with another writer; the rest is news
            warnings.warn(f"{self.uri}: {what} skipped ({exc})", stacklevel=3)

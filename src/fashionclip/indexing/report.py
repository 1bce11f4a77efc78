"""What an indexing run did: the ``IndexReport`` and the tally of its steps."""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass, field

from fashionclip.catalog.reader import Problem
from fashionclip.indexing.plan import FAILED, REWRITE, UNCHANGED, Step


@dataclass
class IndexReport:
    """What an indexing run did."""

    added: int = 0
    reembedded: int = 0
    rows_updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0
    total: int = 0
    warnings: list[str] = field(default_factory=list)  # about the catalogue as a whole

    def summary(self) -> str:
        return (
            f"{self.total} items in the index: {self.added} added, {self.reembedded} re-embedded, "
            f"{self.rows_updated} rows updated, {self.unchanged} unchanged, {self.deleted} deleted, "
            f"{len(self.problems)} skipped with problems ({self.seconds:.1f} s)"
        )

    def tally(self, steps: Iterable[Step], stored: Container[str]) -> None:
        """Count finished steps: ``stored`` holds the ids that were in the index before them (an
        item written for the first time is added, else re-embedded or its row updated)."""
        for step in steps:
            if step.action == UNCHANGED:
                self.unchanged += 1
            elif step.action == FAILED:
                self.problems.append(step.problem)
            elif step.item.id not in stored:
                self.added += 1
            elif step.action == REWRITE:
                self.rows_updated += 1
            else:
                self.reembedded += 1

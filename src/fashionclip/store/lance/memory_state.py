"""The pieces of the in-memory index's state (``memory_index.py``): the readers-writer lock
around FAISS, the append-only result rows, the immutable :class:`Snapshot` readers search, and
the :class:`Change` a write reports."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

ROW_CHUNKS = 64  # result-row chunks appended by writes before the small ones are merged


class ReadWriteLock:
    """Many readers or one writer (FAISS may not be searched while it is being added to)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._cond:
            while self._writer:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._readers:
                self._cond.wait()
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


class Rows:
    """Result rows (no vectors) addressed by position: the table as read, then one Arrow chunk
    per write. Append-only, so a snapshot's positions stay valid after later writes."""

    def __init__(self, chunks: Sequence[Any], starts: Sequence[int]) -> None:
        self.chunks = list(chunks)
        self.starts = list(starts)

    @property
    def total(self) -> int:
        return self.starts[-1] + self.chunks[-1].num_rows if self.chunks else 0

    @property
    def schema(self) -> Any:
        return self.chunks[0].schema

    def appended(self, chunk: Any) -> Rows:
        chunks, starts = [*self.chunks, chunk], [*self.starts, self.total]
        if len(chunks) > ROW_CHUNKS:  # merge the writes' chunks (not the first, the big one)
            import pyarrow as pa

            tail = pa.concat_tables(chunks[1:]).combine_chunks()
            chunks, starts = [chunks[0], tail], starts[:2]
        return Rows(chunks, starts)

    def take(self, positions: Iterable[int]) -> list[dict[str, Any]]:
        rows = []
        for position in positions:
            index = bisect.bisect_right(self.starts, int(position)) - 1
            chunk = self.chunks[index]
            rows.append(chunk.slice(int(position) - self.starts[index], 1).to_pylist()[0])
        return rows


@dataclass(frozen=True)
class Snapshot:
    """One consistent state of the index, never changed once published."""

    version: int  # the table version it reflects
    count: int  # slots (FAISS ids 0..count-1)
    live: np.ndarray  # bool per slot
    position: np.ndarray  # int64 per slot: its row in ``rows``
    rows: Rows
    filters: dict[str, Any]  # metadata column -> float64 per slot, or Codes
    vectors: np.ndarray | None  # exact mode: float32 (count, dim) view
    spill: np.ndarray  # int64 slots scanned exactly by every query
    spill_vectors: np.ndarray  # their vectors
    live_count: int

    @property
    def dead(self) -> int:
        return self.count - self.live_count


@dataclass
class Change:
    """What one write did to the index, for tests and benchmarks."""

    added: int = 0  # new slots (new or re-embedded items)
    metadata: int = 0  # items whose rows changed in place
    deleted: int = 0
    spilled: int = 0

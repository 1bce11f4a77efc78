"""The state ``live_updates.py`` tracks: what a store should hold after each write (vectors,
metadata, which items are live), exact search over it for recall, and the probes its stream's
reader looks for."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from fashionclip.store import Records

K = 10


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


CATEGORIES = 100
GENDERS = ("Men", "Women", "Boys", "Girls")
FILTER_CATEGORIES = 20  # c00..c19: 20% of rows, and price <= 500 half of them: ~10%
FILTER_PRICE = 500.0
FILTER = {"category": [f"c{c:02d}" for c in range(FILTER_CATEGORIES)], "price": {"<=": FILTER_PRICE}}


class Catalogue:
    """What the store should hold, tracked by the benchmark: item ``str(row)`` has the vector of
    ``row`` (the generated ``base`` rows, then the ``extra`` rows of added items) and the metadata
    of the arrays below; ``live`` says which rows are stored. One copy of the vectors."""

    def __init__(self, vectors: np.ndarray, cosine: float, spare: int, seed: int) -> None:
        n, dim = vectors.shape
        self.n, self.dim = n, dim
        self.base = vectors
        self.extra = np.empty((spare, dim), dtype=np.float32)
        self.size = n  # rows in use (stored or deleted)
        rng = np.random.default_rng(seed + 1)
        total = n + spare
        self.live = np.zeros(total, dtype=bool)
        self.live[:n] = True
        self.category = np.zeros(total, dtype=np.int16)
        self.category[:n] = rng.integers(0, CATEGORIES, n)
        self.gender = np.zeros(total, dtype=np.int8)
        self.gender[:n] = rng.integers(0, len(GENDERS), n)
        self.price = np.zeros(total)
        self.price[:n] = rng.uniform(1, 1000, n).round(2)
        self.stock = np.zeros(total)
        self.stock[:n] = rng.integers(0, 51, n)
        self.generation = np.zeros(total, dtype=np.int32)  # bumped by each re-embedding
        # a new vector lies near an existing item: half the spread of an item around its centre
        self.noise = 0.5 * float(np.sqrt(max(1.0 / cosine**2 - 1.0, 1e-6))) / np.sqrt(dim)
        self.touched: set[int] = set()

    # ---- rows
    def vectors(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), self.dim), dtype=np.float32)
        low = rows < self.n
        out[low] = self.base[rows[low]]
        out[~low] = self.extra[rows[~low] - self.n]
        return out

    def set_vectors(self, rows: np.ndarray, vectors: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        low = rows < self.n
        self.base[rows[low]] = vectors[low]
        self.extra[rows[~low] - self.n] = vectors[~low]

    def live_count(self) -> int:
        return int(self.live[: self.size].sum())

    def pick(self, rng: np.random.Generator, k: int, exclude: set[int]) -> np.ndarray:
        """``k`` distinct stored rows, none of ``exclude``."""
        if k > self.live_count() - len(exclude):
            raise ValueError(f"cannot pick {k} of {self.live_count()} stored items ({len(exclude)} excluded)")
        chosen: dict[int, None] = {}
        while len(chosen) < k:
            for row in rng.integers(0, self.size, 2 * (k - len(chosen)) + 8).tolist():
                if self.live[row] and row not in exclude and row not in chosen:
                    chosen[row] = None
                    if len(chosen) == k:
                        break
        return np.fromiter(chosen, dtype=np.int64, count=k)

    def new_vectors(self, rng: np.random.Generator, k: int) -> np.ndarray:
        """``k`` vectors each near a random stored item (the data's distribution, not a copy)."""
        near = self.vectors(self.pick(rng, k, set()) if k <= self.live_count() // 2 else rng.integers(0, self.n, k))
        return unit(near + rng.standard_normal(near.shape, dtype=np.float32) * self.noise)

    def _reserve(self, k: int) -> np.ndarray:
        """``k`` new rows for added items (grown when the spare rows run out)."""
        need = self.size + k - (self.n + len(self.extra))
        if need > 0:
            grow = max(need, len(self.extra))
            self.extra = np.concatenate([self.extra, np.empty((grow, self.dim), dtype=np.float32)])
            for name in ("live", "category", "gender", "price", "stock", "generation"):
                array = getattr(self, name)
                setattr(self, name, np.concatenate([array, np.zeros(grow, dtype=array.dtype)]))
        rows = np.arange(self.size, self.size + k, dtype=np.int64)
        self.size += k
        return rows

    # ---- changes
    def change(self, kind: str, k: int, rng: np.random.Generator, exclude: set[int]) -> np.ndarray:
        """Apply a change of ``kind`` to ``k`` items in the tracked state (the store is written
        after); returns their rows (for "deleted", their old vectors stay in place, unused)."""
        if kind == "added":
            rows = self._reserve(k)
            self.category[rows] = rng.integers(0, CATEGORIES, k)
            self.gender[rows] = rng.integers(0, len(GENDERS), k)
            self.price[rows] = rng.uniform(1, 1000, k).round(2)
            self.stock[rows] = rng.integers(0, 51, k)
            self.generation[rows] = 0
            self.set_vectors(rows, self.new_vectors(rng, k))
            self.live[rows] = True
        else:
            rows = self.pick(rng, k, exclude)
            if kind == "metadata":
                self.price[rows] = rng.uniform(1, 1000, k).round(2)
                self.stock[rows] = rng.integers(0, 51, k)
            elif kind == "re-embedded":
                self.set_vectors(rows, self.new_vectors(rng, k))
                self.generation[rows] += 1
            elif kind == "deleted":
                self.live[rows] = False
            else:
                raise ValueError(kind)
        self.touched.update(rows.tolist())
        return rows

    def records(self, rows: np.ndarray) -> Records:
        """The rows as the store gets them: content hash ``<embedding part>:<row part>``, so a
        metadata-only change keeps the embedding part, as ``fashionclip index`` writes it."""
        rows = np.asarray(rows, dtype=np.int64)
        ids = [str(r) for r in rows.tolist()]
        category = [f"c{c:02d}" for c in self.category[rows].tolist()]
        gender = [GENDERS[g] for g in self.gender[rows].tolist()]
        price = self.price[rows].tolist()
        stock = self.stock[rows].tolist()
        hashes = [
            f"{r:016x}{g:016x}:" + hashlib.blake2b(f"{p}|{s}|{c}|{x}".encode(), digest_size=8).hexdigest()
            for r, g, p, s, c, x in zip(
                rows.tolist(), self.generation[rows].tolist(), price, stock, category, gender, strict=True
            )
        ]
        texts = [f"{x} item {i} {c}" for i, c, x in zip(ids, category, gender, strict=True)]
        return Records(
            ids,
            self.vectors(rows),
            [None] * len(ids),
            texts,
            hashes,
            {"price": price, "stock": stock, "gender": gender, "category": category},
        )

    # ---- exact search
    def mask(self, filtered: bool) -> np.ndarray:
        size = self.size
        mask = self.live[:size].copy()
        if filtered:
            mask &= (self.category[:size] < FILTER_CATEGORIES) & (self.price[:size] <= FILTER_PRICE)
        return mask

    def exact(self, queries: np.ndarray, filtered: bool) -> list[list[int]]:
        """Exact top-K rows of the stored items (matching the filter) per query."""
        mask = self.mask(filtered)
        size, out = self.size, []
        for start in range(0, len(queries), 32):
            block = queries[start : start + 32]
            scores = np.empty((size, len(block)), dtype=np.float32)
            scores[: self.n] = self.base @ block.T
            scores[self.n :] = self.extra[: size - self.n] @ block.T
            scores[~mask] = -np.inf
            top = np.argpartition(-scores, K, axis=0)[:K] if size > K else np.tile(np.arange(size)[:, None], len(block))
            for j in range(len(block)):
                column = top[:, j]
                column = column[np.argsort(-scores[column, j])]
                out.append([int(r) for r in column if np.isfinite(scores[r, j])])
        return out


def recall(found: list[list[int]], truth: list[list[int]]) -> float:
    values = [len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True) if t]
    return float(np.mean(values)) if values else float("nan")


@dataclass
class Probe:
    """A written change the reader looks for: ``row``'s item, queried by ``vector``."""

    kind: str
    row: int
    vector: np.ndarray
    price: float
    committed: float = 0.0
    seen: float | None = None
    queries: int = 0


def probe_for(catalogue: Catalogue, kind: str, row: int) -> Probe:
    return Probe(kind, row, catalogue.vectors(np.array([row]))[0].copy(), float(catalogue.price[row]))


def visible(probe: Probe, hits: list) -> bool:
    """Whether a search for ``probe.vector`` shows the change."""
    item = str(probe.row)
    found = [h for h in hits if h.id == item]
    if probe.kind == "deleted":
        return not found
    if not found:
        return False
    if probe.kind == "metadata":
        return abs(float(found[0].metadata.get("price") or 0.0) - probe.price) < 1e-6
    return found[0].score > 0.999  # the stored vector is the new one

"""Ranking metrics for embedding retrieval, computed in query chunks so memory stays
bounded (100k queries x 100k items never builds the full score matrix).

Per query: Recall@k (share of its relevant items in the top k), Precision@k, hit@k
(any relevant item in the top k: EasyNLP's Rank@k, CLIP's "Recall@k" when each
query has one match), MRR@k and MRR, nDCG@k (binary gains) and average precision
(its mean is mAP). Ties are broken against the model: among items with equal
scores, irrelevant ones rank first, so a constant model earns nothing. Queries
without any relevant item are left out and counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

# (query indices,) -> (len(indices), N) boolean relevance of every item
Relevance = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class RetrievalScores:
    """Per-query metric values (``per_query[name]``, one entry per query that has a
    relevant item), how many such queries there were, and how many had none."""

    ks: tuple[int, ...]
    per_query: dict[str, np.ndarray]
    queries: int
    skipped: int

    def mean(self, name: str) -> float:
        values = self.per_query[name]
        return float(values.mean()) if len(values) else 0.0

    def summary(self) -> dict[str, float]:
        """Every metric's mean over the queries."""
        return {name: self.mean(name) for name in self.per_query}


def caption_key(caption: str) -> str:
    """What makes two captions the same for retrieval: case and runs of spaces do not count."""
    return " ".join(caption.lower().split())


def same_label(query_labels: Sequence, item_labels: Sequence) -> Relevance:
    """Relevant = the item's label equals the query's (caption -> its product, category ->
    its products, photo -> the other photos of its product). None never matches."""
    codes: dict = {}
    items = np.array([-1 if v is None else codes.setdefault(v, len(codes)) for v in item_labels], dtype=np.int64)
    queries = np.array([-2 if v is None else codes.get(v, -2) for v in query_labels], dtype=np.int64)
    return lambda rows: queries[rows][:, None] == items[None, :]


def tag_columns(query_columns: Sequence[int], item_tags: np.ndarray) -> Relevance:
    """Relevant = the item carries tag ``query_columns[q]`` in its ``(N, L)`` boolean tag matrix."""
    columns = np.asarray(query_columns, dtype=np.int64)
    matrix = np.asarray(item_tags, dtype=bool)
    return lambda rows: matrix[:, columns[rows]].T


def retrieval_scores(
    queries: np.ndarray,
    items: np.ndarray,
    relevance: Relevance,
    *,
    ks: Sequence[int] = (1, 5, 10),
    exclude: Sequence[int] | None = None,
    max_cells: int = 1 << 24,
    sort_above: int = 32,
) -> RetrievalScores:
    """Rank ``items`` (N, D) for each of ``queries`` (Q, D) by dot product and score the rankings.

    ``exclude[q]``: an item index left out of query ``q``'s ranking (the query photo itself
    in image->image retrieval), or -1. ``max_cells`` bounds the query x item block held at
    once (16M cells: about 300 MB of temporaries). A query with at most ``sort_above``
    relevant items is ranked by counting the items ahead of each relevant one (O(N) per
    relevant item); one with more is ranked by a full sort.
    """
    ks = tuple(sorted({int(k) for k in ks}))
    if not ks or ks[0] < 1:
        raise ValueError(f"ks must be positive integers, got {ks}")
    queries = np.asarray(queries, dtype=np.float32)
    items = np.asarray(items, dtype=np.float32)
    if queries.ndim != 2 or items.ndim != 2 or queries.shape[1] != items.shape[1]:
        raise ValueError(f"queries {queries.shape} and items {items.shape} must be (Q, D) and (N, D)")
    count = len(items)
    excluded = None if exclude is None else np.asarray(exclude, dtype=np.int64)
    if excluded is not None and excluded.shape != (len(queries),):
        raise ValueError(f"exclude must hold one item index (or -1) per query, got shape {excluded.shape}")
    names = [f"{m}@{k}" for m in ("recall", "precision", "hit", "mrr", "ndcg") for k in ks] + ["mrr", "map"]
    parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
    skipped = 0
    chunk = max(1, max_cells // max(1, count))
    for start in range(0, len(queries), chunk):
        rows = np.arange(start, min(start + chunk, len(queries)))
        scores = queries[rows] @ items.T  # (q, N)
        relevant = np.asarray(relevance(rows), dtype=bool)
        if excluded is not None:
            mask = excluded[rows] >= 0
            scores[mask, excluded[rows][mask]] = -np.inf
            relevant[mask, excluded[rows][mask]] = False
        n_relevant = relevant.sum(axis=1)
        keep = n_relevant > 0
        skipped += int((~keep).sum())
        if not keep.any():
            continue
        # few relevant items: count the items ahead of each; many: sort the row
        few = n_relevant[keep] <= sort_above
        chunk_values = {name: np.empty(int(keep.sum())) for name in names}
        for rank, group in ((_ranks_by_counting, few), (_ranks_by_sorting, ~few)):
            if group.any():
                rows_in = np.flatnonzero(keep)[group]
                positions = rank(scores[rows_in], relevant[rows_in])
                for name, values in _metrics(positions, n_relevant[rows_in], ks).items():
                    chunk_values[name][group] = values
        for name, values in chunk_values.items():
            parts[name].append(values)
    per_query = {
        name: np.concatenate(values) if values else np.zeros(0, dtype=np.float64) for name, values in parts.items()
    }
    return RetrievalScores(ks=ks, per_query=per_query, queries=len(queries) - skipped, skipped=skipped)


def _ranks_by_counting(scores: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """(q, m) 1-based ranks of each query's relevant items, ascending, padded with inf.

    The i-th best relevant item (score r) ranks after the i - 1 better relevant ones and every
    irrelevant item scoring r or more (ties against the model)."""
    width = int(relevant.sum(axis=1).max())
    own = np.where(relevant, scores, -np.inf)
    # the ``width`` best relevant scores per row, best first, without sorting the whole row
    best = np.take_along_axis(own, np.argpartition(-own, width - 1, axis=1)[:, :width], axis=1)
    best = -np.sort(-best, axis=1)
    others = np.where(relevant, -np.inf, scores)
    positions = np.full(best.shape, np.inf)
    for j in range(width):
        present = relevant.sum(axis=1) > j
        ahead = (others[present] >= best[present, j : j + 1]).sum(axis=1)
        positions[present, j] = ahead + j + 1
    return positions


def _ranks_by_sorting(scores: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """The same ranks from a full sort: score descending, irrelevant first among equal scores."""
    order = np.lexsort((relevant, -scores), axis=1)
    ranked = np.take_along_axis(relevant, order, axis=1)
    width = int(relevant.sum(axis=1).max())
    positions = np.full((len(scores), width), np.inf)
    rows, columns = np.nonzero(ranked)
    slot = np.arange(len(rows)) - np.searchsorted(rows, rows)  # index of each hit within its row
    positions[rows, slot] = columns + 1
    return positions


def _metrics(positions: np.ndarray, n_relevant: np.ndarray, ks: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Per-query metrics from the (q, m) ascending 1-based ranks of the relevant items."""
    out = {}
    first = positions[:, 0]
    gains = np.where(np.isfinite(positions), 1.0 / np.log2(positions + 1.0), 0.0)
    ideal = np.cumsum(1.0 / np.log2(np.arange(2, max(ks) + 2)))  # ideal DCG with r hits is ideal[r - 1]
    for k in ks:
        within = positions <= k
        found = within.sum(axis=1)
        out[f"recall@{k}"] = found / n_relevant
        out[f"precision@{k}"] = found / k
        out[f"hit@{k}"] = (found > 0).astype(np.float64)
        out[f"mrr@{k}"] = np.where(first <= k, 1.0 / first, 0.0)
        out[f"ndcg@{k}"] = (gains * within).sum(axis=1) / ideal[np.minimum(n_relevant, k) - 1]
    out["mrr"] = 1.0 / first
    hits = np.arange(1, positions.shape[1] + 1)
    out["map"] = np.where(np.isfinite(positions), hits / positions, 0.0).sum(axis=1) / n_relevant
    return out

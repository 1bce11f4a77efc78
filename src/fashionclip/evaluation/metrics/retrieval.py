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
) -> RetrievalScores:
    """Rank ``items`` (N, D) for each of ``queries`` (Q, D) by dot product and score the rankings.

    ``exclude[q]``: an item index left out of query ``q``'s ranking (the query photo itself
    in image->image retrieval), or -1. ``max_cells`` bounds the query x item block held at
    once (16M cells: about 300 MB of temporaries).
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
    discounts = 1.0 / np.log2(np.arange(2, count + 2))  # (N,)
    ideal = np.cumsum(discounts)  # ideal DCG with r relevant items is ideal[r - 1]
    positions = np.arange(1, count + 1, dtype=np.float64)
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
        scores, relevant, n_relevant = scores[keep], relevant[keep], n_relevant[keep]
        # primary key: score descending; among equal scores irrelevant items first (ties against the model)
        order = np.lexsort((relevant, -scores), axis=1)
        ranked = np.take_along_axis(relevant, order, axis=1)  # (q, N) relevance in rank order
        found = np.cumsum(ranked, axis=1, dtype=np.int64)
        first = ranked.argmax(axis=1) + 1  # 1-based rank of the first relevant item
        for k in ks:
            top = found[:, min(k, count) - 1]
            parts[f"recall@{k}"].append(top / n_relevant)
            parts[f"precision@{k}"].append(top / k)
            parts[f"hit@{k}"].append((top > 0).astype(np.float64))
            parts[f"mrr@{k}"].append(np.where(first <= k, 1.0 / first, 0.0))
            dcg = (ranked[:, :k] * discounts[:k]).sum(axis=1)
            parts[f"ndcg@{k}"].append(dcg / ideal[np.minimum(n_relevant, k) - 1])
        parts["mrr"].append(1.0 / first)
        parts["map"].append(np.where(ranked, found / positions, 0.0).sum(axis=1) / n_relevant)
    per_query = {
        name: np.concatenate(values) if values else np.zeros(0, dtype=np.float64) for name, values in parts.items()
    }
    return RetrievalScores(ks=ks, per_query=per_query, queries=len(queries) - skipped, skipped=skipped)

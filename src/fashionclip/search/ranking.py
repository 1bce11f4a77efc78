"""Re-ranking of candidate lists: reciprocal rank fusion, MMR diversity, near-duplicate collapsing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from fashionclip.store.base import Hit

RRF_K = 60  # the constant of Cormack et al. (2009); damps the weight of the very first ranks


def fuse_rrf(rankings: Sequence[Sequence[Hit]], weights: Sequence[float], k: int = RRF_K) -> list[Hit]:
    """Weighted reciprocal rank fusion: ``score(d) = sum_i w_i / (k + rank_i(d))`` with ranks from 1.

    Hits keep the fields of their first appearance; the score becomes the fused score.
    Ties are broken by id so the order is deterministic.
    """
    if len(rankings) != len(weights):
        raise ValueError(f"{len(rankings)} rankings but {len(weights)} weights")
    fused: dict[str, float] = {}
    first: dict[str, Hit] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, hit in enumerate(ranking, 1):
            fused[hit.id] = fused.get(hit.id, 0.0) + weight / (k + rank)
            first.setdefault(hit.id, hit)
    order = sorted(fused, key=lambda i: (-fused[i], i))
    return [replace(first[i], score=fused[i]) for i in order]


def mmr(hits: Sequence[Hit], k: int, diversity: float) -> list[Hit]:
    """Maximal marginal relevance: greedily pick the hit maximising
    ``(1 - diversity) * relevance - diversity * max cosine to the hits already picked``,
    with relevance the score scaled to [0, 1] over the candidates (so cosine and fused
    scores trade off alike). ``hits`` must carry vectors; ``diversity=0`` keeps the order."""
    if not hits or diversity <= 0:
        return list(hits[:k])
    vectors = np.stack([h.vector for h in hits]).astype(np.float32)  # (N, D)
    scores = np.array([h.score for h in hits], dtype=np.float64)
    spread = scores.max() - scores.min()
    scores = (scores - scores.min()) / spread if spread > 0 else np.ones_like(scores)
    chosen: list[int] = []
    closest = np.full(len(hits), -np.inf)
    left = np.ones(len(hits), dtype=bool)
    while len(chosen) < min(k, len(hits)):
        penalty = np.where(np.isfinite(closest), closest, 0.0)
        value = np.where(left, (1 - diversity) * scores - diversity * penalty, -np.inf)
        pick = int(np.argmax(value))
        chosen.append(pick)
        left[pick] = False
        closest = np.maximum(closest, vectors @ vectors[pick])
    return [hits[i] for i in chosen]


def collapse_duplicates(hits: Sequence[Hit], threshold: float) -> list[Hit]:
    """Drop every hit whose vector has cosine >= ``threshold`` with a better-ranked kept hit
    (the same photo uploaded twice, a colour variant shot identically)."""
    kept: list[Hit] = []
    kept_vectors: list[np.ndarray] = []
    for hit in hits:
        vector = hit.vector
        if vector is not None and kept_vectors and float(np.max(np.stack(kept_vectors) @ vector)) >= threshold:
            continue
        kept.append(hit)
        if vector is not None:
            kept_vectors.append(vector)
    return kept

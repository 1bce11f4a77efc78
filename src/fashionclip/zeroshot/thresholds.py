"""Per-label thresholds for multi-label tagging, chosen on a few labelled examples."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fashionclip.errors import ClassificationError


def fit_thresholds(scores: np.ndarray, truth: np.ndarray, labels: Sequence[str]) -> dict[str, float]:
    """For each label, the threshold on its ``scores`` column (N, L) that maximises F1 against the
    boolean ``truth`` (N, L): the midpoint between the last kept and the first dropped score.
    A label with no positive example keeps 0.5."""
    scores = np.asarray(scores, dtype=np.float64)
    truth = np.asarray(truth, dtype=bool)
    if scores.ndim != 2 or scores.shape != truth.shape or scores.shape[1] != len(labels):
        raise ClassificationError(
            f"scores {scores.shape} and truth {truth.shape} must both be (items, {len(labels)} labels)"
        )
    out = {}
    for j, label in enumerate(labels):
        positives = int(truth[:, j].sum())
        if positives == 0:
            out[label] = 0.5
            continue
        order = np.argsort(-scores[:, j], kind="stable")
        ranked = scores[order, j]
        hits = np.cumsum(truth[order, j])
        kept = np.arange(1, len(ranked) + 1)
        f1 = 2 * hits / (kept + positives)
        best = int(np.argmax(f1))
        below = ranked[best + 1] if best + 1 < len(ranked) else ranked[best] - 1e-6
        out[label] = float(np.clip((ranked[best] + below) / 2, 0.0, 1.0))
    return out


def multilabel_f1(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Micro F1 (over every item-label pair) and macro F1 (the mean over labels)."""
    predicted = np.asarray(predicted, dtype=bool)
    truth = np.asarray(truth, dtype=bool)
    tp = (predicted & truth).sum(axis=0)
    fp = (predicted & ~truth).sum(axis=0)
    fn = (~predicted & truth).sum(axis=0)
    micro_den = 2 * tp.sum() + fp.sum() + fn.sum()
    per_label = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros(len(tp)), where=(2 * tp + fp + fn) > 0)
    return {"micro_f1": float(2 * tp.sum() / micro_den) if micro_den else 0.0, "macro_f1": float(per_label.mean())}

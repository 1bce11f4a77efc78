"""Classification metrics from integer class indices: confusion matrix, per-class
precision / recall / F1, accuracy, weighted and macro F1. Pure numpy, O(n)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ClassificationScores:
    """Scores of one set of predictions over ``n_classes`` classes.

    ``precision``, ``recall``, ``f1`` and ``support`` are per class (support: true
    items of the class); a class never predicted has precision 0, a class with no
    items recall 0. ``macro_f1`` averages F1 over the classes that occur in the
    truth or the predictions (scikit-learn's default label set); ``weighted_f1``
    weights each class's F1 by its support (the FashionCLIP paper's metric).
    ``confusion[t, p]`` counts items of true class ``t`` predicted as ``p``.
    """

    accuracy: float
    weighted_f1: float
    macro_f1: float
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    confusion: np.ndarray


def _check(truth: Sequence[int], predicted: Sequence[int], n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(truth, dtype=np.int64).ravel()
    p = np.asarray(predicted, dtype=np.int64).ravel()
    if len(t) != len(p):
        raise ValueError(f"truth has {len(t)} items but predictions {len(p)}")
    for name, values in (("truth", t), ("predictions", p)):
        if len(values) and (values.min() < 0 or values.max() >= n_classes):
            raise ValueError(f"{name} hold class indices outside 0..{n_classes - 1}")
    return t, p


def confusion_matrix(truth: Sequence[int], predicted: Sequence[int], n_classes: int) -> np.ndarray:
    """``(C, C)`` int64 counts, rows the true class, columns the predicted one."""
    t, p = _check(truth, predicted, n_classes)
    return np.bincount(t * n_classes + p, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def classification_scores(truth: Sequence[int], predicted: Sequence[int], n_classes: int) -> ClassificationScores:
    """All classification scores of ``predicted`` against ``truth`` (class indices)."""
    t, p = _check(truth, predicted, n_classes)
    confusion = confusion_matrix(t, p, n_classes)
    return scores_from_confusion(confusion)


def scores_from_confusion(confusion: np.ndarray) -> ClassificationScores:
    """:class:`ClassificationScores` of a confusion matrix (rows true, columns predicted)."""
    confusion = np.asarray(confusion, dtype=np.int64)
    tp = np.diag(confusion).astype(np.float64)
    support = confusion.sum(axis=1).astype(np.float64)
    predicted = confusion.sum(axis=0).astype(np.float64)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denominator = support + predicted
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    total = support.sum()
    present = (support > 0) | (predicted > 0)
    return ClassificationScores(
        accuracy=float(tp.sum() / total) if total else 0.0,
        weighted_f1=float((f1 * support).sum() / total) if total else 0.0,
        macro_f1=float(f1[present].mean()) if present.any() else 0.0,
        precision=precision,
        recall=recall,
        f1=f1,
        support=support.astype(np.int64),
        confusion=confusion,
    )

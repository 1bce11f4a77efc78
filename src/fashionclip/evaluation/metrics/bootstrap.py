"""Bootstrap confidence intervals: resample the queries (or items) with replacement."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def bootstrap_mean(
    values: np.ndarray, *, resamples: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile interval of the mean of per-query ``values``; (nan, nan) for no values or
    ``resamples=0`` (scores without intervals)."""
    data = np.asarray(values, dtype=np.float64)
    if len(data) == 0 or resamples == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    # in blocks, so 1000 resamples of 100k queries never hold 1e8 indices at once
    block = max(1, (1 << 22) // len(data))
    for start in range(0, resamples, block):
        stop = min(start + block, resamples)
        means[start:stop] = data[rng.integers(0, len(data), size=(stop - start, len(data)))].mean(axis=1)
    return _interval(means, level)


def bootstrap_statistic(
    count: int,
    statistic: Callable[[np.ndarray], float],
    *,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of ``statistic(indices)`` over resampled item indices (for scores
    that are not a mean over items, such as weighted F1); (nan, nan) for no items or
    ``resamples=0``."""
    if count == 0 or resamples == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    values = np.array([statistic(rng.integers(0, count, size=count)) for _ in range(resamples)])
    return _interval(values, level)


def _interval(values: np.ndarray, level: float) -> tuple[float, float]:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return float(low), float(high)

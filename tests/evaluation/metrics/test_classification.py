"""Classification metrics against scikit-learn and hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from fashionclip.evaluation.metrics import (
    bootstrap_mean,
    bootstrap_statistic,
    classification_scores,
    confusion_matrix,
)


def test_hand_computed_case():
    truth = [0, 0, 0, 1, 1, 2]
    predicted = [0, 0, 1, 1, 2, 2]
    scores = classification_scores(truth, predicted, 4)  # class 3 never occurs
    assert scores.accuracy == pytest.approx(4 / 6)
    np.testing.assert_allclose(scores.precision, [1.0, 0.5, 0.5, 0.0])
    np.testing.assert_allclose(scores.recall, [2 / 3, 0.5, 1.0, 0.0])
    f1 = [0.8, 0.5, 2 / 3, 0.0]
    np.testing.assert_allclose(scores.f1, f1)
    assert scores.weighted_f1 == pytest.approx((3 * 0.8 + 2 * 0.5 + 1 * 2 / 3) / 6)
    assert scores.macro_f1 == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)  # class 3 is in neither: left out
    assert scores.confusion.tolist() == [[2, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    assert scores.support.tolist() == [3, 2, 1, 0]


def test_matches_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 7, size=500)
    predicted = np.where(rng.random(500) < 0.6, truth, rng.integers(0, 9, size=500))  # 7, 8: predicted only
    scores = classification_scores(truth, predicted, 9)
    assert scores.accuracy == pytest.approx(metrics.accuracy_score(truth, predicted))
    assert scores.weighted_f1 == pytest.approx(metrics.f1_score(truth, predicted, average="weighted", zero_division=0))
    assert scores.macro_f1 == pytest.approx(metrics.f1_score(truth, predicted, average="macro", zero_division=0))
    labels = list(range(9))
    np.testing.assert_allclose(
        scores.precision, metrics.precision_score(truth, predicted, labels=labels, average=None, zero_division=0)
    )
    np.testing.assert_array_equal(scores.confusion, metrics.confusion_matrix(truth, predicted, labels=labels))


def test_empty_and_bad_inputs():
    empty = classification_scores([], [], 3)
    assert empty.accuracy == 0.0 and empty.weighted_f1 == 0.0 and empty.macro_f1 == 0.0
    with pytest.raises(ValueError, match="truth has 2 items but predictions 1"):
        classification_scores([0, 1], [0], 2)
    with pytest.raises(ValueError, match=r"predictions hold class indices outside 0..1"):
        confusion_matrix([0, 1], [0, 2], 2)
    with pytest.raises(ValueError, match=r"truth hold class indices outside"):
        confusion_matrix([-1], [0], 2)


def test_bootstrap_intervals_cover_the_mean_and_shrink_with_more_data():
    rng = np.random.default_rng(2)
    small, large = rng.random(50), rng.random(5000)
    low, high = bootstrap_mean(small)
    assert low < small.mean() < high
    low_l, high_l = bootstrap_mean(large)
    assert (high_l - low_l) < (high - low) / 5
    assert bootstrap_mean(small, seed=3) == bootstrap_mean(small, seed=3)
    assert np.isnan(bootstrap_mean(np.zeros(0))[0])
    constant = bootstrap_statistic(10, lambda idx: 0.7)
    assert constant == (0.7, 0.7)
    with pytest.raises(ValueError, match="level must be between 0 and 1"):
        bootstrap_mean(small, level=95)

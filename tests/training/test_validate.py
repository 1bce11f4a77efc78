import numpy as np
import pytest

from fashionclip.training.validate import recall_at_k, retrieval_metrics, weighted_f1


def test_recall_at_k_by_hand():
    scores = np.array([[0.9, 0.1, 0.5], [0.2, 0.3, 0.8], [0.7, 0.6, 0.1]])
    relevant = np.eye(3, dtype=bool)
    # query 0: rank 1; query 1: rank 2 (0.8 ahead); query 2: rank 3
    assert recall_at_k(scores, relevant, ks=(1, 2, 3)) == {1: pytest.approx(1 / 3), 2: pytest.approx(2 / 3), 3: 1.0}


def test_ties_count_against_the_query():
    scores = np.ones((4, 4))
    # 3 irrelevant items tie with the relevant one: it only counts within the top 4
    assert recall_at_k(scores, np.eye(4, dtype=bool), ks=(1, 3, 4)) == {1: 0.0, 3: 0.0, 4: 1.0}


def test_identical_captions_count_as_matches():
    image = np.eye(3)
    text = np.array([[0, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=float)  # item 0's text looks like item 1's image
    strict = retrieval_metrics(image, text, ["a", "b", "c"])
    shared = retrieval_metrics(image, text, ["red shirt", "Red Shirt", "c"])
    assert strict["text_to_image_R@1"] == pytest.approx(2 / 3)
    assert shared["text_to_image_R@1"] == 1.0


def test_weighted_f1_by_hand():
    truth = [0, 0, 0, 1, 1, 2]
    predicted = [0, 0, 1, 1, 2, 2]
    # class 0: P 1, R 2/3 -> 0.8; class 1: P 1/2, R 1/2 -> 0.5; class 2: P 1/2, R 1 -> 2/3
    weighted, per_class = weighted_f1(truth, predicted, 3)
    np.testing.assert_allclose(per_class, [0.8, 0.5, 2 / 3])
    assert weighted == pytest.approx((3 * 0.8 + 2 * 0.5 + 1 * 2 / 3) / 6)


def test_weighted_f1_ignores_classes_without_support_in_the_weights():
    weighted, per_class = weighted_f1([0, 0], [0, 1], 3)
    assert per_class[2] == 0.0 and per_class[1] == 0.0
    assert weighted == pytest.approx(2 / 3)

import numpy as np
import pytest

from fashionclip.training.validate import retrieval_metrics


def test_retrieval_metrics_by_hand():
    image = np.eye(3)
    text = np.array([[0.9, 0.1, 0.5], [0.2, 0.3, 0.8], [0.7, 0.6, 0.1]])  # text i vs image j
    metrics = retrieval_metrics(image, text, ["a", "b", "c"])
    # text 0: rank 1; text 1: rank 2 (0.8 ahead); text 2: rank 3
    assert metrics["text_to_image_R@1"] == pytest.approx(1 / 3) and metrics["text_to_image_R@5"] == 1.0


def test_ties_count_against_the_query():
    metrics = retrieval_metrics(np.ones((4, 2)), np.ones((4, 2)), ["a", "b", "c", "d"])
    assert metrics["text_to_image_R@1"] == 0.0 and metrics["image_to_text_R@5"] == 1.0


def test_identical_captions_count_as_matches():
    image = np.eye(3)
    text = np.array([[0, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=float)  # item 0's text looks like item 1's image
    strict = retrieval_metrics(image, text, ["a", "b", "c"])
    shared = retrieval_metrics(image, text, ["red shirt", " Red  Shirt", "c"])  # as evaluation folds them
    assert strict["text_to_image_R@1"] == pytest.approx(2 / 3)
    assert shared["text_to_image_R@1"] == 1.0

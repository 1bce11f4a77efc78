"""Validation runs the evaluation's tasks over the live model: scores by hand through a stand-in
encoder, and the live model's encoder against the same checkpoint loaded for inference."""

from __future__ import annotations

import numpy as np
import pytest

from fashionclip.config import ModelSpec
from fashionclip.encoder import l2_normalize
from fashionclip.training.validate import embed_pixels, live_encoder, validation_metrics


class TableEncoder:
    """Texts -> the vectors of a table (the captions and prompts a test gives)."""

    name = "table"
    logit_scale = 100.0
    spec = ModelSpec("table", "test", "hf", "test", "MIT", "a lookup table")

    def __init__(self, table: dict[str, list[float]]) -> None:
        self.table = table
        self.embedding_dim = len(next(iter(table.values())))

    def encode_texts(self, texts, **options) -> np.ndarray:
        return l2_normalize(np.array([self.table[t] for t in texts], np.float32))


def test_recall_by_hand():
    image = np.eye(3)
    encoder = TableEncoder({"a": [0.9, 0.1, 0.5], "b": [0.2, 0.3, 0.8], "c": [0.7, 0.6, 0.1]})
    metrics = validation_metrics(encoder, image, ["a", "b", "c"])
    # text a: rank 1; text b: rank 2 (0.8 ahead); text c: rank 3
    assert metrics["text_to_image_R@1"] == pytest.approx(1 / 3) and metrics["text_to_image_R@5"] == 1.0
    assert set(metrics) == {f"{side}_R@{k}" for side in ("text_to_image", "image_to_text") for k in (1, 5, 10)}


def test_ties_count_against_the_query():
    encoder = TableEncoder({c: [1.0, 1.0] for c in "abcd"})
    metrics = validation_metrics(encoder, l2_normalize(np.ones((4, 2))), ["a", "b", "c", "d"])
    assert metrics["text_to_image_R@1"] == 0.0 and metrics["image_to_text_R@5"] == 1.0


def test_captions_differing_in_case_and_spacing_count_as_one_as_in_evaluation():
    image = np.eye(3)
    table = {"a": [0, 1, 0], "b": [0, 1, 0], "c": [0, 0, 1], "red shirt": [0, 1, 0], " Red  Shirt": [0, 1, 0]}
    strict = validation_metrics(TableEncoder(table), image, ["a", "b", "c"])
    shared = validation_metrics(TableEncoder(table), image, ["red shirt", " Red  Shirt", "c"])
    assert strict["text_to_image_R@1"] == pytest.approx(2 / 3)
    assert shared["text_to_image_R@1"] == 1.0


def test_zero_shot_accuracy_on_the_attribute_under_the_prompt():
    table = {"x": [1, 0], "y": [0, 1], "a photo of red": [1, 0], "a photo of blue": [0, 1]}
    image = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    metrics = validation_metrics(
        TableEncoder(table),
        image,
        ["x", "y", "x"],
        attribute="colour",
        labels=["red", "blue", "blue"],
        prompt="a photo of {}",
    )
    assert metrics["zero_shot_colour_accuracy"] == pytest.approx(2 / 3)
    one_class = validation_metrics(TableEncoder(table), image, ["x", "y", "x"], attribute="colour", labels=["red"] * 3)
    assert "zero_shot_colour_accuracy" not in one_class  # nothing to tell apart
    assert validation_metrics(TableEncoder(table), np.zeros((0, 2)), []) == {}


def test_the_live_model_embeds_as_the_same_checkpoint_loaded_for_inference(tiny_checkpoint, tiny_encoder):
    from fashionclip.training.model import load_checkpoint

    live = live_encoder(load_checkpoint(str(tiny_checkpoint)), device="cpu", name="run")
    texts = ["a red dress", "blue jeans"]
    np.testing.assert_allclose(live.encode_texts(texts), tiny_encoder.encode_texts(texts), atol=1e-5)
    pixels = (
        np.random.default_rng(0).standard_normal((5, 3, *[tiny_encoder.preprocess.image_size] * 2)).astype(np.float32)
    )
    np.testing.assert_allclose(embed_pixels(live, pixels, batch_size=2), tiny_encoder.encode_pixels(pixels), atol=1e-5)

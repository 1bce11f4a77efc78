"""Localisation heatmaps: where each method points, the competitor scoring, and bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fashionclip.encoder import Encoder
from fashionclip.errors import ExplainError, ImageLoadError
from fashionclip.explain import METHODS, Heatmap, explain
from fashionclip.explain.heatmap import Scorer, load_vocabulary

COLOURS = ("red", "green", "blue")


class ColourBackend:
    """Images embed as how red, green and blue they are (plus a constant 'anything' part);
    a text embeds as the colour word it contains, else as 'anything'. So "red" is exactly
    where the red pixels are, which lets the tests check where each method points."""

    embedding_dim = 4
    logit_scale = 100.0
    device = "cpu"
    patch_size = None

    def __init__(self, tokenizer) -> None:
        self.words = {int(tokenizer([c]).input_ids[0][1]): i for i, c in enumerate(COLOURS)}

    def encode_pixels(self, pixels: np.ndarray) -> np.ndarray:
        # excess of each channel over the pixel's mean: pure colours stand out, grey does not
        excess = np.clip(pixels - pixels.mean(axis=1, keepdims=True), 0, None).mean(axis=(2, 3))  # (B, 3)
        return np.concatenate([excess, np.full((len(pixels), 1), 0.05, dtype=np.float32)], axis=1)

    def encode_tokens(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        out = np.zeros((len(input_ids), 4), dtype=np.float32)
        for row, ids in enumerate(input_ids):
            hits = [self.words[int(t)] for t in ids if int(t) in self.words]
            out[row, hits[0] if hits else 3] = 1.0
        return out

    def internals(self) -> None:
        return None  # no patch tokens, and no torch model of the same checkpoint either


@pytest.fixture(scope="module")
def colour_encoder(tiny_encoder) -> Encoder:
    return Encoder(
        tiny_encoder.spec, ColourBackend(tiny_encoder.tokenizer), tiny_encoder.tokenizer, tiny_encoder.preprocess
    )


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    """A grey 200x300 photo with a red square low on the right and a green one high on the left."""
    array = np.full((300, 200, 3), 128, dtype=np.uint8)
    array[190:270, 110:190] = (220, 20, 20)
    array[20:80, 10:70] = (20, 200, 20)
    return Image.fromarray(array, "RGB")


def _inside(point: tuple[int, int], box: tuple[int, int, int, int]) -> bool:
    x, y = point
    return box[0] <= x < box[2] and box[1] <= y < box[3]


RED, GREEN = (110, 190, 190, 270), (10, 20, 70, 80)


@pytest.mark.parametrize("method", ["crops", "occlusion"])
@pytest.mark.parametrize("contrast", [None, ["green", "blue"], "fashion"])
def test_each_colour_is_found_where_it_is(colour_encoder, photo, method, contrast):
    red, green = explain(colour_encoder, photo, ["red", "green"], method=method, contrast=contrast)
    assert _inside(red.peak, RED), red.peak
    assert _inside(green.peak, GREEN), green.peak
    assert red.scores.shape == (160, 107)  # the longer side is 160, the aspect kept
    assert red.image_size == (200, 300) and red.method == method and red.seconds > 0


def test_a_single_text_gives_a_single_heatmap(colour_encoder, photo):
    heatmap = explain(colour_encoder, photo, "red", contrast=None)
    assert isinstance(heatmap, Heatmap) and heatmap.text == "red"


def test_the_template_wraps_texts_and_competitors(colour_encoder, photo):
    # the colour word is found inside any template; "{}" keeps texts as written
    for template in (None, "{}", "a close-up of {} fabric"):
        heatmap = explain(colour_encoder, photo, "red", template=template)
        assert _inside(heatmap.peak, RED)


def test_scorer_is_the_log_odds_against_the_other_competitors(tiny_encoder):
    scorer = Scorer(
        ["a photo of a dress", "a photo of a belt"], ["a photo of a belt", "a photo of a bag"], tiny_encoder
    )
    regions = tiny_encoder.encode_texts(["x", "y", "z"])  # any unit vectors stand in for regions
    scores = scorer(regions)
    logits = tiny_encoder.logit_scale * regions @ np.vstack([scorer.texts, scorer.competitors]).T  # dress belt belt bag
    expected_dress = logits[:, 0] - np.log(np.exp(logits[:, [2, 3]]).sum(axis=1))
    expected_belt = logits[:, 1] - logits[:, 3]  # "belt" never competes with itself
    np.testing.assert_allclose(scores[:, 0], expected_dress, rtol=1e-4)
    np.testing.assert_allclose(scores[:, 1], expected_belt, rtol=1e-4)
    import torch

    for row in range(3):
        image = torch.from_numpy(regions[row])
        assert float(scorer.differentiable(image, 0)) == pytest.approx(float(scores[row, 0]), rel=1e-4)
    plain = Scorer(["a photo of a dress"], [], tiny_encoder)
    np.testing.assert_allclose(plain(regions)[:, 0], regions @ plain.texts[0], rtol=1e-6)


def test_a_plateau_peaks_at_its_centre():
    scores = np.zeros((10, 10), dtype=np.float32)
    scores[2:5, 3:8] = 1.0
    assert Heatmap("x", "crops", scores, (100, 100), 0.0).peak == (55, 35)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_runs_on_a_clip_checkpoint(tiny_encoder, photo, method):
    heatmaps = explain(tiny_encoder, photo, ["belt", "bag"], method=method)
    for heatmap in heatmaps:
        assert heatmap.scores.shape == (160, 107) and heatmap.scores.dtype == np.float32
        assert np.isfinite(heatmap.scores).all()
        assert 0 <= heatmap.peak[0] < 200 and 0 <= heatmap.peak[1] < 300
    again = explain(tiny_encoder, photo, ["belt", "bag"], method=method)
    np.testing.assert_allclose(again[0].scores, heatmaps[0].scores, rtol=1e-5, atol=1e-6)
    # different texts, different heat
    assert not np.allclose(heatmaps[0].scores, heatmaps[1].scores)


def test_patch_heat_follows_the_image(tiny_encoder, photo):
    flipped = photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    a = explain(tiny_encoder, photo, "belt", method="patch", contrast=None).scores
    b = explain(tiny_encoder, flipped, "belt", method="patch", contrast=None).scores
    assert not np.allclose(a, b)


@pytest.mark.parametrize("method", ["patch", "gradient"])
def test_token_methods_need_a_clip_vision_tower(colour_encoder, photo, method):
    with pytest.raises(ExplainError, match="needs a transformers CLIP checkpoint.*'crops' or 'occlusion'"):
        explain(colour_encoder, photo, "red", method=method)


def test_heatmap_peak_resize_and_overlay(tmp_path, photo):
    scores = np.zeros((16, 8), dtype=np.float32)
    scores[12, 6] = 1.0
    heatmap = Heatmap("red", "crops", scores, (80, 160), 0.1)
    assert heatmap.peak == (65, 125)  # the centre of cell (row 12, col 6), each cell 10x10
    assert heatmap.resized().shape == (160, 80)
    image = Image.new("RGB", (80, 160), (128, 128, 128))
    overlay = heatmap.overlay(image, alpha=0.6)
    assert overlay.size == (80, 160) and overlay.mode == "RGB"
    hot, cold = np.asarray(overlay)[125, 58], np.asarray(overlay)[5, 5]  # near the peak (outside the circle), far
    assert hot[1] > cold[1]  # yellow-green heat against dark-blue cold
    heatmap.save(tmp_path / "heat.png", image)
    assert Image.open(tmp_path / "heat.png").size == (80, 160)
    assert np.array_equal(np.asarray(heatmap.overlay(image, alpha=0.0, mark_peak=False)), np.asarray(image))


def test_bundled_vocabulary():
    words = load_vocabulary("fashion")
    assert "belt" in words and "dress" in words and len(words) == len(set(words))
    assert not any(w.startswith("#") for w in words)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "saliency"}, "method 'saliency': use one of crops, occlusion, patch, gradient"),
        ({"text": []}, "at least one text"),
        ({"text": ["red", ""]}, r"text #1 \(''\) must be a non-empty string"),
        ({"text": ["red", 3]}, r"text #1 \(3\) must be a non-empty string"),
        ({"contrast": "shoes"}, "vocabulary 'shoes': use one of fashion"),
        ({"contrast": []}, "at least one competitor"),
        ({"contrast": ["bag", " "]}, r"contrast text #1 \(' '\) must be a non-empty string"),
        ({"template": "a photo of a"}, "must contain exactly one {}"),
        ({"template": "a {} {0}"}, "is not allowed"),
        ({"template": "a {} }"}, "Single '}' encountered"),
        ({"scales": (0.5, 0)}, "scales must be fractions in"),
        ({"scales": (1.5,)}, "scales must be fractions in"),
        ({"scales": ()}, "scales must be fractions in"),
        ({"scales": (True,)}, "scales must be fractions in"),
        ({"method": "occlusion", "occluder": 0}, "occluder must be a positive number"),
        ({"method": "occlusion", "occluder": 1.5}, "occluder must be a positive number"),
    ],
)
def test_bad_arguments_are_refused(colour_encoder, photo, kwargs, message):
    kwargs = {"text": "red", **kwargs}
    with pytest.raises(ExplainError, match=message):
        explain(colour_encoder, photo, kwargs.pop("text"), **kwargs)


def test_bad_images_are_named(colour_encoder, tmp_path):
    with pytest.raises(ImageLoadError, match="file not found"):
        explain(colour_encoder, tmp_path / "missing.jpg", "red")
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ImageLoadError, match="broken.jpg.*not a recognised image"):
        explain(colour_encoder, tmp_path / "broken.jpg", "red")


def test_bad_overlay_arguments(photo):
    heatmap = Heatmap("red", "crops", np.zeros((4, 3), dtype=np.float32), (200, 300), 0.0)
    with pytest.raises(ExplainError, match="alpha must be between 0 and 1"):
        heatmap.overlay(photo, alpha=1.5)
    with pytest.raises(ExplainError, match=r"for a \(200, 300\) image, this one is \(10, 10\)"):
        heatmap.overlay(Image.new("RGB", (10, 10)))

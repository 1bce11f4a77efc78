import numpy as np
import pytest
from PIL import Image

from fashionclip.errors import ClassificationError
from fashionclip.testing import KeywordEncoder
from fashionclip.zeroshot import Prediction, ZeroShotClassifier


def photo(tmp_path, colour: str):
    path = tmp_path / f"{colour}.png"
    Image.new("RGB", (8, 8), KeywordEncoder.COLOURS[colour]).save(path)
    return path


def unit(x):
    x = np.asarray(x, dtype=np.float32)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_single_label_top_k_with_probabilities_through_the_logit_scale(tiny_encoder, sample_images):
    labels = ["shirt", "dress", "shoes"]
    classifier = ZeroShotClassifier(tiny_encoder, labels, templates=["a photo of a {}"])
    images = tiny_encoder.encode_images(sample_images[:3])
    texts = tiny_encoder.encode_texts([f"a photo of a {label}" for label in labels])
    logits = tiny_encoder.logit_scale * unit(images) @ unit(texts).T  # the reference: both sides normalised
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(classifier.scores(images), expected, rtol=1e-4, atol=1e-6)
    top = classifier.predict(sample_images[:3], k=2)
    for row, probabilities in zip(top, expected, strict=True):
        best = np.argsort(-probabilities)[:2]
        assert [p.label for p in row] == [labels[i] for i in best]
        assert [p.score for p in row] == pytest.approx(probabilities[best].tolist(), rel=1e-4)
    assert len(classifier.predict(sample_images[0], k=3)[0]) == 3  # one image, not a list


def test_the_ensemble_is_the_normalised_mean_of_normalised_prompts_and_is_computed_once():
    encoder = KeywordEncoder()
    templates = ["a {} photo", "red {}", "{} shoes"]
    classifier = ZeroShotClassifier(encoder, ["dress", "bag"], templates=templates)
    first = classifier.label_embeddings
    assert encoder.calls == 6
    for row, label in zip(first, ["dress", "bag"], strict=True):
        manual = unit(unit(encoder.encode_texts([t.format(label) for t in templates])).mean(axis=0))
        np.testing.assert_allclose(row, manual, atol=1e-6)
    calls = encoder.calls
    classifier.scores(np.eye(16, dtype=np.float32)[:2])
    classifier.scores(np.eye(16, dtype=np.float32)[:2])
    assert classifier.label_embeddings is first and encoder.calls == calls  # cached


def test_own_prompts_replace_the_templates_for_one_label():
    encoder = KeywordEncoder()
    classifier = ZeroShotClassifier(encoder, ["dress", "jeans"], prompts={"jeans": ["blue jeans", "denim jeans"]})
    assert classifier.prompts["jeans"] == ["blue jeans", "denim jeans"]
    assert classifier.prompts["dress"][0] == "a photo of a dress"
    with pytest.raises(ClassificationError, match="not in the label set"):
        ZeroShotClassifier(encoder, ["dress"], prompts={"hat": ["a hat"]})
    with pytest.raises(ClassificationError, match="at least one non-empty"):
        ZeroShotClassifier(encoder, ["dress"], prompts={"dress": []})


def test_colour_photos_are_classified_by_their_colour(tmp_path):
    classifier = ZeroShotClassifier(KeywordEncoder(), ["red", "blue", "green"], templates=["{}"])
    found = classifier.predict([photo(tmp_path, c) for c in ("blue", "red", "green")])
    assert [row[0].label for row in found] == ["blue", "red", "green"]
    assert all(isinstance(row[0], Prediction) and 0.33 < row[0].score <= 1 for row in found)


def test_multi_label_keeps_each_label_at_its_own_threshold():
    encoder = KeywordEncoder()
    classifier = ZeroShotClassifier(
        encoder, ["red", "dress", "bag"], templates=["{}"], multi_label=True, negative="jeans"
    )
    words = encoder.encode_texts(["red", "dress", "jeans"])
    image = unit(0.55 * words[0] + words[1] + 0.5 * words[2])  # reddish, a dress, a little like the neutral noun
    scores = classifier.scores(image)[0]
    assert 0.5 < scores[0] < 0.999 and scores[1] > 0.999 and scores[2] < 0.5  # each label alone, not a softmax
    assert {p.label for p in classifier.predict_embeddings(image, k=5)[0]} == {"red", "dress"}
    strict = ZeroShotClassifier(
        encoder,
        ["red", "dress", "bag"],
        templates=["{}"],
        multi_label=True,
        negative="jeans",
        thresholds={"red": 0.999},
    )
    assert [p.label for p in strict.predict_embeddings(image, k=5)[0]] == ["dress"]
    assert strict.predict_embeddings(image, k=1)[0][0].label == "dress"
    nothing = ZeroShotClassifier(encoder, ["bag"], templates=["{}"], multi_label=True, negative="jeans")
    assert nothing.predict_embeddings(image)[0] == []


@pytest.mark.parametrize(
    ("labels", "options", "message"),
    [
        ([], {}, "at least one label"),
        ("dress", {}, "single string"),
        (["dress", "dress"], {}, "listed twice"),
        (["dress", ""], {}, "non-empty strings"),
        (["dress", None], {}, "non-empty strings"),
        (["dress"], {"thresholds": 1.5}, r"in \[0, 1\]"),
        (["dress"], {"thresholds": {"hat": 0.2}}, "not in the label set"),
        (["dress"], {"thresholds": {"dress": "high"}}, r"in \[0, 1\]"),
        (["dress"], {"templates": ["no placeholder"]}, "exactly one"),
    ],
)
def test_bad_options_are_named(labels, options, message):
    with pytest.raises(ClassificationError, match=message):
        ZeroShotClassifier(KeywordEncoder(), labels, **options)


@pytest.mark.parametrize(
    ("embeddings", "k", "message"),
    [
        (np.zeros((2, 8)), 1, r"expected \(N, 16\)"),
        (np.full((1, 16), np.nan), 1, "NaN"),
        (np.ones((1, 16)), 0, "positive integer"),
        (np.ones((1, 16)), True, "positive integer"),
    ],
)
def test_bad_queries_are_named(embeddings, k, message):
    classifier = ZeroShotClassifier(KeywordEncoder(), ["dress", "bag"])
    with pytest.raises(ClassificationError, match=message):
        classifier.predict_embeddings(embeddings, k=k)


def test_fitted_thresholds_maximise_f1_and_f1_matches_a_hand_count():
    from fashionclip.zeroshot.thresholds import fit_thresholds, multilabel_f1

    scores = np.array([[0.9, 0.2], [0.8, 0.6], [0.4, 0.7], [0.1, 0.1]])
    truth = np.array([[1, 0], [1, 0], [0, 0], [0, 0]], dtype=bool)
    fitted = fit_thresholds(scores, truth, ["a", "b"])
    assert fitted["a"] == pytest.approx(0.6)  # between 0.8 (kept) and 0.4 (dropped)
    assert fitted["b"] == 0.5  # no positive example
    predicted = scores >= np.array([fitted["a"], fitted["b"]])
    assert multilabel_f1(predicted, truth) == {"micro_f1": pytest.approx(2 * 2 / (2 * 2 + 2 + 0)), "macro_f1": 0.5}
    # hand count: a has tp 2, fp 0, fn 0 -> F1 1; b has tp 0, fp 2 (0.6, 0.7) -> F1 0
    with pytest.raises(ClassificationError, match="must both be"):
        fit_thresholds(scores, truth[:, :1], ["a", "b"])


def test_without_templates_the_models_own_prompt_template_is_used():
    from types import SimpleNamespace

    encoder = KeywordEncoder()
    encoder.spec = SimpleNamespace(prompt_template="a catalogue image of {}.")
    assert ZeroShotClassifier(encoder, ["dress"]).prompts["dress"] == ["a catalogue image of dress."]
    assert len(ZeroShotClassifier(encoder, ["dress"], templates="fashion").prompts["dress"]) >= 5

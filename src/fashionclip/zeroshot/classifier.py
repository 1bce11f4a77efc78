"""Zero-shot classification: labels become prompt embeddings (a template ensemble), images are
scored against them through the checkpoint's logit scale.

Single-label: a softmax over the labels, top-k with probabilities. Multi-label: each label on
its own, against a neutral prompt ("a photo of a {}" filled with ``negative``): the probability
that the image looks more like the label than like any garment, kept when it reaches the
label's threshold. Both sides are L2-normalised (the original fashion-clip normalised one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fashionclip.encoder import EncoderProtocol, is_single_image, l2_normalize
from fashionclip.errors import ClassificationError
from fashionclip.zeroshot.languages import TEMPLATE_SETS, check_language, detect_language
from fashionclip.zeroshot.templates import load_templates

# the neutral noun multi-label scores weigh each label against, in the labels' language
NEGATIVES = {
    "en": "garment",
    "zh": "服装",
    "ja": "衣服",
    "ko": "의류",
    "fr": "vêtement",
    "de": "Kleidung",
    "es": "prenda",
}


@dataclass(frozen=True)
class Prediction:
    """One label for one item, with its probability."""

    label: str
    score: float


class ZeroShotClassifier:
    """Classify images (or their embeddings) into ``labels`` with no training.

    ``templates``: None (the model's own prompt template, or for labels in another language that
    language's bundled set), ``"fashion"`` (the bundled ensemble of 10), a file, a list, or one
    template; ``language``: the labels' language (a code of
    :data:`~fashionclip.zeroshot.languages.LANGUAGES`), or None / "auto" to read it from their script;
    ``prompts``: label -> its own prompt texts, replacing the templates for that label
    (e.g. ``{"Tshirts": ["a photo of a t-shirt"]}``); ``multi_label`` with ``thresholds``
    (one number, or label -> number; 0.5 for labels not named) and ``negative`` (the neutral
    noun each label is weighed against).
    """

    def __init__(
        self,
        encoder: EncoderProtocol,
        labels: Sequence[str],
        *,
        templates: str | Path | Sequence[str] | None = None,
        prompts: Mapping[str, Sequence[str]] | None = None,
        multi_label: bool = False,
        thresholds: float | Mapping[str, float] = 0.5,
        negative: str | None = None,
        language: str | None = None,
    ) -> None:
        self.encoder = encoder
        self.labels = _check_labels(labels)
        self.language = check_language(language) or detect_language(self.labels)
        if templates is None and self.language != "en":
            templates = TEMPLATE_SETS[self.language]
        elif templates is None:  # the model's own template; on the bundled model it beat the ensemble
            templates = [encoder.spec.prompt_template or "a photo of a {}"]
        self.templates = load_templates(templates)
        self.prompts = {label: self._prompts_for(label, prompts or {}) for label in self.labels}
        unknown = set(prompts or {}) - set(self.labels)
        if unknown:
            raise ClassificationError(f"prompts for labels that are not in the label set: {sorted(unknown)}")
        self.multi_label = multi_label
        self.negative = negative if negative is not None else NEGATIVES.get(self.language, "garment")
        self.thresholds = self._thresholds(thresholds)
        self.logit_scale = float(encoder.logit_scale)
        self._label_embeddings: np.ndarray | None = None
        self._negative_embedding: np.ndarray | None = None

    def __repr__(self) -> str:
        mode = "multi-label" if self.multi_label else "single-label"
        return f"ZeroShotClassifier({len(self.labels)} labels, {len(self.templates)} templates, {mode})"

    # ------------------------------------------------------------------ embeddings
    @property
    def label_embeddings(self) -> np.ndarray:
        """(L, D) one normalised embedding per label: the normalised mean of its prompts'
        normalised embeddings. Computed on first use, then kept."""
        if self._label_embeddings is None:
            self._label_embeddings = self._ensembles([self.prompts[label] for label in self.labels])
        return self._label_embeddings

    def _negative(self) -> np.ndarray:
        if self._negative_embedding is None:
            self._negative_embedding = self._ensembles([[t.format(self.negative) for t in self.templates]])[0]
        return self._negative_embedding

    def _ensembles(self, groups: list[list[str]]) -> np.ndarray:
        """One embedding per group of prompts, embedded in one call: the normalised mean of the
        group's normalised embeddings (CLIP's prompt ensembling)."""
        texts = [text for group in groups for text in group]
        encoded = l2_normalize(np.asarray(self.encoder.encode_texts(texts, show_progress=False), dtype=np.float32))
        bounds = np.cumsum([0, *(len(group) for group in groups)])
        return l2_normalize(np.stack([encoded[a:b].mean(axis=0) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]))

    # ------------------------------------------------------------------ scores
    def logits(self, embeddings: np.ndarray) -> np.ndarray:
        """(N, L) scaled cosine similarities of image embeddings to the labels."""
        vectors = self._check_embeddings(embeddings)
        return self.logit_scale * (vectors @ self.label_embeddings.T)

    def scores(self, embeddings: np.ndarray) -> np.ndarray:
        """(N, L) probabilities: a softmax over the labels, or per label (multi-label) the
        probability of the label against the neutral prompt."""
        logits = self.logits(embeddings)
        if not self.multi_label:
            shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
            return shifted / shifted.sum(axis=1, keepdims=True)
        neutral = self.logit_scale * (self._check_embeddings(embeddings) @ self._negative())
        return 1.0 / (1.0 + np.exp(neutral[:, None] - logits))

    def predict_embeddings(self, embeddings: np.ndarray, *, k: int = 1) -> list[list[Prediction]]:
        """Per item: the top ``k`` labels (single-label), or every label at or above its
        threshold, best first (multi-label; ``k`` then caps the count)."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ClassificationError(f"k must be a positive integer, got {k!r}")
        scores = self.scores(embeddings)
        out = []
        for row in scores:
            order = np.argsort(-row, kind="stable")
            if self.multi_label:
                order = [i for i in order if row[i] >= self.thresholds[self.labels[i]]]
            out.append([Prediction(self.labels[i], float(row[i])) for i in list(order)[:k]])
        return out

    def predict(self, images: Any, *, k: int = 1, batch_size: int = 32) -> list[list[Prediction]]:
        """Embed ``images`` (paths, URLs, bytes or PIL images) and predict; see
        :meth:`predict_embeddings`."""
        single = is_single_image(images)
        embeddings = self.encoder.encode_images([images] if single else list(images), batch_size=batch_size)
        return self.predict_embeddings(np.atleast_2d(embeddings), k=k)

    # ------------------------------------------------------------------ helpers
    def _prompts_for(self, label: str, prompts: Mapping[str, Sequence[str]]) -> list[str]:
        if label in prompts:
            given = prompts[label]
            own = [given] if isinstance(given, str) else list(given) if isinstance(given, Sequence) else []
            if not own or not all(isinstance(p, str) and p.strip() for p in own):
                raise ClassificationError(f"prompts for label {label!r}: give at least one non-empty text")
            return own
        return [t.format(label) for t in self.templates]

    def _thresholds(self, thresholds: float | Mapping[str, float]) -> dict[str, float]:
        given = thresholds if isinstance(thresholds, Mapping) else {label: thresholds for label in self.labels}
        unknown = set(given) - set(self.labels)
        if unknown:
            raise ClassificationError(f"thresholds for labels that are not in the label set: {sorted(unknown)}")
        out = {label: 0.5 for label in self.labels}
        for label, value in given.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ClassificationError(f"threshold for {label!r} must be a number in [0, 1], got {value!r}")
            out[label] = float(value)
        return out

    def _check_embeddings(self, embeddings: np.ndarray) -> np.ndarray:
        vectors = np.asarray(embeddings, dtype=np.float32)
        if vectors.ndim == 1:
            vectors = vectors[None, :]
        dim = self.label_embeddings.shape[1]
        if vectors.ndim != 2 or vectors.shape[1] != dim:
            raise ClassificationError(f"image embeddings of shape {vectors.shape}; expected (N, {dim})")
        if not np.isfinite(vectors).all():
            raise ClassificationError("image embeddings contain NaN or infinity")
        return l2_normalize(vectors)


def _check_labels(labels: Sequence[str]) -> list[str]:
    if isinstance(labels, str):
        raise ClassificationError(f"labels must be a list of strings, got the single string {labels!r}")
    out = [str(label).strip() if isinstance(label, str) else label for label in labels]
    if len(out) < 1:
        raise ClassificationError("give at least one label")
    for label in out:
        if not isinstance(label, str) or not label:
            raise ClassificationError(f"label {label!r}: labels must be non-empty strings")
    seen: set[str] = set()
    twice = sorted({label for label in out if label in seen or seen.add(label)})  # type: ignore[func-returns-value]
    if twice:
        raise ClassificationError(f"labels listed twice: {twice}")
    return out

"""Per-epoch validation: the evaluation's own tasks (text-to-image, image-to-text and zero-shot
retrieval and classification) run over the model being trained, seen through an
:class:`~fashionclip.encoder.Encoder` like any other model."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import numpy as np

from fashionclip.backends.torch_hf import TorchHFBackend
from fashionclip.config import ModelSpec
from fashionclip.encoder import Encoder, EncoderProtocol
from fashionclip.evaluation.dataset import EvalDataset
from fashionclip.evaluation.embeddings import EmbeddingCache
from fashionclip.evaluation.tasks import Context, EvalOptions, TaskSkipped, image_to_text, text_to_image, zero_shot
from fashionclip.training.model import TrainableModel

KS = (1, 5, 10)


def live_encoder(trainable: TrainableModel, *, device: str, name: str) -> Encoder:
    """The model being trained as an :class:`Encoder` (fp32, its weights shared, not copied);
    build it again after the weights change, as the logit scale is read once."""
    spec = ModelSpec(
        name=name,
        source=trainable.source,
        format="hf",
        family="in training",
        license="unknown",
        description="the model of a training run, as it is now",
        preprocess=trainable.preprocess,
    )
    backend = TorchHFBackend(trainable.model, device=device)
    return Encoder(spec, backend, trainable.tokenizer, trainable.preprocess, num_workers=1)


def embed_pixels(encoder: EncoderProtocol, pixels: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Unit image embeddings of preprocessed pixels (N, 3, S, S), a batch at a time."""
    if len(pixels) == 0:
        return np.zeros((0, encoder.embedding_dim), np.float32)
    return np.concatenate(
        [encoder.encode_pixels(pixels[i : i + batch_size]) for i in range(0, len(pixels), batch_size)]
    )


def validation_metrics(
    encoder: EncoderProtocol,
    image_embeddings: np.ndarray,
    captions: Sequence[str],
    *,
    attribute: str | None = None,
    labels: Sequence[str | None] = (),
    prompt: str = "a photo of a {}",
) -> dict[str, float]:
    """Recall@1/5/10 both ways (the ``text-to-image`` and ``image-to-text`` tasks: captions that
    differ only in case and spacing are one caption) and, with ``attribute``, the ``zero-shot``
    task's accuracy on ``labels`` under ``prompt``. No bootstrap intervals: a training log
    wants the scores, every epoch."""
    n = len(captions)
    if n == 0:
        return {}
    dataset = EvalDataset(
        name="validation",
        ids=[str(i) for i in range(n)],
        images=list(range(n)),  # already embedded: the tasks read ``image_embeddings``
        captions=list(captions),
        labels={attribute: list(labels)} if attribute else {},
    )
    options = EvalOptions(attribute=attribute, templates=[prompt], ks=KS, resamples=0)
    ctx = Context(encoder, dataset, np.asarray(image_embeddings, np.float32), EmbeddingCache(None), options, False)
    out: dict[str, float] = {}
    for name, task in (("text_to_image", text_to_image), ("image_to_text", image_to_text)):
        scores = task(ctx).scores
        out.update({f"{name}_R@{k}": scores[f"hit@{k}"].value for k in KS})
    if attribute:
        # fewer than two classes among the held-out items: nothing to tell apart, no score
        with contextlib.suppress(TaskSkipped):
            out[f"zero_shot_{attribute}_accuracy"] = zero_shot(ctx).scores["accuracy"].value
    return out

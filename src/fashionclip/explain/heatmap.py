"""Where in an image a text concept is: a heatmap over the whole photo.

A region's heat is, with ``contrast``, the log-odds of the text against a set
of competitor texts (at the checkpoint's logit scale), so a region that looks
like nothing in particular, or like another garment, stays cold; without it,
the cosine similarity. The regions:

- ``crops``: square windows at several scales are cut from the full-resolution
  photo, each embedded as an image of its own; a pixel's heat is the mean of
  the windows that contain it. Works with every backend; the model sees small
  items (a belt, sunglasses) at its full input resolution.
- ``occlusion``: the photo, letterboxed to the model's input, is embedded with
  one window of patches greyed out at a time; heat is the score lost.
- ``patch``: one forward pass; each patch token of the last layer is projected
  into the joint space through the last attention layer's value path
  (MaskCLIP), which keeps tokens local. transformers CLIP checkpoints only.
- ``gradient``: Grad-CAM on the last layer's input tokens. transformers CLIP
  checkpoints only.

``patch`` and ``gradient`` need the model's internals (:meth:`Encoder.internals`): an ONNX
encoder loads the torch model of its checkpoint for them, on first use.
"""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageDraw

from fashionclip.encoder import EncoderProtocol
from fashionclip.errors import ExplainError, TemplateError
from fashionclip.preprocess.image import RESAMPLE, ImageInput, load_image
from fashionclip.templating import check_label_template
from fashionclip.zeroshot.templates import text_lines

Method = Literal["crops", "occlusion", "patch", "gradient"]
METHODS: tuple[str, ...] = ("crops", "occlusion", "patch", "gradient")
VOCABULARIES: tuple[str, ...] = ("fashion",)
# longer side of the stored heat map: fine enough to point at a belt, small for 24 MP photos
_CANVAS = 160
# a viridis-like ramp: dark blue (cold) -> green -> yellow (hot)
_RAMP = np.array(
    [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]],
    dtype=np.float32,
)


@dataclass(frozen=True)
class Heatmap:
    """A text's heat over a whole image.

    ``scores`` is ``(h, w)`` float32 covering the image at a reduced size (longer
    side 160 px), higher where the image looks more like ``text``;
    ``image_size`` is the original ``(width, height)``; ``seconds`` the time
    taken for the call that made it (shared by its texts).
    """

    text: str
    method: str
    scores: np.ndarray
    image_size: tuple[int, int]
    seconds: float

    @property
    def peak(self) -> tuple[int, int]:
        """``(x, y)`` of the hottest point, in the original image's pixels (on a plateau of equal
        maxima, its point nearest the plateau's centre)."""
        rows, cols = np.nonzero(self.scores >= self.scores.max())
        centre_row, centre_col = rows.mean(), cols.mean()
        nearest = int(np.argmin((rows - centre_row) ** 2 + (cols - centre_col) ** 2))
        row, col = rows[nearest], cols[nearest]
        height, width = self.scores.shape
        x = int((col + 0.5) * self.image_size[0] / width)
        y = int((row + 0.5) * self.image_size[1] / height)
        return min(x, self.image_size[0] - 1), min(y, self.image_size[1] - 1)

    def resized(self, size: tuple[int, int] | None = None) -> np.ndarray:
        """The scores resized (bilinear) to ``size`` = ``(width, height)``, the original by default."""
        width, height = size or self.image_size
        return np.asarray(Image.fromarray(self.scores, mode="F").resize((width, height), Image.Resampling.BILINEAR))

    def overlay(self, image: ImageInput, *, alpha: float = 0.5, mark_peak: bool = True) -> Image.Image:
        """The image with the heat blended over it (0 = image only, 1 = heat only), peak circled."""
        if not 0.0 <= alpha <= 1.0:
            raise ExplainError(f"alpha must be between 0 and 1, got {alpha}")
        base = load_image(image)
        if base.size != self.image_size:
            raise ExplainError(f"the heatmap is for a {self.image_size} image, this one is {base.size}")
        heat = self.resized()
        low, high = float(heat.min()), float(heat.max())
        unit = (heat - low) / (high - low) if high > low else np.zeros_like(heat)
        colours = _colourise(unit)
        blended = np.asarray(base, dtype=np.float32) * (1.0 - alpha) + colours * alpha
        result = Image.fromarray(np.clip(blended, 0, 255).astype(np.uint8), mode="RGB")
        if mark_peak:
            x, y = self.peak
            radius = max(4, min(self.image_size) // 40)
            draw = ImageDraw.Draw(result)
            draw.ellipse(
                (x - radius, y - radius, x + radius, y + radius), outline=(255, 0, 0), width=max(2, radius // 3)
            )
        return result

    def save(self, path: str | os.PathLike, image: ImageInput, *, alpha: float = 0.5) -> None:
        """Write the overlay as an image file (PNG by its suffix)."""
        self.overlay(image, alpha=alpha).save(path)


def _colourise(unit: np.ndarray) -> np.ndarray:
    position = unit * (len(_RAMP) - 1)
    low = np.clip(np.floor(position).astype(np.int64), 0, len(_RAMP) - 2)
    frac = (position - low)[..., None]
    return _RAMP[low] * (1.0 - frac) + _RAMP[low + 1] * frac


class Scorer:
    """Scores region embeddings against texts: cosine similarity, or with competitors the
    log-odds of each text against them (its logit minus the log-sum-exp of the competitors'
    logits, at the checkpoint's logit scale; a text never competes with itself). Log-odds, not
    the probability: a probability saturates at 1 on every region that shows the item, and
    the peak would be a tie."""

    def __init__(self, texts: list[str], competitors: list[str], encoder: EncoderProtocol) -> None:
        self.texts = encoder.encode_texts(texts)  # (T, D) unit
        self.scale = float(encoder.logit_scale)
        self.competitors = _competitor_embeddings(encoder, tuple(competitors)) if competitors else None  # (C, D)
        self.allowed = np.array([[c != t for c in competitors] for t in texts], dtype=bool).reshape(len(texts), -1)

    def __call__(self, regions: np.ndarray) -> np.ndarray:
        """(R, D) unit embeddings -> (R, T) scores."""
        sims = regions @ self.texts.T
        if self.competitors is None:
            return sims
        rivals = self.scale * (regions @ self.competitors.T)  # (R, C)
        top = rivals.max(axis=1, keepdims=True)
        weights = np.exp(rivals - top)[:, None, :] * self.allowed[None]  # (R, T, C)
        return self.scale * sims - (top + np.log(np.maximum(weights.sum(axis=2), 1e-30)))

    def differentiable(self, image: Any, index: int) -> Any:
        """The score of text ``index`` for one unit image embedding (a torch tensor), for gradients."""
        import torch

        own = image @ torch.from_numpy(self.texts[index]).to(image)
        if self.competitors is None:
            return own
        rivals = image @ torch.from_numpy(self.competitors[self.allowed[index]]).to(image).T
        return self.scale * own - torch.logsumexp(self.scale * rivals, dim=0)


# a vocabulary's embeddings, per encoder: embedding ~60 prompts costs more than a heatmap
_EMBEDDED: weakref.WeakKeyDictionary[EncoderProtocol, dict[tuple[str, ...], np.ndarray]] = weakref.WeakKeyDictionary()


def _competitor_embeddings(encoder: EncoderProtocol, prompts: tuple[str, ...]) -> np.ndarray:
    cache = _EMBEDDED.setdefault(encoder, {})
    if prompts not in cache:
        if len(cache) >= 8:
            cache.clear()
        cache[prompts] = encoder.encode_texts(list(prompts))
    return cache[prompts]


def load_vocabulary(name: str) -> list[str]:
    """The words of a bundled vocabulary (``"fashion"``)."""
    if name not in VOCABULARIES:
        raise ExplainError(f"vocabulary {name!r}: use one of {', '.join(VOCABULARIES)}, or give a list of texts")
    text = resources.files("fashionclip").joinpath(f"data/vocabulary/{name}.txt").read_text(encoding="utf-8")
    return text_lines(text)


def explain(
    encoder: EncoderProtocol,
    image: ImageInput,
    text: str | Sequence[str],
    *,
    method: Method = "occlusion",
    contrast: str | Sequence[str] | None = "fashion",
    template: str | None = None,
    scales: Sequence[float] = (0.5, 0.35, 0.25),
    occluder: int = 2,
) -> Heatmap | list[Heatmap]:
    """Heatmaps of where ``text`` (one string or several) is in ``image``.

    ``method`` defaults to occlusion: on the ccp street photos with the bundled model it
    tied with crops in the pointing game and is 2-3x faster (benchmarks/localisation.py).

    ``contrast``: competitor texts (a list, or a bundled vocabulary name:
    ``"fashion"``, garments, accessories and scene words), or None for plain
    cosine heat. ``template`` (default: the model's prompt template, e.g. "a photo
    of a {}") is filled with each text and each competitor; ``"{}"`` uses them as
    written. ``scales`` (crops): window sides as fractions of the image's shorter
    side; ``occluder`` (occlusion): the occluding window's side in patches.
    Returns one :class:`Heatmap` per text (a single one for a single string).
    """
    if method not in METHODS:
        raise ExplainError(f"method {method!r}: use one of {', '.join(METHODS)}")
    single = isinstance(text, str)
    texts = [text] if single else list(text)
    if not texts:
        raise ExplainError("give at least one text")
    for i, item in enumerate(texts):
        if not isinstance(item, str) or not item.strip():
            raise ExplainError(f"text #{i} ({item!r}) must be a non-empty string")
    template = encoder.spec.prompt_template if template is None else template
    try:
        check_label_template(template)
    except TemplateError as exc:
        raise ExplainError(str(exc)) from None
    competitors = _competitors(contrast)
    _check_scales(scales)
    if isinstance(occluder, bool) or not isinstance(occluder, int) or occluder < 1:
        raise ExplainError(f"occluder must be a positive number of patches, got {occluder!r}")

    started = time.perf_counter()
    picture = load_image(image, encoder.image_preprocessor.limits)
    scorer = Scorer([template.format(t) for t in texts], [template.format(c) for c in competitors], encoder)
    if method == "crops":
        maps = _crops(encoder, picture, scorer, scales)
    elif method == "occlusion":
        maps = _occlusion(encoder, picture, scorer, occluder)
    else:
        from fashionclip.explain import tokens

        grids, extent = tokens.patch_grids(encoder, _letterbox(encoder, picture), scorer, method)
        maps = [_grid_to_canvas(grid, encoder, picture, extent) for grid in grids]
    seconds = time.perf_counter() - started
    heatmaps = [
        Heatmap(text=t, method=method, scores=m.astype(np.float32), image_size=picture.size, seconds=seconds)
        for t, m in zip(texts, maps, strict=True)
    ]
    return heatmaps[0] if single else heatmaps


def _competitors(contrast: str | Sequence[str] | None) -> list[str]:
    if contrast is None:
        return []
    if isinstance(contrast, str):
        return load_vocabulary(contrast)
    words = list(contrast)
    for i, word in enumerate(words):
        if not isinstance(word, str) or not word.strip():
            raise ExplainError(f"contrast text #{i} ({word!r}) must be a non-empty string")
    if not words:
        raise ExplainError("contrast: give at least one competitor text, a vocabulary name, or None")
    return words


def _check_scales(scales: Sequence[float]) -> None:
    values = list(scales) if isinstance(scales, (list, tuple)) else None
    if not values or any(isinstance(s, bool) or not isinstance(s, (int, float)) or not 0 < s <= 1 for s in values):
        raise ExplainError(f"scales must be fractions in (0, 1] of the image's shorter side, got {scales!r}")


def _canvas_size(size: tuple[int, int]) -> tuple[int, int]:
    width, height = size
    factor = min(1.0, _CANVAS / max(width, height))
    return max(1, round(width * factor)), max(1, round(height * factor))


def _windows(size: tuple[int, int], fraction: float) -> list[tuple[int, int, int, int]]:
    """Square windows of side ``fraction`` x the shorter side, overlapping by half, covering the image."""
    width, height = size
    side = max(1, round(fraction * min(width, height)))
    stride = max(1, side // 2)

    def starts(length: int) -> list[int]:
        count = max(1, -(-(length - side) // stride) + 1)
        return sorted({round(i * (length - side) / max(1, count - 1)) for i in range(count)})

    return [(x, y, x + side, y + side) for y in starts(height) for x in starts(width)]


def _crops(encoder: EncoderProtocol, picture: Image.Image, scorer: Scorer, scales: Sequence[float]) -> list[np.ndarray]:
    boxes = [box for fraction in scales for box in _windows(picture.size, fraction)]
    size = encoder.preprocess.image_size
    resample = RESAMPLE[encoder.preprocess.interpolation]
    pixels = np.stack(
        [encoder.image_preprocessor.normalize(picture.crop(box).resize((size, size), resample)) for box in boxes]
    )
    embeddings = encoder.encode_pixels(pixels)  # (W, D) unit
    scores = scorer(embeddings)  # (W, T)
    canvas_w, canvas_h = _canvas_size(picture.size)
    fx, fy = canvas_w / picture.width, canvas_h / picture.height
    total = np.zeros((scores.shape[1], canvas_h, canvas_w), dtype=np.float64)
    count = np.zeros((canvas_h, canvas_w), dtype=np.float64)
    for (x0, y0, x1, y1), row in zip(boxes, scores, strict=True):
        cx0, cy0 = int(x0 * fx), int(y0 * fy)
        cx1, cy1 = max(cx0 + 1, round(x1 * fx)), max(cy0 + 1, round(y1 * fy))
        total[:, cy0:cy1, cx0:cx1] += row[:, None, None]
        count[cy0:cy1, cx0:cx1] += 1.0
    return list(total / np.maximum(count, 1.0))


def _letterbox_box(encoder: EncoderProtocol, picture: Image.Image) -> tuple[int, int, int, int]:
    """Where the whole image goes inside the model's square input: ``(left, top, right, bottom)``."""
    size = encoder.preprocess.image_size
    factor = size / max(picture.size)
    width, height = max(1, round(picture.width * factor)), max(1, round(picture.height * factor))
    left, top = (size - width) // 2, (size - height) // 2
    return left, top, left + width, top + height


def _letterbox(encoder: EncoderProtocol, picture: Image.Image) -> np.ndarray:
    """The whole image fitted into the model's square input, padded with the mean colour
    (zero after normalisation), as normalised (3, S, S) pixels."""
    size = encoder.preprocess.image_size
    left, top, right, bottom = _letterbox_box(encoder, picture)
    resized = picture.resize((right - left, bottom - top), RESAMPLE[encoder.preprocess.interpolation])
    square = Image.new("RGB", (size, size), tuple(round(255 * m) for m in encoder.preprocess.mean))
    square.paste(resized, (left, top))
    return encoder.image_preprocessor.normalize(square)


def _grid_to_canvas(grid: np.ndarray, encoder: EncoderProtocol, picture: Image.Image, extent: int) -> np.ndarray:
    """A (G, G) grid whose cells cover the input's top-left ``extent`` pixels -> heat over the
    original image's canvas."""
    size = encoder.preprocess.image_size
    cells = Image.fromarray(grid.astype(np.float32), mode="F").resize((extent, extent), Image.Resampling.BILINEAR)
    square = Image.new("F", (size, size), float(grid.min()))
    square.paste(cells, (0, 0))
    box = _letterbox_box(encoder, picture)
    return np.asarray(square.crop(box).resize(_canvas_size(picture.size), Image.Resampling.BILINEAR))


def _occlusion(encoder: EncoderProtocol, picture: Image.Image, scorer: Scorer, occluder: int) -> list[np.ndarray]:
    pixels = _letterbox(encoder, picture)
    size = pixels.shape[-1]
    patch = encoder.patch_size or max(1, size // 8)
    cells = max(1, size // patch)
    span = min(occluder, cells)
    # windows may hang over the edge, so that every cell is covered by the same number of them
    starts = [(r, c) for r in range(1 - span, cells) for c in range(1 - span, cells)]
    batch = np.repeat(pixels[None], len(starts) + 1, axis=0)
    for i, (r, c) in enumerate(starts, start=1):
        top, left = max(r, 0) * patch, max(c, 0) * patch
        batch[i, :, top : (r + span) * patch, left : (c + span) * patch] = 0.0
    embeddings = encoder.encode_pixels(batch)
    scores = scorer(embeddings)  # (1 + windows, T)
    drops = scores[0][None, :] - scores[1:]
    grids = np.zeros((scores.shape[1], cells, cells))
    for (r, c), drop in zip(starts, drops, strict=True):
        grids[:, max(r, 0) : r + span, max(c, 0) : c + span] += drop[:, None, None]
    grids /= span * span
    return [_grid_to_canvas(grid, encoder, picture, cells * patch) for grid in grids]

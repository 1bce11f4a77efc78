"""The original ``fashion-clip`` package's API on top of this library, so code written for it
keeps working: ``FCLIPDataset`` and ``FashionCLIP`` with the same call shapes.

As the original: models run in fp32 with torch (``precision=`` asks for another, e.g. the
machine's faster automatic choice with ``precision="auto"``); ``retrieval`` returns a list of
lists of indices with ``approx=True`` (the default, as Annoy's answer was) and an ndarray with
``approx=False``; ``dataset.catalog`` is a numpy object array of the rows; ``display_products``
and :func:`display_images` draw a matplotlib figure of photos and their fields.

Differences (fixes): both sides of every similarity are L2-normalised (the original normalised
only the query side in ``zero_shot_classification``); any model this library loads works,
local checkpoint directories included; images go through this library's decoding (Pillow >= 10);
``retrieval`` is exact (an exact scan of a catalogue that fits in memory is fast, and Annoy's
approximation is not needed); bad arguments raise errors instead of ``assert``; the pre-computed
Farfetch catalogue and vectors on the authors' S3 are not available; ``display_attention``
returns the heatmap overlay as a PIL image (Jupyter displays it) instead of drawing it with
matplotlib, and uses this library's localisation.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from fashionclip.encoder import l2_normalize
from fashionclip.errors import CompatError  # defined with every other error; importable here as before
from fashionclip.explain import explain
from fashionclip.loading import load_model
from fashionclip.preprocess.image import load_image

_SOURCES = ("LOCAL", "S3", "URL")


class FCLIPDataset:
    """A catalogue: ``catalog`` is a list of ``{"id", "image", "caption", ...}`` rows whose
    ``image`` is relative to ``image_source_path`` (a folder, an ``s3://`` prefix or a URL prefix)."""

    def __init__(
        self, name: str, image_source_path: str, image_source_type: str, catalog: list[dict] | None = None
    ) -> None:
        kind = str(image_source_type).upper()
        if kind not in _SOURCES:
            raise CompatError(f"image_source_type {image_source_type!r}: use one of {', '.join(_SOURCES)}")
        if catalog is None:
            raise CompatError(
                f"catalog {name!r}: give its rows (catalog=[{{'id', 'image', 'caption'}}]); the original "
                "package's hosted catalogues are not available"
            )
        for i, row in enumerate(catalog):
            missing = [key for key in ("id", "image", "caption") if key not in row]
            if missing:
                raise CompatError(f"catalog row {i}: missing {missing}")
        self.name = name
        self.catalog = np.array(list(catalog), dtype=object)  # rows by index list too, as the original's
        self.ids = np.array([str(row["id"]) for row in catalog])
        self.images = np.array([row["image"] for row in catalog])
        join = os.path.join if kind == "LOCAL" else lambda base, tail: base.rstrip("/") + "/" + tail.lstrip("/")
        self.images_path = np.array([join(image_source_path, row["image"]) for row in catalog])
        self.captions = np.array([row["caption"] for row in catalog])
        self.id_to_idx = {item_id: i for i, item_id in enumerate(self.ids)}

    def display_products(self, ids: Sequence[str], fields: Sequence[str] = ("id", "short_description"), **kwargs: Any):
        """A matplotlib figure of these products' photos, each with its ``fields`` (see
        :func:`display_images` for the layout options)."""
        unknown = [i for i in ids if str(i) not in self.id_to_idx]
        if unknown:
            raise CompatError(f"display_products: no product with id {unknown[0]!r} in this dataset")
        rows = [self.catalog[self.id_to_idx[str(i)]] for i in ids]
        missing = sorted({f for row in rows for f in fields if f not in row})
        if missing:
            raise CompatError(f"display_products: the catalogue rows have no field {missing[0]!r}")
        paths = [str(self.images_path[self.id_to_idx[str(i)]]) for i in ids]
        return display_images(paths, product_info=[{f: row[f] for f in fields} for row in rows], **kwargs)

    def random_product_id(self) -> str:
        return str(self.ids[random.randrange(len(self.ids))])  # the original could index one past the end

    def hash(self) -> str:
        """A hash of the ids, image names and captions."""
        parts = [
            hashlib.sha256(" ".join(map(str, values)).encode()).hexdigest()
            for values in (self.ids, self.images, self.captions)
        ]
        return hashlib.sha256("".join(parts).encode()).hexdigest()


class FashionCLIP:
    """``FashionCLIP(model_name, dataset=None, normalize=True, approx=True)``: a model, and with a
    dataset its image and caption vectors (``image_vectors``, ``textual_vectors``). ``backend`` and
    ``precision`` (keyword-only, not in the original) are :func:`~fashionclip.load_model`'s."""

    def __init__(
        self,
        model_name: str,
        dataset: FCLIPDataset | None = None,
        normalize: bool = True,
        approx: bool = True,
        auth_token: str | None = None,
        *,
        backend: str | None = None,
        precision: str | None = "fp32",
    ) -> None:
        if auth_token:  # the Hugging Face hub reads HF_TOKEN; the argument keeps old calls working
            os.environ.setdefault("HF_TOKEN", auth_token)
        self.model_name = model_name
        if precision == "fp32" and backend is None:
            backend = "torch"  # the original ran transformers in fp32: the same numbers
        self.encoder = load_model(model_name, backend=backend, precision=None if precision == "auto" else precision)
        self.dataset = dataset
        self.approx = approx
        if dataset is not None:
            self.image_vectors = self.encode_images(list(dataset.images_path), batch_size=32)
            self.textual_vectors = self.encode_text(list(dataset.captions), batch_size=32)
            if normalize:
                self.image_vectors = l2_normalize(self.image_vectors)
                self.textual_vectors = l2_normalize(self.textual_vectors)

    def encode_images(self, images: Sequence[Any], batch_size: int) -> np.ndarray:
        """Raw (unnormalised) image features, as the original returned them."""
        return self.encoder.encode_images(list(images), batch_size=batch_size, normalize=False)

    def encode_text(self, text: Sequence[str], batch_size: int) -> np.ndarray:
        """Raw (unnormalised) text features."""
        return self.encoder.encode_texts(list(text), batch_size=batch_size, normalize=False)

    def zero_shot_classification(self, images: Sequence[Any], text_labels: list[str], debug: bool = False) -> list[str]:
        """The best label of ``text_labels`` for each image (labels used as the prompts, as before)."""
        if not text_labels:
            raise CompatError("text_labels: give at least one label")
        sims = self.encoder.similarity(
            self.encode_images(images, batch_size=8), self.encode_text(text_labels, batch_size=8), scale=False
        )
        if debug:
            print(sims)
        return [text_labels[i] for i in np.argmax(sims, axis=-1)]

    def retrieval(self, queries: list[str], top_k: int = 10) -> list[list[int]] | np.ndarray:
        """Indices into the dataset of the ``top_k`` images nearest each text query, best first:
        a list of lists with ``approx=True`` (what the original's Annoy index returned), an
        ndarray with ``approx=False``."""
        if self.dataset is None:
            raise CompatError("retrieval needs a dataset: FashionCLIP(model_name, dataset=FCLIPDataset(...))")
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise CompatError(f"top_k must be a positive integer, got {top_k!r}")
        sims = self.encoder.similarity(self.encode_text(queries, batch_size=8), self.image_vectors, scale=False)
        nearest = np.argsort(-sims, axis=1, kind="stable")[:, :top_k]
        return [[int(i) for i in row] for row in nearest] if self.approx else nearest

    def display_attention(
        self, image_path: str, query_text: str, pixel_size: int = 15, iterations: int = 5
    ) -> Image.Image:
        """The heatmap of ``query_text`` over the image, as a PIL image (Jupyter shows it).

        It is this library's default localisation (:func:`fashionclip.explain.explain`: windows
        cut from the photo at several scales, scored against a fashion vocabulary); the
        original's ``pixel_size`` and ``iterations`` belong to its own crop grid and are ignored.
        """
        heatmap = explain(self.encoder, image_path, query_text)
        return heatmap.overlay(image_path)


def display_images(
    image_paths: Sequence[str],
    product_info: list[dict] | None = None,
    columns: int = 5,
    width: float = 20,
    height: float = 8,
    max_images: int = 15,
    font_size: int = 8,
    text_wrap_length: int = 35,
) -> Any:
    """A matplotlib figure of the photos in a grid, each with its ``product_info`` below it (the
    original ``fashion_clip.utils.display_images``); None, with a message, when there are none."""
    import textwrap

    from fashionclip._extras import require

    require("matplotlib", "eval", feature="display_images")
    import matplotlib.pyplot as plt

    if not image_paths:
        print("No images to display.")
        return None
    paths = list(image_paths)
    if len(paths) > max_images:
        print(f"Showing {max_images} images of {len(paths)}:")
        paths = paths[:max_images]
    figure = plt.figure(figsize=(width, max(height, len(paths) // columns * height)))
    for i, path in enumerate(paths):
        axes = figure.add_subplot(len(paths) // columns + 1, columns, i + 1)
        axes.set_xticks([])
        axes.set_yticks([])
        axes.set_frame_on(False)
        axes.imshow(load_image(path))
        info = product_info[i] if product_info else {}
        text = "".join("\n".join(textwrap.wrap(str(v), text_wrap_length)) + "\n" for v in info.values())
        axes.text(0, -0.1, text, fontsize=font_size, transform=axes.transAxes, verticalalignment="top")
    figure.tight_layout(h_pad=3, w_pad=0.1)
    return figure

"""Light, seeded image augmentations applied before the checkpoint's own preprocessing.

Each one widens what the model sees beyond clean catalogue shots: a random
crop and flip, a recoloured background (so it does not rely on white), greyscale
and its negative (scans, dark-background shots), and a low-resolution pass
(thumbnails). Greyscale and negative remove colour, so the caller picks a
caption that does not name a colour for those draws.
"""

from __future__ import annotations

import math
import random

import numpy as np
from PIL import Image, ImageOps

from fashionclip.config import PreprocessConfig
from fashionclip.preprocess.image import resize_and_crop
from fashionclip.training.config import Augment


def augment(
    image: Image.Image, settings: Augment, preprocess: PreprocessConfig, rng: random.Random
) -> tuple[Image.Image, bool]:
    """The augmented image at the model's input size, and whether colour was removed."""
    if settings.crop_scale < 1.0:
        image = random_crop(image, settings.crop_scale, rng)
    image = resize_and_crop(image, preprocess)
    # after resizing: the fill then costs the same for a thumbnail and a 2000 px photo
    if settings.background and rng.random() < settings.background:
        image = recolour_background(image, _random_colour(rng))
    if settings.flip and rng.random() < settings.flip:
        image = ImageOps.mirror(image)
    colour_removed = False
    if settings.negative and rng.random() < settings.negative:
        image = ImageOps.invert(ImageOps.grayscale(image)).convert("RGB")
        colour_removed = True
    elif settings.greyscale and rng.random() < settings.greyscale:
        image = ImageOps.grayscale(image).convert("RGB")
        colour_removed = True
    if settings.low_resolution and rng.random() < settings.low_resolution:
        size = settings.low_resolution_size
        if size < min(image.size):
            original = image.size
            image = image.resize((size, size), Image.Resampling.BILINEAR).resize(original, Image.Resampling.BILINEAR)
    return image, colour_removed


def _random_colour(rng: random.Random) -> tuple[int, int, int]:
    if rng.random() < 0.3:  # plain dark backgrounds are common outside catalogues
        level = rng.randint(0, 60)
        return (level, level, level)
    return (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))


def recolour_background(image: Image.Image, colour: tuple[int, int, int], threshold: int = 30) -> Image.Image:
    """Paint the near-white region connected to the border with ``colour``.

    A flood fill by repeated 4-neighbour dilation inside the near-white mask;
    at model input sizes it converges in a few dozen vectorised steps (PIL's
    ``floodfill`` with a threshold runs per pixel in Python, 100x slower).
    """
    pixels = np.asarray(image.convert("RGB"))
    white = pixels.min(axis=2) >= 255 - threshold
    region = np.zeros_like(white)
    region[0, :], region[-1, :], region[:, 0], region[:, -1] = white[0, :], white[-1, :], white[:, 0], white[:, -1]
    while region.any():
        grown = region.copy()
        grown[1:] |= region[:-1]
        grown[:-1] |= region[1:]
        grown[:, 1:] |= region[:, :-1]
        grown[:, :-1] |= region[:, 1:]
        grown &= white
        if np.array_equal(grown, region):
            break
        region = grown
    if not region.any():
        return image
    out = pixels.copy()
    out[region] = colour
    return Image.fromarray(out)


def random_crop(image: Image.Image, min_scale: float, rng: random.Random) -> Image.Image:
    """A crop keeping ``min_scale``..1 of the area, aspect ratio within 3/4..4/3 of the original."""
    width, height = image.size
    area = rng.uniform(min_scale, 1.0)
    ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
    w = min(width, max(1, round(width * math.sqrt(area * ratio))))
    h = min(height, max(1, round(height * math.sqrt(area / ratio))))
    left = rng.randint(0, width - w)
    top = rng.randint(0, height - h)
    return image.crop((left, top, left + w, top + h))

"""The photos and titles exports are checked on, and the photos int8 is calibrated on.

Every export (ONNX, OpenVINO) and every candidate of the measured choice is checked against the
torch fp32 model on :func:`check_batch`: 32 photos and titles of the bundled sample catalogue.
OpenVINO's int8 image tower is calibrated (NNCF post-training quantisation) on other photos,
:func:`quantisation_photos`: the sample's remaining photos, or the user's own, named by
``FASHIONCLIP_CALIBRATION_IMAGES`` (a folder). Measured on 1,000 Kaggle photos with the bundled
model, calibrating on the 32 checked photos gave a mean cosine of 0.99895 to fp32 (least
0.989), on the other 88 0.99967 (least 0.995): the check then also runs on photos the
quantiser never saw.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from fashionclip.config import PreprocessConfig
from fashionclip.io import list_image_files
from fashionclip.preprocess.image import ImagePreprocessor
from fashionclip.preprocess.text import TextTokenizer
from fashionclip.sample import sample_catalog

ENVIRONMENT = "FASHIONCLIP_CALIBRATION_IMAGES"
CHECKED = 32
# NNCF's own default subset; more photos only lengthen the export
MOST_PHOTOS = 300
# fewer photos than this give activation ranges from too few examples to trust
FEWEST_PHOTOS = 8


def check_batch(preprocess: PreprocessConfig, tokenizer: TextTokenizer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """32 photos and titles of the bundled sample catalogue, ready for the towers: what every
    export is checked against (pixels, token ids, attention mask)."""
    root, rows = sample_catalog()
    picked = _checked_rows(rows)
    images = ImagePreprocessor(preprocess)
    pixels = np.stack([images(root / row["image"]) for row in picked])
    tokens = tokenizer([row["title"] for row in picked])
    return pixels, tokens.input_ids, tokens.attention_mask


def quantisation_photos(preprocess: PreprocessConfig) -> np.ndarray:
    """The photos int8 activations are calibrated on, ready for the image tower: the user's
    (``FASHIONCLIP_CALIBRATION_IMAGES``, up to 300 picked evenly by name), else the bundled
    sample's photos :func:`check_batch` leaves out."""
    images = ImagePreprocessor(preprocess)
    own = own_photos()
    if own:
        return np.stack([images(path) for path in own])
    root, rows = sample_catalog()
    checked = {row["image"] for row in _checked_rows(rows)}
    return np.stack([images(root / row["image"]) for row in rows if row["image"] not in checked])


def own_photos() -> list[Path]:
    """The user's calibration photos named by ``FASHIONCLIP_CALIBRATION_IMAGES``, or [] where it
    is unset. ValueError where the folder is missing or holds fewer than 8 images."""
    folder = os.environ.get(ENVIRONMENT, "")
    if not folder:
        return []
    try:
        files = list_image_files(folder)
    except FileNotFoundError:
        raise ValueError(f"{ENVIRONMENT}={folder!r}: no such folder") from None
    if len(files) < FEWEST_PHOTOS:
        raise ValueError(
            f"{ENVIRONMENT}={folder!r}: {len(files)} image(s) found, int8 calibration needs at least {FEWEST_PHOTOS}"
        )
    step = len(files) / min(len(files), MOST_PHOTOS)
    return [files[int(i * step)] for i in range(min(len(files), MOST_PHOTOS))]


def quantisation_key() -> str:
    """What tells the int8 exports of different calibration photos apart: "" for the bundled
    sample, else a digest of the user's photos' names, sizes and modification times."""
    own = own_photos()
    if not own:
        return ""
    digest = hashlib.sha256()
    for path in own:
        stat = path.stat()
        digest.update(f"{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:12]


def _checked_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return rows[:: max(1, len(rows) // CHECKED)][:CHECKED]

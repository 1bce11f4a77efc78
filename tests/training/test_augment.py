import random

import numpy as np
import pytest
from PIL import Image

from fashionclip.config import PreprocessConfig
from fashionclip.training.augment import augment, random_crop, recolour_background
from fashionclip.training.config import Augment

CONFIG = PreprocessConfig(image_size=32, resize=32, resize_mode="squash")


def _product_on_white() -> Image.Image:
    pixels = np.full((40, 30, 3), 255, np.uint8)
    pixels[10:30, 8:22] = (200, 30, 30)  # a red item
    pixels[18:22, 13:17] = 255  # a white detail enclosed by the item: not background
    return Image.fromarray(pixels)


def test_background_recolour_fills_only_the_white_region_touching_the_border():
    out = np.asarray(recolour_background(_product_on_white(), (0, 0, 0)))
    assert (out[0, 0] == 0).all() and (out[39, 29] == 0).all()
    assert (out[15, 10] == (200, 30, 30)).all()
    assert (out[20, 15] == 255).all()  # enclosed white stays


def test_background_recolour_leaves_photos_without_white_border_alone():
    image = Image.fromarray(np.full((20, 20, 3), 90, np.uint8))
    assert recolour_background(image, (0, 0, 0)) is image


def test_random_crop_keeps_at_least_the_minimum_area():
    image = Image.new("RGB", (60, 80))
    for seed in range(50):
        w, h = random_crop(image, 0.7, random.Random(seed)).size
        assert w <= 60 and h <= 80
        assert w * h >= 0.7 * 60 * 80 * 0.7  # area scale times the worst aspect change


def test_augment_is_deterministic_per_rng_and_reports_removed_colour():
    settings = Augment(crop_scale=0.7, flip=0.5, background=0.5, greyscale=0.3, negative=0.3, low_resolution=0.3)
    a, colour_a = augment(_product_on_white(), settings, CONFIG, random.Random(3))
    b, colour_b = augment(_product_on_white(), settings, CONFIG, random.Random(3))
    assert a.size == (32, 32) and np.array_equal(np.asarray(a), np.asarray(b)) and colour_a == colour_b
    removed = [augment(_product_on_white(), settings, CONFIG, random.Random(s)) for s in range(40)]
    for image, colour_removed in removed:
        pixels = np.asarray(image).astype(int)
        is_grey = (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()
        assert colour_removed == is_grey
    assert any(c for _, c in removed) and not all(c for _, c in removed)


def test_no_augmentation_is_plain_preprocessing():
    from fashionclip.preprocess.image import resize_and_crop

    off = Augment(crop_scale=1.0, flip=0.0)
    image, removed = augment(_product_on_white(), off, CONFIG, random.Random(0))
    assert not removed
    assert np.array_equal(np.asarray(image), np.asarray(resize_and_crop(_product_on_white(), CONFIG)))


@pytest.mark.parametrize(
    "field,value", [("flip", 1.5), ("greyscale", -0.1), ("crop_scale", 0.0), ("low_resolution_size", 2)]
)
def test_bad_augment_settings_are_rejected(field, value):
    from fashionclip.training.config import TrainConfigError

    with pytest.raises(TrainConfigError, match=field):
        Augment(**{field: value}).validate()

"""Region crops from segmentation masks: boxes, labels, split and every bad input."""

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fashionclip.training.config import DataSource, TrainConfig, TrainConfigError
from fashionclip.training.data import CaptionSampler, read_source, split_by_id
from fashionclip.training.regions import crop_box, mask_regions, read_label_names
from fashionclip.training.trainer import _load_example

LABELS = {0: "null", 1: "coat", 2: "skin", 3: "shoes"}


def _photo_set(root: Path, n: int = 3) -> Path:
    """``n`` 80x120 photos, each a coat (rows 20-80, columns 10-70) and shoes (rows 100-110)."""
    (root / "photos").mkdir(parents=True)
    (root / "masks").mkdir()
    with (root / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["index", "label"])
        writer.writerows(LABELS.items())
    rows = []
    for i in range(n):
        mask = np.zeros((120, 80), np.uint8)
        mask[20:80, 10:70] = 1
        mask[10:20, 30:50] = 2
        mask[100:110, 20:60] = 3
        Image.fromarray(mask).save(root / "masks" / f"p{i}.png")
        pixels = np.full((120, 80, 3), 200, np.uint8)
        pixels[mask == 1] = (150, 30, 30)
        Image.fromarray(pixels).save(root / "photos" / f"p{i}.jpg", quality=95)
        rows.append({"photo": f"p{i}", "tags": "coat shoes"})
    with (root / "tags.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["photo", "tags"])
        writer.writeheader()
        writer.writerows(rows)
    return root / "tags.csv"


def _regions_source(path: Path, **changes) -> DataSource:
    values = dict(
        path=str(path),
        id_column="photo",
        image_template="photos/{photo}.jpg",
        caption_columns=[],
        templates=["a photo of a {label}"],
        mask_template="masks/{photo}.png",
        mask_labels="labels.csv",
        ignore_labels=["null", "skin"],
        region_margin=0.0,
    )
    values.update(changes)
    return DataSource(**values)


def test_each_labelled_region_becomes_a_captioned_close_up(tmp_path):
    examples = read_source(_regions_source(_photo_set(tmp_path)))
    assert [e.id for e in examples[:2]] == ["p0#coat", "p0#shoes"]  # null and skin ignored
    coat = examples[0]
    assert coat.box == pytest.approx((10 / 80, 20 / 120, 70 / 80, 80 / 120))
    assert coat.attributes["label"] == "coat" and coat.split_key == "0:p0"
    assert CaptionSampler([_regions_source(tmp_path / "tags.csv")]).fill("a photo of a {label}", coat) == (
        "a photo of a coat"
    )
    crop = _load_example(coat, 48)
    assert crop.size == (60, 60)  # the coat's box of the 80x120 photo
    assert np.abs(np.asarray(crop, dtype=int) - (150, 30, 30)).mean() < 10


def test_margin_and_minimum_size_of_regions(tmp_path):
    _photo_set(tmp_path, 1)
    mask = tmp_path / "masks" / "p0.png"
    boxes = dict(mask_regions(mask, LABELS, ignore=["null"], min_fraction=0.0, margin=0.5))
    assert boxes["shoes"] == pytest.approx((0.0, 95 / 120, 1.0, 115 / 120))  # clipped to the image
    # shoes cover 400 of 9,600 pixels (4%), skin 200 (2%)
    assert set(dict(mask_regions(mask, LABELS, ignore=["null"], min_fraction=0.03))) == {"coat", "shoes"}
    assert set(dict(mask_regions(mask, LABELS, ignore=["null"], min_fraction=0.05))) == {"coat"}


def test_regions_follow_their_photo_across_the_split(tmp_path):
    path = _photo_set(tmp_path, 40)
    whole = DataSource(
        str(path),
        id_column="photo",
        image_template="photos/{photo}.jpg",
        caption_columns=[],
        templates=["a person wearing {tags}"],
        list_columns={"tags": " "},
        split_group="street",
    )
    regions = _regions_source(path, split_group="street")
    examples = read_source(whole, 0) + read_source(regions, 1)
    train, val = split_by_id(examples, 0.3)
    side = {}
    for i in train + val:
        photo = examples[i].id.split("#")[0]
        side.setdefault(photo, set()).add(i in val)
    assert all(len(s) == 1 for s in side.values())  # never a photo in validation and its coat in training
    assert 0 < sum(s == {True} for s in side.values()) < 40


def test_crop_box_keeps_at_least_a_pixel():
    image = Image.new("RGB", (10, 10))
    assert crop_box(image, (0.2, 0.2, 0.2, 0.2)).size == (1, 1)
    assert crop_box(image, (0.99, 0.99, 1.0, 1.0)).size == (1, 1)
    assert crop_box(image, (0.0, 0.0, 1.0, 0.5)).size == (10, 5)


def test_bad_masks_and_label_files_are_named(tmp_path):
    path = _photo_set(tmp_path, 2)
    (tmp_path / "masks" / "p1.png").unlink()
    with pytest.raises(TrainConfigError, match=r"row 2 \(id 'p1'\): mask .*p1.png' does not exist"):
        read_source(_regions_source(path))
    Image.fromarray(np.full((120, 80), 7, np.uint8)).save(tmp_path / "masks" / "p1.png")
    with pytest.raises(TrainConfigError, match="pixel value 7 is not in the labels file"):
        read_source(_regions_source(path))
    Image.new("RGB", (80, 120)).save(tmp_path / "masks" / "p1.png")
    with pytest.raises(TrainConfigError, match="expected a single-channel label image, got RGB"):
        read_source(_regions_source(path))
    (tmp_path / "masks" / "p1.png").write_bytes(b"not a png")
    with pytest.raises(TrainConfigError, match="cannot be read"):
        read_source(_regions_source(path))
    with pytest.raises(TrainConfigError, match="mask labels file .* does not exist"):
        read_source(_regions_source(path, mask_labels="nope.csv"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id,name\n0,null\n", "needs 'index' and 'label' columns"),
        ("index,label\nzero,null\n", "index 'zero' is not an integer"),
        ("index,label\n0,\n", "empty label for index 0"),
        ("index,label\n", "has no labels"),
    ],
)
def test_bad_label_files_are_named(tmp_path, text, message):
    bad = tmp_path / "labels.csv"
    bad.write_text(text)
    with pytest.raises(TrainConfigError, match=message):
        read_label_names(bad)


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        ([{"path": "a.csv", "mask_template": "m/{id}.png"}], "mask_template needs mask_labels"),
        ([{"path": "a.csv", "min_region_fraction": 1.0}], "min_region_fraction must be within"),
        ([{"path": "a.csv", "region_margin": -0.1}], "region_margin within"),
        (
            [{"path": "a.csv", "split_group": "s"}, {"path": "b.csv", "split_group": "s", "val_fraction": 0.3}],
            r"split_group 's' have different val_fraction \[0.1, 0.3\]",
        ),
    ],
)
def test_bad_region_options_are_named(sources, message):
    with pytest.raises(TrainConfigError, match=message):
        TrainConfig.from_dict({"data": sources, "output": "o", "model": "m"})

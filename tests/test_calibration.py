"""The check batch and the int8 calibration photos: the bundled sample's, split so the check never
sees a calibration photo, or the user's own (FASHIONCLIP_CALIBRATION_IMAGES), every bad folder refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from fashionclip import load_model
from fashionclip.calibration import (
    ENVIRONMENT,
    FEWEST_PHOTOS,
    MOST_PHOTOS,
    check_batch,
    own_photos,
    quantisation_key,
    quantisation_photos,
)
from fashionclip.config import PreprocessConfig
from fashionclip.errors import ImageLoadError
from fashionclip.sample import sample_catalog

CONFIG = PreprocessConfig(image_size=32, resize=32)


@pytest.fixture()
def photos(tmp_path: Path) -> Path:
    """A folder of 12 of the sample's photos, one in a subfolder."""
    root, rows = sample_catalog()
    folder = tmp_path / "own"
    (folder / "more").mkdir(parents=True)
    for i, row in enumerate(rows[:12]):
        shutil.copy(root / row["image"], folder / ("more" if i == 0 else "") / f"p{i:02d}.jpg")
    return folder


def test_the_sample_is_split_between_the_check_and_the_calibration(monkeypatch) -> None:
    from fashionclip.preprocess.text import clip_tokenizer

    monkeypatch.delenv(ENVIRONMENT, raising=False)
    pixels, ids, mask = check_batch(CONFIG, clip_tokenizer())
    calibration = quantisation_photos(CONFIG)
    _, rows = sample_catalog()
    assert len(pixels) == len(ids) == len(mask) == 32 and len(calibration) == len(rows) - 32
    assert not any(np.array_equal(photo, checked) for photo in calibration for checked in pixels)
    assert quantisation_key() == "" and own_photos() == []


def test_the_users_own_photos_are_used_and_keyed(monkeypatch, photos: Path) -> None:
    monkeypatch.setenv(ENVIRONMENT, str(photos))
    assert sorted(p.name for p in own_photos()) == [f"p{i:02d}.jpg" for i in range(12)]
    assert quantisation_photos(CONFIG).shape == (12, 3, 32, 32)
    key = quantisation_key()
    assert len(key) == 12 and quantisation_key() == key
    (photos / "p05.jpg").write_bytes((photos / "p06.jpg").read_bytes())  # a changed photo: another key
    assert quantisation_key() != key


def test_at_most_300_photos_are_picked_evenly(monkeypatch, tmp_path: Path) -> None:
    root, rows = sample_catalog()
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(MOST_PHOTOS + 50):
        (folder / f"{i:04d}.jpg").symlink_to(root / rows[i % len(rows)]["image"])
    monkeypatch.setenv(ENVIRONMENT, str(folder))
    picked = own_photos()
    assert len(picked) == MOST_PHOTOS and picked[0].name == "0000.jpg" and picked[-1].name > "0340.jpg"
    assert len({p.name for p in picked}) == MOST_PHOTOS


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda folder: folder / "nowhere", "no such folder"),
        (lambda folder: folder / "own" / "p01.jpg", "no such folder"),  # a file, not a folder
        (lambda folder: _keep(folder / "own", FEWEST_PHOTOS - 1), f"7 image\\(s\\) found, .* at least {FEWEST_PHOTOS}"),
    ],
)
def test_a_bad_calibration_folder_is_refused_with_its_name(monkeypatch, photos: Path, make, message) -> None:
    folder = make(photos.parent)
    monkeypatch.setenv(ENVIRONMENT, str(folder))
    with pytest.raises(ValueError, match=f"{ENVIRONMENT}=.*{message}"):
        quantisation_photos(CONFIG)


def test_a_broken_calibration_photo_is_named(monkeypatch, photos: Path) -> None:
    (photos / "p03.jpg").write_bytes(b"not a jpeg")
    monkeypatch.setenv(ENVIRONMENT, str(photos))
    with pytest.raises(ImageLoadError, match="p03.jpg"):
        quantisation_photos(CONFIG)


def _keep(folder: Path, count: int) -> Path:
    for extra in sorted(folder.rglob("*.jpg"))[count:]:
        extra.unlink()
    return folder


def test_openvino_int8_on_the_users_photos_is_an_export_of_its_own(
    tiny_checkpoint, monkeypatch, photos: Path, tmp_path: Path
) -> None:
    pytest.importorskip("openvino", reason="needs fashionclip[openvino] (scripts/test.sh installs it)")
    import fashionclip.backends.openvino as openvino

    monkeypatch.setenv("FASHIONCLIP_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(ENVIRONMENT, raising=False)
    quantised_on: list[int] = []
    quantise = openvino._quantise
    monkeypatch.setattr(
        openvino, "_quantise", lambda vision, pixels: quantised_on.append(len(pixels)) or quantise(vision, pixels)
    )
    sample = load_model(str(tiny_checkpoint), backend="openvino", precision="int8").backend.folder
    monkeypatch.setenv(ENVIRONMENT, str(photos))
    own = load_model(str(tiny_checkpoint), backend="openvino", precision="int8").backend.folder
    assert own != sample and own.name.startswith(sample.name.split("-")[0] + "_" + quantisation_key())
    _, rows = sample_catalog()
    assert quantised_on == [len(rows) - 32, 12]
    assert json.loads((own / "export.json").read_text())["fidelity"]["int8"]["image_cosine"] >= 0.99
    # reused, not quantised again; fp32 and bf16 exports are not keyed by the calibration photos
    assert load_model(str(tiny_checkpoint), backend="openvino", precision="int8").backend.folder == own
    fp32 = load_model(str(tiny_checkpoint), backend="openvino", precision="fp32").backend.folder
    assert "_" not in fp32.name and quantised_on == [len(rows) - 32, 12]
    # a bad folder fails before anything is written to the cache
    before = sorted(p.name for p in (tmp_path / "cache" / "openvino").iterdir())
    monkeypatch.setenv(ENVIRONMENT, str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="no such folder"):
        load_model(str(tiny_checkpoint), backend="openvino", precision="int8")
    assert sorted(p.name for p in (tmp_path / "cache" / "openvino").iterdir()) == before

import base64
import io
import logging
from pathlib import Path

import pytest
from PIL import Image

from fashionclip.evaluation.dataset import DatasetError
from fashionclip.evaluation.datasets import load_dataset
from fashionclip.evaluation.datasets.fashiongen import load_fashiongen


def png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), colour).save(buffer, format="PNG")
    return buffer.getvalue()


RED, GREEN, BLUE = png((255, 0, 0)), png((0, 255, 0)), png((0, 0, 255))
# bytes whose standard base64 holds '+' and '/', so the URL-safe form differs
AWKWARD = bytes([0xFB, 0xEF, 0xFF, 0xFE]) * 3


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def test_reads_one_file(tmp_path):
    path = write(
        tmp_path / "fashiongen_1to1_test.tsv", [f"red leather jacket\t{b64(RED)}", "", f"green scarf\t{b64(GREEN)}"]
    )
    data = load_fashiongen(path)
    assert data.name == "fashiongen"
    assert data.ids == ["fashiongen_1to1_test:1", "fashiongen_1to1_test:3"]
    assert data.images == [RED, GREEN]
    assert data.captions == ["red leather jacket", "green scarf"]
    assert data.split == ["test", "test"]
    assert data.labels == {} and data.tags is None


def test_reads_a_folder_with_splits_from_file_names(tmp_path, caplog):
    write(tmp_path / "fashiongen_train.tsv", [f"a\t{b64(RED)}", f"b\t{b64(GREEN)}"])
    write(tmp_path / "fashiongen_valid.tsv", [f"c\t{b64(BLUE)}"])
    write(tmp_path / "fashiongen_1to1_test_part_text.tsv", ["only text"])
    write(tmp_path / "fashiongen_1to1_test_part_image.tsv", [b64(RED)])
    with caplog.at_level(logging.INFO, logger="fashionclip.evaluation.datasets.fashiongen"):
        data = load_fashiongen(tmp_path)
    assert "fashiongen_1to1_test_part_text.tsv" in caplog.text
    assert data.ids == ["fashiongen_train:1", "fashiongen_train:2", "fashiongen_valid:1"]
    assert data.split == ["train", "train", "val"]
    assert data.captions == ["a", "b", "c"]
    assert data.images == [RED, GREEN, BLUE]
    assert load_fashiongen(tmp_path, split="val").ids == ["fashiongen_valid:1"]
    assert load_fashiongen(tmp_path, limit=1).ids == ["fashiongen_train:1"]
    assert load_fashiongen(tmp_path, split="train", limit=5).captions == ["a", "b"]
    assert load_dataset(f"fashiongen:{tmp_path}", split="train").images == [RED, GREEN]


def test_a_file_that_names_no_split(tmp_path):
    path = write(tmp_path / "pairs.tsv", [f"a\t{b64(RED)}"])
    assert load_fashiongen(path).split is None
    with pytest.raises(DatasetError, match="unknown split 'train'; splits present: none"):
        load_fashiongen(path, split="train")
    write(tmp_path / "fashiongen_train.tsv", [f"b\t{b64(GREEN)}"])
    assert load_fashiongen(tmp_path).split == ["train", "pairs"]  # sorted by name: fashiongen_train, pairs


def test_url_safe_base64_and_three_columns(tmp_path):
    assert "+" in b64(AWKWARD) and "/" in b64(AWKWARD)
    url_safe = base64.urlsafe_b64encode(AWKWARD).decode()
    path = write(tmp_path / "T2I_train.tsv", [f"17\tblue shirt\t{url_safe}", f"4\tred dress\t{b64(AWKWARD)}"])
    data = load_fashiongen(path)
    assert data.ids == ["T2I_train:17", "T2I_train:4"]
    assert data.captions == ["blue shirt", "red dress"]
    assert data.images == [AWKWARD, AWKWARD]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([b64(RED)], r"x_test\.tsv:1: expected 'text<TAB>base64-image'.*found 1 tab-separated field\(s\) \(EasyNLP"),
        ([f"a\tb\tc\t{b64(RED)}"], r"x_test\.tsv:1: expected .* found 4 tab-separated field\(s\)$"),
        ([f"a\t{b64(RED)}", f"1\tb\t{b64(RED)}"], r"x_test\.tsv:2: 3 tab-separated fields, but earlier lines have 2"),
        (["a\tnot base64!"], r"x_test\.tsv:1: the image field is not valid base64"),
        ([f"a\t{b64(RED)[:-1]}"], r"x_test\.tsv:1: the image field is not valid base64"),
        (["a\t"], r"x_test\.tsv:1: empty image"),
        ([f"7\ta\t{b64(RED)}", f"7\tb\t{b64(RED)}"], r"x_test\.tsv:2: id '7' already on line 1"),
        ([f" \ta\t{b64(RED)}"], r"x_test\.tsv:1: empty id in the first field"),
        ([""], r"x_test\.tsv: no image–caption pairs"),
    ],
)
def test_malformed_lines_are_named(tmp_path, lines, message):
    path = write(tmp_path / "x_test.tsv", lines)
    with pytest.raises(DatasetError, match=message):
        load_fashiongen(path)


def test_not_utf8(tmp_path):
    (tmp_path / "x.tsv").write_bytes(b"caf\xe9\t" + b64(RED).encode() + b"\n")
    with pytest.raises(DatasetError, match=r"x\.tsv: cannot read"):
        load_fashiongen(tmp_path / "x.tsv")


def test_missing_root_and_files(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_fashiongen(tmp_path / "nowhere.tsv")
    with pytest.raises(DatasetError, match="no .tsv files of image–caption pairs"):
        load_fashiongen(tmp_path)
    write(tmp_path / "fashiongen_1to1_test_part_text.tsv", ["only text"])
    with pytest.raises(DatasetError, match="no .tsv files of image–caption pairs"):
        load_fashiongen(tmp_path)


@pytest.mark.parametrize("limit", [0, -1, "1", 1.5])
def test_bad_limit(tmp_path, limit):
    path = write(tmp_path / "fashiongen_train.tsv", [f"a\t{b64(RED)}"])
    with pytest.raises(DatasetError, match="limit must be a positive integer"):
        load_fashiongen(path, limit=limit)


def test_unknown_split(tmp_path):
    write(tmp_path / "fashiongen_train.tsv", [f"a\t{b64(RED)}"])
    write(tmp_path / "fashiongen_val.tsv", [f"a\t{b64(RED)}"])
    with pytest.raises(DatasetError, match="unknown split 'test'; splits present: 'train', 'val'"):
        load_fashiongen(tmp_path, split="test")

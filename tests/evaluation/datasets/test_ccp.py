import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest

from fashionclip.errors import MissingExtraError
from fashionclip.evaluation.dataset import DatasetError
from fashionclip.evaluation.datasets import load_dataset
from fashionclip.evaluation.datasets.ccp import load_ccp

sio = pytest.importorskip("scipy.io")

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"
LABELS = ["null", "bag", "skin", "shoes", "hair", "dress", "belt"]


def side(photo: str) -> str:
    """The recipe's rule for ccp (source 1, val_fraction 0.3), written out independently."""
    digest = hashlib.sha1(f"1:{photo}".encode()).digest()
    return "val" if int.from_bytes(digest[:8], "big") / 2**64 < 0.3 else "train"


def photos(root: Path, *names: str) -> None:
    (root / "photos").mkdir(parents=True, exist_ok=True)
    for name in names:
        (root / "photos" / f"{name}.jpg").write_bytes(b"jpeg")


def shared_layout(root: Path, rows: list[str], labels: bool = True) -> Path:
    photos(root, *(line.split(",")[0] for line in rows))
    (root / "tags.csv").write_text("photo,tags\n" + "".join(f"{line}\n" for line in rows))
    if labels:
        (root / "labels.csv").write_text("index,label\n" + "".join(f"{i},{n}\n" for i, n in enumerate(LABELS)))
    return root


def original_layout(root: Path) -> Path:
    photos(root, "0001", "0002")
    sio.savemat(root / "label_list.mat", {"label_list": np.array(LABELS, dtype=object).reshape(1, -1)})
    (root / "annotations" / "pixel-level").mkdir(parents=True)
    (root / "annotations" / "image-level").mkdir(parents=True)
    mask = np.zeros((4, 3), dtype=np.uint8)
    mask[0, :] = 4  # hair
    mask[1, :] = 5  # dress
    mask[2, 0] = 2  # skin
    mask[3, :] = 3  # shoes
    sio.savemat(root / "annotations" / "pixel-level" / "0001.mat", {"groundtruth": mask})
    sio.savemat(root / "annotations" / "image-level" / "0002.mat", {"tags": np.array([[6.0], [1.0], [0.0]])})
    return root


def test_reads_the_shared_layout(tmp_path):
    root = shared_layout(tmp_path, ["0001,shoes bag dress", "0002,belt hair", "0003,"])
    data = load_ccp(root)
    assert data.name == "ccp"
    assert data.ids == ["0001", "0002", "0003"]
    assert data.images == [str(root / "photos" / f"{p}.jpg") for p in data.ids]
    assert data.tags == [["bag", "dress", "shoes"], ["belt"], []]
    assert data.split == [side(p) for p in data.ids]
    assert data.captions is None and data.labels == {}


def test_reads_the_original_layout(tmp_path):
    root = original_layout(tmp_path)
    photos(root, "0003")  # a photo without an annotation
    with pytest.warns(UserWarning, match=r"skipped 1 photo\(s\).*0003"):
        data = load_ccp(root)
    assert data.ids == ["0001", "0002"]
    assert data.images == [str(root / "photos" / "0001.jpg"), str(root / "photos" / "0002.jpg")]
    assert data.tags == [["dress", "shoes"], ["bag", "belt"]]
    assert data.split == [side("0001"), side("0002")]


def test_split_and_limit(tmp_path):
    names = [f"{i:04d}" for i in range(1, 21)]
    root = shared_layout(tmp_path, [f"{n},bag" for n in names])
    val = [n for n in names if side(n) == "val"]
    train = [n for n in names if side(n) == "train"]
    assert val and train
    assert load_ccp(root, split="val").ids == val
    assert load_ccp(root, split="train").ids == train
    assert load_ccp(root, limit=3).ids == names[:3]
    assert load_ccp(root, split="val", limit=1).ids == val[:1]
    assert load_dataset(f"ccp:{root}", split="train").split == ["train"] * len(train)


def test_missing_root_photos_and_layout(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_ccp(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="no photos/ folder"):
        load_ccp(tmp_path)
    photos(tmp_path)
    with pytest.raises(DatasetError, match="neither tags.csv .* nor annotations/"):
        load_ccp(tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("image,labels\n0001,bag\n", r"tags\.csv:1: bad header 'image,labels'"),
        ("", r"tags\.csv:1: bad header ''"),
        ("photo,tags\n0001,bag,belt\n", r"tags\.csv:2: 3 fields, expected 2"),
        ("photo,tags\n,bag\n", r"tags\.csv:2: empty photo name"),
        ("photo,tags\n0001,bag\n0001,belt\n", r"tags\.csv:3: photo '0001' listed twice"),
        ("photo,tags\n0001,bag jumpsuit\n", r"tags\.csv:2: unknown tag\(s\) jumpsuit"),
        ("photo,tags\n", r"tags\.csv: no photos after the header"),
        ('photo,tags\n"0001,bag\n', r"tags\.csv: cannot read as CSV"),
    ],
)
def test_malformed_tags_csv(tmp_path, text, message):
    shared_layout(tmp_path, ["0001,bag"])
    (tmp_path / "tags.csv").write_text(text)
    with pytest.raises(DatasetError, match=message):
        load_ccp(tmp_path)


def test_malformed_labels_csv(tmp_path):
    shared_layout(tmp_path, ["0001,bag"])
    (tmp_path / "labels.csv").write_text("index,label\nx,bag\n")
    with pytest.raises(DatasetError, match=r"labels\.csv:2: expected 'index,label'"):
        load_ccp(tmp_path)


def test_a_missing_photo(tmp_path):
    shared_layout(tmp_path, ["0001,bag", "0002,bag"])
    (tmp_path / "photos" / "0002.jpg").unlink()
    with pytest.raises(DatasetError, match=r"1 annotated photo\(s\) missing .*0002\.jpg"):
        load_ccp(tmp_path)


def test_an_empty_split(tmp_path):
    shared_layout(tmp_path, ["0001,bag"])
    other = "train" if side("0001") == "val" else "val"
    with pytest.raises(DatasetError, match=f"falls in the '{other}' split"):
        load_ccp(tmp_path, split=other)


@pytest.mark.parametrize("limit", [0, -2, "1"])
def test_bad_limit(tmp_path, limit):
    shared_layout(tmp_path, ["0001,bag"])
    with pytest.raises(DatasetError, match="limit must be a positive integer"):
        load_ccp(tmp_path, limit=limit)


def test_unknown_split(tmp_path):
    shared_layout(tmp_path, ["0001,bag"])
    with pytest.raises(DatasetError, match="unknown split 'test'; splits present: 'train', 'val'"):
        load_ccp(tmp_path, split="test")


def test_original_layout_without_label_list(tmp_path):
    root = original_layout(tmp_path)
    (root / "label_list.mat").unlink()
    with pytest.raises(DatasetError, match=r"label_list\.mat is missing"):
        load_ccp(root)


def test_original_layout_bad_label_list(tmp_path):
    root = original_layout(tmp_path)
    sio.savemat(root / "label_list.mat", {"names": np.array(LABELS, dtype=object).reshape(1, -1)})
    with pytest.raises(DatasetError, match=r"label_list\.mat: no 'label_list' variable \(has names\)"):
        load_ccp(root)
    sio.savemat(root / "label_list.mat", {"label_list": np.array([["a"], [3]], dtype=object)})
    with pytest.raises(DatasetError, match=r"label_list entry 1 .* not a label name"):
        load_ccp(root)


def test_original_layout_without_annotations(tmp_path):
    root = original_layout(tmp_path)
    for mat in (root / "annotations").rglob("*.mat"):
        mat.unlink()
    with pytest.raises(DatasetError, match="no .mat annotations"):
        load_ccp(root)


def test_original_layout_annotation_without_photo(tmp_path):
    root = original_layout(tmp_path)
    (root / "photos" / "0002.jpg").unlink()
    with pytest.raises(DatasetError, match=r"missing .*0002\.jpg"):
        load_ccp(root)


@pytest.mark.parametrize(
    ("level", "content", "message"),
    [
        ("pixel-level", {"gt": np.zeros((2, 2))}, r"0001\.mat: no 'groundtruth' variable \(has gt\)"),
        ("pixel-level", {"groundtruth": np.full((2, 2), 7)}, r"0001\.mat: label index 7 out of range"),
        ("pixel-level", {"groundtruth": np.full((2, 2), -1)}, r"0001\.mat: label index -1 out of range"),
        ("pixel-level", {"groundtruth": np.zeros((2, 2, 2))}, r"0001\.mat: 'groundtruth' is a 2x2x2 .* array"),
        ("pixel-level", {"groundtruth": np.full((2, 2), 1.5)}, r"0001\.mat: 'groundtruth' holds values that are not"),
        ("image-level", {"tags": np.array([[1], [40]])}, r"0001\.mat: label index 40 out of range"),
        ("image-level", {"tags": "bag"}, r"0001\.mat: 'tags' is a .* array, expected label indices"),
    ],
)
def test_original_layout_bad_annotations(tmp_path, level, content, message):
    root = original_layout(tmp_path)
    for mat in (root / "annotations").rglob("0001.mat"):
        mat.unlink()
    sio.savemat(root / "annotations" / level / "0001.mat", content)
    with pytest.raises(DatasetError, match=message):
        load_ccp(root)


def test_original_layout_not_a_mat_file(tmp_path):
    root = original_layout(tmp_path)
    (root / "annotations" / "pixel-level" / "0001.mat").write_bytes(b"not a MATLAB file at all")
    with pytest.raises(DatasetError, match=r"0001\.mat: not a readable MATLAB \.mat file"):
        load_ccp(root)


def test_original_layout_without_scipy(tmp_path, monkeypatch):
    root = original_layout(tmp_path)
    monkeypatch.setitem(sys.modules, "scipy.io", None)  # makes the import fail
    with pytest.raises(MissingExtraError, match=r"fashionclip\[eval\]"):
        load_ccp(root)


def test_the_shared_folder():
    root = SHARED / "ccp"
    if not (root / "tags.csv").is_file():
        pytest.skip(f"{root} is absent")
    data = load_ccp(root)
    assert len(data) == 1_004 and data.ids[0] == "0001"
    assert sum("shoes" in tags for tags in data.tags) == 775
    assert not any({"null", "skin", "hair"} & set(tags) for tags in data.tags)
    assert data.split.count("val") == 306  # the bundled model's README: 306 ccp validation photos

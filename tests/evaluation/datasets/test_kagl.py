import hashlib
import os
from pathlib import Path

import pytest

from fashionclip.evaluation.dataset import DatasetError
from fashionclip.evaluation.datasets import load_dataset
from fashionclip.evaluation.datasets._common import holdout_split, recipe_rule
from fashionclip.evaluation.datasets.kagl import load_kagl

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"
HEADER = "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName"


def side(item_id: str, source: int = 0, fraction: float = 0.1) -> str:
    """The training split rule, written out independently of the package's code."""
    digest = hashlib.sha1(f"{source}:{item_id}".encode()).digest()
    return "val" if int.from_bytes(digest[:8], "big") / 2**64 < fraction else "train"


VAL_IDS = [str(i) for i in range(1, 500) if side(str(i)) == "val"][:2]
TRAIN_IDS = [str(i) for i in range(1, 500) if side(str(i)) == "train"][:2]


def write_kagl(root: Path, lines: list[str], images: list[str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "styles.csv").write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    (root / "images").mkdir(exist_ok=True)
    ids = images if images is not None else [line.split(",")[0] for line in lines]
    for item_id in ids:
        (root / "images" / f"{item_id}.jpg").write_bytes(b"jpeg")
    return root


def row(item_id: str, name: str = "Turtle Men Navy Blue Shirt", usage: str = "Casual") -> str:
    return f"{item_id},Men,Apparel,Topwear,Shirts,Navy Blue,Fall,2011,{usage},{name}"


def test_the_split_rule_is_read_from_the_bundled_models_training_config():
    assert recipe_rule("kagl") == ("0", 0.1)
    assert recipe_rule("ccp") == ("1", 0.3)
    ids = [str(i) for i in range(300)]
    assert holdout_split(ids, "kagl") == [side(i) for i in ids]
    assert holdout_split(ids, "ccp") == [side(i, 1, 0.3) for i in ids]


def test_reads_the_quoted_layout(tmp_path):
    a, b = VAL_IDS[0], TRAIN_IDS[0]
    root = write_kagl(
        tmp_path / "kagl",
        [row(a, '"Boss Men Perfume, After Shave Balm and Shower Gel Set"'), row(b, "Titan Women Watch", usage="")],
    )
    data = load_kagl(root)
    assert data.name == "kagl"
    assert data.ids == [a, b]
    assert data.images == [str(root / "images" / f"{a}.jpg"), str(root / "images" / f"{b}.jpg")]
    assert data.captions == ["Boss Men Perfume, After Shave Balm and Shower Gel Set", "Titan Women Watch"]
    assert data.labels == {
        "gender": ["Men", "Men"],
        "masterCategory": ["Apparel", "Apparel"],
        "subCategory": ["Topwear", "Topwear"],
        "articleType": ["Shirts", "Shirts"],
        "baseColour": ["Navy Blue", "Navy Blue"],
        "season": ["Fall", "Fall"],
        "usage": ["Casual", None],
    }
    assert data.split == ["val", "train"]
    assert data.tags is None and data.products is None


def test_reads_the_original_unquoted_layout_line_by_line(tmp_path):
    a, b, c = VAL_IDS[0], TRAIN_IDS[0], TRAIN_IDS[1]
    root = write_kagl(
        tmp_path,
        [
            row(a, "Turtle Men Formal Pink Tie, Cufflink and Pocket Square Combo Set"),  # unquoted, commas
            row(b, '"Newfeel Unisex White, Blue and Orange Casual Shoes"'),  # quoted, in the same file
            row(c, '"Being Human" Men Tee, White, Slim'),  # unquoted, with quotes inside
        ],
    )
    data = load_kagl(root / "styles.csv")  # the CSV file itself works too
    assert data.ids == [a, b, c]
    assert data.captions == [
        "Turtle Men Formal Pink Tie, Cufflink and Pocket Square Combo Set",
        "Newfeel Unisex White, Blue and Orange Casual Shoes",
        '"Being Human" Men Tee, White, Slim',
    ]
    assert data.labels["usage"] == ["Casual"] * 3
    assert data.split == ["val", "train", "train"]


def test_rows_without_an_image_are_skipped_with_a_warning(tmp_path):
    a, b = TRAIN_IDS
    root = write_kagl(tmp_path, [row(a), row(b)], images=[b])
    with pytest.warns(UserWarning, match=rf"skipped 1 row\(s\).*first: {a}\.jpg"):
        data = load_kagl(root)
    assert data.ids == [b]


def test_split_and_limit(tmp_path):
    ids = [VAL_IDS[0], TRAIN_IDS[0], VAL_IDS[1], TRAIN_IDS[1]]
    root = write_kagl(tmp_path, [row(i) for i in ids])
    assert load_kagl(root, split="val").ids == VAL_IDS
    assert load_kagl(root, split="train").ids == TRAIN_IDS
    assert load_kagl(root, split="train").split == ["train", "train"]
    assert load_kagl(root, limit=3).ids == ids[:3]
    assert load_kagl(root, split="val", limit=1).ids == VAL_IDS[:1]
    assert load_dataset(f"kagl:{root}", split="val").ids == VAL_IDS


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["1,Men,Apparel,Topwear,Shirts,Blue,Fall,2011,Casual"], r"styles\.csv:2: 9 fields, expected 10"),
        ([row("x1")], r"styles\.csv:2: id 'x1' is not a number"),
        ([row("")], r"styles\.csv:2: id '' is not a number"),
        ([row("7"), row("7")], r"styles\.csv:3: id 7 already on line 2"),
        ([], r"styles\.csv: no rows after the header"),
    ],
)
def test_malformed_rows_are_named(tmp_path, lines, message):
    root = write_kagl(tmp_path, lines, images=[])
    with pytest.raises(DatasetError, match=message):
        load_kagl(root)


def test_bad_header(tmp_path):
    (tmp_path / "styles.csv").write_text("id,name\n1,x\n")
    with pytest.raises(DatasetError, match=r"styles\.csv:1: bad header 'id,name'"):
        load_kagl(tmp_path)


def test_empty_file(tmp_path):
    (tmp_path / "styles.csv").write_text("")
    with pytest.raises(DatasetError, match=r"styles\.csv: empty file"):
        load_kagl(tmp_path)


def test_missing_root_and_files(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_kagl(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="no styles.csv"):
        load_kagl(tmp_path)
    (tmp_path / "styles.csv").write_text(HEADER + "\n" + row("1") + "\n")
    with pytest.raises(DatasetError, match="no images folder"):
        load_kagl(tmp_path)


def test_no_image_at_all(tmp_path):
    root = write_kagl(tmp_path, [row("1")], images=[])
    with pytest.warns(UserWarning, match="skipped 1 row"), pytest.raises(DatasetError, match="none of the selected"):
        load_kagl(root)


def test_an_empty_split(tmp_path):
    root = write_kagl(tmp_path, [row(TRAIN_IDS[0])])
    with pytest.raises(DatasetError, match="no row of .* falls in the 'val' split"):
        load_kagl(root, split="val")


@pytest.mark.parametrize("limit", [0, -1, "3", 2.0, True])
def test_bad_limit(tmp_path, limit):
    root = write_kagl(tmp_path, [row("1")])
    with pytest.raises(DatasetError, match="limit must be a positive integer"):
        load_kagl(root, limit=limit)


def test_unknown_split(tmp_path):
    root = write_kagl(tmp_path, [row("1")])
    with pytest.raises(DatasetError, match="unknown split 'test'; splits present: 'train', 'val'"):
        load_kagl(root, split="test")


def test_the_shared_folder():
    root = SHARED / "kagl"
    if not (root / "styles.csv").is_file():
        pytest.skip(f"{root} is absent")
    with (root / "styles.csv").open(encoding="utf-8") as handle:
        ids = [line.split(",", 1)[0] for line in list(handle)[1:] if line.strip()]
    present = set(os.listdir(root / "images"))
    data = load_kagl(root)
    assert len(ids) == 39_946 and len(data) == sum(f"{i}.jpg" in present for i in ids)
    assert len(set(data.labels["masterCategory"])) == 7 and len(set(data.labels["gender"])) == 5
    # the bundled model's README: 4,291 validation items, 306 of them ccp photos
    assert data.split.count("val") == 4_291 - 306
    assert data.ids[0] == "15970" and data.captions[0] == "Turtle Check Men Navy Blue Shirt"

import json
import re

import pytest
from PIL import Image

from fashionclip.evaluation.dataset import DatasetError
from fashionclip.evaluation.datasets.imaterialist import load_imaterialist

LABEL_MAP = (
    "labelId,taskId,labelName,taskName\n"
    "17,2,Black,color\n"
    "62,1,Dresses,category\n"
    "66,3,Female,gender\n"
    "105,8,Long Sleeved,sleeve\n"
    "148,2,Red,color\n"
    "214,5,V-Necks,neckline\n"
)
TRAIN = {
    "images": [{"imageId": "1", "url": ["https://x.test/1.jpg"]}, {"imageId": "2", "url": ["https://x.test/2.jpg"]}],
    "annotations": [
        {"imageId": "1", "labelId": ["62", "17", "66"]},
        {"imageId": "2", "labelId": ["17", "148", "214"]},
    ],
}
VALIDATION = {"images": [{"imageId": "1", "url": []}], "annotations": [{"imageId": 1, "labelId": [105, 66]}]}
DESCRIPTIONS = {
    "info": {"year": 2019},
    "categories": [
        {"id": 0, "name": "shirt, blouse", "supercategory": "upperbody", "level": 2},
        {"id": 1, "name": "top, t-shirt, sweatshirt", "supercategory": "upperbody", "level": 2},
        {"id": 6, "name": "pants", "supercategory": "lowerbody", "level": 2},
    ],
    "attributes": [
        {"id": 0, "name": "classic (t-shirt)", "supercategory": "nickname", "level": 1},
        {"id": 28, "name": "peg", "supercategory": "silhouette", "level": 1},
        {"id": 77, "name": "plain (pattern)", "supercategory": "textile pattern", "level": 1},
    ],
}


def jpeg(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 4), (255, 255, 0)).save(path, format="JPEG")


def write_json(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


def make_fgvc5(root, label_map=True):
    write_json(root / "train.json", TRAIN)
    write_json(root / "validation.json", VALIDATION)
    for image in ("train/1.jpg", "train/2.jpg", "validation/1.jpg"):
        jpeg(root / image)
    if label_map:
        (root / "iMat_fashion_2018_label_map_228.csv").write_text(LABEL_MAP, encoding="utf-8")
    return root


def make_fgvc6(root, csv_text):
    write_json(root / "label_descriptions.json", DESCRIPTIONS)
    (root / "train.csv").write_text(csv_text, encoding="utf-8")
    jpeg(root / "train" / "placeholder.jpg")
    return root


def test_fgvc5_with_label_map_gives_names_and_task_labels(tmp_path):
    root = make_fgvc5(tmp_path / "imat")
    data = load_imaterialist(root)
    assert data.name == "imaterialist"
    assert data.ids == ["train/1", "train/2", "validation/1"]
    assert data.images == [str(root / "train/1.jpg"), str(root / "train/2.jpg"), str(root / "validation/1.jpg")]
    assert data.tags == [["Dresses", "Black", "Female"], ["Black", "Red", "V-Necks"], ["Long Sleeved", "Female"]]
    assert data.split == ["train", "train", "val"]
    # one label of a task -> that label; several or none -> None
    assert data.labels == {
        "color": ["Black", None, None],
        "category": ["Dresses", None, None],
        "gender": ["Female", None, "Female"],
        "sleeve": [None, None, "Long Sleeved"],
        "neckline": [None, "V-Necks", None],
    }
    assert data.captions is None and data.products is None


def test_fgvc5_without_label_map_tags_are_ids(tmp_path):
    root = make_fgvc5(tmp_path / "imat", label_map=False)
    data = load_imaterialist(root)
    assert data.tags == [["62", "17", "66"], ["17", "148", "214"], ["105", "66"]]
    assert data.labels == {}


def test_fgvc5_val_json_and_train_only(tmp_path):
    root = tmp_path / "imat"
    write_json(root / "val.json", VALIDATION)
    jpeg(root / "val" / "1.jpg")
    data = load_imaterialist(root)
    assert data.ids == ["val/1"] and data.split == ["val"]
    only_train = tmp_path / "train-only"
    write_json(only_train / "train.json", TRAIN)
    (only_train / "train").mkdir()
    assert load_imaterialist(only_train).split == ["train", "train"]
    write_json(only_train / "train.json", {"images": [], "annotations": []})
    with pytest.raises(DatasetError, match="train.json: holds no labelled images"):
        load_imaterialist(only_train)


def test_split_and_limit(tmp_path):
    root = make_fgvc5(tmp_path / "imat")
    val = load_imaterialist(root, split="val")
    assert val.ids == ["validation/1"] and val.tags == [["Long Sleeved", "Female"]]
    assert val.labels["gender"] == ["Female"]
    assert load_imaterialist(root, limit=1).ids == ["train/1"]
    with pytest.raises(DatasetError, match="unknown split 'test'; splits present: 'train', 'val'"):
        load_imaterialist(root, split="test")
    with pytest.raises(DatasetError, match="limit must be a positive integer"):
        load_imaterialist(root, limit=0)


def test_fgvc6_2019_class_ids_with_attributes(tmp_path):
    root = make_fgvc6(
        tmp_path / "imat2019",
        "ImageId,EncodedPixels,Height,Width,ClassId\n"
        "00000663ed1ff0c4e0132b9b9ac53f6e.jpg,6068157 7 6073371 20,5214,3676,6_28_77\n"
        "00000663ed1ff0c4e0132b9b9ac53f6e.jpg,6323163 11 6328356 32,5214,3676,0\n"
        "0000fe7c9191fba733c8a69cfaf962b7.jpg,2201176 1 2203623 3,2448,2448,1_0\n"
        "00000663ed1ff0c4e0132b9b9ac53f6e.jpg,1 2,5214,3676,6_77\n",
    )
    data = load_imaterialist(root)
    assert data.ids == ["00000663ed1ff0c4e0132b9b9ac53f6e", "0000fe7c9191fba733c8a69cfaf962b7"]
    assert data.images == [
        str(root / "train" / "00000663ed1ff0c4e0132b9b9ac53f6e.jpg"),
        str(root / "train" / "0000fe7c9191fba733c8a69cfaf962b7.jpg"),
    ]
    assert data.tags == [
        ["pants", "peg", "plain (pattern)", "shirt, blouse"],
        ["top, t-shirt, sweatshirt", "classic (t-shirt)"],
    ]
    assert data.split is None and data.labels == {}
    with pytest.raises(DatasetError, match="unknown split 'train'; splits present: none"):
        load_imaterialist(root, split="train")


def test_fgvc7_2020_attribute_column(tmp_path):
    root = make_fgvc6(
        tmp_path / "imat2020",
        "ImageId,EncodedPixels,Height,Width,ClassId,AttributesIds\n"
        '00000663ed1ff0c4e0132b9b9ac53f6e,6068157 7,5214,3676,6,"28,77"\n'
        "00000663ed1ff0c4e0132b9b9ac53f6e,6323163 11,5214,3676,0,\n",
    )
    data = load_imaterialist(root)
    assert data.ids == ["00000663ed1ff0c4e0132b9b9ac53f6e"]
    assert data.images == [str(root / "train" / "00000663ed1ff0c4e0132b9b9ac53f6e.jpg")]
    assert data.tags == [["pants", "peg", "plain (pattern)", "shirt, blouse"]]


def test_fgvc6_long_run_length_field(tmp_path):
    mask = " ".join(["1 2"] * 40_000)  # longer than the csv module's default field limit
    root = make_fgvc6(tmp_path / "imat", f"ImageId,EncodedPixels,Height,Width,ClassId\na.jpg,{mask},10,10,6\n")
    assert load_imaterialist(root).tags == [["pants"]]


def test_missing_root_and_index(tmp_path):
    with pytest.raises(DatasetError, match="iMaterialist folder .* does not exist"):
        load_imaterialist(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(
        DatasetError, match=re.escape("no train.csv (2019/2020 layout) nor train.json / validation.json")
    ):
        load_imaterialist(tmp_path / "empty")


def test_missing_image_folders(tmp_path):
    root = tmp_path / "imat"
    write_json(root / "train.json", TRAIN)
    with pytest.raises(DatasetError, match=re.escape("no train/ folder with the images of train.json (<imageId>.jpg)")):
        load_imaterialist(root)
    csv_root = tmp_path / "csv"
    write_json(csv_root / "label_descriptions.json", DESCRIPTIONS)
    (csv_root / "train.csv").write_text(
        "ImageId,EncodedPixels,Height,Width,ClassId\na.jpg,1 2,10,10,6\n", encoding="utf-8"
    )
    with pytest.raises(DatasetError, match=re.escape("no train/ folder with the images train.csv names")):
        load_imaterialist(csv_root)
    (csv_root / "label_descriptions.json").unlink()
    with pytest.raises(DatasetError, match=re.escape("no label_descriptions.json (it comes with train.csv)")):
        load_imaterialist(csv_root)


@pytest.mark.parametrize(
    ("train", "message"),
    [
        ('{"images": [', "train.json: not valid JSON"),
        ('{"images": []}', "train.json: no 'annotations' list (test.json has no labels"),
        ('{"annotations": [["1", ["17"]]]}', "train.json: annotation 1 is not a JSON object"),
        ('{"annotations": [{"labelId": ["17"]}]}', "train.json: annotation 1 has no 'imageId'"),
        ('{"annotations": [{"imageId": "1"}]}', "train.json: annotation 1 (image '1') has no 'labelId' list"),
        (
            '{"annotations": [{"imageId": "1", "labelId": []}, {"imageId": "1", "labelId": []}]}',
            "train.json: annotation 2: image '1' already in annotation 1",
        ),
        (
            '{"annotations": [{"imageId": "1", "labelId": ["17", "999"]}]}',
            "train.json: annotation 1: label id '999' is not in iMat_fashion_2018_label_map_228.csv",
        ),
    ],
)
def test_malformed_fgvc5_file_names_file_and_annotation(tmp_path, train, message):
    root = make_fgvc5(tmp_path / "imat")
    write_json(root / "train.json", train)
    with pytest.raises(DatasetError, match=re.escape(message)):
        load_imaterialist(root)


@pytest.mark.parametrize(
    ("label_map", "message"),
    [
        ("id,name\n1,Argyle\n", "label_map_228.csv: no column(s) labelId, labelName, taskName"),
        (
            "labelId,taskId,labelName,taskName\n1,6,,pattern\n",
            "label_map_228.csv:2: empty labelId, labelName or taskName",
        ),
    ],
)
def test_bad_label_map(tmp_path, label_map, message):
    root = make_fgvc5(tmp_path / "imat")
    (root / "iMat_fashion_2018_label_map_228.csv").write_text(label_map, encoding="utf-8")
    with pytest.raises(DatasetError, match=re.escape(message)):
        load_imaterialist(root)


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        ("ImageId,EncodedPixels,Height,Width\na.jpg,1 2,10,10\n", "train.csv: no column(s) ClassId"),
        (
            "ImageId,EncodedPixels,Height,Width,ClassId\na.jpg,1 2,10,10,6\nb.jpg,1 2,10,10,6,7\n",
            "train.csv:3: more fields",
        ),
        ("ImageId,EncodedPixels,Height,Width,ClassId\n,1 2,10,10,6\n", "train.csv:2: empty ImageId"),
        ("ImageId,EncodedPixels,Height,Width,ClassId\na.jpg,1 2,10,10,shirt\n", "train.csv:2: ClassId 'shirt'"),
        ("ImageId,EncodedPixels,Height,Width,ClassId\na.jpg,1 2,10,10,6_x\n", "train.csv:2: ClassId '6_x'"),
        ("ImageId,EncodedPixels,Height,Width,ClassId\na.jpg,1 2,10,10,45\n", "train.csv:2: category id 45 is not in"),
        ("ImageId,EncodedPixels,Height,Width,ClassId\na.jpg,1 2,10,10,6_300\n", "train.csv:2: attribute id 300 is not"),
        ("ImageId,EncodedPixels,Height,Width,ClassId\n", "train.csv: holds no labelled images"),
    ],
)
def test_malformed_fgvc6_csv_names_file_and_line(tmp_path, csv_text, message):
    root = make_fgvc6(tmp_path / "imat", csv_text)
    with pytest.raises(DatasetError, match=re.escape(message)):
        load_imaterialist(root)


@pytest.mark.parametrize(
    ("descriptions", "message"),
    [
        ("{", "label_descriptions.json: not valid JSON"),
        ('{"categories": []}', "label_descriptions.json: no 'attributes' list"),
        ('{"categories": [{"id": 0}], "attributes": []}', "label_descriptions.json: categories entry 1 has no 'id'"),
    ],
)
def test_bad_label_descriptions(tmp_path, descriptions, message):
    root = make_fgvc6(tmp_path / "imat", "ImageId,EncodedPixels,Height,Width,ClassId\na.jpg,1 2,10,10,6\n")
    write_json(root / "label_descriptions.json", descriptions)
    with pytest.raises(DatasetError, match=re.escape(message)):
        load_imaterialist(root)

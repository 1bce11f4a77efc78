"""Any catalogue file as an evaluation dataset."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fashionclip.evaluation.dataset import DatasetError
from fashionclip.evaluation.datasets import load_dataset
from fashionclip.evaluation.datasets.catalog import load_catalog


@pytest.fixture()
def shop(tmp_path):
    for name in ("a", "b", "c", "d"):
        Image.fromarray(np.full((8, 8, 3), 100, dtype=np.uint8)).save(tmp_path / f"{name}.jpg")
    (tmp_path / "shop.csv").write_text(
        "id,image,title,colour,tags,split,sku,price\n"
        "1,a.jpg,red dress,red,red dress,train,s1,10\n"
        '2,b.jpg,blue shirt,blue,"blue, shirt",train,s1,12\n'
        "3,c.jpg,red shirt,,red shirt,test,s2,9\n"
        "4,d.jpg,green bag,green,,test,s3,30\n"
    )
    return tmp_path / "shop.csv"


def test_reads_captions_labels_tags_split_and_products(shop, tmp_path):
    data = load_catalog(shop, product_column="sku")
    assert data.name == "shop" and data.ids == ["1", "2", "3", "4"]
    assert data.images == [str(tmp_path / f"{n}.jpg") for n in "abcd"]
    assert data.captions == ["red dress", "blue shirt", "red shirt", "green bag"]
    assert data.labels == {"colour": ["red", "blue", None, "green"], "sku": ["s1", "s1", "s2", "s3"]}  # price: numeric
    assert data.tags == [["red", "dress"], ["blue", "shirt"], ["red", "shirt"], []]
    assert data.split == ["train", "train", "test", "test"] and data.products == ["s1", "s1", "s2", "s3"]
    assert load_dataset(str(shop), split="test", limit=1).ids == ["3"]
    assert load_dataset(f"catalog:{shop}", label_columns=["colour"]).labels.keys() == {"colour"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"split": "val"}, "no split 'val' \\(present: test, train\\)"),
        ({"limit": 0}, "limit must be a positive integer"),
        ({"label_columns": ["size"]}, "no label column 'size'"),
        ({"product_column": "style"}, "no product column 'style'"),
    ],
)
def test_bad_options(shop, kwargs, message):
    with pytest.raises(DatasetError, match=message):
        load_catalog(shop, **kwargs)


def test_a_catalogue_without_images(tmp_path):
    (tmp_path / "t.csv").write_text("id,title\n1,red dress\n")
    with pytest.raises(DatasetError, match="no row has an image"):
        load_catalog(tmp_path / "t.csv")

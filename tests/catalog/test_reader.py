import json
import warnings

import pytest

from fashionclip.catalog import ColumnMap, read_catalog
from fashionclip.errors import CatalogError


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_columns_are_found_by_name_and_typed(tmp_path):
    csv = write(
        tmp_path / "c.csv",
        "id,image,title,colour,price,zip\n"
        "1,img/1.jpg,Red Dress,Red,19.5,00123\n"
        "2,https://x.test/2.jpg,Blue Shirt,Blue,,00456\n"
        "3,,Text only item,Black,7,00789\n",
    )
    data = read_catalog(csv)
    assert [i.id for i in data.items] == ["1", "2", "3"]
    assert data.items[0].image == str(tmp_path / "img/1.jpg")  # relative to the file
    assert data.items[1].image == "https://x.test/2.jpg"
    assert data.items[2].image is None and data.items[2].text == "Text only item"
    assert data.items[0].metadata == {"colour": "Red", "price": 19.5, "zip": "00123"}  # a code stays text
    assert data.items[1].metadata["price"] is None and data.items[2].metadata["price"] == 7
    assert data.numeric_columns == ["price"]
    assert data.problems == []


def test_jsonl_and_parquet_read_the_same(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [
        {"sku": "a", "image_path": "a.jpg", "caption": "red dress", "price": 10},
        {"sku": "b", "image_path": "b.jpg", "caption": "jeans", "price": 12.5},
    ]
    write(tmp_path / "c.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n\n")
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "c.parquet")
    a, b = read_catalog(tmp_path / "c.jsonl"), read_catalog(tmp_path / "c.parquet")
    assert a.items == b.items
    assert a.items[1].metadata == {"price": 12.5} and a.items[0].text == "red dress"


def test_column_map_template_and_declared_numeric(tmp_path):
    csv = write(tmp_path / "s.csv", "pid,name,brand,stock\n7,Tee,Nike,3\n8,Cap,Puma,x\n")
    data = read_catalog(
        csv,
        ColumnMap(id_column="pid", text_columns="name", image_template="images/{pid}.jpg", numeric=["stock"]),
        root="/data",
    )
    assert [i.image for i in data.items] == ["/data/images/7.jpg"]
    assert [str(p) for p in data.problems] == [f"{csv} row 2 (id '8'): column 'stock' holds 'x', not a number"]
    assert data.problems[0].id == "8"


def test_an_empty_cell_named_by_the_image_template_skips_only_its_row(tmp_path):
    csv = write(tmp_path / "s.csv", "id,sku,name\n7,A1,Tee\n8,,Cap\n")
    data = read_catalog(csv, ColumnMap(image_template="images/{sku}.jpg"), root="/data")
    assert [i.image for i in data.items] == ["/data/images/A1.jpg"]
    assert [p.reason for p in data.problems] == ["column 'sku', which the image template names, is empty"]


def test_a_number_past_floats_range_is_no_number(tmp_path):
    csv = write(tmp_path / "c.csv", "id,title,price\n1,a,12.5\n2,b,1e309\n3,c,-1e400\n4,d,\n")
    data = read_catalog(csv, ColumnMap(numeric=["price"]))
    assert [(i.id, i.metadata["price"]) for i in data.items] == [("1", 12.5), ("4", None)]
    assert [p.reason for p in data.problems] == [
        "column 'price' holds '1e309', not a number",
        "column 'price' holds '-1e400', not a number",
    ]


def test_bad_rows_are_reported_and_skipped(tmp_path):
    csv = write(tmp_path / "c.csv", "id,image,title,price\n1,a.jpg,A,1\n1,b.jpg,B,2\n,c.jpg,C,3\n4,,,4\n5,e.jpg,E,5\n")
    data = read_catalog(csv)
    assert [i.id for i in data.items] == ["1", "5"]
    reasons = [p.reason for p in data.problems]
    assert reasons == [
        "duplicate id; the first row with this id is kept",
        "empty id (column 'id')",
        "no image and no text",
    ]
    with pytest.raises(CatalogError, match=r"row 2 \(id '1'\): duplicate id"):
        read_catalog(csv, strict=True)


def test_typed_files_report_a_string_among_numbers(tmp_path):
    rows = [{"id": i, "image": f"{i}.jpg", "price": i} for i in range(5)] + [
        {"id": 9, "image": "9.jpg", "price": "ten"}
    ]
    write(tmp_path / "c.jsonl", "\n".join(json.dumps(r) for r in rows))
    data = read_catalog(tmp_path / "c.jsonl")
    assert len(data.items) == 5
    assert "column 'price' holds 'ten', not a number" in str(data.problems[0])


def test_image_folder_with_caption_files(tmp_path):
    from PIL import Image

    (tmp_path / "shop" / "bags").mkdir(parents=True)
    Image.new("RGB", (4, 4)).save(tmp_path / "shop" / "bags" / "b1.jpg")
    Image.new("RGB", (4, 4)).save(tmp_path / "shop" / "a.png")
    write(tmp_path / "shop" / "a.txt", "a red dress\n")
    data = read_catalog(tmp_path / "shop")
    assert [(i.id, i.text) for i in data.items] == [("a", "a red dress"), ("bags/b1", "")]


@pytest.mark.parametrize(
    ("name", "content", "columns", "message"),
    [
        ("missing.csv", None, ColumnMap(), "does not exist"),
        ("c.xlsx", "x", ColumnMap(), "unknown file type '.xlsx'"),
        ("c.csv", "name,x\na,b\n", ColumnMap(), "no id column"),
        ("c.csv", "id,x\n1,b\n", ColumnMap(), "no image column"),
        ("c.csv", "id,title\n1,b\n", ColumnMap(image_column="img"), "no image column 'img'; columns are id, title"),
        ("c.csv", "id,title\n1,b\n", ColumnMap(numeric=["price"]), "no metadata column 'price'"),
        ("c.csv", "id,title,vector\n1,b,2\n", ColumnMap(), "'vector' clashes"),
        ("c.csv", "sku,title,id\n1,b,2\n", ColumnMap(id_column="sku"), "'id' clashes"),  # the store's own id
        ("c.csv", "id,title,_score\n1,b,2\n", ColumnMap(), "'_score' clashes"),  # LanceDB's result score
        ("c.csv", "id,title\n1,b\n", ColumnMap(image_template="{sku}.jpg"), "names no column 'sku'"),
        ("c.csv", "id,title\n1,b\n", ColumnMap(image_template="{id.__class__}.jpg"), "is not allowed"),
        ("c.csv", "id,title\n1,b\n", ColumnMap(image_template="{id!r}.jpg"), "is not allowed"),
        ("c.csv", "id,title\n1,b\n", ColumnMap(image_template="{id}.jpg}"), "Single '}' encountered"),
        ("c.csv", "id,title\n1,b\n", ColumnMap(image_template="{}.jpg"), "must name the columns"),
        ("c.jsonl", '{"id": 1}\n[1]\n', ColumnMap(), "c.jsonl:2: expected a JSON object"),
        ("c.jsonl", '{"id": 1\n', ColumnMap(), "c.jsonl:1: not valid JSON"),
    ],
)
def test_bad_catalogues_are_named(tmp_path, name, content, columns, message):
    if content is not None:
        write(tmp_path / name, content)
    with pytest.raises(CatalogError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_catalog(tmp_path / name, columns)


def test_empty_folder_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CatalogError, match="holds no images"):
        read_catalog(tmp_path / "empty")


def test_warnings_name_a_missing_image_column_and_a_column_kept_as_text(tmp_path):
    rows = "\n".join(f"{i},shots/{i}.JPG?w=200,shirt {i},{i}.5" for i in range(10))
    csv = write(tmp_path / "c.csv", f"id,photo_file,title,price\n{rows}\n10,shots/10.jpg,shirt,n/a\n")
    data = read_catalog(csv)
    assert data.items and all(not item.image for item in data.items)  # texts only, as before
    assert data.warnings == [
        "no image column (looked for image, image_path, image_url, path, url, file, filepath): indexing texts "
        "only; column 'photo_file' holds image paths or URLs: --image-column photo_file",
        "column 'price' is kept as text: 1 of 11 values are not numbers ('n/a'); --numeric price reads it as "
        "numbers and skips those rows",
    ]
    with pytest.raises(CatalogError, match="no image column"):
        read_catalog(csv, strict=True)
    clean = read_catalog(csv, ColumnMap(image_column="photo_file", numeric=["price"]))
    assert clean.warnings == [] and len(clean.items) == 10 and len(clean.problems) == 1


def test_codes_with_leading_zeros_and_mostly_text_columns_raise_no_warning(tmp_path):
    csv = write(tmp_path / "c.csv", "id,image,title,code,colour\n1,a.jpg,x,00123,red\n2,b.jpg,y,00124,3\n")
    assert read_catalog(csv).warnings == []


def test_the_old_column_map_names_still_work_with_a_deprecation_warning(tmp_path):
    csv = tmp_path / "c.csv"
    csv.write_text("pid,name,img\n1,red dress,a.jpg\n")
    with pytest.warns(DeprecationWarning) as caught:
        old = ColumnMap(id="pid", text="name", image="img")
    assert [str(w.message).split("; ")[1] for w in caught] == [
        "use id_column=",
        "use text_columns=",
        "use image_column=",
    ]
    assert old == ColumnMap(id_column="pid", text_columns="name", image_column="img")
    assert read_catalog(csv, old).items == read_catalog(csv, ColumnMap("pid", "img", "name")).items


@pytest.mark.parametrize(
    "options,message",
    [({"idd": "x"}, "unexpected keyword argument"), ({"id": "a", "id_column": "b"}, "both id= and id_column=")],
)
def test_a_column_map_refuses_unknown_and_doubled_names(options, message):
    with pytest.raises(TypeError, match=message), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ColumnMap(**options)

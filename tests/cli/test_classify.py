import csv
from importlib import resources

import pytest

from fashionclip.cli.main import main

CATALOG = resources.files("fashionclip") / "data" / "sample_catalog" / "catalog.csv"


def test_labels_for_the_sample_catalogue_with_the_bundled_model(tmp_path, capsys):
    out = tmp_path / "labels.csv"
    labels = "t-shirt,shirt,dress,jeans,casual shoes,sports shoes,handbag,watch,sunglasses,kurta"
    assert main(["classify", str(CATALOG), "--labels", labels, "-k", "2", "-o", str(out), "--no-progress"]) == 0
    with open(CATALOG, newline="") as handle:
        truth = {r["id"]: r["articleType"] for r in csv.DictReader(handle)}
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == len(truth) and set(rows[0]) == {"id", "image", "label", "label_score"}
    assert all(len(r["label"].split("|")) == 2 and float(r["label_score"].split("|")[0]) > 0 for r in rows)
    watches = [r for r in rows if truth[r["id"]] == "Watches"]
    assert watches and sum(r["label"].startswith("watch") for r in watches) / len(watches) >= 0.8
    assert "classified" in capsys.readouterr().out


def test_a_taxonomy_to_parquet(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    taxonomy = tmp_path / "t.yaml"
    taxonomy.write_text(
        "attributes:\n"
        "  master:\n    labels: [clothing, footwear, accessory]\n"
        "  article:\n    parent: master\n    labels:\n"
        "      clothing: [t-shirt, shirt, dress]\n      footwear: [sneakers, sandals]\n"
    )
    out = tmp_path / "tags.parquet"
    assert main(["classify", str(CATALOG), "--taxonomy", str(taxonomy), "-o", str(out), "--no-progress"]) == 0
    table = pq.read_table(out).to_pylist()
    assert {"master", "master_score", "article", "article_score"} <= set(table[0])
    for row in table:  # an article only under its predicted master, none under "accessory"
        allowed = {"clothing": {"t-shirt", "shirt", "dress"}, "footwear": {"sneakers", "sandals"}, "accessory": {""}}
        assert row["article"] in allowed[row["master"]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--labels", "a,b", "-o", "out.txt"], "must end in .csv or .parquet"),
        (["--labels", "a,b", "-o", "out.csv", "-k", "0"], "--k must be a positive integer"),
        (["--labels", ",", "-o", "out.csv"], "at least one label"),
        (["--labels", "a,a", "-o", "out.csv"], "listed twice"),
        (["--taxonomy", "missing.yaml", "-o", "out.csv"], "cannot read"),
        (["--labels", "a,b", "--templates", "{} {", "-o", "out.csv"], "Single '{' encountered"),
        (["--labels", "a,b", "--templates", "{} {x.y}", "-o", "out.csv"], "field {x.y} is not allowed"),
    ],
)
def test_bad_input_is_one_line(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(["classify", str(CATALOG), *args]) == 1
    assert message in capsys.readouterr().err


def test_missing_image_files_are_named(tmp_path, capsys):
    assert main(["classify", str(tmp_path / "nope.jpg"), "--labels", "a,b", "-o", str(tmp_path / "o.csv")]) == 1
    assert "no such image file" in capsys.readouterr().err


def test_an_unreadable_photo_is_skipped_and_named(tmp_path, capsys):
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    Image.new("RGB", (32, 32), (200, 30, 30)).save(folder / "good.jpg")
    (folder / "broken.jpg").write_bytes(b"not a photo")
    out = tmp_path / "o.csv"
    assert main(["classify", str(folder), "--labels", "red,blue", "-o", str(out), "--no-progress"]) == 0
    assert [r["id"] for r in csv.DictReader(out.open())] == ["good"]
    assert "skipped broken" in capsys.readouterr().err


def test_tags_written_into_an_index_become_filters(tmp_path, capsys):
    db = str(tmp_path / "db")
    assert main(["index", str(CATALOG), "--db", db, "--no-progress"]) == 0
    labels = "t-shirt,dress,shoes,handbag,watch"
    assert main(["classify", "--db", db, "--labels", labels, "--name", "kind"]) == 0  # the stored vectors
    assert "wrote kind for 120 items" in capsys.readouterr().out
    assert main(["search", "--db", db, "wrist watch", "--where", "kind=watch", "-k", "50", "--json"]) == 0
    import json

    found = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert found and all(hit["kind"] == "watch" for hit in found)
    assert main(["classify", "--db", db, "--labels", "a,b", "--model", "openai-clip-vit-b-32"]) == 1
    assert "holds 'fashion-clip-mini' vectors" in capsys.readouterr().err
    assert main(["classify", "--db", str(tmp_path / "none"), "--labels", "a,b"]) == 1
    assert "no index there" in capsys.readouterr().err

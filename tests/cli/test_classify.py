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


def _catalogue(path, rows, changes=None):  # noqa: ANN001, ANN202
    """The sample catalogue with absolute image paths, some titles changed and some rows added."""
    changes = changes or {}
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, **changes.get(row["id"], {})})
    return str(path)


def test_the_index_follows_its_catalogue_after_tags_were_written(tmp_path, capsys):
    """The issue's first case: after classify --db, index must still add and change rows."""
    root = CATALOG.parent
    with open(CATALOG, newline="") as handle:
        rows = [{**r, "image": str(root / r["image"])} for r in csv.DictReader(handle)]
    db = str(tmp_path / "shop.lance")
    assert main(["index", _catalogue(tmp_path / "a.csv", rows), "--db", db, "--no-progress"]) == 0
    assert main(["classify", "--db", db, "--labels", "casual,formal,sporty,party", "--name", "style"]) == 0
    changed = {rows[0]["id"]: {"title": "A brand new title"}}
    extra = [{**rows[1], "id": "new-1"}]
    assert main(["index", _catalogue(tmp_path / "b.csv", rows + extra, changed), "--db", db, "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["search", "--db", db, "--like", rows[0]["id"], "--json", "-k", "200"]) == 0
    import json

    hits = {h["id"]: h for h in map(json.loads, capsys.readouterr().out.splitlines())}
    assert len(hits) == len(rows)  # all but the product itself, the new one included
    assert hits["new-1"]["style"] == "" and hits[rows[2]["id"]]["style"] in {"casual", "formal", "sporty", "party"}


def test_tags_never_replace_a_catalogue_column_unless_asked(tmp_path, capsys):
    """The issue's second case: a taxonomy whose attributes are named like catalogue columns."""
    db = str(tmp_path / "tax.lance")
    assert main(["index", str(CATALOG), "--db", db, "--no-progress"]) == 0
    (tmp_path / "taxonomy.yaml").write_text(
        "attributes:\n  masterCategory: {labels: [Apparel, Footwear, Accessories]}\n"
    )
    capsys.readouterr()
    args = ["classify", "--db", db, "--taxonomy", str(tmp_path / "taxonomy.yaml")]
    assert main(args) == 1
    assert "column 'masterCategory' is a catalogue column" in capsys.readouterr().err
    with open(CATALOG, newline="") as handle:
        personal = sum(r["masterCategory"] == "Footwear" for r in csv.DictReader(handle))
    assert main(["search", "--db", db, "shoes", "--where", "masterCategory=Footwear", "-k", "200", "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == personal > 0  # the catalogue's values are intact
    assert main([*args, "--prefix", "tag_"]) == 0
    assert "wrote tag_masterCategory for 120 items" in capsys.readouterr().out
    assert main([*args, "--overwrite"]) == 0  # asked for: the catalogue column takes the tags

"""``fashionclip index`` and ``fashionclip search`` with the bundled model on the sample catalogue."""

import json
import shutil

import pytest

from fashionclip.cli.main import main
from fashionclip.sample import sample_catalog


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    folder, rows = sample_catalog()
    work = tmp_path_factory.mktemp("cli")
    shutil.copytree(folder, work / "shop")
    db = work / "db"
    assert main(["index", str(work / "shop" / "catalog.csv"), "--db", str(db), "--no-progress"]) == 0
    return work, db, rows


def test_index_reports_and_a_rerun_embeds_nothing(indexed, capsys):
    work, db, rows = indexed
    assert main(["index", str(work / "shop" / "catalog.csv"), "--db", str(db), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"{len(rows)} items in the index: 0 added" in out and f"{len(rows)} unchanged" in out
    assert "[model fashion-clip-mini]" in out


def test_search_prints_a_table_and_json(indexed, capsys):
    _, db, rows = indexed
    assert main(["search", "--db", str(db), "a photo of a watch", "-k", "3", "--show", "articleType,baseColour"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["#", "id", "score", "title", "articleType", "baseColour"]
    assert len(lines) == 2 + 3
    assert (
        main(
            [
                "search",
                "--db",
                str(db),
                "shirt",
                "--where",
                "gender=Women",
                "--where",
                "masterCategory in Apparel",
                "--json",
                "-k",
                "50",
            ]
        )
        == 0
    )
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = sum(1 for r in rows if r["gender"] == "Women" and r["masterCategory"] == "Apparel")
    assert len(hits) == min(50, expected) and all(h["gender"] == "Women" for h in hits)
    assert {"id", "score", "image", "text"} <= set(hits[0])


def test_image_like_and_keyword_queries(indexed, capsys):
    work, db, rows = indexed
    image = str(work / "shop" / rows[0]["image"])
    assert main(["search", "--db", str(db), "--image", image, "-k", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == rows[0]["id"]
    assert main(["search", "--db", str(db), "--like", rows[0]["id"], "-k", "2", "--json"]) == 0
    assert rows[0]["id"] not in capsys.readouterr().out
    word = rows[3]["title"].split()[0]
    assert main(["search", "--db", str(db), word, "--keyword", "--json", "-k", "5"]) == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert hits and all(word.lower() in h["text"].lower() for h in hits)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "--db", "{db}", "red", "--where", "colour=Red"], "unknown column 'colour'"),
        (["search", "--db", "{db}", "red", "--where", "=Men"], "expected 'column=value'"),
        (["search", "--db", "{db}"], "give a text, an image or a product id"),
        (["search", "--db", "{db}", "red", "--image-weight", "2"], "image_weight must be within"),
        (["search", "--db", "{db}", "red", "--show", "nope"], "--show: unknown columns ['nope']"),
        (["search", "--db", "{db}", "--like", "no-such-id"], "no product with id 'no-such-id'"),
        (["search", "--db", "{work}/missing", "red"], "no index at"),
        (["index", "{work}/missing.csv", "--db", "{db}"], "does not exist"),
        (["index", "{work}/shop/catalog.csv", "--db", "{db}", "--batch-size", "0"], "--batch-size must be positive"),
        (["index", "{work}/shop/catalog.csv", "--db", "{db}", "--model", "{work}/nowhere"], "nowhere"),
        (
            ["index", "{work}/shop/catalog.csv", "--db", "{db}", "--image-template", "images/{{id.__class__}}.jpg"],
            "field {id.__class__} is not allowed",
        ),
        (
            ["index", "{work}/shop/catalog.csv", "--db", "{db}", "--image-template", "images/{{id.jpg"],
            "expected '}' before end of string",
        ),
    ],
)
def test_bad_input_is_one_line_naming_the_problem(indexed, capsys, args, message):
    work, db, rows = indexed
    assert main([a.format(db=db, work=work) for a in args]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert main(["search", "--db", str(db), "red", "--json", "-k", "200"]) == 0  # the index is intact
    assert len(capsys.readouterr().out.splitlines()) == len(rows)


def test_index_and_search_in_milvus_lite(tmp_path, capsys):
    folder, rows = sample_catalog()
    db = f"milvus-lite:{tmp_path}/shop.db"
    assert main(["index", str(folder / "catalog.csv"), "--db", db, "--no-progress"]) == 0
    assert f"{len(rows)} items in the index: {len(rows)} added" in capsys.readouterr().out
    assert main(["search", "--db", db, "white sports shoes", "--where", "gender=Women", "-k", "3", "--json"]) == 0
    found = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(found) == 3 and {hit["gender"] for hit in found} == {"Women"}
    lance = tmp_path / "lance"
    assert main(["index", str(folder / "catalog.csv"), "--db", str(lance), "--no-progress"]) == 0
    capsys.readouterr()
    assert (
        main(["search", "--db", str(lance), "white sports shoes", "--where", "gender=Women", "-k", "3", "--json"]) == 0
    )
    same = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [h["id"] for h in found] == [h["id"] for h in same]  # both stores, one ranking
    assert main(["index", str(folder / "catalog.csv"), "--db", db, "--no-progress"]) == 0
    assert f"{len(rows)} unchanged" in capsys.readouterr().out


def _shop_with(tmp_path, header: str, rows: list[str]):  # noqa: ANN202
    from fashionclip.sample import sample_catalog

    root, _ = sample_catalog()
    photo = root / "images" / "1163.jpg"
    lines = [header] + [row.format(photo=photo) for row in rows]
    (tmp_path / "feed.csv").write_text("\n".join(lines) + "\n")
    return str(tmp_path / "feed.csv")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{work}/missing.csv"], "does not exist"),
        (["{feed}", "--image-column", "nope"], "no image column 'nope'"),
        (["{feed}", "--model", "{work}/nowhere"], "nowhere"),
        (["{feed}", "--strict"], "no image column"),
    ],
)
@pytest.mark.parametrize("db", ["shop.lance", "milvus-lite:shop.db"])
def test_a_failed_index_run_leaves_nothing_it_created(tmp_path, capsys, monkeypatch, args, message, db):
    monkeypatch.chdir(tmp_path)
    feed = _shop_with(tmp_path, "id,image_link,title", ["1,{photo},red shirt", "2,{photo},blue jeans"])
    assert main(["index", *[a.format(work=tmp_path, feed=feed) for a in args], "--db", db, "--no-progress"]) == 1
    assert message in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feed.csv"]


def test_searching_an_index_that_is_not_there_creates_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for db in ("milvus-lite:nothere.db", "nothere.lance"):
        assert main(["search", "--db", db, "red"]) == 1
        assert "no index at" in capsys.readouterr().err
        assert main(["classify", "--db", db, "--labels", "a,b"]) == 1
        assert "no index there" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_misnamed_image_column_and_a_stray_text_among_numbers_are_named(tmp_path, capsys):
    rows = [f"{i},{{photo}},shirt {i},{10 + i}" for i in range(12)] + ["12,{photo},shirt 12,cheap"]
    feed = _shop_with(tmp_path, "id,image_link,title,price", rows)
    db = str(tmp_path / "shop.lance")
    assert main(["index", feed, "--db", db, "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "no image column (looked for image, " in err and "--image-column image_link" in err
    assert "column 'price' is kept as text: 1 of 13 values are not numbers ('cheap')" in err
    assert main(["index", feed, "--db", str(tmp_path / "strict.lance"), "--strict", "--no-progress"]) == 1
    assert not (tmp_path / "strict.lance").exists()
    fixed = ["--image-column", "image_link", "--numeric", "price"]
    assert main(["index", feed, "--db", str(tmp_path / "fixed.lance"), *fixed, "--no-progress"]) == 0
    out = capsys.readouterr()
    assert "warning" not in out.err and "12 added" in out.out and "1 skipped" in out.out


def test_no_results_under_a_filter_names_the_values_that_exist(indexed, capsys):
    work, db, rows = indexed
    capsys.readouterr()
    assert main(["search", "--db", str(db), "red", "--where", "gender=Woman"]) == 0
    captured = capsys.readouterr()
    assert "no results" in captured.out
    assert "no item has gender='Woman': did you mean 'Women'? its values: " in captured.err

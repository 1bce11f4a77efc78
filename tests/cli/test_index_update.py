"""``fashionclip index --partial`` (a feed of changed rows, through ``Catalog.update``) and
``--delete``; a full run still removes what left the catalogue."""

from __future__ import annotations

import pytest

import fashionclip.loading
from fashionclip.cli.main import main
from fashionclip.search import Catalog
from fashionclip.testing import KeywordEncoder
from tests.search.conftest import ROWS, write_catalog


@pytest.fixture
def encoder(monkeypatch) -> KeywordEncoder:
    """The stand-in model every command loads; ``calls`` counts what it embedded."""
    made = KeywordEncoder()
    monkeypatch.setattr(fashionclip.loading, "load_model", lambda name, **options: made)
    return made


@pytest.fixture(params=["shop.lance", "milvus-lite:shop.db"])
def shop(request, tmp_path, encoder, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = request.param
    assert main(["index", str(write_catalog(tmp_path)), "--db", db, "--no-progress"]) == 0
    capsys.readouterr()
    return tmp_path, db


def stored(db: str, *ids: str) -> dict[str, dict]:
    return {h.id: h.metadata for h in Catalog.open(db, model=KeywordEncoder()).store.get(list(ids))}


def test_a_partial_feed_reads_no_image_embeds_nothing_and_deletes_nothing(shop, encoder, capsys):
    folder, db = shop
    (folder / "prices.csv").write_text("id,price\nd1,9.5\nb1,99\n")
    for image in (folder / "img").iterdir():
        image.unlink()
    calls = encoder.calls
    assert main(["index", "prices.csv", "--db", db, "--partial"]) == 0
    out = capsys.readouterr().out
    assert f"{len(ROWS)} items in the index: 0 added, 0 re-embedded, 2 rows updated" in out and "0 deleted" in out
    assert encoder.calls == calls
    assert [m["price"] for m in stored(db, "d1", "b1").values()] == [9.5, 99]
    assert main(["search", "--db", db, "red", "--where", "price<10", "--json"]) == 0
    assert '"id": "d1"' in capsys.readouterr().out


def test_a_full_run_after_a_partial_feed_finds_the_same_rows(shop, encoder, capsys):
    folder, db = shop
    (folder / "prices.csv").write_text("id,price\nd1,45\n")
    assert main(["index", "prices.csv", "--db", db, "--partial"]) == 0
    rows = [(i, c, t, g, 45 if i == "d1" else p) for i, c, t, g, p in ROWS if i != "j1"]
    calls = encoder.calls
    assert main(["index", str(write_catalog(folder, rows)), "--db", db, "--no-progress"]) == 0
    # a full run still removes what left the catalogue, and finds the partial feed's row as it is
    assert f"{len(ROWS) - 1} unchanged, 1 deleted" in capsys.readouterr().out and encoder.calls == calls


def test_delete_takes_ids_or_a_file_and_needs_no_catalogue(shop, capsys):
    folder, db = shop
    assert main(["index", "--db", db, "--delete", "d1, s1"]) == 0
    assert f"2 of 2 ids deleted, {len(ROWS) - 2} items in the index" in capsys.readouterr().out
    (folder / "gone.txt").write_text("b1\n\nno-such-id\n")
    assert main(["index", "--db", db, "--delete", "@gone.txt"]) == 0
    assert f"1 of 2 ids deleted, {len(ROWS) - 3} items" in capsys.readouterr().out
    (folder / "feed.csv").write_text("id,title,price\nn1,green shirt,20\nd2,,35\n")
    assert main(["index", "feed.csv", "--db", db, "--partial", "--delete", "h1"]) == 0
    assert "1 added, 1 re-embedded, 0 rows updated, 0 unchanged, 1 deleted" in capsys.readouterr().out
    assert set(stored(db, "n1", "h1", "d1")) == {"n1"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["index", "stock.csv", "--db", "{db}", "--partial"], "column 'stock' is not in the index"),
        (["index", "unknown.csv", "--db", "{db}", "--partial"], "item 'zz': not in the index"),
        (["index", "bad.csv", "--db", "{db}", "--partial"], "item 'd2': column 'price' holds 'cheap', not a number"),
        (["index", "--db", "{db}"], "give a catalogue file or folder to index, or --delete IDS"),
        (["index", "--db", "{db}", "--delete", " , "], "names no id"),
        (["index", "--db", "{db}", "--delete", "@missing.txt"], "--delete '@missing.txt'"),
        (["index", "--db", "nowhere.lance", "--delete", "d1"], "no index at 'nowhere.lance'"),
        (["index", "stock.csv", "--db", "{db}", "--new-columns"], "go with --partial"),
        (["index", "stock.csv", "--db", "{db}", "--partial", "--engine", "ray"], "without --engine ray"),
    ],
)
def test_bad_feeds_are_one_line_naming_the_problem_and_change_nothing(shop, capsys, args, message):
    folder, db = shop
    (folder / "stock.csv").write_text("id,stock\nd1,3\n")
    (folder / "unknown.csv").write_text("id,price\nd1,1\nzz,2\n")
    (folder / "bad.csv").write_text("id,price\nd1,1\nd2,cheap\n")
    assert main([a.format(db=db) for a in args]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert stored(db, "d1")["d1"]["price"] == 40 and len(Catalog.open(db, model=KeywordEncoder())) == len(ROWS)


def test_unknown_ids_are_skipped_and_reported_when_asked(shop, capsys):
    folder, db = shop
    (folder / "stock.csv").write_text("id,stock\nd1,3\nzz,1\n")
    assert main(["index", "stock.csv", "--db", db, "--partial", "--new-columns", "--skip-unknown"]) == 0
    captured = capsys.readouterr()
    assert "1 rows updated" in captured.out and "skipped: item 'zz': not in the index" in captured.err
    assert stored(db, "d1")["d1"]["stock"] == 3

import os
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from fashionclip.catalog import read_catalog
from fashionclip.search import Catalog
from fashionclip.store import LanceStore
from fashionclip.testing import KeywordEncoder
from tests.search.conftest import ROWS, write_catalog


@pytest.fixture(params=["memory", "lance"])
def db(request, tmp_path):
    return ":memory:" if request.param == "memory" else tmp_path / "db"


def test_a_rerun_embeds_only_what_changed(tmp_path, db):
    encoder = KeywordEncoder()
    catalog = Catalog.open(db, model=encoder)
    csv = write_catalog(tmp_path)
    first = catalog.index(csv)
    assert (first.added, first.total, encoder.calls) == (len(ROWS), len(ROWS), len(ROWS))

    again = catalog.index(csv)
    assert (again.unchanged, again.added, encoder.calls) == (len(ROWS), 0, len(ROWS))  # nothing embedded

    rows = [list(r) for r in ROWS]
    rows[0][2] = "red midi dress new title"  # text changed: re-embed
    rows[1][4] = 99  # price changed: rewrite the row, keep the vector
    Image.new("RGB", (8, 8), (30, 160, 30)).save(tmp_path / "img" / "s1.png")  # photo changed: re-embed
    rows = [tuple(r) for r in rows if r[0] != "j1"] + [("n1", "green", "green shirt", "Men", 20)]
    report = catalog.index(write_catalog(tmp_path, rows))
    assert (report.added, report.reembedded, report.rows_updated, report.deleted) == (1, 2, 1, 1)
    assert encoder.calls == len(ROWS) + 3
    assert catalog.store.get(["d2"])[0].metadata["price"] == 99
    assert catalog.search("green", k=1)[0].id == "s1"  # the new photo's vector
    assert len(catalog) == len(ROWS)


def test_unreadable_images_are_reported_and_indexed_items_kept(tmp_path, db):
    catalog = Catalog.open(db, model=KeywordEncoder())
    csv = write_catalog(tmp_path)
    catalog.index(csv)
    (tmp_path / "img" / "d1.png").write_bytes(b"not an image")  # breaks after indexing
    rows = [*ROWS, ("x1", "red", "red shirt", "Men", 10)]
    write_catalog(tmp_path, rows)
    (tmp_path / "img" / "s1.png").unlink()
    (tmp_path / "img" / "x1.png").write_bytes(b"\x89PNG broken")
    report = catalog.index(csv)
    problems = {p.id: p.reason for p in report.problems}
    assert set(problems) == {"d1", "s1", "x1"}
    assert "file not found" in problems["s1"] and "not a recognised image" in problems["x1"]
    assert report.deleted == 0 and len(catalog) == len(ROWS)  # d1 and s1 keep their entries, x1 is not added
    assert catalog.store.get(["d1"])[0].text == "red midi dress"


def test_rows_skipped_for_bad_values_are_not_deleted(tmp_path, db):
    catalog = Catalog.open(db, model=KeywordEncoder())
    csv = write_catalog(tmp_path)
    catalog.index(csv)
    csv.write_text(
        csv.read_text().replace("d2,img/d2.png,blue midi dress,Women,35", "d2,img/d2.png,blue midi dress,Women,cheap")
    )
    report = catalog.index(csv)  # the index knows price is numeric, so the file is read that way
    assert [p.id for p in report.problems] == ["d2"] and "'cheap', not a number" in report.problems[0].reason
    assert report.deleted == 0 and len(catalog) == len(ROWS)
    again = catalog.index(read_catalog(csv))  # read on its own, price is text: the indexer still refuses it
    assert "'cheap', not a number (the index holds numbers there)" in again.problems[0].reason
    assert again.deleted == 0 and catalog.store.get(["d2"])[0].metadata["price"] == 35


CHILD = """
import sys
from fashionclip.search import Catalog
from fashionclip.testing import KeywordEncoder
Catalog.open(sys.argv[1], model=KeywordEncoder(delay=0.4)).index(sys.argv[2], batch_size=4)
"""


def test_a_killed_run_resumes_without_re_embedding_finished_batches(tmp_path):
    colours = ["red", "blue", "green", "black", "white", "yellow"]
    rows = [(f"p{i:02d}", colours[i % 6], f"{colours[i % 6]} shirt {i}", "Men", i) for i in range(40)]
    csv = write_catalog(tmp_path, rows)
    db = tmp_path / "db"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(db), str(csv)])
    try:
        deadline = time.monotonic() + 240
        done = 0
        while time.monotonic() < deadline and done < 8:
            time.sleep(0.2)
            assert child.poll() is None, "the indexing run ended before it could be killed"
            if (db / "items.lance").exists():
                done = LanceStore(db).count()
        assert done >= 8, "the indexing run made no progress"
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
    kept = LanceStore(db).count()
    assert 8 <= kept < 40 and kept % 4 == 0  # whole batches only

    encoder = KeywordEncoder()
    report = Catalog.open(db, model=encoder).index(csv)
    assert (report.unchanged, report.added, encoder.calls) == (kept, 40 - kept, 40 - kept)
    store = LanceStore(db)
    assert store.count() == 40 == len(store.hashes())  # every item exactly once


@pytest.fixture
def image_server(tmp_path):
    """The catalogue's photos over HTTP on 127.0.0.1."""
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path / "img"))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_catalogue_of_http_and_fsspec_urls_is_indexed(tmp_path, image_server):
    fsspec = pytest.importorskip("fsspec")
    write_catalog(tmp_path)
    # fsspec's in-memory filesystem stands in for s3:// (the same fsspec code path, no server needed)
    with fsspec.open("memory://bucket/b1.png", "wb") as handle:
        handle.write((tmp_path / "img" / "b1.png").read_bytes())
    lines = ["id,image,title,gender,price"]
    for item_id, _, title, gender, price in ROWS:
        url = "memory://bucket/b1.png" if item_id == "b1" else f"{image_server}/{item_id}.png"
        lines.append(f"{item_id},{url},{title},{gender},{price}")
    lines.append(f"gone,{image_server}/missing.png,lost item,Men,1")
    csv = tmp_path / "remote.csv"
    csv.write_text("\n".join(lines) + "\n")

    catalog = Catalog.open(tmp_path / "db", model=KeywordEncoder())
    report = catalog.index(csv)
    assert report.added == len(ROWS) and len(catalog) == len(ROWS)
    assert [(p.id, "HTTP 404" in p.reason) for p in report.problems] == [("gone", True)]
    assert catalog.store.get(["b1"])[0].image == "memory://bucket/b1.png"
    by_photo = catalog.search(image=f"{image_server}/d1.png", k=1)
    assert by_photo[0].id == "d1" and by_photo[0].image == f"{image_server}/d1.png"
    assert catalog.search(image="memory://bucket/b1.png", k=1)[0].id == "b1"
    assert catalog.index(csv).unchanged == len(ROWS)  # hashes of the downloaded bytes: nothing re-embedded

from pathlib import Path

import numpy as np
import pytest

from fashionclip.io import is_remote, list_image_files, read_csv_column, write_embeddings


def test_npy_and_parquet_round_trip(tmp_path: Path):
    import pyarrow.parquet as pq

    vectors = np.arange(6, dtype=np.float32).reshape(3, 2)
    write_embeddings(tmp_path / "v.npy", ["a", "b", "c"], vectors)
    np.testing.assert_array_equal(np.load(tmp_path / "v.npy"), vectors)
    assert (tmp_path / "v.ids.txt").read_text() == "a\nb\nc\n"
    write_embeddings(tmp_path / "v.parquet", ["a", "b", "c"], vectors)
    table = pq.read_table(tmp_path / "v.parquet")
    assert table["id"].to_pylist() == ["a", "b", "c"] and table["embedding"].to_pylist()[2] == [4.0, 5.0]


@pytest.mark.parametrize(
    "name, ids, message",
    [
        ("v.csv", ["a"], "must end in .npy or .parquet"),
        ("v.npy", ["a", "b"], "2 ids for 1 vectors"),
        ("v.npy", ["a\nb"], "newlines"),
    ],
)
def test_bad_outputs_are_refused(tmp_path: Path, name, ids, message):
    with pytest.raises(ValueError, match=message):
        write_embeddings(tmp_path / name, ids, np.zeros((1, 2), np.float32))


def test_inputs(tmp_path: Path):
    (tmp_path / "b").mkdir()
    for name in ("b/2.JPG", "1.png", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in list_image_files(tmp_path)] == ["1.png", "2.JPG"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        list_image_files(tmp_path / "nope")
    (tmp_path / "t.csv").write_text("id,text\n1,red dress\n2,\n")
    assert read_csv_column(tmp_path / "t.csv", "text") == ["red dress", ""]
    with pytest.raises(ValueError, match="no column 'caption'"):
        read_csv_column(tmp_path / "t.csv", "caption")


@pytest.mark.parametrize(
    "text,remote",
    [
        ("https://shop.example/a.jpg", True),
        ("s3://bucket/a.jpg", True),
        ("file:///tmp/a.jpg", False),
        ("images/a.jpg", False),
        ("/data/very/long/folder/name/with://in-it.jpg", False),  # a scheme comes first
        ("C:\\shop\\a.jpg", False),
    ],
)
def test_is_remote_tells_a_url_to_download_from_a_local_path(text, remote):
    assert is_remote(text) is remote

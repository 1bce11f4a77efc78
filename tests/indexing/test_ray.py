"""Indexing with Ray Data, on a local Ray instance started here (2 CPUs, no dashboard): the same
index as the local path, resumable from finished shards, with the same problem reports."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

from fashionclip.cli.main import main
from fashionclip.indexing import RayOptions
from fashionclip.sample import sample_catalog
from fashionclip.search import Catalog

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def encoder():
    from fashionclip import load_model

    return load_model("fashion-clip-mini", backend="torch", precision="fp32")


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    """The sample catalogue plus a text-only row, a missing image and a corrupt one."""
    root, rows = sample_catalog()
    folder = tmp_path_factory.mktemp("shop")
    shutil.copytree(root / "images", folder / "images")
    (folder / "images" / "broken.jpg").write_bytes(b"not a jpeg")
    extra = [
        {**rows[0], "id": "text-only", "image": "", "title": "red leather ankle boots"},
        {**rows[0], "id": "missing", "image": "images/nowhere.jpg"},
        {**rows[0], "id": "broken", "image": "images/broken.jpg"},
    ]
    with (folder / "catalog.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([*rows, *extra])
    return folder / "catalog.csv"


def vectors(catalog: Catalog) -> dict[str, np.ndarray]:
    ids = list(catalog.store.hashes())
    return {h.id: h.vector for h in catalog.store.get(ids, with_vectors=True)}


def test_the_ray_path_builds_the_same_index_as_the_local_path(shop: Path, encoder, tmp_path: Path) -> None:
    local = Catalog.open(tmp_path / "local.lance", model=encoder)
    local_report = local.index(shop)
    distributed = Catalog.open(f"milvus-lite:{tmp_path}/ray.db", model=encoder)
    options = RayOptions(workers=2, batch_size=16, shard_size=25)
    report = distributed.index(shop, engine="ray", ray=options)
    assert report.added == local_report.added == 121  # 120 photos and the text-only row
    assert sorted(p.reason for p in report.problems) == sorted(p.reason for p in local_report.problems)
    assert {p.id for p in report.problems} == {"missing", "broken"}
    a, b = vectors(local), vectors(distributed)
    assert a.keys() == b.keys()
    assert max(float(np.abs(a[k] - b[k]).max()) for k in a) < 1e-5
    assert local.store.hashes() == distributed.store.hashes()
    np.testing.assert_allclose(b["text-only"], encoder.encode_texts("red leather ankle boots"), atol=1e-5)
    assert [h.id for h in local.search("red dress", k=10)] == [h.id for h in distributed.search("red dress", k=10)]
    again = distributed.index(shop, engine="ray", ray=options)
    assert (again.added, again.unchanged, len(again.problems)) == (0, 121, 2)


def test_a_killed_job_resumes_from_its_finished_shards(shop: Path, encoder, tmp_path: Path) -> None:
    work = tmp_path / "shards"
    options = RayOptions(workers=1, batch_size=16, shard_size=40, work_dir=work, keep_shards=True)
    first = Catalog.open(tmp_path / "first.lance", model=encoder)
    first.index(shop, engine="ray", ray=options)
    shards = sorted(work.glob("shard-*.parquet"))
    assert len(shards) == 4  # 123 rows less 0 skipped by the reader: ceil(123 / 40)
    # as if the job had been killed before its second shard was written
    shards[1].unlink()
    kept = {p: p.stat().st_mtime_ns for p in shards if p.exists()}
    resumed = Catalog.open(tmp_path / "resumed.lance", model=encoder)
    report = resumed.index(shop, engine="ray", ray=options)
    assert report.added == 121
    assert {p: p.stat().st_mtime_ns for p in kept} == kept  # finished shards were not redone
    assert shards[1].exists()
    assert vectors(first).keys() == vectors(resumed).keys()
    removed = Catalog.open(tmp_path / "removed.lance", model=encoder)
    removed.index(shop, engine="ray", ray=RayOptions(workers=1, shard_size=40, work_dir=work))
    assert not work.exists()  # without keep_shards, the shards go once loaded


def test_changed_metadata_rewrites_rows_without_embedding(shop: Path, encoder, tmp_path: Path) -> None:
    catalog = Catalog.open(tmp_path / "db.lance", model=encoder)
    catalog.index(shop)
    changed = shop.parent / "changed.csv"  # beside the original: the same image paths
    text = shop.read_text(encoding="utf-8").replace(",Summer,", ",Autumn,")
    changed.write_text(text, encoding="utf-8")
    before = vectors(catalog)
    report = catalog.index(changed, engine="ray", ray=RayOptions(batch_size=32, shard_size=200))
    summer = text.count(",Autumn,") - 2  # the two rows with unreadable images stay problems
    assert report.rows_updated == summer and report.added == 0 and report.reembedded == 0
    after = vectors(catalog)
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert catalog.store.count({"season": "Autumn"}) == summer


@pytest.mark.parametrize(
    "options",
    [{"workers": 0}, {"workers": 1.5}, {"gpus_per_worker": -1}, {"cpus_per_worker": 0}, {"shard_size": 0}],
)
def test_bad_ray_options(options: dict) -> None:
    with pytest.raises(ValueError):
        RayOptions(**options)


def test_an_unknown_engine_is_refused(shop: Path, encoder) -> None:
    with pytest.raises(ValueError, match="engine must be 'local' or 'ray'"):
        Catalog.open(":memory:", model=encoder).index(shop, engine="spark")


def test_cli_index_with_ray_into_milvus_lite_then_search(shop: Path, tmp_path: Path, capsys) -> None:
    db = f"milvus-lite:{tmp_path}/shop.db"
    arguments = ["index", str(shop), "--db", db, "--engine", "ray", "--workers", "2", "--shard-size", "50"]
    assert main([*arguments, "--no-progress"]) == 0
    assert "121 added" in capsys.readouterr().out
    assert main(["search", "--db", db, "red leather ankle boots", "-k", "1"]) == 0
    assert "text-only" in capsys.readouterr().out
    assert main(["index", str(shop), "--db", db, "--address", "auto"]) == 1
    assert "go with --engine ray" in capsys.readouterr().err


class FlakyRay:
    """Stands in for the ``ray`` module at start-up: its first ``failures`` starts raise what Ray
    raises when its raylet misses Ray's fixed 30-s registration wait."""

    def __init__(self, failures: int, message: str = "The current node timed out during startup.") -> None:
        self.failures, self.message = failures, message
        self.starts = self.shutdowns = 0

    def init(self, **kwargs) -> None:
        self.starts += 1
        if self.starts <= self.failures:
            raise Exception(self.message)

    def shutdown(self) -> None:
        self.shutdowns += 1


def test_a_local_cluster_that_times_out_at_start_up_is_started_again(monkeypatch, caplog) -> None:
    from fashionclip.indexing import ray as ray_indexing

    monkeypatch.delenv("RAY_gcs_server_port_wait_time_s", raising=False)
    flaky = FlakyRay(failures=1)
    ray_indexing._init(flaky, None)
    assert (flaky.starts, flaky.shutdowns) == (2, 1)
    assert "starting it again" in caplog.text


def test_a_local_cluster_that_never_starts_says_what_to_do(monkeypatch) -> None:
    from fashionclip.indexing import ray as ray_indexing

    monkeypatch.delenv("RAY_gcs_server_port_wait_time_s", raising=False)
    flaky = FlakyRay(failures=ray_indexing.LOCAL_START_ATTEMPTS)
    with pytest.raises(RuntimeError, match=r"did not start in 2 tries .*--engine local"):
        ray_indexing._init(flaky, None)
    assert flaky.starts == flaky.shutdowns == ray_indexing.LOCAL_START_ATTEMPTS


@pytest.mark.parametrize("address", [None, "auto"])
def test_other_start_up_errors_are_not_retried(monkeypatch, address) -> None:
    from fashionclip.indexing import ray as ray_indexing

    monkeypatch.delenv("RAY_gcs_server_port_wait_time_s", raising=False)
    flaky = FlakyRay(failures=1, message="Could not find any running Ray instance.")
    with pytest.raises(Exception, match="Could not find any running Ray instance"):
        ray_indexing._init(flaky, address)
    assert (flaky.starts, flaky.shutdowns) == (1, 0)

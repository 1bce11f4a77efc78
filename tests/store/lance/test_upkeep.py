"""A LanceDB store that takes a stream of small writes keeps its table tidy as it goes (issue 25):
small fragments compacted inline in tiers, indices refreshed and old versions removed in the
background, without a reload of the in-memory index and without losing or changing a row."""

from __future__ import annotations

import warnings
from datetime import timedelta

import numpy as np
import pytest

from fashionclip.store import ExactStore, LanceStore
from fashionclip.store.lance import memory_index, upkeep
from tests.store.lance.test_live_index import assert_same, items, pair, same_vectors


def fragments(store: LanceStore) -> int:
    return int(store.table.handle.stats()["fragment_stats"]["num_fragments"])


def unindexed(store: LanceStore, column: str) -> int:
    store.table.handle.checkout_latest()
    found = [i for i in store.table.handle.list_indices() if i.columns == [column]]
    return int(found[0].num_unindexed_rows)


def stream(exact: ExactStore, lance: LanceStore, steps: int, seed: int = 3) -> None:
    """``steps`` writes of 5 items each, of every kind in turn, to both stores."""
    rng = np.random.default_rng(seed)
    for step in range(steps):
        kind = ["price", "re-embed", "add", "delete"][step % 4]
        stored = sorted(int(i[1:]) for i in exact.hashes())
        chosen = sorted(int(i) for i in rng.choice(stored, 5, replace=False))
        if kind == "price":
            change = same_vectors(exact, chosen, price=float(step))
        elif kind == "re-embed":
            change = items(chosen, seed=100 * seed + step)
        elif kind == "add":
            new = max(stored) + 1
            change = items(list(range(new, new + 5)), seed=100 * seed + step)
        for store in (exact, lance):
            if kind == "delete":
                store.delete([f"p{i}" for i in chosen])
            else:
                store.add(change)


@pytest.mark.parametrize(("passes", "rows"), [(1, 1_000), (9, 1_000), (10, 10_000), (20, 10_000), (100, 100_000)])
def test_every_tenth_pass_compacts_up_to_tenfold_larger_fragments(passes, rows):
    assert upkeep.tier_rows(passes) == rows


def test_the_largest_tier_is_capped_and_larger_fragments_are_left_to_optimize():
    assert upkeep.tier_rows(1000) == upkeep.tier_rows(10_000) == 100_000


def test_a_stream_of_small_writes_keeps_few_fragments_and_the_same_results(tmp_path, monkeypatch):
    monkeypatch.setattr(memory_index, "EXACT_MAX_FLOATS", 16_000)  # an IVF index
    monkeypatch.setattr(upkeep, "COMPACT_EVERY", 5)
    exact, lance = pair(tmp_path, 1500)
    memory = lance.vectors.memory
    before = fragments(lance)
    stream(exact, lance, 40)  # 50 commits (a price change and a re-embedding are one each)
    assert lance.table.upkeep.passes >= 8
    assert lance.table.upkeep.failures == []
    # without compaction every commit would have left a fragment
    assert fragments(lance) <= before + 6
    assert lance.vectors.memory is memory, "a compaction must not rebuild the in-memory index"
    assert lance.vectors.memory.version == lance.table.handle.version
    assert_same(exact, lance, ivf=True)
    reopened = LanceStore(tmp_path / "db", memory_index=True)
    assert reopened.hashes() == exact.hashes()
    assert_same(exact, reopened, ivf=True)
    lance.optimize(ann_min_rows=1)  # the full job after compactions that deferred index remapping
    assert_same(exact, lance, ivf=True)
    assert lance.get(["p3", "p10000"]) == exact.get(["p3", "p10000"])


def test_the_indices_catch_up_in_the_background_and_old_versions_go(tmp_path, monkeypatch):
    monkeypatch.setattr(upkeep, "INDEX_EVERY_ROWS", 20)
    monkeypatch.setattr(upkeep, "KEEP_VERSIONS", timedelta(0))
    exact, lance = pair(tmp_path, 300)  # optimize(ann_min_rows=1): scalar indices on id, gender, price
    versions = len(lance.table.handle.list_versions())
    stream(exact, lance, 3)  # 15 rows: not due yet
    assert not lance.table.upkeep.refreshing and unindexed(lance, "id") > 0
    stream(exact, lance, 1, seed=4)  # 20: the refresh starts
    assert lance.table.upkeep.settle()
    assert lance.table.upkeep.failures == []
    assert unindexed(lance, "id") == 0
    assert len(lance.table.handle.list_versions()) < versions  # every version but the newest removed
    assert_same(exact, lance, ivf=False)
    assert lance.get(["p3"]) == exact.get(["p3"])


@pytest.mark.parametrize(
    ("error", "reported"),
    [
        (RuntimeError("Retryable commit conflict for version 9: preempted by concurrent transaction Update"), False),
        (OSError("No space left on device"), True),
    ],
    ids=["another writer's commit", "a full disk"],
)
def test_a_failed_compaction_is_skipped_and_the_writes_stand(tmp_path, monkeypatch, error, reported):
    monkeypatch.setattr(upkeep, "COMPACT_EVERY", 1)
    exact, lance = pair(tmp_path, 200)
    lance_module = pytest.importorskip("lance")

    def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr(lance_module, "dataset", failing)
    memory = lance.vectors.memory
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stream(exact, lance, 4)
    # a conflict with another writer is expected and quiet; anything else is news
    skipped = [str(w.message) for w in caught if "skipped" in str(w.message)]
    assert len(skipped) == (4 if reported else 0)
    if reported:
        assert "compaction skipped (No space left on device)" in skipped[0]
    failures = lance.table.upkeep.failures
    assert len(failures) == 4 and all(f.startswith("compaction: ") for f in failures)
    assert lance.vectors.memory is memory
    assert_same(exact, lance, ivf=False)  # every write was committed and applied


def test_optimize_waits_for_a_background_refresh(tmp_path, monkeypatch):
    monkeypatch.setattr(upkeep, "INDEX_EVERY_ROWS", 1)
    exact, lance = pair(tmp_path, 300)
    stream(exact, lance, 1)
    lance.optimize(ann_min_rows=1)  # would conflict with the refresh if it ran beside it
    assert not lance.table.upkeep.refreshing
    assert lance.table.upkeep.failures == []
    assert_same(exact, lance, ivf=False)

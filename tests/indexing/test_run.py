"""What both executors share: the start, the commit of a batch and the end of a run."""

from __future__ import annotations

import numpy as np
import pytest

from fashionclip.catalog.reader import CatalogData, CatalogItem, Problem
from fashionclip.errors import ModelMismatchError
from fashionclip.indexing.plan import EMBED, FAILED, REWRITE, UNCHANGED, Step
from fashionclip.indexing.run import IndexRun
from fashionclip.store import ExactStore, IndexInfo, Records

INFO = IndexInfo("test-model", 4)


class SpyStore(ExactStore):
    """The exact store, noting each ``add``'s ids and ``new`` promise and whether it was optimised."""

    def __init__(self) -> None:
        super().__init__()
        self.adds: list[tuple[list[str], bool]] = []
        self.optimized = False

    def add(self, records: Records, *, new: bool = False) -> None:
        self.adds.append((list(records.ids), new))
        super().add(records, new=new)

    def optimize(self) -> None:
        self.optimized = True


def unit(i: int) -> np.ndarray:
    return np.eye(4, dtype=np.float32)[i]


def item(item_id: str, **metadata) -> CatalogItem:
    return CatalogItem(item_id, None, item_id, metadata)


def test_a_run_claims_the_store_and_types_the_items() -> None:
    store = SpyStore()
    store.claim(INFO)
    store.add(Records(["old"], unit(0)[None], [None], ["old"], ["e:r"], {"price": [1.0]}))
    catalog = CatalogData([item("a", price="2"), item("b", price="two")], [Problem("row 4", "no id")], [], "x.csv")
    run = IndexRun.begin(store, INFO, catalog)
    assert run.stored == {"old": "e:r"} and run.model_key == "test-model"
    assert [(i.id, i.metadata["price"]) for i in run.items] == [("a", 2.0)]
    assert [p.item for p in run.report.problems] == ["row 4", "item 'b'"]
    with pytest.raises(ModelMismatchError):
        IndexRun.begin(store, IndexInfo("other-model", 4), catalog)


def test_a_commit_writes_new_vectors_keeps_stored_ones_for_rewrites_and_counts() -> None:
    store = SpyStore()
    store.claim(INFO)
    store.add(Records(["kept", "same"], np.stack([unit(1), unit(2)]), [None, None], ["kept", "same"], ["k:1", "s:1"]))
    catalog = CatalogData([item("new"), item("kept", colour="red"), item("same"), item("broken")], [], [])
    run = IndexRun.begin(store, INFO, catalog)
    steps = [
        Step(item("new"), EMBED, "n:1"),
        Step(item("kept", colour="red"), REWRITE, "k:2"),
        Step(item("same"), UNCHANGED, "s:1"),
        Step(item("broken"), FAILED, "", "image file not found"),
    ]
    run.commit(steps, {"new": unit(0), "kept": unit(3)})  # a rewrite's vector comes from the store
    assert store.adds[-1] == (["new", "kept"], False)
    got = {h.id: h for h in store.get(["new", "kept"], with_vectors=True)}
    assert np.array_equal(got["new"].vector, unit(0)) and np.array_equal(got["kept"].vector, unit(1))
    assert got["kept"].metadata["colour"] == "red"
    assert run.stored == {"kept": "k:2", "same": "s:1", "new": "n:1"}
    report = run.report
    assert (report.added, report.rows_updated, report.unchanged, [p.id for p in report.problems]) == (
        1,
        1,
        1,
        ["broken"],
    )


def test_a_batch_of_new_items_is_promised_new_and_a_vanished_rewrite_is_left_out() -> None:
    store = SpyStore()
    run = IndexRun.begin(store, INFO, CatalogData([item("a"), item("ghost")], [], []))
    run.stored["ghost"] = "g:1"  # hashed at the start, gone from the store since
    run.commit([Step(item("a"), EMBED, "a:1"), Step(item("ghost"), REWRITE, "g:2")], {"a": unit(0)})
    assert store.adds == [(["a"], True)]
    assert run.stored["ghost"] == "g:1" and run.report.rows_updated == 0  # the next run sees it again


def test_the_end_of_a_run_deletes_what_left_the_catalogue_but_not_problem_rows() -> None:
    store = SpyStore()
    store.claim(INFO)
    store.add(Records(["a", "b", "c"], np.stack([unit(0), unit(1), unit(2)]), [None] * 3, ["a", "b", "c"], ["x"] * 3))
    catalog = CatalogData([item("a")], [Problem("item 'b'", "empty title", "b")], [])
    report = IndexRun.begin(store, INFO, catalog).finish(delete_missing=True)
    assert (report.deleted, report.total, store.optimized) == (1, 2, True)
    assert IndexRun.begin(store, INFO, CatalogData([], [], [])).finish(delete_missing=False).total == 2

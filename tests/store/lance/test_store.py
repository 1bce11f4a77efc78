"""``LanceStore`` as the face of its seams: the options it is tuned by reach the vector index, and
writes through the table are what the in-memory index checks itself against."""

from __future__ import annotations

import numpy as np

from fashionclip.store import LanceStore
from tests.store.test_stores import INFO, records


def test_search_options_set_on_the_store_reach_the_vector_index(tmp_path):
    store = LanceStore(tmp_path / "db", nprobes=7, ef=32, refine_factor=None, memory_index=False)
    assert (store.vectors.nprobes, store.vectors.ef, store.vectors.refine_factor) == (7, 32, None)
    store.ef = 16
    store.memory_candidates = 50
    assert (store.vectors.ef, store.vectors.memory_candidates) == (16, 50)


def test_every_write_through_the_table_is_counted(tmp_path):
    store = LanceStore(tmp_path / "db", memory_index=False)
    store.claim(INFO)
    counts = [store.table.writes]
    store.add(records(3))
    counts.append(store.table.writes)
    store.add(records(1, start=3), new=True)
    counts.append(store.table.writes)
    store.delete(["p0"])
    counts.append(store.table.writes)
    store.set_text_metadata(["p1"], {"style": ["casual"]})
    counts.append(store.table.writes)
    store.optimize()
    counts.append(store.table.writes)
    assert all(later > earlier for earlier, later in zip(counts, counts[1:], strict=False))
    assert store.count() == 3
    assert ("text",) in {tuple(i.columns) for i in store.table.handle.list_indices()}  # optimize made it


def test_a_table_another_process_is_still_making_opens_as_no_table_yet(tmp_path):
    """LanceDB lists ``items`` once its folder exists, before the first commit makes it openable
    (a search started while ``fashionclip index`` creates the index sees an empty store)."""
    (tmp_path / "db" / "items.lance").mkdir(parents=True)
    store = LanceStore(tmp_path / "db")
    assert store.table.handle is None and store.count() == 0 and store.search(np.ones(4, np.float32) / 2, 3) == []

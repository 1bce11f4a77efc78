"""The in-memory index follows the store's writes in place (issue 25): against the exact store
after every kind of change, with no vector work for metadata, without blocking readers, and
back to the table's state after a reopen or a kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from fashionclip.store import ExactStore, IndexInfo, LanceStore, Records
from fashionclip.store.lance import memory_index

DIM = 16
INFO = IndexInfo("test-model", DIM)
GENDERS = ["Women", "Men", "Unisex"]
CENTRES = np.random.default_rng(7).standard_normal((20, DIM))


def unit(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def items(ids: list[int], seed: int, *, centres: np.ndarray = CENTRES, price: float | None = None) -> Records:
    rng = np.random.default_rng(seed)
    vectors = unit(centres[rng.integers(0, len(centres), len(ids))] + 0.3 * rng.standard_normal((len(ids), DIM)))
    names = [f"p{i}" for i in ids]
    return Records(
        ids=names,
        vectors=vectors,
        images=[f"{n}.jpg" for n in names],
        texts=[f"item {n}" for n in names],
        hashes=[f"v{seed}-{n}:r" for n in names],
        metadata={
            "gender": [GENDERS[i % 3] for i in ids],
            "price": [float(price if price is not None else (i * 7) % 100) for i in ids],
        },
    )


def same_vectors(store: ExactStore, ids: list[int], price: float) -> Records:
    """The stored items with a new price only (what a price feed writes)."""
    hits = store.get([f"p{i}" for i in ids], with_vectors=True)
    return Records(
        ids=[h.id for h in hits],
        vectors=np.stack([h.vector for h in hits]).astype(np.float32),
        images=[h.image for h in hits],
        texts=[h.text for h in hits],
        hashes=[store.hashes()[h.id].split(":")[0] + ":price" for h in hits],
        metadata={"gender": [h.metadata["gender"] for h in hits], "price": [price] * len(hits)},
    )


def probes(n: int = 30, seed: int = 99) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return unit(CENTRES[rng.integers(0, 20, n)] + 0.3 * rng.standard_normal((n, DIM)))


def pair(tmp_path: Path, n: int) -> tuple[ExactStore, LanceStore]:
    exact, lance = ExactStore(), LanceStore(tmp_path / "db", memory_index=True)
    for store in (exact, lance):
        store.claim(INFO)
        store.add(items(list(range(n)), seed=1))
    lance.optimize(ann_min_rows=1)
    return exact, lance


WHERES = [None, {"gender": "Men"}, {"price": {"<": 30}}, {"gender": ["Women", "Unisex"], "price": {">=": 50}}]


def assert_same(exact: ExactStore, lance: LanceStore, *, ivf: bool) -> None:
    assert lance.count() == exact.count()
    for where in WHERES:
        agree = []
        for query in probes():
            want = exact.search(query, 10, where=where)
            got = lance.search(query, 10, where=where)
            if not ivf:  # an exact scan: the same ids and scores, the same metadata
                assert [h.id for h in got] == [h.id for h in want]
                np.testing.assert_allclose([h.score for h in got], [h.score for h in want], atol=1e-5)
                assert [h.metadata for h in got] == [h.metadata for h in want]
            agree.append(len({h.id for h in got} & {h.id for h in want}) / max(1, len(want)))
            assert all(h.metadata == exact.get([h.id])[0].metadata for h in got)  # never a stale row
        assert np.mean(agree) >= 0.95, where


@pytest.mark.parametrize("mode", ["exact scan", "ivf"])
def test_every_kind_of_write_is_applied_in_place_and_matches_the_exact_store(tmp_path, monkeypatch, mode):
    if mode == "ivf":
        monkeypatch.setattr(memory_index, "EXACT_MAX_FLOATS", 16_000)  # IVF from 1,000 items
    exact, lance = pair(tmp_path, 3000)
    memory = lance.vectors.memory
    assert memory is not None and (memory.lists > 0) == (mode == "ivf")
    rng = np.random.default_rng(3)
    next_id = 3000
    for step in range(12):
        kind = ["price", "re-embed", "add", "delete"][step % 4]
        stored = [int(h[1:]) for h in exact.hashes()]
        chosen = sorted(int(i) for i in rng.choice(stored, 40, replace=False))
        if kind == "price":
            change = same_vectors(exact, chosen, price=float(step))
        elif kind == "re-embed":
            change = items(chosen, seed=100 + step)
        elif kind == "add":
            change = items(list(range(next_id, next_id + 40)), seed=200 + step)
            next_id += 40
        for store in (exact, lance):
            if kind == "delete":
                store.delete([f"p{i}" for i in chosen] + ["p-never"])
            else:
                store.add(change)
        done = lance.vectors.last_change
        expected = {"price": "metadata", "re-embed": "added", "add": "added", "delete": "deleted"}[kind]
        assert getattr(done, expected) == 40, (kind, done)
        assert lance.vectors.memory is memory, "a write must not rebuild the index"
        assert_same(exact, lance, ivf=mode == "ivf")
    # tags are metadata too
    tagged = [f"p{i}" for i in range(0, 3000, 97) if exact.get([f"p{i}"])]
    for store in (exact, lance):
        store.set_text_metadata(tagged, {"style": ["casual"] * len(tagged)})
    # a new column is the one change the index reloads for: then it follows again
    assert lance.search(probes()[0], 5, where={"style": "casual"})
    for store in (exact, lance):
        store.set_text_metadata(tagged[:3], {"style": ["formal"] * 3}, overwrite=True)
    assert lance.vectors.last_change.metadata == 3
    assert_same(exact, lance, ivf=mode == "ivf")
    formal = lance.search(probes()[0], 10, where={"style": "formal"})
    assert {h.id for h in formal} == set(tagged[:3])


def test_a_price_change_does_no_vector_work(tmp_path, monkeypatch):
    monkeypatch.setattr(memory_index, "EXACT_MAX_FLOATS", 16_000)
    exact, lance = pair(tmp_path, 3000)
    memory = lance.vectors.memory
    calls = []
    monkeypatch.setattr(lance.vectors, "_read_rows", lambda *a: calls.append("read every row"))
    ivf = memory._ivf

    class Watched:  # FAISS's index, counting what changes it or places vectors
        def __getattr__(self, name):
            if name in ("add", "add_with_ids", "train", "reset", "remove_ids"):
                calls.append(name)
            return getattr(ivf, name)

        @property
        def quantizer(self):
            calls.append("quantizer")
            return ivf.quantizer

    memory._ivf = Watched()
    change = same_vectors(exact, list(range(0, 1000)), price=1.5)
    started = time.perf_counter()
    lance.add(change)
    assert lance.vectors.last_change.metadata == 1000 and lance.vectors.last_change.added == 0
    assert calls == []
    hits = lance.search(change.vectors[0], 5, where={"price": 1.5})
    assert hits[0].id == change.ids[0] and hits[0].metadata["price"] == 1.5
    assert time.perf_counter() - started < 30  # a sanity bound, not a benchmark (benchmarks/live_updates.py)


def test_a_price_change_keeps_the_tags_without_reading_the_table(tmp_path, monkeypatch):
    exact, lance = pair(tmp_path, 500)
    tagged = [f"p{i}" for i in range(0, 500, 7)]
    for store in (exact, lance):
        store.set_text_metadata(tagged, {"style": ["casual"] * len(tagged)})
    lance.search(probes()[0], 5)  # the new column: the index reloads once
    memory = lance.vectors.memory

    def no_reads(*args, **kwargs):
        raise AssertionError("a price change read rows back from the table")

    monkeypatch.setattr(lance.table, "rows_of", no_reads)
    change = same_vectors(exact, [0, 7, 14, 3], price=2.5)  # three tagged, one not
    for store in (exact, lance):
        store.add(change)
    assert lance.vectors.memory is memory and lance.vectors.last_change.metadata == 4
    hits = lance.search(change.vectors[0], 500, where={"price": 2.5})
    assert {h.id: h.metadata["style"] for h in hits} == {"p0": "casual", "p7": "casual", "p14": "casual", "p3": ""}
    monkeypatch.undo()
    assert_same(exact, lance, ivf=False)
    assert [h.metadata for h in lance.get(["p7", "p3"])] == [h.metadata for h in exact.get(["p7", "p3"])]


def test_queries_run_while_batches_are_written_and_see_each_batch_once_committed(tmp_path, monkeypatch):
    monkeypatch.setattr(memory_index, "EXACT_MAX_FLOATS", 16_000)
    _, lance = pair(tmp_path, 2000)
    committed: set[str] = {f"p{i}" for i in range(2000)}
    errors: list[BaseException] = []
    stop = threading.Event()
    seen_batches = 0

    def read() -> None:
        nonlocal seen_batches
        queries = probes(20)
        while not stop.is_set():
            try:
                before = set(committed)
                for hit in lance.search(queries[seen_batches % 20], 10):
                    # a reader sees only committed items (an id committed after `before` was taken is fine)
                    assert hit.id in before or hit.id in committed
                seen_batches += 1
            except BaseException as exc:  # noqa: BLE001 - reported by the test thread
                errors.append(exc)
                return

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for batch in range(30):
            new = items(list(range(5000 + 10 * batch, 5010 + 10 * batch)), seed=500 + batch)
            lance.add(new)
            committed.update(new.ids)
            # read-your-writes: the writer's next query finds what it just wrote
            assert lance.search(new.vectors[0], 1)[0].id == new.ids[0]
            gone = [f"p{batch * 7}"]
            lance.delete(gone)
            committed.difference_update(gone)
            assert gone[0] not in {h.id for h in lance.search(probes()[batch % 30], 50)}
    finally:
        stop.set()
        reader.join(30)
    assert not errors, errors
    assert seen_batches > 0


def test_a_reopened_store_catches_up_reading_only_what_changed(tmp_path, monkeypatch):
    monkeypatch.setattr(memory_index, "EXACT_MAX_FLOATS", 16_000)
    exact, lance = pair(tmp_path, 3000)  # optimize saved the index
    for store in (exact, lance):
        store.add(same_vectors(exact, list(range(50)), price=77.0))
        store.add(items(list(range(100, 110)), seed=9))  # re-embedded
        store.add(items(list(range(9000, 9020)), seed=10))  # new
        store.delete(["p200", "p201"])
    # nothing saved since: a new process reconciles the saved index with the table
    fetched: list[int] = []
    reopened = LanceStore(tmp_path / "db", memory_index=True)
    original = reopened.table.rows_of

    def counting(ids, *, with_vectors):
        if with_vectors:
            fetched.append(len(ids))
        return original(ids, with_vectors=with_vectors)

    monkeypatch.setattr(reopened.table, "rows_of", counting)
    assert_same(exact, reopened, ivf=True)
    assert sum(fetched) == 30  # the re-embedded and new items, not the price changes or the rest
    assert not reopened.vectors.memory.built


def test_items_far_from_every_centre_are_found_and_trigger_new_centres(tmp_path, monkeypatch):
    monkeypatch.setattr(memory_index, "EXACT_MAX_FLOATS", 16_000)
    monkeypatch.setattr(memory_index, "SPILL_MIN", 100)
    exact, lance = pair(tmp_path, 3000)
    elsewhere = np.random.default_rng(11).standard_normal((3, DIM)) * 3  # clusters the centres never saw
    new = items(list(range(7000, 7300)), seed=12, centres=elsewhere)
    for store in (exact, lance):
        store.add(new)
    assert lance.vectors.last_change.spilled > 100
    for query in new.vectors[:20]:  # the spill is scanned exactly: the new items are found
        assert lance.search(query, 1)[0].id == exact.search(query, 1)[0].id
    assert "far from every IVF centre" in (lance.vectors.memory.needs_rebuild() or "")
    lance.optimize(ann_min_rows=1)
    rebuilt = lance.vectors.memory
    assert rebuilt.built and len(rebuilt.state.spill) == 0 and rebuilt.needs_rebuild() is None
    assert_same(exact, lance, ivf=True)


WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    sys.path.insert(0, {tests!r})
    from store.lance.test_live_index import INFO, items
    from fashionclip.store import LanceStore
    from fashionclip.store.lance import memory_index, upkeep
    memory_index.EXACT_MAX_FLOATS = 16_000
    upkeep.COMPACT_EVERY = 3  # the kill may land in a compaction or an index refresh too
    upkeep.INDEX_EVERY_ROWS = 60
    store = LanceStore({db!r}, memory_index=True)
    store.search(np.ones({dim}, dtype=np.float32) / {dim} ** 0.5, 1)
    for batch in range(10_000):
        store.add(items(list(range(10_000 + 20 * batch, 10_020 + 20 * batch)), seed=batch))
        if batch % 3 == 0:
            store.delete([f"p{{batch}}"])
        print(batch, flush=True)
    """
)


def test_kill_9_during_a_stream_of_writes_loses_no_committed_write(tmp_path, monkeypatch):
    monkeypatch.setattr(memory_index, "EXACT_MAX_FLOATS", 16_000)
    exact, lance = pair(tmp_path, 2000)
    del lance
    script = WRITER.format(tests=str(Path(__file__).parents[2]), db=str(tmp_path / "db"), dim=DIM)
    writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    printed = []
    deadline = time.monotonic() + 120
    assert writer.stdout is not None
    while len(printed) < 15 and time.monotonic() < deadline:
        line = writer.stdout.readline()
        if not line:
            break
        printed.append(int(line))
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    assert len(printed) >= 15, "the writer did not get going"
    reopened = LanceStore(tmp_path / "db", memory_index=True)
    stored = reopened.hashes()
    for batch in printed:  # every committed batch is there, exactly once
        for i in range(10_000 + 20 * batch, 10_020 + 20 * batch):
            assert f"p{i}" in stored
        if batch % 3 == 0:
            assert f"p{batch}" not in stored
    table = reopened.table.scan(["id"]).column("id").to_pylist()
    assert len(table) == len(set(table)) == reopened.count()
    # the in-memory index agrees with the table: the oracle built from the table's rows
    oracle = ExactStore()
    oracle.claim(INFO)
    everything = reopened.get(table, with_vectors=True)
    oracle.add(
        Records(
            ids=[h.id for h in everything],
            vectors=np.stack([h.vector for h in everything]).astype(np.float32),
            images=[h.image for h in everything],
            texts=[h.text for h in everything],
            hashes=[stored[h.id] for h in everything],
            metadata={k: [h.metadata[k] for h in everything] for k in ("gender", "price")},
        )
    )
    assert_same(oracle, reopened, ivf=True)

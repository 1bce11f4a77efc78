"""The in-memory serving index of a LanceDB table: every vector in a FAISS IVF-Flat index
(exact inner products inside the probed lists, no quantisation), the metadata columns as
numpy arrays for filters (``memory_filters.py``), the result columns as Arrow for cheap row access.

A LanceDB query costs a few milliseconds before it touches a vector (planning, its async
runtime, reading index pages); at a million 512-d rows its IVF_HNSW_SQ index measured a
30 ms p50, this index 2.8 ms at recall@10 1.0 (``benchmarks/vector_store.py``, 2-core EPYC).

**A live index.** Each stored vector has a *slot* (its FAISS id). A write changes the index in
place, in time proportional to the change: a new or re-embedded item gets a new slot (its vector
added to its IVF list), a replaced or deleted one's old slot is marked dead, and a change of
metadata only (same vector) keeps its slot and touches only the row and filter columns: no
vector work. Readers search an immutable ``Snapshot`` (``memory_state.py``); a write builds the
next snapshot beside it (copy on write) and publishes it with one reference swap, so a query
never waits for a commit or sees half a batch. FAISS itself is changed only under the exclusive
side of a readers-writer lock, for the milliseconds its ``add`` takes.

**Drift.** New vectors go to the list of their nearest IVF centre. Items far from every centre
(cosine to the nearest below ``placement - 0.1``, where ``placement`` is the mean cosine measured
when the centres were trained) are probed badly by IVF, so they are also kept in a small *spill*
that every query scans exactly. :meth:`MemoryIndex.needs_rebuild` says when new centres pay:
the spill holds more than ``max(10_000, 1%)`` of the live items, a quarter of the slots are
dead, or the catalogue left the size the centres were trained for; ``optimize`` then rebuilds.

**Persistence.** The table stays the one source of truth. ``save`` writes the IVF index, each
slot's id and content hash, and the table version they reflect (atomically; ``memory_files.py``). ``load`` reads them
back and reconciles them with the table as it is now: rows whose content hash is unchanged keep
their slot; only new items and items whose vector part changed are read with their vectors and
added. So a process killed between writes, or a store written by another process, converges to
the table at the next open, in time proportional to what changed.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from fashionclip.store.filters import Condition, to_mask
from fashionclip.store.lance.memory_files import read_saved, write_saved
from fashionclip.store.lance.memory_filters import Codes, by_slot, filter_columns, updated_filters
from fashionclip.store.lance.memory_state import Change, ReadWriteLock, Rows, Snapshot

# up to this many numbers (rows x dimension, 64 MB of float32) a numpy scan over every vector
# is exact and takes a few milliseconds; beyond, the IVF index
EXACT_MAX_FLOATS = 1 << 24
# an added vector this much less close to its nearest centre than trained ones are goes to the spill
PLACEMENT_MARGIN = 0.1
SPILL_MIN = 10_000  # the spill may grow to max(SPILL_MIN, SPILL_SHARE x live items) before a rebuild
SPILL_SHARE = 0.01
DEAD_SHARE = 0.25  # dead slots (replaced or deleted) kept before a rebuild compacts them


class MemoryIndex:
    """Rows of a LanceDB table, searchable by vector with metadata filters, kept in step with
    the table's writes (see the module docstring).

    Made by :meth:`build` (from the table's rows with vectors) or :meth:`load` (saved + reconciled).
    """

    def __init__(
        self,
        snapshot: Snapshot,
        kinds: dict[str, str],
        ids: list[str],
        hashes: list[str],
        *,
        ivf: Any,
        placement: float,
    ) -> None:
        """``ids`` and ``hashes``: each slot's id and content hash (the writer's: queries read
        neither, ``save`` and reconciling do)."""
        self.state = snapshot
        self._ids = ids  # append-only
        self._hashes = hashes
        self._mutate = threading.Lock()  # one change (or a save's consistent read) at a time
        self.kinds = dict(kinds)
        self._ivf = ivf
        self.placement = placement  # mean cosine of trained vectors to their centre
        self.trained_size = snapshot.live_count
        self.built = True  # False when read from disk as saved
        self.dirty = True  # the saved copy is behind
        self._lock = ReadWriteLock()
        self._slot_of: dict[str, int] | None = None  # id -> live slot (writers only; made on first write)
        self._buffer = snapshot.vectors  # exact mode: room to append beyond the snapshot's view

    # ------------------------------------------------------------------ facts
    @property
    def version(self) -> int:
        return self.state.version

    @property
    def size(self) -> int:
        return self.state.live_count

    @property
    def lists(self) -> int:
        """IVF lists (0 when the index scans every vector)."""
        return int(self._ivf.nlist) if self._ivf is not None else 0

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, table: Any, kinds: dict[str, str], version: int, *, trained: Any = None) -> MemoryIndex:
        """From an Arrow table with ``id``, ``vector``, ``content_hash`` and the metadata columns;
        ``trained``: a FAISS index whose centres are reused while the catalogue fits them."""
        vectors = _vectors(table)
        rows = table.drop_columns(["vector"]).combine_chunks()
        ivf, placement = (None, 1.0) if vectors.size <= EXACT_MAX_FLOATS else _build_ivf(vectors, trained)
        count = rows.num_rows
        snapshot = Snapshot(
            version=version,
            count=count,
            live=np.ones(count, dtype=bool),
            position=np.arange(count, dtype=np.int64),
            rows=Rows([rows], [0]),
            filters=filter_columns(rows, kinds),
            vectors=vectors if ivf is None else None,
            spill=np.zeros(0, dtype=np.int64),
            spill_vectors=np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0), dtype=np.float32),
            live_count=count,
        )
        return cls(snapshot, kinds, rows.column("id").to_pylist(), _hashes(rows), ivf=ivf, placement=placement)

    def needs_rebuild(self) -> str | None:
        """Why new IVF centres (or a compaction) would pay now, or None."""
        state = self.state
        if self._ivf is None:
            return "dead slots" if state.dead > DEAD_SHARE * max(1, state.count) and state.dead > 1000 else None
        if len(state.spill) > max(SPILL_MIN, SPILL_SHARE * state.live_count):
            return f"{len(state.spill)} items far from every IVF centre"
        if state.dead > DEAD_SHARE * state.count:
            return f"{state.dead} dead slots of {state.count}"
        if not 39 * self.lists <= state.live_count <= 256 * self.lists:
            return f"{state.live_count} items for {self.lists} IVF lists"
        return None

    # ------------------------------------------------------------------ reading
    def search(
        self, query: np.ndarray, wanted: int, conditions: list[Condition], candidates: int
    ) -> tuple[np.ndarray, np.ndarray, Snapshot]:
        """Slots and inner products of the ``wanted`` best live items that satisfy ``conditions``,
        and the snapshot they come from (its rows are the results'). IVF probes the lists nearest
        the query until about ``candidates`` items that pass the filter were compared (a count,
        not a list number, so recall does not fall as the catalogue grows)."""
        state = self.state
        mask = self.mask(conditions, state) if conditions else None
        if state.dead:
            mask = state.live if mask is None else mask & state.live
        if state.vectors is not None:
            return (*_top(state.vectors @ query, mask, wanted), state)
        selected = state.live_count if mask is None else int(mask.sum())
        if selected == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), state
        import faiss

        # a filter keeping a fraction f of the items leaves f of each list: probe 1/f as many lists
        # so that as many candidates are compared (a very selective filter scans every list)
        probes = min(self.lists, max(1, math.ceil(candidates / (selected / self.lists))))
        params = faiss.SearchParametersIVF(nprobe=probes)
        bits = None
        with self._lock.reading():  # (a write adds slots only under the exclusive side)
            if mask is not None or self._ivf.ntotal > state.count:  # later slots are not this snapshot's
                bits = np.packbits(mask if mask is not None else np.ones(state.count, dtype=bool), bitorder="little")
                params.sel = faiss.IDSelectorBitmap(len(bits), faiss.swig_ptr(bits))
            scores, slots = self._ivf.search(query[None, :], min(wanted, selected), params=params)
        del bits  # the selector read it until here
        found = slots[0] >= 0
        slots, scores = slots[0][found], scores[0][found]
        if len(state.spill):
            keep = mask[state.spill] if mask is not None else np.ones(len(state.spill), dtype=bool)
            spill_slots, spill_scores = _top(state.spill_vectors[keep] @ query, None, wanted)
            slots = np.concatenate([slots, state.spill[keep][spill_slots]])
            scores = np.concatenate([scores, spill_scores])
            slots, first = np.unique(slots, return_index=True)  # a spilled item is in its list too
            scores = scores[first]
            order = np.argsort(-scores, kind="stable")[:wanted]
            slots, scores = slots[order], scores[order]
        return slots, scores, state

    def rows(self, slots: Iterable[int], state: Snapshot) -> list[dict[str, Any]]:
        """The result rows of these slots, as the snapshot has them."""
        return state.rows.take(state.position[np.asarray(list(slots), dtype=np.int64)])

    def stored_rows(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The rows held for those of ``ids`` that are live, as last written (for the writer)."""
        slot_of = self._slots()
        found = [(i, slot_of[i]) for i in ids if i in slot_of]
        rows = self.rows([slot for _, slot in found], self.state) if found else []
        return {i: row for (i, _), row in zip(found, rows, strict=True)}

    def vector(self, slot: int, state: Snapshot | None = None) -> np.ndarray:
        state = state or self.state
        if state.vectors is not None:
            return state.vectors[slot].copy()
        with self._lock.reading():
            return np.asarray(self._ivf.reconstruct(int(slot)), dtype=np.float32)

    def mask(self, conditions: list[Condition], state: Snapshot | None = None) -> np.ndarray:
        """The slots satisfying every condition."""
        state = state or self.state
        mask = np.ones(state.count, dtype=bool)
        numeric = []
        for c in conditions:
            column = state.filters[c.column]
            if isinstance(column, Codes):
                mask &= column.mask(c)
            else:
                numeric.append(c)
        if numeric:
            mask &= to_mask(numeric, state.filters, state.count)
        return mask

    # ------------------------------------------------------------------ writing
    def upsert(self, rows: Any, vectors: np.ndarray | None, version: int) -> Change:
        """Apply rows written to the table (Arrow, the snapshot's columns, no vector) with their
        vectors: an item whose vector is unchanged keeps its slot (metadata only), the others
        get new slots. ``vectors`` None: stored items whose vectors the write left as they were
        (tags). Publishes the snapshot of table ``version``."""
        with self._mutate:
            return self._upsert(rows, vectors, version)

    def _upsert(self, rows: Any, vectors: np.ndarray | None, version: int) -> Change:
        state, slot_of = self.state, self._slots()
        ids = rows.column("id").to_pylist()
        old = np.asarray([slot_of.get(i, -1) for i in ids], dtype=np.int64)
        if vectors is None:  # the vectors held here are the item's: no read from the table
            if (old < 0).any():
                raise ValueError(f"no vector for {ids[int(np.argmin(old))]!r}: it is not in the index")
            vectors = np.stack([self.vector(int(s), state) for s in old]) if len(old) else np.zeros((0, 0))
        same = np.zeros(len(ids), dtype=bool)
        existing = np.flatnonzero(old >= 0)
        if len(existing):
            before = np.stack([self.vector(int(s), state) for s in old[existing]])
            same[existing] = np.all(before == vectors[existing], axis=1)
        fresh = np.flatnonzero(~same)
        change = Change(metadata=int(same.sum()), added=len(fresh))
        chunk = rows.select(state.rows.schema.names).cast(state.rows.schema)
        position = state.position
        new_rows = state.rows.appended(chunk)
        first_row = state.rows.total
        # metadata only: same slot, its row and filter values replaced (copies: old snapshots keep theirs)
        moved = np.flatnonzero(same)
        if len(moved):
            position = position.copy()
            position[old[moved]] = first_row + moved
        start = state.count
        new_slots = np.arange(start, start + len(fresh), dtype=np.int64)
        count = start + len(fresh)
        live = np.concatenate([state.live, np.ones(len(fresh), dtype=bool)])
        replaced = old[fresh][old[fresh] >= 0]
        live[replaced] = False
        position = np.concatenate([position, first_row + fresh])
        filters = updated_filters(state.filters, chunk, self.kinds, old[moved], moved, fresh)
        new_hashes = _hashes(chunk)
        added = np.ascontiguousarray(vectors[fresh], dtype=np.float32)
        exact_view, spill, spill_vectors = state.vectors, state.spill, state.spill_vectors
        if len(fresh):
            if self._ivf is None:
                exact_view = self._append_exact(added, start)
            else:
                far = self._far(added)
                with self._lock.writing():
                    self._ivf.add(added)
                if far.any():
                    change.spilled = int(far.sum())
                    spill = np.concatenate([spill, new_slots[far]])
                    spill_vectors = np.concatenate([spill_vectors, added[far]])
        if len(replaced) and len(spill):  # a replaced slot leaves the spill
            keep = live[spill]
            spill, spill_vectors = spill[keep], spill_vectors[keep]
        self._publish(
            replace(
                state,
                version=version,
                count=count,
                live=live,
                position=position,
                rows=new_rows,
                filters=filters,
                vectors=exact_view,
                spill=spill,
                spill_vectors=spill_vectors,
                live_count=state.live_count + len(fresh) - len(replaced),
            )
        )
        for i, slot in zip(fresh, new_slots, strict=True):
            slot_of[ids[i]] = int(slot)
        for i in moved:
            self._hashes[old[i]] = new_hashes[i]
        self._ids.extend(ids[i] for i in fresh)
        self._hashes.extend(new_hashes[i] for i in fresh)
        return change

    def delete(self, ids: Iterable[str], version: int) -> Change:
        """Mark the slots of these ids dead; publishes the snapshot of table ``version``."""
        with self._mutate:
            return self._delete(ids, version)

    def _delete(self, ids: Iterable[str], version: int) -> Change:
        state, slot_of = self.state, self._slots()
        gone = [slot_of.pop(i) for i in dict.fromkeys(ids) if i in slot_of]
        live = state.live
        spill, spill_vectors = state.spill, state.spill_vectors
        if gone:
            live = live.copy()
            live[gone] = False
            if len(spill):
                keep = live[spill]
                spill, spill_vectors = spill[keep], spill_vectors[keep]
        live_count = state.live_count - len(gone)
        self._publish(
            replace(state, version=version, live=live, spill=spill, spill_vectors=spill_vectors, live_count=live_count)
        )
        return Change(deleted=len(gone))

    def moved_to(self, version: int) -> None:
        """The table has a new version with the same content (compaction, an index built)."""
        with self._mutate:
            self._publish(replace(self.state, version=version), dirty=self.dirty)

    def _publish(self, snapshot: Snapshot, *, dirty: bool = True) -> None:
        self.state = snapshot  # one reference swap: readers take either the old or the new one
        self.dirty = dirty

    def _slots(self) -> dict[str, int]:
        if self._slot_of is None:
            state = self.state
            live = np.flatnonzero(state.live)
            self._slot_of = {self._ids[slot]: slot for slot in live.tolist()}
        return self._slot_of

    def _far(self, vectors: np.ndarray) -> np.ndarray:
        """Which of these vectors sit far from every centre (see the module docstring)."""
        with self._lock.reading():
            nearest, _ = self._ivf.quantizer.search(vectors, 1)
        return nearest[:, 0] < self.placement - PLACEMENT_MARGIN

    def _append_exact(self, added: np.ndarray, start: int) -> np.ndarray:
        """Exact mode: the vectors with ``added`` as slots ``start``...; written past every
        published view (each a prefix of the buffer), which room doubling keeps amortised O(change)."""
        base = self._buffer
        assert base is not None  # exact mode
        end = start + len(added)
        if base.shape[0] < end:
            grown = np.empty((max(end, 2 * base.shape[0], 1024), added.shape[1]), dtype=np.float32)
            grown[:start] = base[:start]
            base = grown
        base[start:end] = added
        self._buffer = base
        return base[:end]

    # ------------------------------------------------------------------ persistence
    def save(self, folder: Path) -> None:
        """Write the IVF index, each slot's id, hash and state, and the version they reflect
        (each file atomically: temp file, rename; the state last, naming what it belongs to)."""
        if self._ivf is None:
            return
        with self._mutate:  # a consistent copy: no write between the index and its slots
            self._save(folder)

    def _save(self, folder: Path) -> None:
        import faiss
        import pyarrow as pa

        state = self.state
        in_spill = np.zeros(state.count, dtype=bool)
        in_spill[state.spill] = True
        slots = pa.table(
            {
                "id": pa.array(self._ids[: state.count], pa.string()),
                "hash": pa.array(self._hashes[: state.count], pa.string()),
                "live": pa.array(state.live),
                "spill": pa.array(in_spill),
            }
        )
        meta = {
            "version": state.version,
            "count": state.count,
            "ntotal": int(self._ivf.ntotal),
            "placement": self.placement,
            "trained_size": self.trained_size,
        }

        def write_ivf(path: Path) -> None:
            with self._lock.reading():
                faiss.write_index(self._ivf, str(path))

        write_saved(folder, write_ivf, slots, meta)
        self.dirty = False

    @classmethod
    def load(
        cls,
        folder: Path,
        read: Callable[[bool], Any],
        fetch: Callable[[list[str]], Any],
        kinds: dict[str, str],
        version: int,
    ) -> MemoryIndex:
        """The index of the table at ``version``: the saved one reconciled with the table (only
        new and re-embedded items are read with vectors, by ``fetch(ids)``), else built from
        ``read(True)``. ``read(with_vectors)`` returns every row as Arrow."""
        saved = read_saved(folder)
        if saved is None:
            return cls.build(read(True), kinds, version)
        meta, ivf, slots = saved
        if meta["count"] != ivf.ntotal or slots.num_rows != meta["count"]:
            return cls.build(read(True), kinds, version, trained=ivf)
        rows = read(False).combine_chunks()
        if not rows.num_rows:
            return cls.build(read(True), kinds, version)
        index = cls._reconciled(meta, ivf, slots, rows, fetch, kinds, version)
        if index.needs_rebuild():
            return cls.build(read(True), kinds, version, trained=ivf if index.lists else None)
        return index

    @classmethod
    def _reconciled(
        cls,
        meta: dict[str, Any],
        ivf: Any,
        slots: Any,
        rows: Any,
        fetch: Callable[[list[str]], Any],
        kinds: dict[str, str],
        version: int,
    ) -> MemoryIndex:
        saved_ids = slots.column("id").to_pylist()
        saved_hashes = slots.column("hash").to_pylist()
        saved_live = slots.column("live").to_numpy(zero_copy_only=False).astype(bool)
        slot_of = {saved_ids[s]: int(s) for s in np.flatnonzero(saved_live)}
        ids = rows.column("id").to_pylist()
        hashes = _hashes(rows)
        count = int(meta["count"])
        position = np.full(count, -1, dtype=np.int64)
        live = np.zeros(count, dtype=bool)
        refetch: list[int] = []  # rows whose vector may have changed (or is new)
        for row, (item, content) in enumerate(zip(ids, hashes, strict=True)):
            slot = slot_of.get(item)
            if slot is not None and (
                saved_hashes[slot] == content or _vector_part(saved_hashes[slot]) == _vector_part(content)
            ):
                position[slot] = row
                live[slot] = True
            else:
                refetch.append(row)
        spill_flags = slots.column("spill").to_numpy(zero_copy_only=False).astype(bool)
        spill = np.flatnonzero(spill_flags & live)
        snapshot = Snapshot(
            version=version,
            count=count,
            live=live,
            position=position,
            rows=Rows([rows], [0]),
            filters=filter_columns(rows, kinds),  # by row for now; re-indexed by slot below
            vectors=None,
            spill=spill,
            spill_vectors=np.stack([ivf.reconstruct(int(s)) for s in spill]).astype(np.float32)
            if len(spill)
            else np.zeros((0, ivf.d), dtype=np.float32),
            live_count=int(live.sum()),
        )
        # filters are per slot: a row's values at its slot (dead slots take the first row's: masked out)
        if rows.num_rows:
            snapshot = replace(snapshot, filters=by_slot(snapshot.filters, np.where(live, position, 0)))
        current = _rehash(saved_hashes, live, position, hashes)
        index = cls(snapshot, kinds, saved_ids, current, ivf=ivf, placement=float(meta.get("placement", 1.0)))
        index.trained_size = int(meta.get("trained_size", snapshot.live_count))
        index.built = False
        if refetch:
            fetched = fetch([ids[r] for r in refetch])
            index.upsert(fetched.drop_columns(["vector"]), _vectors(fetched), version)
            index.dirty = True
        else:
            index.dirty = meta.get("version") != version
        return index


def _rehash(saved: list[str], live: np.ndarray, position: np.ndarray, hashes: list[str]) -> list[str]:
    """The hashes of the live slots' rows as the table has them now (a row part may have changed)."""
    out = np.asarray(saved, dtype=object)
    slots = np.flatnonzero(live)
    if len(slots):
        out[slots] = np.asarray(hashes, dtype=object)[position[slots]]
    return out.tolist()


def _hashes(rows: Any) -> list[str]:
    if "content_hash" not in rows.column_names:
        return [""] * rows.num_rows
    return [h or "" for h in rows.column("content_hash").to_pylist()]


def _vector_part(content: str) -> str:
    # ``<embedding hash>:<row hash>`` (fashionclip.indexing.hashes); any other hash: all of it
    return content.split(":")[0] if ":" in content else "\0" + content


def _top(scores: np.ndarray, mask: np.ndarray | None, wanted: int) -> tuple[np.ndarray, np.ndarray]:
    candidates = np.flatnonzero(mask) if mask is not None else np.arange(len(scores))
    wanted = min(wanted, len(candidates))
    if wanted == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    top = candidates[np.argpartition(-scores[candidates], wanted - 1)[:wanted]]
    order = np.argsort(-scores[top], kind="stable")
    return top[order], scores[top][order]


def _vectors(table: Any) -> np.ndarray:
    column = table.column("vector").combine_chunks()
    dim = column.type.list_size
    return np.ascontiguousarray(column.flatten().to_numpy(zero_copy_only=False), dtype=np.float32).reshape(-1, dim)


def _build_ivf(vectors: np.ndarray, trained: Any) -> tuple[Any, float]:
    """An IVF-Flat index of ``vectors`` (ids = row order) and the mean cosine of the vectors to
    their centre (how well placed items are; see ``PLACEMENT_MARGIN``)."""
    import faiss

    size, dim = vectors.shape
    lists = max(1, min(int(4 * math.sqrt(size)), size // 39))  # FAISS k-means wants 39 points per centre
    if trained is not None and trained.d == dim and trained.nlist * 256 >= size and trained.nlist * 39 <= size:
        index = trained  # the catalogue still fits the saved centres: only re-assign the vectors
        index.reset()
    else:
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, lists, faiss.METRIC_INNER_PRODUCT)
        index.cp.max_points_per_centroid = 64  # k-means on at most 64 vectors per centre: minutes -> seconds
        index.cp.niter = 10
        index.cp.seed = 1234
        index.train(vectors)
    index.add(vectors)
    index.make_direct_map()  # vectors by slot, for results that ask for theirs
    sample = vectors[np.random.default_rng(0).choice(size, min(size, 20_000), replace=False)]
    nearest, _ = index.quantizer.search(sample, 1)
    return index, float(nearest[:, 0].mean())

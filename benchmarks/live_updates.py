"""Live catalogue benchmark (issue 25): how a store serves queries while its catalogue changes.

For each store (the default LanceDB store with its in-memory index, and Milvus Lite as the
reference), through the store API only (``open_store``, ``add``, ``delete``, ``search``, ``get``,
``optimize``, ``count``):

1. build: N clustered unit vectors (``vector_store.make_data``) with price, stock, gender and
   category columns, added in batches, then ``optimize()``; the add, the optimize and the first
   query are timed;
2. idle: query p50/p95 over the query set (k=10), plain and with a filter matching ~10% of rows
   (``category`` in 20 of 100 values and ``price <= 500``: a price change moves items in and out);
   recall@10 against exact search;
3. single writes of 1, 10, 100 and 1000 items of each kind: metadata-only (same vectors, new price
   and stock: the content hash keeps its embedding part), re-embedded (a new vector for an
   existing id, near another random item: a changed image), added (new ids) and deleted. The write
   is timed, then the next query, which asks for one of the written items (its new vector, or the
   deleted item's old one) and checks that the write is visible;
4. a stream: a writer thread applies ``--rate`` changes/s (60% metadata-only, 20% re-embedded, 10%
   added, 10% deleted) in one batch every 100 ms (one ``add`` of the upserts, one ``delete``) for
   ``--seconds`` while a reader thread queries without pause (the query set, alternately plain and
   filtered). Staleness: whenever no probe is pending, one change of the batch just written becomes
   the probe; the reader's next queries ask for it (plain) until one sees it, and the staleness is
   the time from the commit (``add``/``delete`` returning) to that query's return (so it includes
   one query's duration). A probed item is not written again while its probe is pending;
5. after the stream: ``count()`` against the tracked state, recall@10 (plain and filtered)
   against exact numpy search over the tracked state, and a ``get(ids, with_vectors=True)`` check
   of up to 300 changed items (vector, price, deleted ones gone);
6. reopen: the store opened again in a fresh object; the open and the first query timed, then the
   count and recall@10 checked again.

    python benchmarks/live_updates.py --items 1000000 --seconds 60 --json runs/live-1m.json

Prints a markdown table per store (the issue's targets beside the numbers) and, with ``--json``,
writes every figure. Keep the sizes small when the machine is shared (``--items 20000 --seconds 5``).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import json
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

import numpy as np
from live_catalogue import FILTER, Catalogue, K, Probe, probe_for, recall, visible
from live_report import TARGET_NEXT_MS, TARGET_P95_FACTOR, TARGET_RECALL, markdown

from fashionclip.machine import cpu_flags, cpu_name
from fashionclip.store import IndexInfo
from fashionclip.store.uri import open_store

BATCHES = (1, 10, 100, 1000)
KINDS = ("metadata", "re-embedded", "added", "deleted")
STREAM_MIX = (0.6, 0.2, 0.1, 0.1)  # in the order of KINDS
INTERVAL_S = 0.1  # the stream writes one batch every INTERVAL_S
PROBE_GRACE_S = 120.0  # how long the reader may take, after the stream, to see the last probe
SPOT_CHECK = 300
STORE_URIS = {
    "lance": lambda folder, options: f"{folder / 'lance'}?memory_index=true" + (f"&{options}" if options else ""),
    "milvus-lite": lambda folder, options: (
        f"milvus-lite:{folder / 'milvus-lite.db'}" + (f"?{options}" if options else "")
    ),
}


def vector_store_module() -> Any:
    """``benchmarks/vector_store.py`` (its clustered data generator)."""
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    return importlib.import_module("vector_store")


def plain(value: Any) -> Any:
    """A numpy scalar as the Python value JSON takes."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any, **kwargs: Any) -> str:
    return json.dumps(value, default=plain, **kwargs)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def stats_ms(seconds: list[float]) -> dict[str, float]:
    if not seconds:
        return {"n": 0, "p50_ms": float("nan"), "p95_ms": float("nan"), "max_ms": float("nan")}
    ms = np.asarray(seconds) * 1000
    return {
        "n": len(seconds),
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "max_ms": float(ms.max()),
    }


def write(store: Any, catalogue: Catalogue, changes: list[tuple[str, np.ndarray]]) -> dict[str, float]:
    """Write tracked changes to the store: one ``add`` of the upserts, one ``delete``; the time
    each returned (its commit) and how long each took."""
    upserts = [rows for kind, rows in changes if kind != "deleted" and len(rows)]
    deletes = [rows for kind, rows in changes if kind == "deleted" and len(rows)]
    only_new = all(kind == "added" for kind, rows in changes if len(rows))
    out = {"add_s": 0.0, "delete_s": 0.0}
    t = time.perf_counter()
    if upserts:
        store.add(catalogue.records(np.concatenate(upserts)), new=only_new)
    out["added_at"] = time.perf_counter()
    out["add_s"] = out["added_at"] - t
    if deletes:
        ids = [str(r) for r in np.concatenate(deletes).tolist()]
        gone = store.delete(ids)
        if gone != len(ids):
            log(f"  warning: delete() removed {gone} of {len(ids)} items")
    out["deleted_at"] = time.perf_counter()
    out["delete_s"] = out["deleted_at"] - out["added_at"]
    return out


# ---------------------------------------------------------------------------------- phases
def build(store: Any, catalogue: Catalogue, batch: int = 100_000) -> dict[str, float]:
    store.claim(IndexInfo("benchmark", catalogue.dim))
    t = time.perf_counter()
    for start in range(0, catalogue.n, batch):
        store.add(catalogue.records(np.arange(start, min(catalogue.n, start + batch))), new=True)
    added = time.perf_counter() - t
    t = time.perf_counter()
    store.optimize()
    optimized = time.perf_counter() - t
    t = time.perf_counter()
    store.search(catalogue.base[0], K)
    return {"add_s": added, "optimize_s": optimized, "first_query_ms": (time.perf_counter() - t) * 1000}


def query_set(store: Any, catalogue: Catalogue, queries: np.ndarray) -> dict[str, Any]:
    """Latency and recall@10 of the query set, plain and filtered."""
    out: dict[str, Any] = {}
    for label, where in (("plain", None), ("filtered", FILTER)):
        times, found = vector_store_module().timed_searches(store, queries, where, K)
        out[label] = {**stats_ms(times), "recall@10": recall(found, catalogue.exact(queries, where is not None))}
    return out


def single_writes(store: Any, catalogue: Catalogue, queries: np.ndarray, idle_p50: float, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed + 2)
    rows_out = []
    sizes = [b for b in BATCHES if b <= catalogue.n // 4]  # small indexes: leave out writes of most of it
    if len(sizes) < len(BATCHES):
        log(f"  single writes of {', '.join(str(b) for b in BATCHES if b not in sizes)} items left out: too few items")
    for kind in KINDS:
        for size in sizes:
            rows = catalogue.change(kind, size, rng, set())
            probe = probe_for(catalogue, kind, int(rows[0]))
            done = write(store, catalogue, [(kind, rows)])
            t = time.perf_counter()
            hits = store.search(probe.vector, K)
            next_ms = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            store.search(queries[int(rng.integers(len(queries)))], K)
            second_ms = (time.perf_counter() - t) * 1000
            seen = visible(probe, hits)
            row = {
                "kind": kind,
                "items": size,
                "write_ms": (done["add_s"] + done["delete_s"]) * 1000,
                "next_query_ms": next_ms,
                "next_minus_idle_ms": next_ms - idle_p50,
                "second_query_ms": second_ms,
                "visible": seen,
                "met": seen and next_ms - idle_p50 <= TARGET_NEXT_MS,
            }
            rows_out.append(row)
            log(
                f"  {kind:11s} x{size:<5d} write {row['write_ms']:9.1f} ms  next query {next_ms:9.1f} ms  "
                f"then {second_ms:8.1f} ms  visible {seen}"
            )
    return rows_out


class Stream:
    """The writer and reader threads of the stream phase, and what they measured."""

    def __init__(self, store: Any, catalogue: Catalogue, queries: np.ndarray, rate: float, seconds: float, seed: int):
        self.store, self.catalogue, self.queries = store, catalogue, queries
        self.per_batch = max(1, round(rate * INTERVAL_S))
        self.seconds = seconds
        self.rng = np.random.default_rng(seed + 3)
        self.lock = threading.Lock()
        self.probe: Probe | None = None
        self.probes: list[Probe] = []
        self.stop = threading.Event()
        self.writer_done: float | None = None
        self.errors: list[BaseException] = []
        self.reads: list[tuple[float, float, bool]] = []  # start, seconds, filtered
        self.write_s: list[float] = []
        self.kinds = dict.fromkeys(KINDS, 0)
        self.batches = 0
        self.lag_s = 0.0

    def writer(self) -> None:
        try:
            start = time.perf_counter()
            due = start
            while due < start + self.seconds:
                now = time.perf_counter()
                if due > now:
                    time.sleep(due - now)
                self.lag_s = max(self.lag_s, time.perf_counter() - due)
                drawn = self.rng.choice(len(KINDS), size=self.per_batch, p=STREAM_MIX)
                with self.lock:
                    exclude = {self.probe.row} if self.probe is not None else set()
                changes = []
                for index, kind in enumerate(KINDS):
                    count = int((drawn == index).sum())
                    if count:
                        rows = self.catalogue.change(kind, count, self.rng, exclude)
                        exclude.update(rows.tolist())
                        changes.append((kind, rows))
                        self.kinds[kind] += count
                with self.lock:
                    wanted = self.probe is None
                if wanted:
                    kind, rows = changes[int(self.rng.integers(len(changes)))]
                    probe = probe_for(self.catalogue, kind, int(rows[int(self.rng.integers(len(rows)))]))
                done = write(self.store, self.catalogue, changes)
                self.write_s.append(done["add_s"] + done["delete_s"])
                self.batches += 1
                if wanted:
                    probe.committed = done["deleted_at" if probe.kind == "deleted" else "added_at"]
                    with self.lock:
                        self.probe = probe
                due += INTERVAL_S
        except BaseException as exc:  # reported by the main thread
            self.errors.append(exc)
        finally:
            self.writer_done = time.perf_counter()

    def reader(self) -> None:
        try:
            turn = 0
            while not self.stop.is_set():
                probe = self.probe
                if probe is not None:
                    vector, where = probe.vector, None
                else:
                    vector = self.queries[turn % len(self.queries)]
                    where = FILTER if turn % 2 else None
                    turn += 1
                t = time.perf_counter()
                hits = self.store.search(vector, K, where=where)
                done = time.perf_counter()
                self.reads.append((t, done - t, where is not None))
                if probe is not None:
                    probe.queries += 1
                    if visible(probe, hits):
                        probe.seen = done
                        with self.lock:
                            self.probes.append(probe)
                            self.probe = None
        except BaseException as exc:
            self.errors.append(exc)

    def run(self) -> dict[str, Any]:
        reader = threading.Thread(target=self.reader, name="reader", daemon=True)
        writer = threading.Thread(target=self.writer, name="writer", daemon=True)
        started = time.perf_counter()
        reader.start()
        writer.start()
        writer.join()
        deadline = time.perf_counter() + PROBE_GRACE_S
        while self.probe is not None and time.perf_counter() < deadline and not self.errors:
            time.sleep(0.01)
        self.stop.set()
        reader.join()
        if self.errors:
            raise self.errors[0]
        ended = self.writer_done or time.perf_counter()
        during = [r for r in self.reads if r[0] < ended]
        staleness = [p.seen - p.committed for p in self.probes if p.seen is not None]
        changes = sum(self.kinds.values())
        return {
            "seconds": ended - started,
            "batches": self.batches,
            "changes": changes,
            "changes_per_s": changes / max(ended - started, 1e-9),
            "rate": self.per_batch / INTERVAL_S,
            "changes_by_kind": dict(self.kinds),
            "max_lag_s": self.lag_s,
            "write": stats_ms(self.write_s),
            "plain": stats_ms([s for _, s, f in during if not f]),
            "filtered": stats_ms([s for _, s, f in during if f]),
            "staleness": stats_ms(staleness),
            "probes": len(self.probes) + (self.probe is not None),
            "probes_unseen": int(self.probe is not None),
            "probes_seen_first_query": sum(p.queries == 1 for p in self.probes),
            "staleness_by_kind_p50_ms": {
                kind: float(np.median([(p.seen - p.committed) * 1000 for p in self.probes if p.kind == kind]))
                for kind in KINDS
                if any(p.kind == kind for p in self.probes)
            },
        }


def spot_check(store: Any, catalogue: Catalogue, seed: int) -> dict[str, int]:
    """``get`` of up to SPOT_CHECK changed items against the tracked state."""
    rng = np.random.default_rng(seed + 4)
    touched = np.array(sorted(catalogue.touched), dtype=np.int64)
    rows = rng.choice(touched, size=min(SPOT_CHECK, len(touched)), replace=False) if len(touched) else touched
    hits = {h.id: h for h in store.get([str(r) for r in rows.tolist()], with_vectors=True)}
    out = {"checked": len(rows), "missing": 0, "not_deleted": 0, "wrong_vector": 0, "wrong_price": 0}
    for row in rows.tolist():
        hit = hits.get(str(row))
        if not catalogue.live[row]:
            out["not_deleted"] += int(hit is not None)
        elif hit is None:
            out["missing"] += 1
        else:
            expected = catalogue.vectors(np.array([row]))[0]
            out["wrong_vector"] += int(hit.vector is None or not np.allclose(hit.vector, expected, atol=1e-5))
            out["wrong_price"] += int(abs(float(hit.metadata.get("price") or 0.0) - float(catalogue.price[row])) > 1e-6)
    out["wrong"] = out["missing"] + out["not_deleted"] + out["wrong_vector"] + out["wrong_price"]
    return out


def close(store: Any) -> None:
    closer = getattr(store, "close", None)
    if callable(closer):
        closer()


def bench_store(name: str, uri: str, path: Path, args: argparse.Namespace, cosine: float) -> dict[str, Any]:
    log(f"\n== {name}: {uri}")
    if path.is_dir():  # a LanceDB folder, or Milvus Lite's (it makes a folder of the .db name)
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    vectors, queries = vector_store_module().make_data(
        "clustered", args.items, args.dim, args.centres, cosine, args.queries, args.seed
    )
    queries = queries[: args.milvus_queries] if name == "milvus-lite" and args.milvus_queries else queries
    spare = sum(BATCHES) + int(args.rate * args.seconds * STREAM_MIX[2] * 1.5) + 1000
    catalogue = Catalogue(vectors, cosine, spare, args.seed)
    del vectors
    result: dict[str, Any] = {"uri": uri, "queries": len(queries)}
    store = open_store(uri)
    result["build"] = build(store, catalogue)
    log(f"  build: {dumps(result['build'])}")
    result["idle"] = query_set(store, catalogue, queries)
    log(f"  idle: {dumps(result['idle'])}")
    idle_p50 = result["idle"]["plain"]["p50_ms"]
    result["writes"] = single_writes(store, catalogue, queries, idle_p50, args.seed)
    log(f"  stream: {args.rate:g} changes/s for {args.seconds:g} s")
    result["stream"] = Stream(store, catalogue, queries, args.rate, args.seconds, args.seed).run()
    log(f"  stream: {dumps(result['stream'])}")
    after = query_set(store, catalogue, queries)
    result["after"] = {
        "count": store.count(),
        "expected_count": catalogue.live_count(),
        "recall@10": after["plain"]["recall@10"],
        "filtered_recall@10": after["filtered"]["recall@10"],
        "filtered_count": store.count(FILTER),
        "expected_filtered_count": int(catalogue.mask(True).sum()),
        "get": spot_check(store, catalogue, args.seed),
    }
    log(f"  after: {dumps(result['after'])}")
    close(store)
    del store
    gc.collect()
    t = time.perf_counter()
    store = open_store(uri, create=False)
    opened = time.perf_counter() - t
    t = time.perf_counter()
    store.search(queries[0], K)
    first = (time.perf_counter() - t) * 1000
    reopened = query_set(store, catalogue, queries)
    result["reopen"] = {
        "open_s": opened,
        "first_query_ms": first,
        "count": store.count(),
        "recall@10": reopened["plain"]["recall@10"],
        "filtered_recall@10": reopened["filtered"]["recall@10"],
        "p50_ms": reopened["plain"]["p50_ms"],
    }
    log(f"  reopen: {dumps(result['reopen'])}")
    close(store)
    del store, catalogue
    gc.collect()
    return result


def versions() -> dict[str, str]:
    out = {}
    for package in ("lancedb", "pylance", "faiss-cpu", "pymilvus", "milvus-lite"):
        with contextlib.suppress(package_metadata.PackageNotFoundError):
            out[package] = package_metadata.version(package)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1_000_000, help="items in the index before the writes")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the stream")
    parser.add_argument("--rate", type=float, default=100.0, help="changes per second in the stream")
    parser.add_argument(
        "--stores",
        default="lance,milvus-lite",
        help="comma-separated: lance, milvus-lite, each optionally with URI options (milvus-lite?index=HNSW)",
    )
    parser.add_argument("--queries", type=int, default=200, help="queries in the query set")
    parser.add_argument(
        "--milvus-queries", type=int, default=50, help="Milvus Lite uses the first N (its queries are slow at 1M)"
    )
    parser.add_argument("--centres", type=int, default=3000)
    parser.add_argument("--spread", type=float, default=0.9089, help="mean cosine of an item to its centre")
    parser.add_argument(
        "--folder",
        default=None,
        help="where the stores go (default: a temp folder, removed at the end; a folder given keeps them)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="write the results as JSON here")
    parser.add_argument("--markdown", default=None, help="also write the markdown here")
    args = parser.parse_args()

    flags = cpu_flags()
    wanted = [f for f in ("avx2", "avx512f", "avx512_bf16", "avx512_vnni") if f in flags]
    wanted += sorted(f for f in flags if f.startswith("amx"))
    results: dict[str, Any] = {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "cpu_flags": wanted,
        "items": args.items,
        "dim": args.dim,
        "seconds": args.seconds,
        "rate": args.rate,
        "spread": args.spread,
        "centres": args.centres,
        "seed": args.seed,
        "filter": FILTER,
        "versions": versions(),
        "targets": {
            "next_query_minus_idle_p50_ms": TARGET_NEXT_MS,
            "stream_p95_over_idle_p95": TARGET_P95_FACTOR,
            "recall@10": TARGET_RECALL,
        },
        "stores": {},
    }
    log(f"CPU: {results['cpu']} ({results['cores']} cores; {', '.join(wanted)})")
    made = args.folder is None
    folder = Path(args.folder or tempfile.mkdtemp(prefix="live-updates-")).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        for spec in [s for s in args.stores.split(",") if s]:
            name, _, options = spec.partition("?")
            if name not in STORE_URIS:
                parser.error(f"unknown store {name!r}; use {', '.join(STORE_URIS)}")
            path = folder / ("lance" if name == "lance" else "milvus-lite.db")
            results["stores"][spec] = bench_store(name, STORE_URIS[name](folder, options), path, args, args.spread)
    finally:
        if made:
            shutil.rmtree(folder, ignore_errors=True)
    results["max_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    text = markdown(results)
    print(text)
    if args.json:
        Path(args.json).write_text(dumps(results, indent=2))
    if args.markdown:
        Path(args.markdown).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

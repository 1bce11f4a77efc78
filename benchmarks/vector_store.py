"""Vector store benchmark (issue 5): build time, query latency with and without a filter,
recall@10 against exact search, RAM and disk, at catalogue scale.

Data: N unit vectors of dimension D with three metadata columns (category: 100
values, so ``category in 10 values`` matches 10% of rows; price; gender).
"clustered" draws them around C centres with the spread measured on real
catalogue embeddings (``--spread-from``: k-means on the bundled model's
embeddings of kagl images, mean cosine of an item to its centre); queries are
data points plus a little noise, as real queries land near products.
"uniform" draws them uniformly on the sphere: the worst case for any index.

Systems, in the same run: exact numpy search (the reference), FAISS HNSW, and
the project's LanceStore: "memory" (its default, the in-memory FAISS IVF-Flat index
of the table) and LanceDB's own indices, and Milvus Lite through the project's MilvusStore
(``--systems milvus``), each with the query settings listed.

    python benchmarks/vector_store.py --n 1000000 --data ../shared/data
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from fashionclip.machine import cpu_name
from fashionclip.store import IndexInfo, LanceStore, Records

K = 10


def rss_gb() -> float:
    """Current resident memory of this process, GB."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e9


def measured_spread(data_root: Path, items: int, clusters: int) -> float:
    """Mean cosine between a real embedding and its k-means centre (bundled model, kagl images)."""
    import faiss

    from fashionclip import load_model

    images = sorted((data_root / "kagl" / "images").glob("*.jpg"))[:items]
    vectors = load_model("fashion-clip-mini").encode_images([str(p) for p in images], show_progress=False)
    kmeans = faiss.Kmeans(vectors.shape[1], clusters, niter=20, spherical=True, seed=0, verbose=False)
    kmeans.train(vectors)
    _, assigned = kmeans.index.search(vectors, 1)
    centres = kmeans.centroids[assigned[:, 0]]
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    return float(np.mean(np.sum(vectors * centres, axis=1)))


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def make_data(kind: str, n: int, dim: int, centres: int, cosine: float, queries: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        vectors = unit(rng.standard_normal((n, dim), dtype=np.float32))
        query = unit(rng.standard_normal((queries, dim), dtype=np.float32))
        return vectors, query
    # x = centre + sigma * g / sqrt(D) has cosine ~ 1 / sqrt(1 + sigma^2) to its centre
    sigma = float(np.sqrt(max(1.0 / cosine**2 - 1.0, 1e-6)))
    middle = unit(rng.standard_normal((centres, dim), dtype=np.float32))
    vectors = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        noise = rng.standard_normal((stop - start, dim), dtype=np.float32) * (sigma / np.sqrt(dim))
        vectors[start:stop] = unit(middle[rng.integers(0, centres, stop - start)] + noise)
    picks = vectors[rng.integers(0, n, queries)]
    query = unit(picks + rng.standard_normal(picks.shape, dtype=np.float32) * (0.5 * sigma / np.sqrt(dim)))
    return vectors, query


def metadata(n: int, seed: int = 1) -> dict[str, list]:
    rng = np.random.default_rng(seed)
    return {
        "category": [f"c{c:02d}" for c in rng.integers(0, 100, n)],
        "price": rng.uniform(1, 1000, n).round(2).tolist(),
        "gender": [("Men", "Women", "Boys", "Girls")[g] for g in rng.integers(0, 4, n)],
    }


FILTER = {"category": [f"c{c:02d}" for c in range(10)]}  # 10% of rows


def exact_truth(vectors: np.ndarray, queries: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, list[float]]:
    """Exact top-K ids per query, and the latency of each numpy search."""
    truth, times = [], []
    for q in queries:
        t = time.perf_counter()
        scores = vectors @ q
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        top = np.argpartition(-scores, K)[:K]
        top = top[np.argsort(-scores[top])]
        times.append(time.perf_counter() - t)
        truth.append(top)
    return np.array(truth), times


def recall(found: list[list[int]], truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t.tolist())) / K for f, t in zip(found, truth, strict=True)]))


def stats(times: list[float]) -> dict[str, float]:
    ms = np.array(times) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95))}


def bench_faiss(vectors, queries, truth, m: int, ef_construction: int, ef_search: list[int]) -> list[dict]:
    import faiss

    before = rss_gb()
    t = time.perf_counter()
    index = faiss.IndexHNSWFlat(vectors.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    index.add(vectors)
    build = time.perf_counter() - t
    ram = rss_gb() - before
    rows = []
    for ef in ef_search:
        index.hnsw.efSearch = ef
        times, found = [], []
        for q in queries:
            t = time.perf_counter()
            _, ids = index.search(q[None], K)
            times.append(time.perf_counter() - t)
            found.append(ids[0].tolist())
        rows.append(
            {
                "system": f"faiss HNSW{m} efConstruction={ef_construction} efSearch={ef}",
                "build_s": build,
                "ram_gb": ram,
                "recall@10": recall(found, truth),
                **stats(times),
            }
        )
    del index
    gc.collect()
    return rows


_SERVE = """
import json, os, sys, time
import numpy as np
from fashionclip.store import LanceStore

def rss():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e9

path, memory, where = sys.argv[1], sys.argv[2] == "1", json.loads(sys.argv[3])
query = np.frombuffer(bytes.fromhex(sys.argv[4]), dtype=np.float32)
before = rss()
t = time.perf_counter()
store = LanceStore(path, memory_index=memory)
store.search(query, 10)
store.search(query, 10, where=where)
print(json.dumps({"open_s": time.perf_counter() - t, "ram_gb": rss() - before}))
"""


def serving_cost(path: Path, memory: bool, query: np.ndarray, where: dict) -> dict[str, float]:
    """What a new process (a server) pays to answer its first plain and filtered query: seconds,
    and resident memory (measured in a fresh process, so nothing of the build is counted)."""
    import subprocess

    args = [str(path), "1" if memory else "0", json.dumps(where), query.astype(np.float32).tobytes().hex()]
    done = subprocess.run([sys.executable, "-c", _SERVE, *args], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def fill(store, vectors: np.ndarray, meta: dict[str, list], batch: int) -> float:
    """Add every vector with its metadata (ids "0", "1", ...) in batches; seconds taken."""
    t = time.perf_counter()
    for start in range(0, len(vectors), batch):
        stop = min(len(vectors), start + batch)
        ids = [str(i) for i in range(start, stop)]
        empty = [""] * len(ids)
        meta_part = {k: v[start:stop] for k, v in meta.items()}
        store.add(
            Records(ids, vectors[start:stop], [None] * len(ids), empty, empty, meta_part, ["image"] * len(ids)),
            new=True,
        )
    return time.perf_counter() - t


def timed_searches(store, queries, where=None, k: int = K) -> tuple[list[float], list[list[int]]]:
    """Each query's seconds and the ids it found (after one warm-up query)."""
    store.search(queries[0], k, where=where)  # warm the caches
    times, found = [], []
    for q in queries:
        t = time.perf_counter()
        hits = store.search(q, k, where=where)
        times.append(time.perf_counter() - t)
        found.append([int(h.id) for h in hits])
    return times, found


def measure_queries(store, queries, truth, truth_filtered) -> dict[str, float]:
    """Recall@10 and latency of a store's searches, plain and with the 10% filter."""
    row = {}
    for label, where, reference in (("", None, truth), ("filtered_", FILTER, truth_filtered)):
        times, found = timed_searches(store, queries, where)
        s = stats(times)
        row[f"{label}recall@10"] = recall(found, reference)
        row[f"{label}p50_ms"] = s["p50_ms"]
        row[f"{label}p95_ms"] = s["p95_ms"]
    return row


def bench_lance(path: Path, vectors, meta, queries, truth, truth_filtered, index_type: str, settings: list[dict]):
    """The project's store: ``index_type`` "memory" (the in-memory FAISS IVF-Flat index that
    LanceStore uses by default) or one of LanceDB's own vector indices."""
    memory = index_type == "memory"
    shutil.rmtree(path, ignore_errors=True)
    store = LanceStore(path, memory_index=memory)
    store.claim(IndexInfo("benchmark", vectors.shape[1]))
    load = fill(store, vectors, meta, 100_000)
    t = time.perf_counter()
    if memory:
        store.optimize(ann_min_rows=0)  # what `fashionclip index` runs at the end: memory index + scalar indices
    else:
        store.build_vector_index(index_type=index_type)
        store.index_column("category", "BITMAP")
    build = time.perf_counter() - t
    disk = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e9
    opened = serving_cost(path, memory, queries[0], FILTER)
    store = LanceStore(path, memory_index=memory)
    rows = []
    for setting in settings:
        for name, value in setting.items():
            setattr(store, name, value)
        row = {
            "system": f"lancedb {index_type} " + " ".join(f"{k}={v}" for k, v in setting.items()),
            "load_s": load,
            "build_s": build,
            **opened,
            "disk_gb": disk,
        }
        row.update(measure_queries(store, queries, truth, truth_filtered))
        rows.append(row)
    return rows


def wait_for_milvus_lite(db: Path, collection: str) -> None:
    """Block until Milvus Lite's background compaction and per-segment index builds are done.

    Milvus Lite indexes each flushed segment, and each merged one, in a background thread: that
    is the index build of a bulk load (``fashionclip index`` never rebuilds a Milvus index). It
    has no public call that waits for it; it runs in this process, so the benchmark reaches its
    executor. Measurement only: the store itself never touches Milvus Lite's internals."""
    from milvus_lite.server_manager import server_manager_instance

    _, database, _ = server_manager_instance._servers[os.path.abspath(db)]
    database.get_collection(collection)._wait_for_bg()


def bench_milvus(
    path: Path, vectors, meta, queries, truth, truth_filtered, index_type: str, params: dict, settings: list[dict]
):
    """Milvus Lite (``milvus-lite:PATH``) through the project's MilvusStore: insert (the index
    spec exists from the start, as in ``fashionclip index``), wait until every segment is indexed
    (build), then query with each search setting."""
    from fashionclip.store.milvus import MilvusStore

    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    before = rss_gb()
    store = MilvusStore(str(path / "bench.db"), index_type=index_type, params=params)
    store.claim(IndexInfo("benchmark", vectors.shape[1]))
    load = fill(store, vectors, meta, 50_000)
    t = time.perf_counter()
    store._client.flush(store.collection)
    wait_for_milvus_lite(path / "bench.db", store.collection)
    store.search(queries[0], K)
    build = time.perf_counter() - t
    ram = rss_gb() - before
    disk = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e9
    rows = []
    for setting in settings:
        store.search_params = dict(setting)
        row = {
            "system": f"milvus-lite {index_type} "
            + " ".join(f"{k}={v}" for k, v in {**store.index_params, **setting}.items())
            + f" ({len(queries)} queries)",
            "load_s": load,
            "build_s": build,
            "ram_gb": ram,
            "disk_gb": disk,
        }
        row.update(measure_queries(store, queries, truth, truth_filtered))
        rows.append(row)
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    store.close()
    return rows


COLUMNS = (
    ("load_s", "load s"),
    ("build_s", "build s"),
    ("open_s", "open s"),
    ("recall@10", "recall@10"),
    ("p50_ms", "p50 ms"),
    ("p95_ms", "p95 ms"),
    ("filtered_recall@10", "filtered recall@10"),
    ("filtered_p50_ms", "filtered p50 ms"),
    ("filtered_p95_ms", "filtered p95 ms"),
    ("ram_gb", "RAM GB"),
    ("disk_gb", "disk GB"),
)


def markdown(results: dict) -> str:
    """One table per kind of data, every system a row; blank where a system has no such figure."""
    lines = [f"CPU {results['cpu']}, N={results['n']}, D={results['dim']}, k={K}", ""]
    for kind, rows in results["runs"].items():
        lines += [f"### {kind}", "", "| system | " + " | ".join(h for _, h in COLUMNS) + " |"]
        lines.append("|---" * (len(COLUMNS) + 1) + "|")
        for row in rows:
            cells = [f"{row[k]:.3g}" if isinstance(row.get(k), float) else "" for k, _ in COLUMNS]
            lines.append(f"| {row['system']} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--centres", type=int, default=3000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--data", default="../shared/data", help="shared data, for the measured spread")
    parser.add_argument("--spread", type=float, default=None, help="mean cosine to a centre (skips measuring)")
    parser.add_argument("--kinds", default="clustered,uniform")
    parser.add_argument("--systems", default="exact,faiss,lance")
    parser.add_argument(
        "--lance-index", default="memory,IVF_HNSW_SQ,IVF_PQ", help="memory (the default store) and LanceDB indices"
    )
    parser.add_argument("--milvus-index", default="HNSW", help="Milvus Lite index types (with --systems milvus)")
    parser.add_argument(
        "--milvus-params", default="", help="index build parameters, e.g. M=16,efConstruction=64,nlist=1024"
    )
    parser.add_argument(
        "--milvus-search", default="32,64,128,256", help="Milvus Lite search settings: ef for HNSW, nprobe for IVF"
    )
    parser.add_argument("--milvus-queries", type=int, default=0, help="query Milvus Lite with the first N queries")
    parser.add_argument("--hnsw-ef-construction", type=int, default=40, help="FAISS HNSW32 build effort")
    parser.add_argument("--workdir", default=None, help="where the LanceDB tables go (default: a temp folder)")
    parser.add_argument("--output", default=None, help="write the results as JSON here")
    parser.add_argument("--markdown", default=None, help="write the results as markdown tables here")
    args = parser.parse_args()

    cosine = args.spread if args.spread is not None else measured_spread(Path(args.data), 5000, 50)
    print(
        f"CPU: {cpu_name()}, {os.cpu_count()} cores; N={args.n} D={args.dim}; spread (mean cosine to centre) "
        f"{cosine:.3f}",
        flush=True,
    )
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="vector-bench-"))
    results = {"cpu": cpu_name(), "n": args.n, "dim": args.dim, "spread_cosine": cosine, "runs": {}}
    systems = args.systems.split(",")
    for kind in args.kinds.split(","):
        vectors, queries = make_data(kind, args.n, args.dim, args.centres, cosine, args.queries)
        meta = metadata(args.n)
        mask = np.isin(np.array(meta["category"]), FILTER["category"])
        truth, exact_times = exact_truth(vectors, queries, None)
        truth_filtered, exact_filtered = exact_truth(vectors, queries, mask)
        rows = [
            {
                "system": "exact numpy (reference)",
                "recall@10": 1.0,
                **stats(exact_times),
                "filtered_recall@10": 1.0,
                **{f"filtered_{k}": v for k, v in stats(exact_filtered).items()},
                "ram_gb": vectors.nbytes / 1e9,
            }
        ]
        if "faiss" in systems:
            rows += bench_faiss(vectors, queries, truth, 32, args.hnsw_ef_construction, [32, 64, 128, 256])
        if "lance" in systems:
            for index_type in args.lance_index.split(","):
                if index_type == "memory":
                    settings = [{"memory_candidates": c} for c in (1024, 2048, 4096, 8192, 16384)]
                elif "PQ" in index_type:
                    settings = [{"nprobes": p, "refine_factor": r} for p, r in ((10, 5), (20, 10), (40, 10), (40, 20))]
                else:
                    settings = [{"nprobes": p} for p in (5, 10, 20, 40)]
                rows += bench_lance(
                    workdir / f"{kind}-{index_type}",
                    vectors,
                    meta,
                    queries,
                    truth,
                    truth_filtered,
                    index_type,
                    settings,
                )
        if "milvus" in systems:
            from fashionclip.store.milvus import INDEX_DEFAULTS

            # Milvus Lite's queries take up to seconds at 1M: a subset keeps the run within hours
            few = args.milvus_queries or len(queries)
            given = {k: int(v) for k, v in (p.split("=") for p in args.milvus_params.split(",") if p)}
            for index_type in args.milvus_index.split(","):
                settings = {
                    "HNSW": [{"ef": int(e)} for e in args.milvus_search.split(",")],
                    "IVF_FLAT": [{"nprobe": int(p)} for p in args.milvus_search.split(",")],
                }.get(index_type, [{}])
                rows += bench_milvus(
                    workdir / f"{kind}-milvus-{index_type}",
                    vectors,
                    meta,
                    queries[:few],
                    truth[:few],
                    truth_filtered[:few],
                    index_type,
                    {k: v for k, v in given.items() if k in INDEX_DEFAULTS[index_type][0]},
                    settings,
                )
        results["runs"][kind] = rows
        print(f"\n## {kind} (N={args.n}, D={args.dim}, {args.queries} queries, k={K})", flush=True)
        for row in rows:
            print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
        del vectors
        gc.collect()
    results["max_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2))
    if args.markdown:
        Path(args.markdown).write_text(markdown(results))
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

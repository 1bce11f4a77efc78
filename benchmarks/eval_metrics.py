"""Time and peak memory of the chunked ranking metrics (issue 7: 100k queries x 100k items).

Random unit vectors; each query has one matching item (caption -> product), or queries are
class prompts whose matches are every item of the class (category -> product). The full score
matrix a naive implementation holds is printed for comparison (100k x 100k float32 = 40 GB).
Peak memory is Python-heap peak from tracemalloc (numpy reports its buffers to it).

    python benchmarks/eval_metrics.py --n 100000 --output runs/eval_metrics.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from fashionclip.evaluation.metrics import retrieval_scores, same_label
from fashionclip.machine import cpu_name


def unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def measure(name: str, queries, items, relevance) -> dict:
    tracemalloc.start()
    started = time.perf_counter()
    result = retrieval_scores(queries, items, relevance, ks=(1, 5, 10))
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    row = {
        "case": name,
        "queries": len(queries),
        "items": len(items),
        "seconds": round(seconds, 2),
        "peak_mb": round(peak / 2**20, 1),
        "full_matrix_mb": round(len(queries) * len(items) * 4 / 2**20, 1),
        "hit@10": round(result.mean("hit@10"), 4),
        "map": round(result.mean("map"), 4),
    }
    print(json.dumps(row))
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="queries and items")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--classes", type=int, default=40)
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    items = unit(rng, args.n, args.dim)
    # a caption lies near its product: the product's vector plus noise
    captions = items + 3.0 * unit(rng, args.n, args.dim)
    ids = np.arange(args.n)
    rows = [measure("caption -> its product", captions, items, same_label(ids, ids))]
    classes = rng.integers(0, args.classes, size=args.n)
    prompts = unit(rng, args.classes, args.dim)
    rows.append(
        measure("class prompt -> products of the class", prompts, items, same_label(range(args.classes), classes))
    )
    results = {"cpu": cpu_name(), "dim": args.dim, "rows": rows}
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

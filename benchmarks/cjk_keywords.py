"""Keyword search over Chinese titles: each store's tokenizer modes side by side (issue 24).

Builds a catalogue with Chinese titles from the Kaggle fashion catalogue's attributes (gender,
colour and article type through ``benchmarks/data/kagl_zh.csv``, written as shoppers write
them: no spaces, e.g. "Nike 女士红色连衣裙"), then asks Chinese queries whose answers the
attributes give:

- ``type``: an article type (运动鞋: every sports shoe);
- ``colour+type``: a colour and a type (红色连衣裙: red dresses);
- ``one character``: 鞋 (any shoe), 包 (any bag), 裤 (any trousers): what a single character
  names is every type whose name holds it.

For each store and ``keywords`` mode it prints the mean precision@10 (over min(10, relevant)
items, so a perfect ranking scores 1), the mean R-precision
(precision at the number of relevant items), the share of queries that found nothing, and the
median query time; and which mode ``auto`` picked. Vectors are random: only keywords are searched.

    python benchmarks/cjk_keywords.py --styles ../shared/data/kagl/styles.csv --items 5000
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from fashionclip.store import IndexInfo, Records
from fashionclip.store.uri import open_store

VOCABULARY = Path(__file__).parent / "data" / "kagl_zh.csv"
ONE_CHARACTER = ("鞋", "包", "裤")


def vocabulary() -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = defaultdict(dict)
    with VOCABULARY.open(encoding="utf-8") as handle:
        for row in csv.DictReader(line for line in handle if not line.startswith("#")):
            found[row["kind"]][row["english"]] = row["chinese"]
    return found


def catalogue(styles: Path, items: int, seed: int) -> list[dict[str, str]]:
    words = vocabulary()
    rows = []
    with styles.open(encoding="utf-8", errors="replace") as handle:
        for row in csv.DictReader(handle):
            if all(row.get(kind) in words[kind] for kind in ("gender", "baseColour", "articleType")):
                brand = (row.get("productDisplayName") or "").split(" ")[0]
                zh = {kind: words[kind][row[kind]] for kind in ("gender", "baseColour", "articleType")}
                title = f"{brand} {zh['gender']}{zh['baseColour']}{zh['articleType']}"
                rows.append({"id": row["id"], "title": title, **zh})
    random.Random(seed).shuffle(rows)
    return rows[:items]


def queries(rows: list[dict[str, str]]) -> list[tuple[str, str, set[str]]]:
    """(kind, query, ids of the relevant items)."""
    by_type: dict[str, set[str]] = defaultdict(set)
    by_pair: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        by_type[row["articleType"]].add(row["id"])
        by_pair[row["baseColour"] + row["articleType"]].add(row["id"])
    found = [("type", name, ids) for name, ids in sorted(by_type.items()) if len(ids) >= 5]
    found += [("colour+type", name, ids) for name, ids in sorted(by_pair.items()) if len(ids) >= 5]
    for char in ONE_CHARACTER:
        ids = {row["id"] for row in rows if char in row["articleType"]}
        if ids:
            found.append(("one character", char, ids))
    return found


def records(rows: list[dict[str, str]]) -> Records:
    vectors = np.random.default_rng(0).standard_normal((len(rows), 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [row["id"] for row in rows]
    return Records(ids=ids, vectors=vectors, images=[""] * len(rows), texts=[row["title"] for row in rows], hashes=ids)


def measure(store, asked: list[tuple[str, str, set[str]]]) -> dict[str, tuple[float, float, float, float]]:  # noqa: ANN001
    """kind -> (P@10, R-precision, share with no hit, median ms)."""
    results: dict[str, list[tuple[float, float, float, float]]] = defaultdict(list)
    store.keyword_search(asked[0][1], 10)  # the text index is built by the first query
    for kind, query, relevant in asked:
        start = time.perf_counter()
        hits = store.keyword_search(query, max(10, len(relevant)))
        ms = (time.perf_counter() - start) * 1000
        got = [h.id for h in hits]
        top = got[:10]
        p10 = sum(i in relevant for i in top) / min(10, len(relevant))
        r_precision = sum(i in relevant for i in got[: len(relevant)]) / len(relevant)
        results[kind].append((p10, r_precision, float(not got), ms))
    summary = {}
    for kind, values in results.items():
        columns = list(zip(*values, strict=True))
        summary[kind] = (*(statistics.fmean(c) for c in columns[:3]), statistics.median(columns[3]))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--styles", type=Path, default=Path("../shared/data/kagl/styles.csv"))
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = catalogue(args.styles, args.items, args.seed)
    asked = queries(rows)
    counts = defaultdict(int)
    for kind, _, _ in asked:
        counts[kind] += 1
    print(f"{len(rows)} items with Chinese titles (e.g. {rows[0]['title']!r}); queries: {dict(counts)}")
    print("| store | keywords | picked | query kind | P@10 | R-precision | no hit | median ms |")
    print("|---|---|---|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        setups = [(":memory:", "exact", "(one mode)")]
        for mode in ("english", "cjk", "auto"):
            setups.append((f"{folder}/lance-{mode}?keywords={mode}", "LanceDB", mode))
            setups.append((f"milvus-lite:{folder}/milvus-{mode}.db?keywords={mode}", "Milvus Lite", mode))
        for uri, name, mode in setups:
            store = open_store(uri)
            store.claim(IndexInfo("cjk-keywords", 8))
            store.add(records(rows), new=True)
            summary = measure(store, asked)
            picked = getattr(getattr(store, "text", None), "built_mode", None)
            picked = picked() if picked else getattr(store, "keyword_mode", lambda: "english+cjk")()
            for kind, (p10, r_precision, empty, ms) in summary.items():
                print(
                    f"| {name} | {mode} | {picked} | {kind} | {p10:.3f} | {r_precision:.3f} | {empty:.2f} | {ms:.1f} |"
                )


if __name__ == "__main__":
    main()

"""Catalogue search on real data (issue 5, part 6), through the real index and CLI code path.

Product search: index the kagl catalogue (or a slice) into LanceDB, print the top
results for a few shopper queries, and their attribute precision@10: a result
counts when its articleType, baseColour and gender match what the query asks
(each query's expectations are listed in QUERIES; a query that names no gender
accepts any).

Outfit search: index the ccp street photos with their tags as metadata, print
the top results for sentence queries, and the mean average precision of
"a photo of a person wearing {tag}" over tags with at least 20 photos (ranking
every photo through ``Catalog.search``), next to the expected AP of a random
ranking. The bundled model was trained on 70% of these photos: the held-out
30% (the recipe's validation split) is reported on its own.

    python benchmarks/search_quality.py --model fashion-clip-mini --data ../shared/data
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from fashionclip.catalog import ColumnMap
from fashionclip.machine import cpu_name
from fashionclip.search import Catalog

QUERIES = {
    "navy blue shirt for men": {"articleType": {"Shirts"}, "baseColour": {"Navy Blue"}, "gender": {"Men"}},
    "red dress": {"articleType": {"Dresses"}, "baseColour": {"Red"}},
    "black leather handbag": {"articleType": {"Handbags"}, "baseColour": {"Black"}},
    "white sneakers": {"articleType": {"Casual Shoes", "Sports Shoes"}, "baseColour": {"White"}},
}
OUTFIT_QUERIES = [
    "formal clothes for a man",
    "a woman with a white shirt",
    "a man wearing a colourful shirt",
    "clothes for a cold rainy day",
]


def average_precision(ranked_relevant: np.ndarray, total_relevant: int) -> float:
    if total_relevant == 0:
        return 0.0
    precision = np.cumsum(ranked_relevant) / np.arange(1, len(ranked_relevant) + 1)
    return float((precision * ranked_relevant).sum() / total_relevant)


def product_search(model: str, data: Path, limit: int | None, db: Path) -> dict:
    source = data / "kagl" / "styles.csv"
    if limit:
        with source.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))[:limit]
        source = db.parent / "kagl-slice.csv"
        with source.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    catalog = Catalog.open(db, model=model)
    columns = ColumnMap(text_columns="productDisplayName", image_template="images/{id}.jpg")
    report = catalog.index(source, columns, root=data / "kagl", show_progress=False)
    results: dict = {"index": report.summary(), "queries": {}}
    for query, wanted in QUERIES.items():
        t = time.perf_counter()
        hits = catalog.search(query, k=10)
        latency = time.perf_counter() - t
        relevant = [all(h.metadata.get(col) in ok for col, ok in wanted.items()) for h in hits]
        per_attribute = {col: float(np.mean([h.metadata.get(col) in ok for h in hits])) for col, ok in wanted.items()}
        results["queries"][query] = {
            "precision@10": float(np.mean(relevant)),
            "per_attribute_precision@10": per_attribute,
            "latency_ms": latency * 1000,
            "top5": [
                {
                    "id": h.id,
                    "score": round(h.score, 4),
                    "title": h.text,
                    **{c: h.metadata.get(c) for c in ("articleType", "baseColour", "gender")},
                }
                for h in hits[:5]
            ],
        }
    return results


def outfit_search(model: str, data: Path, db: Path) -> dict:
    from fashionclip.training.config import load_recipe
    from fashionclip.training.data import read_sources, split_by_id

    catalog = Catalog.open(db, model=model)
    report = catalog.index(
        data / "ccp" / "tags.csv",
        ColumnMap(id_column="photo", text_columns="tags", image_template="photos/{photo}.jpg"),
        show_progress=False,
    )
    results: dict = {"index": report.summary(), "queries": {}}
    for query in OUTFIT_QUERIES:
        results["queries"][query] = [
            {"photo": h.id, "score": round(h.score, 4), "tags": h.text} for h in catalog.search(query, k=5)
        ]

    with (data / "ccp" / "tags.csv").open(newline="", encoding="utf-8") as handle:
        tags = {row["photo"]: set(row["tags"].split()) for row in csv.DictReader(handle)}
    config = load_recipe("fashion-clip-mini", data_root=data, output="unused")
    examples = read_sources(config.data)
    _, val = split_by_id(examples, config.val_fraction, [s.val_fraction for s in config.data])
    held_out = {examples[i].id for i in val if examples[i].source == 1}
    rng = np.random.default_rng(0)
    for name, photos in (("all_photos", set(tags)), ("held_out_photos", held_out)):
        counts = Counter(t for p in photos for t in tags[p])
        frequent = sorted(t for t, n in counts.items() if n >= 20)
        aps, random_aps = {}, {}
        for tag in frequent:
            hits = [h for h in catalog.search(f"a photo of a person wearing {tag}", k=len(tags)) if h.id in photos]
            relevant = np.array([tag in tags[h.id] for h in hits], dtype=float)
            aps[tag] = average_precision(relevant, counts[tag])
            flags = np.array([tag in tags[p] for p in photos], dtype=float)
            random_aps[tag] = float(
                np.mean([average_precision(rng.permutation(flags), counts[tag]) for _ in range(200)])
            )
        results[name] = {
            "photos": len(photos),
            "tags": len(frequent),
            "mAP": float(np.mean(list(aps.values()))),
            "random_mAP": float(np.mean(list(random_aps.values()))),
            "per_tag_AP": {t: round(a, 3) for t, a in aps.items()},
        }
    return results


def markdown(results: dict) -> str:
    """The results as the tables of a closing note."""
    lines = [f"Model `{results['model']}`, CPU {results['cpu']}.", "", "### Product search (kagl)", ""]
    products = results["products"]
    lines += [products["index"], ""]
    for query, found in products["queries"].items():
        per = ", ".join(f"{k} {v:.2f}" for k, v in found["per_attribute_precision@10"].items())
        lines += [f"**{query}**: precision@10 {found['precision@10']:.2f} (per attribute: {per})", ""]
        lines += ["| # | id | score | title | articleType | baseColour | gender |", "|---|---|---|---|---|---|---|"]
        for rank, hit in enumerate(found["top5"], 1):
            lines.append(
                f"| {rank} | {hit['id']} | {hit['score']:.3f} | {hit['title']} | {hit['articleType']} | "
                f"{hit['baseColour']} | {hit['gender']} |"
            )
        lines.append("")
    outfits = results["outfits"]
    lines += ["### Outfit search (ccp street photos)", "", outfits["index"], ""]
    for query, found in outfits["queries"].items():
        lines += [f"**{query}**", "", "| # | photo | score | its tags |", "|---|---|---|---|"]
        lines += [f"| {i} | {h['photo']} | {h['score']:.3f} | {h['tags']} |" for i, h in enumerate(found, 1)]
        lines.append("")
    lines += ["| photos | tags with >= 20 photos | mAP | random ranking mAP |", "|---|---|---|---|"]
    for name in ("all_photos", "held_out_photos"):
        r = outfits[name]
        lines.append(f"| {name} ({r['photos']}) | {r['tags']} | {r['mAP']:.3f} | {r['random_mAP']:.3f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="fashion-clip-mini")
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--limit", type=int, default=None, help="index only the first N kagl products")
    parser.add_argument("--output", default=None, help="write the results as JSON here")
    parser.add_argument("--markdown", default=None, help="write the results as markdown tables here")
    args = parser.parse_args()
    data = Path(args.data)
    work = Path(tempfile.mkdtemp(prefix="search-quality-"))
    results = {
        "cpu": cpu_name(),
        "model": args.model,
        "products": product_search(args.model, data, args.limit, work / "kagl-db"),
        "outfits": outfit_search(args.model, data, work / "ccp-db"),
    }
    print(json.dumps(results, indent=2, ensure_ascii=False))
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2, ensure_ascii=False))
    if args.markdown:
        Path(args.markdown).write_text(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Localisation heatmaps (issue 6, part 3): the pointing game on the ccp street photos.

For every (photo, item) pair whose mask covers at least 1% of the photo, a hit is the heatmap's
maximum falling on one of the item's mask pixels. Reported per item and overall, for each method,
next to two baselines: the image centre, and a uniformly random point (its expected hit rate is
the mask's share of the photo). The text of an item is its label, which explain() puts in the
model's prompt template ("a photo of a belt"); by default it competes with the bundled "fashion"
vocabulary (``method:none`` for plain cosine heat).

The bundled model trained on 70% of these photos (captions from their tags, never the masks);
options are chosen on those training photos and the score that counts is on the held-out 30%
(the recipe's validation split). Time per heatmap is measured on single-text calls, for the
bundled model and for FashionCLIP's exact ViT-B/32 architecture with random weights (speed does
not depend on weights).

    python benchmarks/localisation.py --output runs/localisation.json --markdown runs/localisation.md
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

from fashionclip import load_model
from fashionclip.explain import METHODS, explain
from fashionclip.machine import cpu_name
from fashionclip.training.config import load_recipe
from fashionclip.training.data import read_sources, split_by_id


def pairs_of(ccp: Path, photos: list[str], min_share: float) -> list[tuple[str, list[tuple[str, int, float]]]]:
    """For each photo, its (label, mask index, mask share) items covering at least ``min_share``."""
    with open(ccp / "labels.csv") as labels, open(ccp / "tags.csv") as photo_tags:
        index = {row["label"]: int(row["index"]) for row in csv.DictReader(labels)}
        tags = {row["photo"]: row["tags"].split() for row in csv.DictReader(photo_tags)}
    result = []
    for photo in photos:
        mask = np.asarray(Image.open(ccp / "masks" / f"{photo}.png"))
        items = []
        for label in tags[photo]:
            share = float((mask == index[label]).mean())
            if share >= min_share:
                items.append((label, index[label], share))
        if items:
            result.append((photo, items))
    return result


def held_out_photos(data: Path) -> tuple[set[str], set[str]]:
    """The bundled model's training and validation ccp photo ids (its recipe's split)."""
    config = load_recipe("fashion-clip-mini", data_root=data, output="unused")
    examples = read_sources(config.data)
    train, val = split_by_id(examples, config.val_fraction, [s.val_fraction for s in config.data])
    ccp = next(i for i, s in enumerate(config.data) if "ccp" in str(s.path))
    return (
        {examples[i].id for i in train if examples[i].source == ccp},
        {examples[i].id for i in val if examples[i].source == ccp},
    )


def pointing_game(encoder, ccp: Path, pairs, variant: dict) -> dict:
    hits: dict[str, list[bool]] = defaultdict(list)
    for photo, items in pairs:
        image = Image.open(ccp / "photos" / f"{photo}.jpg").convert("RGB")
        mask = np.asarray(Image.open(ccp / "masks" / f"{photo}.png"))
        heatmaps = explain(encoder, image, [label for label, _, _ in items], **variant)
        for (label, index, _), heatmap in zip(items, heatmaps, strict=True):
            x, y = heatmap.peak
            hits[label].append(bool(mask[y, x] == index))
    return summarise(hits)


def baselines(ccp: Path, pairs) -> dict:
    centre: dict[str, list[bool]] = defaultdict(list)
    random_point: dict[str, list[float]] = defaultdict(list)
    for photo, items in pairs:
        mask = np.asarray(Image.open(ccp / "masks" / f"{photo}.png"))
        height, width = mask.shape
        for label, index, share in items:
            centre[label].append(bool(mask[height // 2, width // 2] == index))
            random_point[label].append(share)
    return {"centre": summarise(centre), "random point": summarise(random_point)}


def summarise(values: dict[str, list]) -> dict:
    every = [v for vs in values.values() for v in vs]
    return {
        "overall": float(np.mean(every)),
        "pairs": len(every),
        "per_item": {label: {"accuracy": float(np.mean(v)), "pairs": len(v)} for label, v in sorted(values.items())},
    }


def timing(encoder, ccp: Path, photos: list[str], methods, repeats: int) -> dict:
    """Median and p95 seconds of one single-text heatmap (image decoding included)."""
    text = "belt"
    result = {}
    for method in methods:
        explain(encoder, ccp / "photos" / f"{photos[0]}.jpg", text, method=method)  # warm-up
        seconds = []
        for photo in photos[:repeats]:
            started = time.perf_counter()
            explain(encoder, ccp / "photos" / f"{photo}.jpg", text, method=method)
            seconds.append(time.perf_counter() - started)
        seconds.sort()
        result[method] = {
            "median_s": statistics.median(seconds),
            "p95_s": seconds[min(len(seconds) - 1, int(0.95 * len(seconds)))],
            "calls": len(seconds),
        }
    return result


def markdown(results: dict) -> str:
    held = results["held_out"]
    names = list(held)
    lines = [
        f"Pointing game on ccp, held-out photos ({results['held_out_photos']} photos), model {results['model']}, "
        f"CPU {results['cpu']}. Item masks >= {results['min_share']:.0%} of the photo.",
        "",
        "| item | pairs | " + " | ".join(names) + " |",
        "|---|---:|" + "---:|" * len(names),
    ]
    first = held[names[0]]["per_item"]
    for label in first:
        row = [f"{held[n]['per_item'][label]['accuracy']:.3f}" for n in names]
        lines.append(f"| {label} | {first[label]['pairs']} | " + " | ".join(row) + " |")
    overall = " | ".join(f"**{held[n]['overall']:.3f}**" for n in names)
    lines.append(f"| **overall** | {held[names[0]]['pairs']} | {overall} |")
    if "all_photos" in results:
        every = results["all_photos"]
        lines += ["", "All photos (the model trained on 70% of them, without masks):", ""]
        lines.append("| | " + " | ".join(every) + " |")
        lines.append("|---|" + "---:|" * len(every))
        lines.append("| overall | " + " | ".join(f"{every[n]['overall']:.3f}" for n in every) + " |")
    for model, rows in results["timing"].items():
        lines += ["", f"Seconds per single-text heatmap, {model} (image decoding included):", ""]
        lines.append("| method | median | p95 |")
        lines.append("|---|---:|---:|")
        lines += [f"| {m} | {r['median_s']:.3f} | {r['p95_s']:.3f} |" for m, r in rows.items()]
    return "\n".join(lines) + "\n"


def parse_variant(text: str) -> tuple[str, dict]:
    """``method`` (explain's default contrast) or ``method:none`` / ``method:VOCABULARY``."""
    method, _, contrast = text.partition(":")
    if method not in METHODS:
        raise SystemExit(f"unknown method {method!r}")
    if not contrast:
        return text, {"method": method}
    return text, {"method": method, "contrast": None if contrast == "none" else contrast}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="fashion-clip-mini")
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument(
        "--variants",
        default="crops,occlusion,patch,gradient",
        help="comma-separated method[:contrast text] to compare",
    )
    parser.add_argument("--split", choices=("held-out", "train"), default="held-out", help="photos to score on")
    parser.add_argument("--all-photos", action="store_true", help="also score every photo")
    parser.add_argument("--limit", type=int, default=None, help="at most this many photos (for quick looks)")
    parser.add_argument("--min-share", type=float, default=0.01)
    parser.add_argument("--timing-photos", type=int, default=30)
    parser.add_argument("--vit-b32", action="store_true", help="also time FashionCLIP's architecture (random)")
    parser.add_argument("--output", default=None)
    parser.add_argument("--markdown", default=None)
    args = parser.parse_args()

    data = Path(args.data)
    ccp = data / "ccp"
    train, val = held_out_photos(data)
    photos = sorted(val if args.split == "held-out" else train)[: args.limit]
    variants = dict(parse_variant(v) for v in args.variants.split(","))
    encoder = load_model(args.model)
    pairs = pairs_of(ccp, photos, args.min_share)
    results: dict = {
        "cpu": cpu_name(),
        "model": args.model,
        "split": args.split,
        "min_share": args.min_share,
        "held_out_photos": len(photos),
        "held_out": {name: pointing_game(encoder, ccp, pairs, v) for name, v in variants.items()},
    }
    results["held_out"].update(baselines(ccp, pairs))
    if args.all_photos:
        every = pairs_of(ccp, sorted(train | val), args.min_share)
        results["all_photos"] = {name: pointing_game(encoder, ccp, every, v) for name, v in variants.items()}
        results["all_photos"].update(baselines(ccp, every))
    methods = sorted({v["method"] for v in variants.values()}, key=METHODS.index)
    results["timing"] = {args.model: timing(encoder, ccp, photos, methods, args.timing_photos)}
    if args.vit_b32:
        from fashionclip.testing import write_vit_b32

        with tempfile.TemporaryDirectory() as folder:
            big = load_model(str(write_vit_b32(Path(folder) / "vit-b-32")))
            results["timing"]["ViT-B/32 (random weights)"] = timing(big, ccp, photos, methods, args.timing_photos)
    print(markdown(results))
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2))
    if args.markdown:
        Path(args.markdown).write_text(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

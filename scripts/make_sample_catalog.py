"""Rebuild the small sample catalogue bundled with the package from ../shared/data/kagl.

Deterministic: for each of a fixed list of article types, the products with the
smallest ids. Run from the repository root: python scripts/make_sample_catalog.py
"""

from __future__ import annotations

import csv
import shutil
import sys
from collections import defaultdict
from pathlib import Path

ARTICLE_TYPES = [
    "Tshirts",
    "Shirts",
    "Jeans",
    "Dresses",
    "Tops",
    "Kurtas",
    "Track Pants",
    "Shorts",
    "Skirts",
    "Jackets",
    "Sweatshirts",
    "Casual Shoes",
    "Sports Shoes",
    "Heels",
    "Flip Flops",
    "Sandals",
    "Handbags",
    "Backpacks",
    "Watches",
    "Sunglasses",
    "Belts",
    "Wallets",
    "Caps",
    "Sarees",
]
PER_TYPE = 5
SOURCE = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/kagl")
TARGET = Path("src/fashionclip/data/sample_catalog")


def main() -> None:
    by_type: dict[str, list[dict[str, str]]] = defaultdict(list)
    with (SOURCE / "styles.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["articleType"] in ARTICLE_TYPES and (SOURCE / "images" / f"{row['id']}.jpg").exists():
                by_type[row["articleType"]].append(row)
    if TARGET.exists():
        shutil.rmtree(TARGET)
    (TARGET / "images").mkdir(parents=True)
    rows = []
    for article_type in ARTICLE_TYPES:
        for row in sorted(by_type[article_type], key=lambda r: int(r["id"]))[:PER_TYPE]:
            shutil.copyfile(SOURCE / "images" / f"{row['id']}.jpg", TARGET / "images" / f"{row['id']}.jpg")
            rows.append(
                {
                    "id": row["id"],
                    "image": f"images/{row['id']}.jpg",
                    "title": row["productDisplayName"],
                    "gender": row["gender"],
                    "masterCategory": row["masterCategory"],
                    "subCategory": row["subCategory"],
                    "articleType": row["articleType"],
                    "baseColour": row["baseColour"],
                    "season": row["season"],
                    "usage": row["usage"],
                }
            )
    with (TARGET / "catalog.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} products to {TARGET}")


if __name__ == "__main__":
    main()

"""Ray Data indexing against the local path, in the same run: images/s of ``fashionclip index`` with
``--engine local`` and with ``--engine ray`` at 1 and 2 workers, on a catalogue of real product
photos (kagl), each into a fresh LanceDB index; the ratio to local is the Ray path's overhead (or
gain) on this machine.

    python benchmarks/ray_overhead.py --images 2000 --output runs/ray.json --markdown runs/ray.md

Ray's own start (``ray.init``, once per run) is timed apart: a cluster pays it once, not per job.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from fashionclip import load_model
from fashionclip.indexing import RayOptions
from fashionclip.machine import cpu_name
from fashionclip.search import Catalog


def write_catalog(folder: Path, data: Path, count: int) -> Path:
    images = sorted((data / "kagl" / "images").glob("*.jpg"))[:count]
    if len(images) < count:
        raise SystemExit(f"only {len(images)} images under {data / 'kagl' / 'images'}")
    path = folder / "catalog.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "image", "title"])
        for image in images:
            writer.writerow([image.stem, str(image.resolve()), f"product {image.stem}"])
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--model", default="fashion-clip-mini")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--output")
    parser.add_argument("--markdown")
    args = parser.parse_args()

    import ray

    encoder = load_model(args.model)  # the automatic backend and precision, as `fashionclip index` uses
    backend = f"{type(encoder.backend).__name__} {getattr(encoder.backend, 'precision', '')}"
    results: dict = {"cpu": cpu_name(), "cores": os.cpu_count(), "model": args.model, "backend": backend, "runs": []}
    with tempfile.TemporaryDirectory(prefix="ray-bench-") as scratch:
        folder = Path(scratch)
        catalog_file = write_catalog(folder, Path(args.data), args.images)

        def run(name: str, **index_options) -> None:  # noqa: ANN003
            catalog = Catalog.open(folder / f"{name}.lance", model=encoder)
            started = time.perf_counter()
            report = catalog.index(catalog_file, **index_options)
            seconds = time.perf_counter() - started
            row = {"path": name, "items": report.added, "seconds": round(seconds, 2)}
            row["images_per_s"] = round(report.added / seconds, 1)
            results["runs"].append(row)
            print(json.dumps(row), flush=True)

        run("local")
        started = time.perf_counter()
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
        results["ray_init_s"] = round(time.perf_counter() - started, 2)
        for workers in (int(w) for w in args.workers.split(",")):
            run(f"ray, {workers} worker{'s' if workers > 1 else ''}", engine="ray", ray=RayOptions(workers=workers))
        ray.shutdown()
    local = results["runs"][0]["images_per_s"]
    for row in results["runs"]:
        row["x_local"] = round(row["images_per_s"] / local, 2)
    text = markdown(results)
    print(text)
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2))
    if args.markdown:
        Path(args.markdown).write_text(text)
    return 0


def markdown(results: dict) -> str:
    lines = [
        f"CPU {results['cpu']} ({results['cores']} cores); model {results['model']} ({results['backend']}); "
        f"ray.init {results['ray_init_s']} s (not counted below)",
        "",
        "| path | items | seconds | images/s | x local |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in results["runs"]:
        lines.append(f"| {r['path']} | {r['items']} | {r['seconds']} | {r['images_per_s']} | {r['x_local']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())

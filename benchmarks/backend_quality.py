"""Scores of one model through every backend and precision, next to torch fp32 (issue 23).

Runs ``fashionclip eval`` once per path (torch fp32 and bf16, ONNX fp32 and int8, OpenVINO fp32,
bf16 and int8) on the same data, and prints each path's scores with its difference to torch
fp32 in points (hundredths). A path is kept when every score stays within 0.5 points.

    python benchmarks/backend_quality.py --data "kagl:../shared/data/kagl?split=val"
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from fashionclip.tuning import CANDIDATES as PATHS  # every backend and precision the CPU runs

# the headline numbers of each task (others are kept in the JSON)
HEADLINE = ("weighted_f1", "macro_f1", "accuracy", "recall@1", "recall@10", "mrr")


def scores(model: str, data: str, tasks: str, backend: str, precision: str, folder: Path) -> dict[str, float]:
    """``{"dataset / task / metric": value}`` of one ``fashionclip eval`` run."""
    out = folder / f"{backend}-{precision}"
    command = [sys.executable, "-m", "fashionclip.cli.main", "eval", "--models", model, "--data", data]
    command += ["--tasks", tasks]
    command += ["-o", str(out), "--no-plots", "--no-cache", "--no-progress", "--backend", backend]
    command += ["--precision", precision]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    found: dict[str, float] = {}
    for result in json.loads((out / "results.json").read_text())["results"]:
        for metric, score in result["scores"].items():
            if metric.lower() in HEADLINE or metric == result["main"]:
                found[f"{result['dataset']} / {result['task']} / {metric}"] = float(score["value"])
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="fashion-clip-mini")
    parser.add_argument("--data", default="kagl:../shared/data/kagl?split=val")
    parser.add_argument("--tasks", default="zero-shot,text-to-image,image-to-text")
    parser.add_argument("--output", default=None, help="write the table as JSON here")
    args = parser.parse_args()

    table: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        os.environ["FASHIONCLIP_CACHE"] = folder  # exports of this run go away with it
        for backend, precision in PATHS:
            table[f"{backend} {precision}"] = scores(
                args.model, args.data, args.tasks, backend, precision, Path(folder)
            )
            print(f"{backend} {precision}: {table[f'{backend} {precision}']}", flush=True)
    reference = table["torch fp32"]
    print(f"\n{args.model} on {args.data}; points = hundredths; worst = largest difference to torch fp32\n")
    print("| path | " + " | ".join(reference) + " | worst |")
    print("|---|" + "---:|" * (len(reference) + 1))
    for path, found in table.items():
        cells = [f"{found[k]:.4f} ({100 * (found[k] - reference[k]):+.2f})" for k in reference]
        worst = max(abs(100 * (found[k] - reference[k])) for k in reference)
        print(f"| {path} | " + " | ".join(cells) + f" | {worst:.2f} |")
    if args.output:
        Path(args.output).write_text(json.dumps(table, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

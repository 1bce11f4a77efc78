"""Encoder speed against the transformers reference, measured in the same run (issue 8).

Reference pipeline (what the original fashion-clip package does): PIL opens each JPEG,
``CLIPProcessor`` (transformers' PIL image processor) resizes and normalises, ``CLIPModel``
fp32 embeds, batch 32, one thread of Python. Ours: ``Encoder.encode_images`` on the same
files, end to end (decoding in a thread pool overlapped with inference), with each backend and
precision. Every variant runs in its own process so its peak RAM (max RSS) is its own.

Models: FashionCLIP's exact ViT-B/32 architecture with random weights (speed does not depend on
weight values; fidelity then compares pipelines, not a trained model) and the bundled
fashion-clip-mini (a trained model: its fidelity numbers are meaningful).

    python benchmarks/speed.py --output runs/speed.json --markdown runs/speed.md
"""

from __future__ import annotations

import argparse
import glob
import json
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

VARIANTS = {
    "torch fp32, full decode": {"backend": "torch", "precision": "fp32", "draft": 0},
    "torch fp32": {"backend": "torch", "precision": "fp32"},
    "torch bf16": {"backend": "torch", "precision": "bf16"},
    "onnx fp32": {"backend": "onnx", "precision": "fp32"},
    "onnx int8": {"backend": "onnx", "precision": "int8"},
    "openvino fp32": {"backend": "openvino", "precision": "fp32"},
    "openvino bf16": {"backend": "openvino", "precision": "bf16"},
    "openvino int8": {"backend": "openvino", "precision": "int8"},
    "default (automatic)": {},
}


def _peak_mb() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: Linux carries ru_maxrss
    across exec, so a spawned child would report its parent's size."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reference(model_path: str, files: list[str], batch: int = 32) -> dict:
    """transformers CLIPProcessor + CLIPModel fp32, batch 32."""
    import torch
    from PIL import Image
    from transformers import CLIPModel, CLIPProcessor

    torch.set_num_threads(torch.get_num_threads())
    processor = CLIPProcessor.from_pretrained(model_path)
    model = CLIPModel.from_pretrained(model_path).eval()
    out = []
    started = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, len(files), batch):
            images = [Image.open(f).convert("RGB") for f in files[start : start + batch]]
            pixels = processor(images=images, return_tensors="pt")["pixel_values"]
            features = model.get_image_features(pixel_values=pixels)
            out.append((features if isinstance(features, torch.Tensor) else features.pooler_output).numpy())
    seconds = time.perf_counter() - started
    vectors = np.concatenate(out)
    return {"images_per_s": len(files) / seconds, "peak_mb": _peak_mb(), "vectors": vectors}


def ours(model_path: str, files: list[str], options: dict, texts: list[str]) -> dict:
    from fashionclip import load_model

    options = dict(options)
    draft = options.pop("draft", None)
    started = time.perf_counter()
    encoder = load_model(model_path, **options)
    load_s = time.perf_counter() - started
    if draft is not None:
        encoder.image_preprocessor.draft = draft
    encoder.encode_images(files[:8], batch_size=8, show_progress=False)  # warm-up
    started = time.perf_counter()
    vectors = encoder.encode_images(files, batch_size=64, normalize=False, show_progress=False)
    seconds = time.perf_counter() - started
    encoder.encode_texts(texts[:16])
    started = time.perf_counter()
    encoder.encode_texts(texts, show_progress=False)
    texts_s = time.perf_counter() - started
    latencies = []
    for text in texts[:200]:
        began = time.perf_counter()
        encoder.encode_texts(text)
        latencies.append(time.perf_counter() - began)
    latencies.sort()
    return {
        "backend": type(encoder.backend).__name__,
        "precision": encoder.backend.precision,
        "load_s": load_s,
        "images_per_s": len(files) / seconds,
        "texts_per_s": len(texts) / texts_s,
        "text_p50_ms": 1000 * statistics.median(latencies),
        "text_p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
        "peak_mb": _peak_mb(),
        "vectors": vectors,
    }


def _child(queue, function, *args) -> None:  # noqa: ANN001
    try:
        queue.put(function(*args))
    except Exception as exc:  # reported in the table, not fatal to the run
        queue.put({"error": f"{type(exc).__name__}: {exc}"})


def isolated(function, *args) -> dict:  # noqa: ANN001
    """Run ``function(*args)`` in a fresh process and return its result."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(queue, function, *args))
    process.start()
    result = queue.get()
    process.join()
    return result


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float((a * b).sum(axis=1).mean())


def run(
    model_name: str, model_path: str, sources: dict[str, list[str]], texts: list[str], native_bf16: bool
) -> list[dict]:
    rows = []
    for source, files in sources.items():
        base = isolated(reference, model_path, files)
        print(f"{model_name} / {source}: reference {base['images_per_s']:.1f} img/s", flush=True)
        rows.append(_row(model_name, source, "reference: transformers CLIPProcessor + CLIPModel fp32", base, base))
        for name, options in VARIANTS.items():
            if options.get("precision") == "bf16" and not native_bf16 and "random" in model_name:
                # emulated bf16 is several times slower than fp32 (measured on the small model): not worth the wait
                rows.append(
                    {"model": model_name, "source": source, "variant": name, "error": "skipped: no native bf16"}
                )
                continue
            result = isolated(ours, model_path, files, options, texts)
            rows.append(_row(model_name, source, name, result, base))
            print(json.dumps({k: v for k, v in rows[-1].items()}), flush=True)
    return rows


def _row(model: str, source: str, name: str, result: dict, base: dict) -> dict:
    if "error" in result:
        return {"model": model, "source": source, "variant": name, "error": result["error"]}
    row = {
        "model": model,
        "source": source,
        "variant": name,
        "images_per_s": round(result["images_per_s"], 2),
        "speedup": round(result["images_per_s"] / base["images_per_s"], 2),
        "cosine_to_reference": round(cosine(result["vectors"], base["vectors"]), 5),
        "peak_mb": round(result["peak_mb"]),
    }
    for key in ("backend", "precision", "load_s", "texts_per_s", "text_p50_ms", "text_p95_ms"):
        if key in result:
            row[key] = round(result[key], 2) if isinstance(result[key], float) else result[key]
    return row


def markdown(results: dict) -> str:
    lines = [
        f"CPU: {results['cpu']} ({results['threads']} threads), flags: {results['flags']}; "
        f"automatic choice here: {results['automatic']}.",
        "",
        "| model | images | variant | img/s | x reference | cosine to reference | text q/s | text p50 / p95 ms "
        "| peak RAM MB |",
        "|---|---|---|---:|---:|---:|---:|---|---:|",
    ]
    for row in results["rows"]:
        if "error" in row:
            lines.append(f"| {row['model']} | {row['source']} | {row['variant']} | error: {row['error']} | | | | | |")
            continue
        text = f"{row.get('texts_per_s', '')}"
        latency = f"{row['text_p50_ms']} / {row['text_p95_ms']}" if "text_p50_ms" in row else ""
        lines.append(
            f"| {row['model']} | {row['source']} | {row['variant']} | {row['images_per_s']} | {row['speedup']} "
            f"| {row['cosine_to_reference']} | {text} | {latency} | {row['peak_mb']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--kagl", type=int, default=512, help="kagl JPEGs to embed")
    parser.add_argument("--hires", type=int, default=64, help="hires JPEGs to embed")
    parser.add_argument("--models", default="vit-b-32,fashion-clip-mini")
    parser.add_argument("--output", default=None)
    parser.add_argument("--markdown", default=None)
    args = parser.parse_args()

    from fashionclip.loading import local_checkpoint
    from fashionclip.machine import cpu_flags, cpu_name, default_precision
    from fashionclip.testing import write_vit_b32

    data = Path(args.data)
    sources = {
        "hires 1800x2400": sorted(glob.glob(str(data / "hires" / "images" / "*.jpg")))[: args.hires],
        "kagl 60x80": sorted(glob.glob(str(data / "kagl" / "images" / "*.jpg")))[: args.kagl],
    }
    with open(data / "kagl" / "styles.csv") as handle:
        texts = [line.rsplit(",", 1)[-1].strip() for line in handle.readlines()[1:1001]]
    import torch

    flags = sorted(f for f in cpu_flags() if f.startswith(("avx512", "amx", "avx_vnni", "avx2")))
    native_bf16 = bool({"amx_bf16", "avx512_bf16"} & set(flags))
    results = {
        "cpu": cpu_name(),
        "threads": torch.get_num_threads(),
        "flags": ", ".join(flags) or "none of avx2/avx512/amx",
        "automatic": "/".join(default_precision("cpu")),
        "rows": [],
    }
    with tempfile.TemporaryDirectory() as folder:
        os.environ["FASHIONCLIP_CACHE"] = folder  # ONNX exports of this run's checkpoints go away with it
        for model in args.models.split(","):
            if model == "vit-b-32":
                path, name = str(write_vit_b32(Path(folder) / "vit-b-32")), "ViT-B/32 (random weights)"
            else:
                path, name = str(local_checkpoint(model)[1]), model
            results["rows"] += run(name, path, sources, texts, native_bf16)
    print(markdown(results))
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2))
    if args.markdown:
        Path(args.markdown).write_text(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Encoder speed against the transformers reference, measured in the same run (issues 8, 23).

Reference pipeline (what the original fashion-clip package does): PIL opens each JPEG,
``CLIPProcessor`` (transformers' PIL image processor) resizes and normalises, ``CLIPModel``
fp32 embeds, batch 32, one thread of Python. Ours: ``Encoder.encode_images`` on the same
files, batch 32, end to end (decoding in a thread pool overlapped with inference), with each
backend and precision, the automatic choice (measured on this machine) and the flag rule it
replaced. Every variant runs in its own process so its peak RAM (max RSS) is its own.

Each variant's row also has its parts, measured in the same process: decoding and
preprocessing alone (ms per image, one thread) and the model alone (img/s on preprocessed
pixels, batch 32, all its threads), and the bound they imply: the end-to-end speed reached if
decoding and inference shared the cores perfectly (``cores / (threads x model + decode)`` per
image, and no more than the model alone). "of bound" is the end-to-end speed as a fraction of it.

``--decode`` adds the decoders (full decode, libjpeg DCT scaling at 1/4 and 1/8 through Pillow,
simplejpeg and PyTurboJPEG 1.x where installed) with their pixel difference and embedding cosine
to a full decode;
``--split`` times the automatic choice end to end for each split of the cores between
inference threads and decoding workers.
``--repeat N`` runs the reference and every variant N rounds in turn and reports each one's
median round (a shared 2-core machine moves single runs by tens of percent).

Models: FashionCLIP's exact ViT-B/32 architecture with random weights (speed does not depend on
weight values; fidelity then compares pipelines, not a trained model) and the bundled
fashion-clip-mini (a trained model: its fidelity numbers are meaningful).

    python benchmarks/speed.py --decode --split --output runs/speed.json --markdown runs/speed.md
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
    "flag rule (FASHIONCLIP_AUTO=rule)": {"auto": "rule"},
    "default (automatic)": {},
}
AUTOMATIC = "default (automatic)"
REFERENCE = "reference: transformers CLIPProcessor + CLIPModel fp32"
REPEATED = " Each row: the median of {} rounds run in turn (img/s range in brackets)."
CANDIDATE_ROWS = [name for name, options in VARIANTS.items() if "precision" in options and "draft" not in options]
BATCH = 32


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


def _timed(call) -> float:  # noqa: ANN001
    began = time.perf_counter()
    call()
    return time.perf_counter() - began


def ours(model_path: str, files: list[str], options: dict, texts: list[str]) -> dict:
    options = dict(options)
    draft = options.pop("draft", None)
    workers = options.pop("workers", None)
    threads = options.pop("threads", None)
    if "auto" in options:
        os.environ["FASHIONCLIP_AUTO"] = options.pop("auto")
    if threads:  # before the engines start their thread pools
        os.environ["FASHIONCLIP_THREADS"] = str(threads)
    import torch

    from fashionclip import load_model

    if threads:
        torch.set_num_threads(threads)
    started = time.perf_counter()
    encoder = load_model(model_path, **options)
    load_s = time.perf_counter() - started
    if draft is not None:
        encoder.image_preprocessor.draft = draft
    if workers:
        encoder.num_workers = workers
    encoder.encode_images(files[:8], batch_size=8, show_progress=False)  # warm-up
    seconds = min(_timed(lambda: encoder.encode_images(files, batch_size=BATCH, show_progress=False)) for _ in range(2))
    vectors = encoder.encode_images(files, batch_size=BATCH, normalize=False, show_progress=False)
    # the parts: decoding alone (one thread), then the model alone on the decoded pixels
    decode_s = _timed(lambda: [encoder.image_preprocessor(f) for f in files]) / len(files)
    pixels = np.stack([encoder.image_preprocessor(f) for f in files])
    model_s = min(
        _timed(lambda: [encoder.encode_pixels(pixels[i : i + BATCH]) for i in range(0, len(pixels), BATCH)])
        for _ in range(3)
    ) / len(files)
    inference_threads = threads or int(os.environ.get("FASHIONCLIP_THREADS", 0)) or torch.get_num_threads()
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
    cores = os.cpu_count() or 1
    return {
        "backend": type(encoder.backend).__name__,
        "precision": encoder.backend.precision,
        "load_s": load_s,
        "images_per_s": len(files) / seconds,
        "decode_ms": 1000 * decode_s,
        "model_images_per_s": 1 / model_s,
        "bound_images_per_s": min(1 / model_s, cores / (min(inference_threads, cores) * model_s + decode_s)),
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
    model_name: str,
    model_path: str,
    sources: dict[str, list[str]],
    texts: list[str],
    native_bf16: bool,
    variants: dict[str, dict] = VARIANTS,
    repeat: int = 1,
) -> list[dict]:
    """One row per variant and source. With ``repeat`` > 1 the reference and the variants run that
    many rounds in turn (so a slow spell of a shared machine falls on all of them), and each row is
    the variant's median round, with every round's img/s in ``runs``."""
    rows = []
    for source, files in sources.items():
        skipped = {
            name
            for name, options in variants.items()
            # emulated bf16 is several times slower than fp32 (measured on the small model): not worth the wait
            if options.get("precision") == "bf16" and not native_bf16 and "random" in model_name
        }
        rounds: dict[str, list[dict]] = {name: [] for name in [REFERENCE, *variants] if name not in skipped}
        for _ in range(repeat):
            rounds[REFERENCE].append(isolated(reference, model_path, files))
            print(f"{model_name} / {source}: reference {rounds[REFERENCE][-1]['images_per_s']:.1f} img/s", flush=True)
            for name, options in variants.items():
                if name not in skipped:
                    rounds[name].append(isolated(ours, model_path, files, options, texts))
                    print(
                        json.dumps(_row(model_name, source, name, rounds[name][-1], rounds[REFERENCE][-1])), flush=True
                    )
        base = _median(rounds[REFERENCE])
        for name in [REFERENCE, *variants]:
            if name in skipped:
                rows.append(
                    {"model": model_name, "source": source, "variant": name, "error": "skipped: no native bf16"}
                )
                continue
            rows.append(_row(model_name, source, name, _median(rounds[name]), base))
            if repeat > 1:
                rows[-1]["runs"] = [round(r.get("images_per_s", 0.0), 2) for r in rounds[name]]
    return rows


def _median(results: list[dict]) -> dict:
    """The round of median speed (of an even number, the faster middle one; an error if any failed)."""
    failed = [r for r in results if "error" in r]
    if failed:
        return failed[0]
    return sorted(results, key=lambda r: r["images_per_s"])[len(results) // 2]


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
    for key in (
        "backend",
        "precision",
        "load_s",
        "texts_per_s",
        "text_p50_ms",
        "text_p95_ms",
        "decode_ms",
        "model_images_per_s",
        "bound_images_per_s",
    ):
        if key in result:
            row[key] = round(result[key], 2) if isinstance(result[key], float) else result[key]
    if "bound_images_per_s" in result:
        row["of_bound"] = round(result["images_per_s"] / result["bound_images_per_s"], 2)
    return row


def decoders(model_path: str, files: list[str]) -> list[dict]:
    """Each way of decoding and preprocessing ``files`` (ms per image, one thread), its mean pixel
    difference (0-255 units) and mean embedding cosine (torch fp32) to a full decode."""
    from PIL import Image

    from fashionclip import load_model
    from fashionclip.preprocess.image import ImagePreprocessor

    encoder = load_model(model_path, backend="torch", precision="fp32")
    config = encoder.preprocess
    full = ImagePreprocessor(config, draft=0)
    side = max(config.resize, config.image_size)
    ways = {f"Pillow, draft={d} (shorter side >= {d * side})": ImagePreprocessor(config, draft=d) for d in (2, 1)}
    try:
        import simplejpeg

        def simple(data: bytes, at_least: int = side) -> np.ndarray:
            decoded = simplejpeg.decode_jpeg(data, colorspace="RGB", min_height=at_least, min_width=at_least)
            return full.pixels(Image.fromarray(decoded))

        ways[f"simplejpeg {simplejpeg.__version__}, shorter side >= {side}"] = simple
    except ImportError:
        pass
    try:  # PyTurboJPEG 1.x with Debian's libturbojpeg0 (2.x needs libjpeg-turbo 3)
        from turbojpeg import TJPF_RGB, TurboJPEG

        turbo = TurboJPEG()
        factors = sorted(turbo.scaling_factors, key=lambda f: f[0] / f[1])

        def turbojpeg(data: bytes, at_least: int = side) -> np.ndarray:
            width, height, _, _ = turbo.decode_header(data)
            # the smallest DCT scale whose shorter side still >= the model's input, as Pillow's draft
            scale = next(f for f in factors if min(width, height) * f[0] / f[1] >= at_least or f == (1, 1))
            return full.pixels(Image.fromarray(turbo.decode(data, pixel_format=TJPF_RGB, scaling_factor=scale)))

        ways[f"PyTurboJPEG, shorter side >= {side}"] = turbojpeg
    except (ImportError, RuntimeError, OSError):  # not installed, or no libturbojpeg
        pass
    blobs = [Path(f).read_bytes() for f in files]
    reference = np.stack([full(b) for b in blobs])
    ms = 1000 * _timed(lambda: [full(b) for b in blobs]) / len(blobs)
    embedded = encoder.encode_pixels(reference)
    std = np.asarray(config.std, dtype=np.float32).reshape(1, 3, 1, 1) * 255
    rows = [{"decoder": "Pillow, full decode (draft=0): the reference", "ms_per_image": round(ms, 2)}]
    for name, way in ways.items():
        way(blobs[0])
        ms = 1000 * _timed(lambda way=way: [way(b) for b in blobs]) / len(blobs)
        pixels = np.stack([way(b) for b in blobs])
        rows.append(
            {
                "decoder": name,
                "ms_per_image": round(ms, 2),
                "pixel_difference": round(float((np.abs(pixels - reference) * std).mean()), 3),
                "cosine_to_full_decode": round(cosine(encoder.encode_pixels(pixels), embedded), 6),
            }
        )
    return rows


def markdown(results: dict) -> str:
    lines = [
        f"CPU: {results['cpu']} ({results['threads']} threads), flags: {results['flags']}. Batch {BATCH}; "
        "decode: ms per image on one thread; model: img/s on decoded pixels; bound: what decode and model allow "
        f"together on these cores.{REPEATED.format(results.get('repeat', 1)) if results.get('repeat', 1) > 1 else ''}",
        "",
        "| model | images | variant | img/s | x reference | cosine to reference | decode ms | model img/s "
        "| bound img/s | of bound | text p50 / p95 ms | peak RAM MB |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for row in results["rows"]:
        if "error" in row:
            lines.append(f"| {row['model']} | {row['source']} | {row['variant']} | error: {row['error']} |" + " |" * 8)
            continue
        latency = f"{row['text_p50_ms']} / {row['text_p95_ms']}" if "text_p50_ms" in row else ""
        speed = row["images_per_s"]
        if "runs" in row:
            speed = f"{speed} ({min(row['runs'])}-{max(row['runs'])})"
        lines.append(
            f"| {row['model']} | {row['source']} | {row['variant']} | {speed} | {row['speedup']} "
            f"| {row['cosine_to_reference']} | {row.get('decode_ms', '')} | {row.get('model_images_per_s', '')} "
            f"| {row.get('bound_images_per_s', '')} | {row.get('of_bound', '')} | {latency} | {row['peak_mb']} |"
        )
    lines += ["", *summary(results["rows"])]
    for model, text in results.get("choices", {}).items():
        lines += ["", f"Automatic choice for {model}, as `fashionclip models --explain-backend` prints it:", "```"]
        lines += [text, "```"]
    if results.get("decoders"):
        lines += [
            "",
            "| model | images | decoder | ms per image | mean pixel difference /255 | cosine to full decode |",
            "|---|---|---|---:|---:|---:|",
        ]
        for row in results["decoders"]:
            lines.append(
                f"| {row['model']} | {row['source']} | {row['decoder']} | {row['ms_per_image']} "
                f"| {row.get('pixel_difference', 0)} | {row.get('cosine_to_full_decode', 1)} |"
            )
    if results.get("split"):
        lines += ["", "| model | images | inference threads | decoding workers | img/s |", "|---|---|---:|---:|---:|"]
        for row in results["split"]:
            speed = row.get("images_per_s", f"error: {row.get('error')}")
            lines.append(f"| {row['model']} | {row['source']} | {row['threads']} | {row['workers']} | {speed} |")
    return "\n".join(lines) + "\n"


def summary(rows: list[dict]) -> list[str]:
    """Per model and images: the automatic choice against the fastest candidate and the flag rule."""
    lines = []
    for model, source in dict.fromkeys((row["model"], row["source"]) for row in rows):
        mine = {r["variant"]: r for r in rows if (r["model"], r["source"]) == (model, source) and "error" not in r}
        candidates = [mine[name] for name in CANDIDATE_ROWS if name in mine]
        if AUTOMATIC not in mine or not candidates:
            continue
        auto, fastest = mine[AUTOMATIC], max(candidates, key=lambda r: r["images_per_s"])
        line = (
            f"- {model}, {source}: automatic ({auto['backend']} {auto['precision']}) {auto['images_per_s']} img/s "
            f"= {auto['images_per_s'] / fastest['images_per_s']:.2f} of the fastest candidate "
            f"({fastest['variant']}, {fastest['images_per_s']} img/s)"
        )
        rule = mine.get("flag rule (FASHIONCLIP_AUTO=rule)")
        if rule:
            line += f"; {auto['images_per_s'] / rule['images_per_s']:.2f}x the flag rule's choice"
        lines.append(line)
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--kagl", type=int, default=512, help="kagl JPEGs to embed")
    parser.add_argument("--hires", type=int, default=64, help="hires JPEGs to embed")
    parser.add_argument("--models", default="vit-b-32,fashion-clip-mini")
    parser.add_argument("--variants", default=None, help="comma-separated variant names (default: all)")
    parser.add_argument("--decode", action="store_true", help="also compare the JPEG decoders")
    parser.add_argument("--split", action="store_true", help="also time each thread split of the automatic choice")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of the reference and every variant in turn; rows are medians"
    )
    parser.add_argument("--output", default=None)
    parser.add_argument("--markdown", default=None)
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")

    from fashionclip.loading import backend_choice
    from fashionclip.machine import cpu_flags, cpu_name
    from fashionclip.testing import benchmark_checkpoint

    data = Path(args.data)
    sources = {
        "hires 1800x2400": sorted(glob.glob(str(data / "hires" / "images" / "*.jpg")))[: args.hires],
        "kagl 60x80": sorted(glob.glob(str(data / "kagl" / "images" / "*.jpg")))[: args.kagl],
    }
    with open(data / "kagl" / "styles.csv") as handle:
        texts = [line.rsplit(",", 1)[-1].strip() for line in handle.readlines()[1:1001]]
    variants = VARIANTS
    if args.variants:
        variants = {name: VARIANTS[name] for name in args.variants.split(",")}
    import torch

    flags = sorted(f for f in cpu_flags() if f.startswith(("avx512", "amx", "avx_vnni", "avx2")))
    native_bf16 = bool({"amx_bf16", "avx512_bf16"} & set(flags))
    cores = os.cpu_count() or 1
    results = {
        "cpu": cpu_name(),
        "threads": torch.get_num_threads(),
        "flags": ", ".join(flags) or "none of avx2/avx512/amx",
        "rows": [],
        "choices": {},
        "decoders": [],
        "split": [],
        "repeat": args.repeat,
    }
    with tempfile.TemporaryDirectory() as folder:
        # exports and the measured choice of this run's checkpoints go away with it
        os.environ["FASHIONCLIP_CACHE"] = folder
        for model in args.models.split(","):
            path = str(benchmark_checkpoint(model, folder))
            name = "ViT-B/32 (random weights)" if model == "vit-b-32" else model
            results["rows"] += run(name, path, sources, texts, native_bf16, variants, args.repeat)
            if AUTOMATIC in variants:
                results["choices"][name] = backend_choice(path).explain()
            for source, files in sources.items():
                if args.decode:
                    rows = isolated(decoders, path, files)
                    rows = rows if isinstance(rows, list) else [{"decoder": "error", "ms_per_image": rows["error"]}]
                    results["decoders"] += [{"model": name, "source": source, **row} for row in rows]
                if args.split and source.startswith("hires"):
                    splits = sorted({(cores, 1), (cores, cores), (cores, cores + 1), (1, 1), (1, cores)})
                    for threads, workers in splits:
                        found = isolated(ours, path, files, {"threads": threads, "workers": workers}, texts[:20])
                        speed = {"images_per_s": round(found["images_per_s"], 1)} if "error" not in found else found
                        results["split"].append(
                            {"model": name, "source": source, "threads": threads, "workers": workers, **speed}
                        )
                        print(json.dumps(results["split"][-1]), flush=True)
    print(markdown(results))
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2))
    if args.markdown:
        Path(args.markdown).write_text(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""ONNX Runtime's thread spinning, per tower (issue 23): what the ``onnx`` backend's settings rest on.

After a run, ONNX Runtime's intra-op threads spin for a while waiting for the next one. That
helps a lone text query, and takes the cores from whatever runs next: the decoding threads beside
an image batch, or a text session's own threads after an image batch. This measures, for the
image session with spinning on and off (the text session keeps it on): image tower img/s alone
and beside a decoding thread (one 1800x2400 JPEG after another, as ``encode_images`` runs it),
and the p50 of a single text query that follows an image batch; then a lone text query with
spinning on and off. All in one run, on the checkpoint's ONNX export (int8 by default).

    python benchmarks/onnx_spinning.py --model vit-b-32 --precision int8
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="vit-b-32", help="vit-b-32 (random weights) or a registry name")
    parser.add_argument("--precision", default="int8", choices=["fp32", "int8"])
    parser.add_argument("--rounds", type=int, default=2, help="each setting is measured this many times, in turn")
    args = parser.parse_args()

    import onnxruntime as ort

    from fashionclip import load_model
    from fashionclip.loading import _decoding
    from fashionclip.machine import cpu_flags, cpu_name
    from fashionclip.sample import sample_catalog
    from fashionclip.testing import benchmark_checkpoint
    from fashionclip.tuning import sharing

    threads = os.cpu_count() or 1

    with tempfile.TemporaryDirectory() as folder:
        os.environ["FASHIONCLIP_CACHE"] = folder
        path = str(benchmark_checkpoint(args.model, folder))
        encoder = load_model(path, backend="onnx", precision=args.precision)
        export = encoder.backend.folder
        _, rows = sample_catalog()
        queries = [encoder.tokenizer([row["title"]]) for row in rows[:60]]
        size = encoder.preprocess.image_size
        pixels = np.random.default_rng(0).random((32, 3, size, size), dtype=np.float32)
        decoding = _decoding(encoder.preprocess)

        def session(name: str, spinning: bool) -> ort.InferenceSession:
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
            return ort.InferenceSession(str(export / name), options, providers=["CPUExecutionProvider"])

        def images_per_s(vision: ort.InferenceSession) -> float:
            best = float("inf")
            for _ in range(3):
                began = time.perf_counter()
                vision.run(None, {"pixel_values": pixels})
                best = min(best, time.perf_counter() - began)
            return len(pixels) / best

        def query_ms(text: ort.InferenceSession, before=None) -> float:  # noqa: ANN001
            times = []
            for tokens in queries:
                if before is not None:
                    before()
                began = time.perf_counter()
                text.run(None, {"input_ids": tokens.input_ids, "attention_mask": tokens.attention_mask})
                times.append(1000 * (time.perf_counter() - began))
            return statistics.median(times)

        results: dict[str, list[tuple[float, float, float]]] = {"on": [], "off": []}
        for _ in range(args.rounds):
            for setting in ("on", "off"):
                vision, text = session("vision.onnx", setting == "on"), session("text.onnx", True)
                vision.run(None, {"pixel_values": pixels[:8]})
                query_ms(text)  # warm-up
                alone = images_per_s(vision)
                with sharing(decoding):
                    beside = images_per_s(vision)
                after = query_ms(text, lambda v=vision: v.run(None, {"pixel_values": pixels[:4]}))
                results[setting].append((alone, beside, after))
                print(
                    f"image session spinning {setting}: {alone:.1f} img/s alone, {beside:.1f} beside decoding, "
                    f"a query after an image batch {after:.2f} ms",
                    flush=True,
                )
        lone = {}
        for setting in ("on", "off"):
            text = session("text.onnx", setting == "on")
            query_ms(text)
            lone[setting] = min(query_ms(text) for _ in range(args.rounds))

    flags = ", ".join(sorted(f for f in cpu_flags() if f.startswith(("avx512", "amx", "avx_vnni", "avx2"))))
    print(f"\n{cpu_name()}, {threads} cores, flags: {flags}; {args.model} ONNX {args.precision}, batch 32;")
    print(f"best of {args.rounds} rounds, each setting measured in turn\n")
    print("| image session | img/s alone | img/s beside decoding | query after an image batch, p50 ms |")
    print("|---|---:|---:|---:|")
    for setting, found in results.items():
        print(
            f"| spinning {setting} | {max(r[0] for r in found):.1f} | {max(r[1] for r in found):.1f} | "
            f"{min(r[2] for r in found):.2f} |"
        )
    print(f"\nlone text query p50: spinning on {lone['on']:.2f} ms, off {lone['off']:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

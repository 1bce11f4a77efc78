"""ONNX Runtime static (QDQ) int8 against the int8 paths fashionclip runs (issue 23).

The image tower of a checkpoint, model only (preprocessed 1800x2400 catalogue photos, batch 32,
all cores): ONNX fp32, ONNX dynamic int8 (weights int8, activations quantised per batch: the
``onnx`` backend's int8), ONNX static int8 in QDQ format (weights int8 per channel, activations
calibrated once on the bundled sample's photos: uint8, or int8 symmetric), and OpenVINO int8
(NNCF, the ``openvino`` backend's int8). Each with its mean cosine to torch fp32 on the photos.
A static path is worth adding as a backend only if it beats the kept int8 paths here.

    python benchmarks/onnx_static_int8.py --model vit-b-32
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float((a * b).sum(axis=1).mean())


def _speed(run, pixels: np.ndarray, batch: int = 32) -> float:  # noqa: ANN001
    """Images per second, best of three passes after a warm-up."""
    run(pixels[:batch])
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        for start in range(0, len(pixels), batch):
            run(pixels[start : start + batch])
        best = min(best, time.perf_counter() - began)
    return len(pixels) / best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="vit-b-32", help="vit-b-32 (random weights) or a registry name")
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--photos", type=int, default=64)
    args = parser.parse_args()

    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from fashionclip import load_model
    from fashionclip.calibration import quantisation_photos
    from fashionclip.machine import cpu_flags, cpu_name
    from fashionclip.testing import benchmark_checkpoint

    with tempfile.TemporaryDirectory() as folder:
        os.environ["FASHIONCLIP_CACHE"] = folder
        path = str(benchmark_checkpoint(args.model, folder))
        reference = load_model(path, backend="torch", precision="fp32")
        files = sorted(glob.glob(str(Path(args.data) / "hires" / "images" / "*.jpg")))[: args.photos]
        pixels = np.stack([reference.image_preprocessor(f) for f in files])
        expected = reference.backend.encode_pixels(pixels)
        calibration = quantisation_photos(reference.preprocess)  # the photos OpenVINO int8 is calibrated on

        rows: list[tuple[str, float, float]] = []
        threads = os.cpu_count() or 1

        def session(model: str) -> ort.InferenceSession:
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])

        def add(name: str, run) -> None:  # noqa: ANN001
            rows.append((name, _speed(run, pixels), _cosine(run(pixels[:32]), expected[:32])))
            print(f"{name}: {rows[-1][1]:.1f} img/s, cosine {rows[-1][2]:.5f}", flush=True)

        fp32 = load_model(path, backend="onnx", precision="fp32").backend
        add("ONNX fp32", fp32.encode_pixels)
        dynamic = load_model(path, backend="onnx", precision="int8").backend
        add("ONNX dynamic int8 (the onnx backend's int8)", dynamic.encode_pixels)
        source = str(fp32.folder / "vision.onnx")
        name = fp32.vision.get_inputs()[0].name
        prepared = str(Path(folder) / "vision-prepared.onnx")
        quant_pre_process(source, prepared)

        class Reader(CalibrationDataReader):
            def __init__(self) -> None:
                self.batches = iter({name: calibration[i : i + 8]} for i in range(0, len(calibration), 8))

            def get_next(self) -> dict | None:
                return next(self.batches, None)

        for label, activations in (("uint8", QuantType.QUInt8), ("int8 symmetric", QuantType.QInt8)):
            target = str(Path(folder) / f"vision-qdq-{activations.name}.onnx")
            began = time.perf_counter()
            quantize_static(
                prepared,
                target,
                Reader(),
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=activations,
                weight_type=QuantType.QInt8,
                op_types_to_quantize=["MatMul", "Gemm", "Conv"],
                extra_options={"ActivationSymmetric": activations == QuantType.QInt8},
            )
            print(f"static QDQ ({label}) quantised in {time.perf_counter() - began:.0f} s", flush=True)
            static = session(target)
            add(f"ONNX static QDQ int8, {label} activations", lambda x, s=static: s.run(None, {name: x})[0])
        openvino = load_model(path, backend="openvino", precision="int8").backend
        add("OpenVINO int8 (the openvino backend's int8)", openvino.encode_pixels)

    flags = ", ".join(sorted(f for f in cpu_flags() if f.startswith(("avx512", "amx", "avx_vnni", "avx2"))))
    print(f"\n{cpu_name()}, {threads} cores, flags: {flags}; {args.model}, image tower only, batch 32\n")
    print("| path | img/s | cosine to torch fp32 |\n|---|---:|---:|")
    for label, speed, similarity in rows:
        print(f"| {label} | {speed:.1f} | {similarity:.5f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

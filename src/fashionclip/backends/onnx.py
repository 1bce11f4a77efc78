"""ONNX Runtime backend: a transformers CLIP checkpoint's two towers exported once to ONNX,
optionally with int8 weights (dynamic quantisation), cached on disk by checkpoint fingerprint."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fashionclip._extras import require
from fashionclip.backends.towers import CalibrationBatch, ImageTower, TextTower, check_supported, fidelity

log = logging.getLogger(__name__)

# the part of config.PRECISIONS this backend runs: fp32, and int8 weights by dynamic quantisation
SUPPORTED_PRECISIONS: tuple[str, ...] = ("fp32", "int8")
# what measures an export against the torch model: () -> (pixels, token ids, attention mask)
Calibration = Callable[[], CalibrationBatch]


class OnnxBackend:
    """Runs the exported towers with ONNX Runtime on the CPU; same contract as the torch backend.
    It holds no torch model: heatmaps that need the model's internals get them from the torch
    backend of the same checkpoint, which the encoder loads only then."""

    device = "cpu"
    engine = "onnx"  # what load_model(backend=...) calls it

    def __init__(
        self,
        folder: Path,
        *,
        embedding_dim: int,
        logit_scale: float,
        patch_size: int | None = None,
        threads: int | None = None,
        record: dict[str, Any] | None = None,
    ) -> None:
        ort = require("onnxruntime", "onnx", feature="the ONNX backend needs onnxruntime, which")
        options = ort.SessionOptions()
        # FASHIONCLIP_THREADS: set where several models share a machine (Ray actors), else every core
        options.intra_op_num_threads = threads or int(os.environ.get("FASHIONCLIP_THREADS", 0)) or os.cpu_count() or 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        providers = ["CPUExecutionProvider"]
        self.text = ort.InferenceSession(str(folder / "text.onnx"), options, providers=providers)
        # After a run, ONNX Runtime's threads spin waiting for the next one, taking the cores from
        # the decoding threads beside an image batch and from the text session's own threads.
        # Without it (2-core EPYC, ViT-B/32 int8): 28.7 -> 31.5 img/s beside decoding, a query
        # after an image batch 9.9 -> 3.6 ms, images alone within noise. A lone query gains from
        # the spin (4.4 vs 5.4 ms), so the text session keeps it (benchmarks/onnx_spinning.py).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.vision = ort.InferenceSession(str(folder / "vision.onnx"), options, providers=providers)
        self.folder = folder
        self.embedding_dim = embedding_dim
        self.logit_scale = logit_scale
        self.patch_size = patch_size
        if record is None:  # the export's own record, written last
            record = json.loads((folder / "export.json").read_text())
        self.precision = record["precision"]
        # the lower of the mean image and text cosine to the torch fp32 model (1.0 if never measured)
        self.fidelity = float(min(record.get("image_cosine", 1.0), record.get("text_cosine", 1.0)))

    def encode_pixels(self, pixels: np.ndarray) -> np.ndarray:
        return self.vision.run(None, {"pixel_values": np.ascontiguousarray(pixels, dtype=np.float32)})[0]

    def encode_tokens(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": input_ids.astype(np.int64), "attention_mask": attention_mask.astype(np.int64)}
        return self.text.run(None, feeds)[0]

    def internals(self) -> None:
        """None: an exported graph gives no patch tokens or gradients."""
        return None


def check_precision(precision: str) -> None:
    """ValueError naming what the ONNX backend supports, for a precision it does not run."""
    check_supported("ONNX", SUPPORTED_PRECISIONS, precision)


def export_folder(cache: Path, fingerprint: str, precision: str) -> Path:
    """Where a checkpoint's export at ``precision`` lives in the cache."""
    return cache / f"{fingerprint}-{precision}"


def load_onnx(
    torch_backend: Any,
    fingerprint: str,
    precision: str,
    cache: Path,
    calibration: Calibration | None = None,
) -> OnnxBackend:
    """The ONNX backend of a loaded torch CLIP backend: exported (and quantised) on first use,
    into ``cache/<fingerprint>-<precision>/``, then reused. ``calibration`` returns (pixels,
    token ids, attention mask) that measure a new export against the torch model
    (``backend.fidelity``); it is only called when an export is made."""
    check_precision(precision)
    folder = export_folder(cache, fingerprint, precision)
    if not (folder / "export.json").exists():
        export(torch_backend, folder, precision, calibration)
    return OnnxBackend(
        folder,
        embedding_dim=torch_backend.embedding_dim,
        logit_scale=torch_backend.logit_scale,
        patch_size=torch_backend.patch_size,
    )


def export(
    torch_backend: Any,
    folder: Path,
    precision: str,
    calibration: Calibration | None = None,
) -> None:
    """Export both towers to ONNX (and quantise their weights to int8 for ``"int8"``), writing
    into a temporary folder that is renamed into place, so a crash never leaves half an export."""
    require("onnx", "onnx", feature="exporting to ONNX needs the onnx package, which")
    model = torch_backend.model
    config = model.config
    size = int(config.vision_config.image_size)
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".export-", dir=folder.parent))
    try:
        pixels = torch.zeros(2, 3, size, size, dtype=torch.float32)
        ids = torch.ones(2, 7, dtype=torch.int64)
        mask = torch.ones(2, 7, dtype=torch.int64)
        with torch.no_grad(), warnings.catch_warnings():
            # the TorchScript exporter warns about traced branches on constant shapes; harmless here
            warnings.simplefilter("ignore")
            float_model = model.float()
            torch.onnx.export(
                ImageTower(float_model).eval(),
                (pixels,),
                str(scratch / "vision.fp32.onnx"),
                input_names=["pixel_values"],
                output_names=["embeddings"],
                dynamic_axes={"pixel_values": {0: "batch"}, "embeddings": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
            torch.onnx.export(
                TextTower(float_model).eval(),
                (ids, mask),
                str(scratch / "text.fp32.onnx"),
                input_names=["input_ids", "attention_mask"],
                output_names=["embeddings"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "tokens"},
                    "attention_mask": {0: "batch", 1: "tokens"},
                    "embeddings": {0: "batch"},
                },
                opset_version=17,
                dynamo=False,
            )
            model.to(torch_backend.dtype)
        for tower in ("vision", "text"):
            source = scratch / f"{tower}.fp32.onnx"
            if precision == "int8":
                from onnxruntime.quantization import QuantType, quantize_dynamic

                # int8 weights, activations quantised per batch at run time: no calibration set needed
                with _quiet_root_logger():
                    quantize_dynamic(str(source), str(scratch / f"{tower}.onnx"), weight_type=QuantType.QInt8)
                source.unlink()
            else:
                source.rename(scratch / f"{tower}.onnx")
        record: dict[str, Any] = {"precision": precision, "opset": 17}
        if calibration is not None:
            record.update(_fidelity(torch_backend, scratch, calibration(), record))
        (scratch / "export.json").write_text(json.dumps(record))
        if folder.exists():  # another process finished the same export first
            shutil.rmtree(scratch)
            return
        os.replace(scratch, folder)
        log.info("exported %s to %s", precision, folder)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def _fidelity(torch_backend: Any, folder: Path, calibration: CalibrationBatch, record: dict[str, Any]) -> dict:
    """Mean and least cosine of the exported towers' embeddings to the torch model's."""
    exported = OnnxBackend(
        folder, embedding_dim=torch_backend.embedding_dim, logit_scale=torch_backend.logit_scale, record=record
    )
    return fidelity(exported, torch_backend, calibration)


_quiet = threading.Lock()
_quiet_state = {"depth": 0, "level": logging.WARNING}


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """onnxruntime's quantiser logs advice and per-tensor notes on the root logger. Counted, so
    exports in two threads at once leave the root level as they found it."""
    root = logging.getLogger()
    with _quiet:
        if _quiet_state["depth"] == 0:
            _quiet_state["level"] = root.level
            root.setLevel(logging.ERROR)
        _quiet_state["depth"] += 1
    try:
        yield
    finally:
        with _quiet:
            _quiet_state["depth"] -= 1
            if _quiet_state["depth"] == 0:
                root.setLevel(_quiet_state["level"])

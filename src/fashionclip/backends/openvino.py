"""OpenVINO backend: a transformers CLIP checkpoint's two towers converted once to OpenVINO IR
(fp32; int8: the image tower by NNCF post-training quantisation calibrated on real product
photos, the text tower's weights compressed to int8), cached on disk by checkpoint fingerprint,
and compiled for the CPU with latency settings (throughput streams halve the speed on 2 cores).
bf16 runs the fp32 IR with bf16 inference."""

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

# the part of config.PRECISIONS this backend runs
SUPPORTED_PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "int8")
Calibration = Callable[[], CalibrationBatch]
# the IR each precision runs: bf16 is a compile-time choice over the fp32 graph
_IR = {"fp32": "fp32", "bf16": "fp32", "int8": "int8"}
_INFERENCE = {"fp32": "f32", "bf16": "bf16", "int8": "f32"}  # what runs between int8 ops stays f32


class OpenVinoBackend:
    """Runs the converted towers with OpenVINO on the CPU; same contract as the torch backend.
    Like the ONNX backend it holds no torch model (heatmaps get one from the encoder)."""

    device = "cpu"
    engine = "openvino"  # what load_model(backend=...) calls it

    def __init__(
        self,
        folder: Path,
        precision: str,
        *,
        embedding_dim: int,
        logit_scale: float,
        patch_size: int | None = None,
        threads: int | None = None,
        record: dict[str, Any] | None = None,
    ) -> None:
        ov = require("openvino", "openvino", feature="the OpenVINO backend needs openvino, which")
        check_precision(precision)
        core = ov.Core()
        # FASHIONCLIP_THREADS: set where several models share a machine (Ray actors), else every core
        threads = threads or int(os.environ.get("FASHIONCLIP_THREADS", 0)) or os.cpu_count() or 1
        settings = {
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_NUM_THREADS": threads,
            "INFERENCE_PRECISION_HINT": _INFERENCE[precision],
        }
        self.vision = core.compile_model(str(folder / "vision.xml"), "CPU", settings)
        self.text = core.compile_model(str(folder / "text.xml"), "CPU", settings)
        self._requests = threading.local()  # an infer request serves one call at a time
        self.folder = folder
        self.precision = precision
        self.embedding_dim = embedding_dim
        self.logit_scale = logit_scale
        self.patch_size = patch_size
        if record is None:
            record = json.loads((folder / "export.json").read_text())
        # the lower of the mean image and text cosine to the torch fp32 model (1.0 if never measured)
        measured = record.get("fidelity", {}).get(precision, {})
        self.fidelity = float(min(measured.get("image_cosine", 1.0), measured.get("text_cosine", 1.0)))

    def encode_pixels(self, pixels: np.ndarray) -> np.ndarray:
        return self._run("vision", [np.ascontiguousarray(pixels, dtype=np.float32)])

    def encode_tokens(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return self._run("text", [input_ids.astype(np.int64), attention_mask.astype(np.int64)])

    def _run(self, tower: str, inputs: list[np.ndarray]) -> np.ndarray:
        request = getattr(self._requests, tower, None)
        if request is None:
            request = getattr(self, tower).create_infer_request()
            setattr(self._requests, tower, request)
        return request.infer(inputs)[0].copy()  # the request reuses its output buffer

    def internals(self) -> None:
        """None: a compiled graph gives no patch tokens or gradients."""
        return None


def check_precision(precision: str) -> None:
    """ValueError naming what the OpenVINO backend supports, for a precision it does not run."""
    check_supported("OpenVINO", SUPPORTED_PRECISIONS, precision)


# bumped when what an export holds changes, so a cached export of the older kind is not reused
# (3: int8 calibrated on the sample photos the fidelity check does not use)
EXPORT_VERSION = 3


def export_folder(cache: Path, fingerprint: str, precision: str) -> Path:
    """Where a checkpoint's IR for ``precision`` lives in the cache."""
    return cache / f"{fingerprint}-{_IR[precision]}-v{EXPORT_VERSION}"


def load_openvino(
    torch_backend: Any,
    fingerprint: str,
    precision: str,
    cache: Path,
    calibration: Calibration,
    quantise_on: Callable[[], np.ndarray] | None = None,
) -> OpenVinoBackend:
    """The OpenVINO backend of a loaded torch CLIP backend: converted (and quantised) on first
    use into ``cache/<fingerprint>-<ir>/``, then reused. ``calibration`` gives the photos and
    titles every precision is measured on (``backend.fidelity``); ``quantise_on`` the photos
    int8 is calibrated on (default: the same photos)."""
    check_precision(precision)
    folder = export_folder(cache, fingerprint, precision)
    if not (folder / "export.json").exists():
        photos = quantise_on() if quantise_on is not None and _IR[precision] == "int8" else None
        convert(torch_backend, folder, _IR[precision], calibration(), photos)
    record = json.loads((folder / "export.json").read_text())
    backend = OpenVinoBackend(
        folder,
        precision,
        embedding_dim=torch_backend.embedding_dim,
        logit_scale=torch_backend.logit_scale,
        patch_size=torch_backend.patch_size,
        record=record,
    )
    if precision not in record.get("fidelity", {}):  # bf16 over an fp32 IR: measured on its first use
        measured = fidelity(backend, torch_backend, calibration())
        record.setdefault("fidelity", {})[precision] = measured
        _write_record(folder, record)
        backend.fidelity = min(measured["image_cosine"], measured["text_cosine"])
    return backend


def convert(
    torch_backend: Any, folder: Path, ir: str, batch: CalibrationBatch, photos: np.ndarray | None = None
) -> None:
    """Convert both towers to OpenVINO IR (``ir`` "fp32", or "int8": the image tower by NNCF
    post-training quantisation calibrated on ``photos``, default ``batch``'s, the text tower's
    weights compressed), check the result on ``batch``, into a temporary folder renamed into
    place, so a crash never leaves half an export."""
    ov = require("openvino", "openvino", feature="the OpenVINO backend needs openvino, which")
    model = torch_backend.model
    size = int(model.config.vision_config.image_size)
    pixels, ids, mask = batch
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".export-", dir=folder.parent))
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # tracing warns about branches on constant shapes; harmless for these towers
            warnings.simplefilter("ignore")
            float_model = model.float()
            vision = ov.convert_model(
                ImageTower(float_model).eval(),
                example_input=(torch.zeros(2, 3, size, size),),
                input=[ov.PartialShape([-1, 3, size, size])],
            )
            text = ov.convert_model(
                TextTower(float_model).eval(),
                example_input=(torch.ones(2, 7, dtype=torch.int64), torch.ones(2, 7, dtype=torch.int64)),
                input=[ov.PartialShape([-1, -1]), ov.PartialShape([-1, -1])],
            )
            model.to(torch_backend.dtype)
        if ir == "int8":
            vision, text = _quantise(vision, pixels if photos is None else photos), _compress_weights(text)
        ov.save_model(vision, str(scratch / "vision.xml"), compress_to_fp16=False)
        ov.save_model(text, str(scratch / "text.xml"), compress_to_fp16=False)
        record: dict[str, Any] = {"ir": ir, "openvino": ov.__version__, "fidelity": {}}
        precision = "int8" if ir == "int8" else "fp32"
        exported = OpenVinoBackend(
            scratch,
            precision,
            embedding_dim=torch_backend.embedding_dim,
            logit_scale=torch_backend.logit_scale,
            record=record,
        )
        record["fidelity"][precision] = fidelity(exported, torch_backend, batch)
        del exported
        _write_record(scratch, record)
        if folder.exists():  # another process finished the same export first
            shutil.rmtree(scratch)
            return
        os.replace(scratch, folder)
        log.info("converted to OpenVINO %s in %s", ir, folder)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def _quantise(vision: Any, pixels: np.ndarray) -> Any:
    """The image tower with int8 weights and activations (NNCF post-training quantisation, its
    transformer preset: the attention's softmax and layer norms stay in float), calibrated on
    ``pixels``, 8 at a time."""
    nncf = require("nncf", "openvino", feature="int8 with OpenVINO needs nncf, which")
    images = nncf.Dataset([np.ascontiguousarray(pixels[i : i + 8], dtype=np.float32) for i in range(0, len(pixels), 8)])
    with _quiet_nncf():
        return nncf.quantize(vision, images, model_type=nncf.ModelType.TRANSFORMER, subset_size=len(pixels))


def _compress_weights(text: Any) -> Any:
    """The text tower with int8 weights (symmetric, per channel) and float activations. A query
    is one short text, so its latency is reading the weights: int8 weights cut a ViT-B/32 query
    from 8 to 4 ms on a 2-core EPYC at cosine 0.9997 to fp32, where int8 activations moved some
    titles to cosine 0.99 (``benchmarks/speed.py`` measures it)."""
    nncf = require("nncf", "openvino", feature="int8 with OpenVINO needs nncf, which")
    with _quiet_nncf():
        return nncf.compress_weights(text, mode=nncf.CompressWeightsMode.INT8_SYM)


@contextlib.contextmanager
def _quiet_nncf() -> Iterator[None]:
    """NNCF draws progress bars on stdout (a CLI's --json output must stay clean) and logs advice."""
    nncf = require("nncf", "openvino", feature="int8 with OpenVINO needs nncf, which")
    with warnings.catch_warnings(), open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        warnings.simplefilter("ignore")
        nncf.set_log_level(logging.ERROR)
        yield


def _write_record(folder: Path, record: dict[str, Any]) -> None:
    """The export's record, replaced whole (a reader never sees half of it)."""
    path = folder / "export.json"
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(record))
    os.replace(partial, path)

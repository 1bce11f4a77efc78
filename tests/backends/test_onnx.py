"""The ONNX Runtime backend and the backend / precision choice at load time."""

from __future__ import annotations

import numpy as np
import pytest

import fashionclip.loading as loading
from fashionclip import load_model


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return ["a red dress", "blue denim jeans for men", "white sneakers", "x"]


def test_onnx_fp32_matches_torch(tiny_checkpoint, tiny_encoder, sample_images, texts):
    encoder = load_model(str(tiny_checkpoint), backend="onnx", precision="fp32")
    assert type(encoder.backend).__name__ == "OnnxBackend" and encoder.backend.precision == "fp32"
    np.testing.assert_allclose(
        encoder.encode_images(sample_images), tiny_encoder.encode_images(sample_images), atol=1e-5
    )
    np.testing.assert_allclose(encoder.encode_texts(texts), tiny_encoder.encode_texts(texts), atol=1e-5)
    assert encoder.fingerprint() != tiny_encoder.fingerprint()  # caches keep the two apart


def test_onnx_int8_is_faithful_and_measured(tiny_checkpoint, tiny_encoder, sample_images, texts):
    encoder = load_model(str(tiny_checkpoint), backend="onnx", precision="int8")
    assert encoder.backend.precision == "int8" and 0.99 <= encoder.backend.fidelity <= 1.0
    assert cosine(encoder.encode_images(sample_images), tiny_encoder.encode_images(sample_images)).min() > 0.99
    assert cosine(encoder.encode_texts(texts), tiny_encoder.encode_texts(texts)).min() > 0.99
    # activations are quantised per batch: an image's embedding moves a little with its batch
    alone = np.stack([encoder.encode_images(image) for image in sample_images])
    assert cosine(alone, encoder.encode_images(sample_images)).min() > 0.999


def test_the_export_is_cached_and_never_left_half_written(tiny_checkpoint, monkeypatch, tmp_path):
    monkeypatch.setenv("FASHIONCLIP_CACHE", str(tmp_path))
    import fashionclip.backends.onnx as onnx

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("onnxruntime.quantization.quantize_dynamic", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        load_model(str(tiny_checkpoint), backend="onnx", precision="int8")
    assert list((tmp_path / "onnx").iterdir()) == []  # no export, no scratch folder
    monkeypatch.undo()
    monkeypatch.setenv("FASHIONCLIP_CACHE", str(tmp_path))
    load_model(str(tiny_checkpoint), backend="onnx", precision="int8")
    [folder] = (tmp_path / "onnx").iterdir()
    assert sorted(p.name for p in folder.iterdir()) == ["export.json", "text.onnx", "vision.onnx"]
    import json

    record = json.loads((folder / "export.json").read_text())
    assert record["precision"] == "int8" and 0.99 <= record["image_cosine_min"] <= record["image_cosine"] <= 1.0
    monkeypatch.setattr(onnx, "export", broken)  # a second load must not export again
    assert load_model(str(tiny_checkpoint), backend="onnx", precision="int8").backend.folder == folder


def test_automatic_int8_falls_back_to_fp32_when_not_faithful(tiny_checkpoint, monkeypatch):
    monkeypatch.setattr(loading, "INT8_FLOOR", 1.01)  # no int8 export can reach it
    monkeypatch.setattr("fashionclip.machine.default_precision", lambda device="cpu", flags=None: ("onnx", "int8"))
    assert load_model(str(tiny_checkpoint)).backend.precision == "fp32"
    # asked for explicitly, int8 is kept
    assert load_model(str(tiny_checkpoint), backend="onnx", precision="int8").backend.precision == "int8"


def test_automatic_bf16_on_cpus_that_multiply_bf16(tiny_checkpoint, tiny_encoder, sample_images, monkeypatch):
    monkeypatch.setattr("fashionclip.machine.default_precision", lambda device="cpu", flags=None: ("torch", "bf16"))
    encoder = load_model(str(tiny_checkpoint))
    assert type(encoder.backend).__name__ == "TorchHFBackend" and encoder.backend.precision == "bf16"
    assert cosine(encoder.encode_images(sample_images), tiny_encoder.encode_images(sample_images)).min() > 0.99


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"backend": "tensorrt"}, "backend must be one of torch, onnx, openvino"),
        ({"precision": "int4"}, "precision must be one of fp32, bf16, fp16, int8"),
        ({"backend": "torch", "precision": "int8"}, "int8 runs with backend='onnx' or backend='openvino'"),
        ({"backend": "onnx", "precision": "bf16"}, "the ONNX backend runs fp32 or int8, not 'bf16'"),
        ({"precision": "fp16"}, "fp16 needs a CUDA device"),
        ({"dtype": "bfloat16", "precision": "fp32"}, "give either dtype or backend/precision"),
    ],
)
def test_impossible_combinations_are_refused(tiny_checkpoint, kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_model(str(tiny_checkpoint), **kwargs)


def _torch_models() -> int:
    """How many transformers CLIP models are alive in this process."""
    import gc

    from transformers import CLIPModel

    gc.collect()
    return sum(type(o) is CLIPModel for o in gc.get_objects())


def test_onnx_holds_no_torch_model_until_a_heatmap_needs_its_internals(tiny_checkpoint, tiny_encoder):
    from PIL import Image

    from fashionclip.explain import explain

    before = _torch_models()
    encoder = load_model(str(tiny_checkpoint), backend="onnx", precision="fp32")
    assert encoder.backend.internals() is None and not hasattr(encoder.backend, "model")
    assert _torch_models() == before  # the model it was exported from is gone
    photo = Image.new("RGB", (60, 90), (200, 30, 30))
    explain(encoder, photo, "belt", method="occlusion")  # forward passes only: still no torch model
    assert _torch_models() == before
    for method in ("patch", "gradient"):
        ours = explain(encoder, photo, ["belt", "bag"], method=method)
        theirs = explain(tiny_encoder, photo, ["belt", "bag"], method=method)
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(a.scores, b.scores, rtol=1e-4, atol=1e-5)
    assert _torch_models() == before + 1  # loaded once, then kept


def test_the_onnx_backend_names_the_precisions_it_runs():
    from fashionclip.backends.onnx import SUPPORTED_PRECISIONS, check_precision
    from fashionclip.config import PRECISIONS

    assert set(SUPPORTED_PRECISIONS) < set(PRECISIONS)
    with pytest.raises(ValueError, match=r"runs fp32 or int8, not 'fp16' \(supported: fp32, int8\)"):
        check_precision("fp16")


def test_overlapping_exports_leave_the_root_logger_as_they_found_it():
    import logging

    from fashionclip.backends.onnx import _quiet_root_logger

    root = logging.getLogger()
    before = root.level
    first, second = _quiet_root_logger(), _quiet_root_logger()
    first.__enter__()
    second.__enter__()  # another thread's export starts while the first runs
    first.__exit__(None, None, None)
    assert root.level == logging.ERROR  # the second is still quantising
    second.__exit__(None, None, None)
    assert root.level == before


def _spins(session) -> bool:
    """Whether an ONNX Runtime session's threads spin after a run (its default, where unset)."""
    try:
        return session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") != "0"
    except RuntimeError:  # not set: ONNX Runtime's default, spinning
        return True


def test_the_image_session_does_not_spin_and_the_text_session_does(tiny_checkpoint):
    # spinning image threads take the cores from the decoding beside them and from the text
    # session after them; a lone query gains from its own (benchmarks/onnx_spinning.py)
    backend = load_model(str(tiny_checkpoint), backend="onnx", precision="int8").backend
    assert not _spins(backend.vision) and _spins(backend.text)

"""The OpenVINO backend: converted once and cached, fp32 exact to torch, bf16 and int8 (the image
tower by NNCF, calibrated on the bundled sample's photos) faithful and measured."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fashionclip import load_model
from fashionclip.errors import MissingExtraError

pytest.importorskip("openvino", reason="needs fashionclip[openvino] (scripts/test.sh installs it)")


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


TEXTS = ["a red dress", "blue denim jeans for men", "white sneakers", "x"]


def test_openvino_fp32_matches_torch(tiny_checkpoint, tiny_encoder, sample_images):
    encoder = load_model(str(tiny_checkpoint), backend="openvino", precision="fp32")
    assert type(encoder.backend).__name__ == "OpenVinoBackend" and encoder.backend.precision == "fp32"
    np.testing.assert_allclose(
        encoder.encode_images(sample_images), tiny_encoder.encode_images(sample_images), atol=1e-5
    )
    np.testing.assert_allclose(encoder.encode_texts(TEXTS), tiny_encoder.encode_texts(TEXTS), atol=1e-5)
    assert encoder.load_options == {"backend": "openvino", "precision": "fp32"}
    assert encoder.backend.internals() is None and not hasattr(encoder.backend, "model")


@pytest.mark.parametrize("precision", ["bf16", "int8"])
def test_openvino_bf16_and_int8_are_faithful_and_measured(tiny_checkpoint, tiny_encoder, sample_images, precision):
    encoder = load_model(str(tiny_checkpoint), backend="openvino", precision=precision)
    assert encoder.backend.precision == precision and 0.99 <= encoder.backend.fidelity <= 1.0
    # the bar for a kept path: mean cosine >= 0.99 to torch fp32 (a random 16-d model: a hard case)
    assert cosine(encoder.encode_images(sample_images), tiny_encoder.encode_images(sample_images)).mean() >= 0.99
    assert cosine(encoder.encode_texts(TEXTS), tiny_encoder.encode_texts(TEXTS)).mean() >= 0.99


def test_openvino_int8_of_the_bundled_model_is_calibrated_on_photos_its_check_never_sees(monkeypatch, tmp_path):
    import fashionclip.backends.openvino as openvino
    from fashionclip.calibration import check_batch
    from fashionclip.sample import sample_catalog

    monkeypatch.setenv("FASHIONCLIP_CACHE", str(tmp_path))
    quantised_on = []
    quantise = openvino._quantise
    monkeypatch.setattr(
        openvino, "_quantise", lambda vision, pixels: quantised_on.append(pixels) or quantise(vision, pixels)
    )
    reference = load_model("fashion-clip-mini", backend="torch", precision="fp32")
    int8 = load_model("fashion-clip-mini", backend="openvino", precision="int8")
    checked = check_batch(reference.preprocess, reference.tokenizer)[0]
    [photos] = quantised_on
    _, rows = sample_catalog()
    assert len(photos) == len(rows) - len(checked) > len(checked)
    assert not any(np.array_equal(photo, seen) for photo in photos for seen in checked)
    # so the recorded fidelity is measured on photos the quantiser never saw
    record = json.loads((int8.backend.folder / "export.json").read_text())["fidelity"]["int8"]
    assert record["image_cosine_min"] > 0.995 and record["text_cosine_min"] > 0.995
    assert cosine(int8.backend.encode_pixels(checked), reference.backend.encode_pixels(checked)).min() > 0.995


def test_the_conversion_is_cached_and_never_left_half_written(tiny_checkpoint, monkeypatch, tmp_path):
    monkeypatch.setenv("FASHIONCLIP_CACHE", str(tmp_path))
    import fashionclip.backends.openvino as openvino

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(openvino, "_quantise", broken)  # fails after both towers were converted
    with pytest.raises(RuntimeError, match="disk full"):
        load_model(str(tiny_checkpoint), backend="openvino", precision="int8")
    assert list((tmp_path / "openvino").iterdir()) == []  # no export, no scratch folder
    monkeypatch.undo()
    monkeypatch.setenv("FASHIONCLIP_CACHE", str(tmp_path))
    load_model(str(tiny_checkpoint), backend="openvino", precision="int8")
    [folder] = (tmp_path / "openvino").iterdir()
    assert sorted(p.name for p in folder.iterdir()) == [
        "export.json",
        "text.bin",
        "text.xml",
        "vision.bin",
        "vision.xml",
    ]
    record = json.loads((folder / "export.json").read_text())
    assert record["ir"] == "int8" and 0.99 <= record["fidelity"]["int8"]["image_cosine_min"] <= 1.0
    # the image tower quantised (int8 weights and activations), the text tower's weights compressed
    assert "FakeQuantize" in (folder / "vision.xml").read_text()
    text_ir = (folder / "text.xml").read_text()
    assert 'element_type="i8"' in text_ir and "FakeQuantize" not in text_ir
    monkeypatch.setattr(openvino, "convert", broken)  # a second load must not convert again
    assert load_model(str(tiny_checkpoint), backend="openvino", precision="int8").backend.folder == folder
    # bf16 runs the fp32 IR: one conversion, then measured once on its first use
    monkeypatch.undo()
    monkeypatch.setenv("FASHIONCLIP_CACHE", str(tmp_path))
    load_model(str(tiny_checkpoint), backend="openvino", precision="fp32")
    monkeypatch.setattr(openvino, "convert", broken)
    bf16 = load_model(str(tiny_checkpoint), backend="openvino", precision="bf16").backend
    assert (
        bf16.folder == openvino.export_folder(tmp_path / "openvino", folder.name.split("-")[0], "fp32")
        and "bf16" in json.loads((bf16.folder / "export.json").read_text())["fidelity"]
    )


def test_automatic_openvino_int8_falls_back_to_fp32_when_not_faithful(tiny_checkpoint, monkeypatch):
    import fashionclip.loading as loading

    monkeypatch.setattr(loading, "INT8_FLOOR", 1.01)  # no int8 conversion can reach it
    assert load_model(str(tiny_checkpoint), backend="openvino").backend.precision == "fp32"
    kept = load_model(str(tiny_checkpoint), backend="openvino", precision="int8").backend
    assert kept.precision == "int8"  # asked for explicitly, int8 is kept


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"backend": "openvino", "precision": "fp16"},
            r"the OpenVINO backend runs fp32, bf16 or int8, not 'fp16' \(supported: fp32, bf16, int8\)",
        ),
    ],
)
def test_impossible_openvino_combinations_are_refused(tiny_checkpoint, kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_model(str(tiny_checkpoint), **kwargs)


def test_without_openvino_installed_the_error_says_how_to_install_it(tiny_checkpoint, monkeypatch, tmp_path):
    import builtins

    monkeypatch.setenv("FASHIONCLIP_CACHE", str(tmp_path))
    real_import = builtins.__import__

    def no_openvino(name, *args, **kwargs):
        if name == "openvino" or name.startswith("openvino."):
            raise ImportError("No module named 'openvino'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_openvino)
    monkeypatch.delitem(__import__("sys").modules, "openvino", raising=False)
    with pytest.raises(MissingExtraError, match=r"pip install 'fashionclip\[openvino\]'"):
        load_model(str(tiny_checkpoint), backend="openvino", precision="fp32")

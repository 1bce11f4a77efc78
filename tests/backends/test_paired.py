"""A paired backend: images through one backend, texts through another, and the automatic load
that builds one when the measured choice says another engine answers queries clearly faster."""

from __future__ import annotations

import numpy as np
import pytest

from fashionclip import load_model
from fashionclip.backends.paired import PairedBackend
from fashionclip.tuning import Choice

pytest.importorskip("onnxruntime", reason="needs fashionclip[onnx] (scripts/test.sh installs it)")

TEXTS = ["a red dress", "blue denim jeans for men", "x"]


def test_each_tower_runs_on_its_own_backend(tiny_checkpoint, tiny_encoder, sample_images):
    onnx = load_model(str(tiny_checkpoint), backend="onnx", precision="int8")
    pair = PairedBackend(tiny_encoder.backend, onnx.backend)
    pixels = np.stack([tiny_encoder.image_preprocessor(path) for path in sample_images[:4]])
    tokens = tiny_encoder.tokenizer(TEXTS)
    np.testing.assert_array_equal(pair.encode_pixels(pixels), tiny_encoder.backend.encode_pixels(pixels))
    np.testing.assert_array_equal(
        pair.encode_tokens(tokens.input_ids, tokens.attention_mask),
        onnx.backend.encode_tokens(tokens.input_ids, tokens.attention_mask),
    )
    assert pair.towers == "images: torch fp32, texts: onnx int8"
    # it reloads as its image backend, and heatmaps get that backend's internals
    assert (pair.engine, pair.precision, pair.embedding_dim) == ("torch", "fp32", tiny_encoder.embedding_dim)
    assert pair.internals() is not None


def test_the_automatic_load_pairs_the_towers_the_measured_choice_names(tiny_checkpoint, tiny_encoder, monkeypatch):
    import fashionclip.loading as loading

    monkeypatch.setenv("FASHIONCLIP_AUTO", "measure")
    chosen = Choice("torch", "fp32", (), "test CPU", 0.0, text_backend="onnx", text_precision="int8")
    monkeypatch.setattr(loading, "measured_choice", lambda *args: chosen)
    encoder = load_model(str(tiny_checkpoint))
    assert isinstance(encoder.backend, PairedBackend)
    onnx = load_model(str(tiny_checkpoint), backend="onnx", precision="int8")
    np.testing.assert_array_equal(encoder.encode_texts(TEXTS), onnx.encode_texts(TEXTS))
    image = np.full((40, 30, 3), 120, np.uint8)
    np.testing.assert_array_equal(encoder.encode_images(image), tiny_encoder.encode_images(image))
    assert encoder.load_options == {"backend": "torch", "precision": "fp32"}
    assert encoder.fingerprint() != tiny_encoder.fingerprint()  # cached embeddings are not mixed up

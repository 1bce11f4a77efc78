import io
import struct
import threading
import zlib
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import fashionclip
import fashionclip.preprocess.image
from fashionclip import EncodeResult, ImageLoadError, ImageTooLargeError


def _reference_image_features(checkpoint: Path, images: list[Image.Image]) -> np.ndarray:
    """transformers' own pipeline: its PIL CLIP processor + CLIPModel.get_image_features + L2 norm."""
    from transformers import CLIPModel

    try:
        from transformers import CLIPImageProcessorPil as Processor
    except ImportError:
        from transformers import CLIPImageProcessor as Processor
    model = CLIPModel.from_pretrained(checkpoint).eval()
    pixels = Processor.from_pretrained(checkpoint)(images=images, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        out = model.get_image_features(pixel_values=pixels)
    out = out if isinstance(out, torch.Tensor) else out.pooler_output
    return torch.nn.functional.normalize(out, dim=-1).numpy()


def _reference_text_features(checkpoint: Path, texts: list[str]) -> np.ndarray:
    from transformers import AutoTokenizer, CLIPModel

    model = CLIPModel.from_pretrained(checkpoint).eval()
    tokens = AutoTokenizer.from_pretrained(checkpoint)(
        texts, padding="max_length", truncation=True, max_length=77, return_tensors="pt"
    )
    with torch.no_grad():
        out = model.get_text_features(**tokens)
    out = out if isinstance(out, torch.Tensor) else out.pooler_output
    return torch.nn.functional.normalize(out, dim=-1).numpy()


def test_image_embeddings_match_the_transformers_reference(tiny_checkpoint, tiny_encoder, sample_images, photo_rgb):
    pil = [Image.open(p).convert("RGB") for p in sample_images] + [photo_rgb]
    ours = tiny_encoder.encode_images([*sample_images, photo_rgb], batch_size=5)
    reference = _reference_image_features(tiny_checkpoint, pil)
    assert ours.shape == reference.shape == (len(pil), 16)
    assert ours.dtype == np.float32
    assert np.abs(ours - reference).max() < 1e-5


def test_text_embeddings_match_the_transformers_reference(tiny_checkpoint, tiny_encoder):
    texts = ["a photo of a red dress", "", "Turtle Check Men Navy Blue Shirt", "boots " * 100, "a", "Ünïcode été"]
    ours = tiny_encoder.encode_texts(texts, batch_size=2)  # sorted by length, padded per batch, order restored
    reference = _reference_text_features(tiny_checkpoint, texts)
    assert np.abs(ours - reference).max() < 1e-5


def test_single_inputs_give_vectors_and_lists_give_matrices(tiny_encoder, sample_images):
    assert tiny_encoder.encode_images(sample_images[0]).shape == (16,)
    assert tiny_encoder.encode_images(str(sample_images[0])).shape == (16,)
    assert tiny_encoder.encode_images([sample_images[0]]).shape == (1, 16)
    assert tiny_encoder.encode_texts("dress").shape == (16,)
    assert tiny_encoder.encode_texts(["dress"]).shape == (1, 16)
    assert tiny_encoder.encode_texts([]).shape == (0, 16)
    assert tiny_encoder.encode_images([]).shape == (0, 16)


def test_every_input_kind_gives_the_same_embedding(tiny_encoder, sample_images):
    path = sample_images[0]
    image = Image.open(path)
    kinds = [path, str(path), path.read_bytes(), image, np.asarray(image.convert("RGB")), f"file://{path}"]
    vectors = tiny_encoder.encode_images(kinds)
    np.testing.assert_allclose(vectors, np.repeat(vectors[:1], len(kinds), axis=0), atol=1e-6)


def test_batching_does_not_change_results_or_order(tiny_encoder, sample_images):
    whole = tiny_encoder.encode_images(sample_images, batch_size=64)
    pieces = tiny_encoder.encode_images(sample_images, batch_size=3)
    np.testing.assert_allclose(whole, pieces, atol=1e-6)
    texts = ["short", "a much much longer product caption", "mid length", ""]
    np.testing.assert_allclose(
        tiny_encoder.encode_texts(texts, batch_size=1), tiny_encoder.encode_texts(texts, batch_size=64), atol=1e-6
    )


def test_normalize_false_keeps_raw_features(tiny_encoder, sample_images):
    raw = tiny_encoder.encode_images(sample_images[:2], normalize=False)
    unit = tiny_encoder.encode_images(sample_images[:2])
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0)
    np.testing.assert_allclose(raw / np.linalg.norm(raw, axis=1, keepdims=True), unit, atol=1e-6)


def test_similarity_uses_the_checkpoint_logit_scale(tiny_encoder, sample_images):
    images = tiny_encoder.encode_images(sample_images[:3])
    texts = tiny_encoder.encode_texts(["dress", "shoe"])
    cosine = tiny_encoder.similarity(images, texts, scale=False)
    np.testing.assert_allclose(cosine, images @ texts.T, atol=1e-6)
    np.testing.assert_allclose(tiny_encoder.similarity(images, texts), cosine * tiny_encoder.logit_scale, rtol=1e-5)
    with pytest.raises(ValueError, match="sizes differ"):
        tiny_encoder.similarity(images, np.ones((2, 8), np.float32))


# ------------------------------------------------------------------ bad inputs
def _png_header_claiming(width: int, height: int) -> bytes:
    """A small valid PNG whose header claims width x height pixels (a decompression bomb)."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr : ihdr + 17])))
    return bytes(data)


@pytest.fixture()
def bad_files(tmp_path: Path, sample_images) -> dict[str, Path]:
    good = sample_images[0].read_bytes()
    files = {
        "missing": tmp_path / "missing.jpg",
        "corrupt": tmp_path / "corrupt.jpg",
        "truncated": tmp_path / "truncated.jpg",
        "empty": tmp_path / "empty.jpg",
        "text": tmp_path / "notes.jpg",
        "bomb": tmp_path / "bomb.png",
        "directory": tmp_path / "folder.jpg",
    }
    files["corrupt"].write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4)
    files["truncated"].write_bytes(good[: len(good) // 2])
    files["empty"].write_bytes(b"")
    files["text"].write_text("this is not an image")
    files["bomb"].write_bytes(_png_header_claiming(30000, 30000))
    files["directory"].mkdir()
    return files


@pytest.mark.parametrize("kind", ["missing", "corrupt", "truncated", "empty", "text", "bomb", "directory"])
def test_bad_image_raises_naming_index_and_path(tiny_encoder, sample_images, bad_files, kind):
    items = [sample_images[0], sample_images[1], bad_files[kind], sample_images[2]]
    with pytest.raises(ImageLoadError) as info:
        tiny_encoder.encode_images(items)
    assert info.value.index == 2
    assert str(bad_files[kind]) in str(info.value) and "image #2" in str(info.value)


def test_decompression_bomb_is_refused_before_decoding(tiny_encoder, bad_files):
    # Pillow's own guard fires first above 2 x Image.MAX_IMAGE_PIXELS, ours below it
    with pytest.raises(ImageTooLargeError, match="decompression bomb.*900000000 pixels"):
        tiny_encoder.encode_images(bad_files["bomb"])
    with pytest.raises(ImageTooLargeError, match="decompression bomb.*900000000 pixels"):
        tiny_encoder.encode_images(bad_files["bomb"].read_bytes())
    small_limit = fashionclip.ImageLimits(max_pixels=1000)
    medium = io.BytesIO()
    Image.new("RGB", (40, 40)).save(medium, "PNG")
    with pytest.raises(ImageTooLargeError, match="40x40 = 1600 pixels exceeds max_pixels=1000"):
        fashionclip.preprocess.image.load_image(medium.getvalue(), small_limit)


def test_the_report_holds_good_embeddings_and_failure_reasons(tiny_encoder, sample_images, bad_files):
    items = [sample_images[0], bad_files["missing"], sample_images[1], bad_files["corrupt"], b"", 42]
    result = tiny_encoder.encode_images_report(items, batch_size=2)
    assert isinstance(result, EncodeResult)
    assert result.indices == [0, 2]
    assert result.embeddings.shape == (2, 16)
    np.testing.assert_allclose(result.embeddings, tiny_encoder.encode_images(sample_images[:2]), atol=1e-6)
    reasons = {failure.index: failure.reason for failure in result.failed}
    assert sorted(reasons) == [1, 3, 4, 5]
    assert reasons[1] == "file not found"
    assert "empty bytes" in reasons[4] and "unsupported input type" in reasons[5]


def test_the_report_of_a_single_image_is_a_matrix(tiny_encoder, sample_images, bad_files):
    good = tiny_encoder.encode_images_report(sample_images[0])
    assert good.embeddings.shape == (1, 16) and good.indices == [0] and good.failed == []
    bad = tiny_encoder.encode_images_report(bad_files["missing"])
    assert bad.embeddings.shape == (0, 16) and bad.indices == [] and [f.index for f in bad.failed] == [0]


def test_on_error_skip_still_reports_but_is_deprecated(tiny_encoder, sample_images, bad_files):
    items = [sample_images[0], bad_files["missing"]]
    with pytest.warns(DeprecationWarning, match="encode_images_report"):
        result = tiny_encoder.encode_images(items, on_error="skip")
    report = tiny_encoder.encode_images_report(items)
    assert result.indices == report.indices == [0]
    np.testing.assert_array_equal(result.embeddings, report.embeddings)


@pytest.mark.parametrize(
    "item, message",
    [
        (np.zeros((4, 4, 3), dtype=np.float32), "uint8"),
        (np.zeros((4, 4, 2), dtype=np.uint8), "HxWx3"),
        (np.zeros((0, 4, 3), dtype=np.uint8), "empty image"),
        (12345, "unsupported input type"),
        ("", "empty path"),
    ],
)
def test_bad_in_memory_inputs(tiny_encoder, item, message):
    with pytest.raises(ImageLoadError, match=message):
        tiny_encoder.encode_images([item])


def test_bad_options_raise_value_errors(tiny_encoder, sample_images):
    with pytest.raises(ValueError, match="on_error"):
        tiny_encoder.encode_images(sample_images, on_error="ignore")
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="batch_size"):
            tiny_encoder.encode_images(sample_images, batch_size=bad)
        with pytest.raises(ValueError, match="batch_size"):
            tiny_encoder.encode_texts(["a"], batch_size=bad)


def test_non_string_text_raises_type_error_naming_its_position(tiny_encoder):
    with pytest.raises(TypeError, match=r"text #2 is int"):
        tiny_encoder.encode_texts(["dress", "shirt", 3])
    with pytest.raises(TypeError, match=r"text #0 is NoneType"):
        tiny_encoder.encode_texts([None])
    with pytest.raises(TypeError, match="texts must be"):
        tiny_encoder.encode_texts(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="texts must be"):
        tiny_encoder.encode_texts(b"bytes")  # type: ignore[arg-type]


# ------------------------------------------------------------------------ URLs
@pytest.fixture()
def image_server(tmp_path: Path, sample_images):
    (tmp_path / "shirt.jpg").write_bytes(sample_images[0].read_bytes())
    (tmp_path / "big.bin").write_bytes(b"\0" * 4096)
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_urls_are_downloaded_with_limits(tiny_checkpoint, image_server, sample_images):
    encoder = fashionclip.load_model(str(tiny_checkpoint), limits=fashionclip.ImageLimits(max_bytes=3000))
    from_url = encoder.encode_images(f"{image_server}/shirt.jpg")
    np.testing.assert_allclose(from_url, encoder.encode_images(sample_images[0]), atol=1e-6)
    with pytest.raises(ImageLoadError, match="HTTP 404"):
        encoder.encode_images([f"{image_server}/nope.jpg"])
    with pytest.raises(ImageTooLargeError, match="max_bytes"):
        encoder.encode_images([f"{image_server}/big.bin"])


def test_unreachable_url_fails_with_the_url_named(tiny_checkpoint):
    encoder = fashionclip.load_model(str(tiny_checkpoint), limits=fashionclip.ImageLimits(url_timeout=2))
    with pytest.raises(ImageLoadError, match=r"http://127\.0\.0\.1:9/x\.jpg.*download failed"):
        encoder.encode_images(["http://127.0.0.1:9/x.jpg"])


def test_the_encoder_and_the_stand_ins_satisfy_the_protocol(tiny_encoder):
    from fashionclip.encoder import EncoderProtocol
    from fashionclip.testing import KeywordEncoder

    assert isinstance(tiny_encoder, EncoderProtocol)
    keyword = KeywordEncoder()
    assert isinstance(keyword, EncoderProtocol)
    red = np.full((40, 30, 3), (200, 30, 30), dtype=np.uint8)
    pixels = keyword.image_preprocessor(red)[None]
    # the pixels path finds the same colour as the image path
    assert np.argmax(keyword.encode_pixels(pixels)[0][:12]) == np.argmax(keyword.encode_images(red)[:12])
    assert keyword.encode_images_report([red, b""]).indices == [0]


class _ForwardOnly:
    """A backend that runs forward passes and nothing else (like ONNX)."""

    def __init__(self, torch_backend) -> None:
        self.inner = torch_backend
        self.embedding_dim, self.logit_scale, self.device = (
            torch_backend.embedding_dim,
            torch_backend.logit_scale,
            "cpu",
        )
        self.patch_size = torch_backend.patch_size

    def encode_pixels(self, pixels):
        return self.inner.encode_pixels(pixels)

    def encode_tokens(self, input_ids, attention_mask):
        return self.inner.encode_tokens(input_ids, attention_mask)

    def internals(self):
        return None


def test_internals_come_from_the_backend_else_from_a_torch_backend_loaded_once(tiny_encoder):
    from fashionclip.backends.base import Backend, ModelInternals
    from fashionclip.encoder import Encoder

    assert isinstance(tiny_encoder.backend, Backend) and isinstance(tiny_encoder.internals(), ModelInternals)
    assert tiny_encoder.patch_size == 8  # the tiny checkpoint's ViT patch
    loads = []

    def load_torch():
        loads.append(1)
        return tiny_encoder.backend

    parts = (tiny_encoder.spec, _ForwardOnly(tiny_encoder.backend), tiny_encoder.tokenizer, tiny_encoder.preprocess)
    lazy = Encoder(*parts, load_torch=load_torch)
    assert isinstance(lazy.backend, Backend) and loads == []  # nothing loaded up front
    pixels = tiny_encoder.image_preprocessor(np.full((32, 32, 3), 90, dtype=np.uint8))
    np.testing.assert_allclose(
        lazy.internals().patch_embeddings(pixels), tiny_encoder.internals().patch_embeddings(pixels), atol=1e-6
    )
    lazy.internals()
    assert loads == [1]  # once, then kept
    assert Encoder(*parts).internals() is None  # no torch equivalent: nothing to give

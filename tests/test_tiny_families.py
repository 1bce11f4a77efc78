"""Each model family beyond CLIP loads through load_model and matches transformers' own pipeline
(its image processor, its tokenizer, its model) to 1e-5, on a tiny random checkpoint written here."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import fashionclip
from fashionclip.loading import backend_choice
from fashionclip.tiny_families import FAMILIES, write_tiny
from tests.conftest import add_to_fake_hf_cache

TEXTS = ["红色连衣裙", "a photo of a red dress", "une robe rouge", "", "蓝色牛仔裤 " * 40]
# SigLIP's text tower pools the last token: its processor pads every text to the full length
FIXED_LENGTH = {"siglip", "siglip-gemma", "siglip2-naflex"}


@pytest.fixture(scope="module", params=FAMILIES)
def family(request, tmp_path_factory) -> tuple[str, Path]:
    return request.param, write_tiny(request.param, tmp_path_factory.mktemp(request.param))


def _images(sample_images: list[Path]) -> list[Image.Image]:
    y, x = np.mgrid[0:301, 0:117]
    tall = np.stack([(x * 2) % 256, (y * 255 // 300), ((x + y) % 256)], axis=-1).astype(np.uint8)
    wide = np.ascontiguousarray(tall.transpose(1, 0, 2))
    photos = [Image.open(p).convert("RGB") for p in sample_images[:3]]
    return [*photos, Image.fromarray(tall), Image.fromarray(wide)]


def _unit(x: torch.Tensor) -> np.ndarray:
    x = x.detach().float()
    return (x / x.norm(dim=-1, keepdim=True)).numpy()


def _reference(path: Path, name: str, images: list[Image.Image], texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """transformers' own pipeline: the checkpoint's image processor, tokenizer and model."""
    from transformers import AutoImageProcessor, AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(path).eval()
    processor = AutoImageProcessor.from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    fixed = name in FIXED_LENGTH
    limit = 64 if fixed else tokenizer.model_max_length
    tokens = tokenizer(
        texts, padding="max_length" if fixed else True, truncation=True, max_length=limit, return_tensors="pt"
    )
    pixels = processor(images=images, return_tensors="pt")
    with torch.no_grad():
        image = model.get_image_features(**pixels)
        text = model.get_text_features(**tokens)
    image = image if isinstance(image, torch.Tensor) else image.pooler_output
    text = text if isinstance(text, torch.Tensor) else text.pooler_output
    return _unit(image), _unit(text)


def test_each_family_matches_its_transformers_pipeline(family, sample_images):
    name, path = family
    images = _images(sample_images)
    # the exact path, pinned: the reference is transformers' fp32 forward pass
    encoder = fashionclip.load_model(str(path), backend="torch", precision="fp32")
    ref_images, ref_texts = _reference(path, name, images, TEXTS)
    np.testing.assert_allclose(encoder.encode_images(images), ref_images, atol=1e-5)
    np.testing.assert_allclose(encoder.encode_texts(TEXTS), ref_texts, atol=1e-5)
    # batching never changes a text's vector (SigLIP: only because every text has the full length)
    np.testing.assert_allclose(encoder.encode_texts(TEXTS[1]), ref_texts[1], atol=1e-5)


def test_each_family_loads_through_the_offline_hub_cache(family, monkeypatch):
    name, path = family
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    add_to_fake_hf_cache(f"tiny-org/tiny-{name}", path)
    from_hub = fashionclip.load_model(f"tiny-org/tiny-{name}", backend="torch", precision="fp32")
    local = fashionclip.load_model(str(path), backend="torch", precision="fp32")
    np.testing.assert_array_equal(from_hub.encode_texts(TEXTS), local.encode_texts(TEXTS))


def test_naflex_keeps_the_aspect_ratio_in_whole_patches():
    from fashionclip.config import PreprocessConfig
    from fashionclip.preprocess.image import ImagePreprocessor, naflex_inputs, naflex_size

    assert naflex_size(300, 117, 8, 16) == (48, 16)  # 6 x 2 patches <= 16, about the aspect ratio
    assert naflex_size(2400, 1800, 16, 256) == (288, 224)  # 18 x 14 = 252 <= 256
    assert naflex_size(5, 5000, 16, 256) == (16, 4096)  # at least one patch a side
    config = PreprocessConfig().with_hf_processor({"patch_size": 8, "max_num_patches": 16})
    pixels = ImagePreprocessor(config)(Image.new("RGB", (117, 300), (200, 30, 30)))
    assert pixels.shape == config.pixel_shape == (17, 192)
    values, mask, shapes = naflex_inputs(pixels[None])
    assert shapes.tolist() == [[6, 2]] and mask.tolist() == [[1] * 12 + [0] * 4]
    assert values.shape == (1, 16, 192) and not values[0, 12:].any()


def test_a_sentencepiece_checkpoint_without_sentencepiece_names_the_extra(tmp_path, monkeypatch):
    import sys

    path = write_tiny("siglip", tmp_path / "siglip")
    monkeypatch.setitem(sys.modules, "sentencepiece", None)  # an import of it now fails
    with pytest.raises(fashionclip.MissingExtraError, match=r"sentencepiece[\s\S]*fashionclip\[multilingual\]"):
        fashionclip.load_model(str(path), backend="torch", precision="fp32")


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_the_exporting_engines_run_every_fixed_size_family(family, backend, sample_images):
    name, path = family
    if name == "siglip2-naflex":
        with pytest.raises(ValueError, match="SigLIP 2 NaFlex checkpoint: the .* backend does not export it"):
            fashionclip.load_model(str(path), backend=backend, precision="fp32")
        return
    pytest.importorskip(backend)
    images, texts = _images(sample_images), TEXTS[:3]
    reference = fashionclip.load_model(str(path), backend="torch", precision="fp32")
    exported = fashionclip.load_model(str(path), backend=backend, precision="fp32")
    image_cos = (exported.encode_images(images) * reference.encode_images(images)).sum(1)
    text_cos = (exported.encode_texts(texts) * reference.encode_texts(texts)).sum(1)
    assert image_cos.min() > 0.99999 and text_cos.min() > 0.99999


def test_an_automatic_load_of_naflex_runs_torch(tmp_path):
    path = write_tiny("siglip2-naflex", tmp_path / "naflex")
    encoder = fashionclip.load_model(str(path))
    assert encoder.backend.__class__.__name__ == "TorchHFBackend"
    with pytest.raises(ValueError, match="runs on torch only"):
        backend_choice(str(path))


REGISTRY = {
    "chinese-clip-vit-b-16": ("chinese_clip", "OFA-Sys/chinese-clip-vit-base-patch16"),
    "altclip": ("altclip", "BAAI/AltCLIP"),
    "siglip-base-multilingual": ("siglip", "google/siglip-base-patch16-256-multilingual"),
    "siglip2-base": ("siglip-gemma", "google/siglip2-base-patch16-224"),
    "siglip2-base-naflex": ("siglip2-naflex", "google/siglip2-base-patch16-naflex"),
}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_each_registry_name_loads_its_family_from_the_offline_hub_cache(name, tmp_path, monkeypatch):
    family_name, repo = REGISTRY[name]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = write_tiny(family_name, tmp_path / family_name)
    add_to_fake_hf_cache(repo, path)
    encoder = fashionclip.load_model(name, backend="torch", precision="fp32")
    spec = fashionclip.registry.get_spec(name)
    assert encoder.name == name and encoder.license == spec.license
    # the checkpoint's own files set the sizes and the prompt stays the registry's
    local = fashionclip.load_model(str(path), backend="torch", precision="fp32")
    assert (encoder.embedding_dim, encoder.preprocess) == (local.embedding_dim, local.preprocess)
    assert encoder.spec.prompt_template == spec.prompt_template
    np.testing.assert_array_equal(encoder.encode_texts(["红色连衣裙"]), local.encode_texts(["红色连衣裙"]))

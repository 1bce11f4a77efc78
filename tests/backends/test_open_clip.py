"""The open_clip adapter against open_clip itself, on a tiny random open_clip checkpoint.

open_clip needs torchvision, which does not install beside the CPU torch wheel
used by the main test environment; scripts/test.sh runs these tests in a second
environment that has both (marker ``openclip``).
"""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import fashionclip

open_clip = pytest.importorskip("open_clip", reason="needs fashionclip[openclip]; run by scripts/test.sh")
pytestmark = pytest.mark.openclip

TINY_CFG = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def _write(path: Path, preprocess_cfg: dict) -> Path:
    path.mkdir()
    (path / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CFG, "preprocess_cfg": preprocess_cfg}))
    torch.manual_seed(0)
    model = open_clip.create_model(f"local-dir:{path}")  # random weights from the config
    torch.save(model.state_dict(), path / "open_clip_pytorch_model.bin")
    return path


@pytest.mark.parametrize(
    "preprocess_cfg",
    [
        {"mean": [0.48145466, 0.4578275, 0.40821073], "std": [0.26862954, 0.26130258, 0.27577711]},
        {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "resize_mode": "squash", "interpolation": "bicubic"},
    ],
    ids=["clip-shortest", "siglip-squash"],
)
def test_adapter_matches_open_clip(tmp_path: Path, sample_images, photo_rgb, preprocess_cfg):
    path = _write(tmp_path / "tiny-open-clip", preprocess_cfg)
    # compared with open_clip's own fp32 forward pass: pinned, whatever this CPU's automatic choice
    encoder = fashionclip.load_model(str(path), backend="torch", precision="fp32")
    model, _, transform = open_clip.create_model_and_transforms(f"local-dir:{path}")
    tokenizer = open_clip.get_tokenizer(f"local-dir:{path}")
    model.eval()

    images = [Image.open(p).convert("RGB") for p in sample_images] + [photo_rgb.resize((217, 300))]
    texts = ["a photo of a red dress", "", "navy blue shirt " * 30]
    with torch.no_grad():
        ref_images = model.encode_image(torch.stack([transform(im) for im in images]), normalize=True).numpy()
        ref_texts = model.encode_text(tokenizer(texts), normalize=True).numpy()

    assert encoder.embedding_dim == 16
    assert encoder.logit_scale == pytest.approx(float(model.logit_scale.detach().exp()))
    assert np.abs(encoder.encode_images(images) - ref_images).max() < 1e-5
    assert np.abs(encoder.encode_texts(texts) - ref_texts).max() < 1e-5


@pytest.mark.parametrize(
    ("name", "repo"),
    [
        ("marqo-fashion-clip", "Marqo/marqo-fashionCLIP"),
        ("marqo-ecommerce-b", "Marqo/marqo-ecommerce-embeddings-B"),
        ("marqo-ecommerce-l", "Marqo/marqo-ecommerce-embeddings-L"),
    ],
)
def test_open_clip_registry_entry_through_the_offline_cache(tmp_path: Path, name, repo):
    from tests.conftest import add_to_fake_hf_cache

    path = _write(tmp_path / "marqo", {})
    add_to_fake_hf_cache(repo, path)
    encoder = fashionclip.load_model(name)
    assert encoder.name == name and encoder.license == "Apache-2.0"
    # the checkpoint's own open_clip_config.json, not the registry's fallback, sets the sizes
    assert encoder.embedding_dim == 16 and encoder.preprocess.crop_offset == "round"
    assert encoder.preprocess.image_size == 32


@pytest.mark.parametrize("kind", ["xeon-amx", "epyc-avx512-bf16", "epyc-avx2"])
def test_the_automatic_choice_for_each_machine_kind_stays_faithful(tmp_path: Path, sample_images, kind, monkeypatch):
    """open_clip checkpoints run on torch: bf16 autocast where the kind multiplies bf16 natively,
    fp32 elsewhere (the ONNX path is for transformers checkpoints)."""
    from tests.machine_kinds import KINDS

    path = _write(tmp_path / "tiny-open-clip", {})
    reference = fashionclip.load_model(str(path), backend="torch", precision="fp32")
    monkeypatch.setattr("fashionclip.machine.cpu_flags", lambda: set(KINDS[kind].flags))
    encoder = fashionclip.load_model(str(path))
    assert encoder.backend.precision == ("fp32" if kind == "epyc-avx2" else "bf16")
    images = [Image.open(p).convert("RGB") for p in sample_images]
    cosine = np.sum(encoder.encode_images(images) * reference.encode_images(images), axis=1)
    assert cosine.min() > 0.99, cosine

"""The bundled fashion-clip-mini: loads offline, stays small, and knows fashion.

The quality checks are sanity bounds on the bundled 120-product sample (not the
validation numbers, which `benchmarks/fashion_clip_mini.py` measures): a
model with random weights fails them.
"""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from fashionclip import load_model
from fashionclip.loading import resolve
from fashionclip.sample import sample_catalog


@pytest.fixture(scope="module")
def mini():
    return load_model("fashion-clip-mini", backend="torch", precision="fp32")  # compared with transformers


def test_it_ships_inside_the_package_and_is_small():
    path = resolve("fashion-clip-mini").path
    assert path is not None and path.is_dir()
    size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
    assert size <= 25 * 1024 * 1024, f"{size / 2**20:.1f} MiB"
    assert not (path / "checkpoint").exists()
    for name in ("config.json", "model.safetensors", "tokenizer.json", "preprocessor_config.json", "README.md"):
        assert (path / name).exists(), name


def test_it_loads_offline_with_its_registry_preprocessing(mini):
    spec = resolve("fashion-clip-mini").spec
    assert mini.embedding_dim == spec.embedding_dim == 256
    assert mini.preprocess.image_size == spec.preprocess.image_size
    assert mini.preprocess.resize_mode == spec.preprocess.resize_mode == "squash"
    assert mini.preprocess.context_length == spec.preprocess.context_length


def test_plain_transformers_loads_it_too(mini):
    import torch
    from transformers import CLIPModel

    model = CLIPModel.from_pretrained(resolve("fashion-clip-mini").path)
    assert model.dtype == torch.float32
    root, rows = sample_catalog()
    pixels = torch.from_numpy(mini.image_preprocessor(root / rows[0]["image"])[None])
    with torch.no_grad():
        pooled = model.vision_model(pixel_values=pixels).pooler_output
        reference = torch.nn.functional.normalize(model.visual_projection(pooled), dim=-1).numpy()
    np.testing.assert_allclose(mini.encode_images([root / rows[0]["image"]]), reference, atol=1e-5)


def test_zero_shot_on_the_sample_catalogue_is_far_above_chance(mini):
    root, rows = sample_catalog()
    images = mini.encode_images([root / r["image"] for r in rows])
    for column in ("masterCategory", "articleType"):
        labels = sorted(Counter(r[column] for r in rows))
        texts = mini.encode_texts([f"a photo of a {label}" for label in labels])
        predicted = (images @ texts.T).argmax(1)
        accuracy = np.mean([labels[p] == r[column] for p, r in zip(predicted, rows, strict=True)])
        chance = max(Counter(r[column] for r in rows).values()) / len(rows)
        assert accuracy > chance + 0.2, (column, accuracy, chance)


def test_text_search_finds_the_described_products(mini):
    root, rows = sample_catalog()
    images = mini.encode_images([root / r["image"] for r in rows])
    for query, column, value in (
        ("a photo of a Watches", "articleType", "Watches"),
        ("a photo of a Footwear", "masterCategory", "Footwear"),
    ):
        top = np.argsort(-(images @ mini.encode_texts([query])[0]))[:5]
        hits = sum(rows[i][column] == value for i in top)
        assert hits >= 4, (query, [rows[i][column] for i in top])


def test_model_card_reports_the_measured_numbers():
    card = (Path(resolve("fashion-clip-mini").path) / "README.md").read_text()
    needles = ("articleType", "baseColour", "masterCategory", "gender", "Fashion-MNIST", "images/s", "license: mit")
    for needle in needles:
        assert needle in card, needle

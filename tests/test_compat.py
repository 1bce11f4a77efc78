import numpy as np
import pytest

from fashionclip.compat import CompatError, FashionCLIP, FCLIPDataset


@pytest.fixture
def dataset(sample_images):
    rows = [{"id": i, "image": p.name, "caption": f"product {i}"} for i, p in enumerate(sample_images)]
    return FCLIPDataset("mine", str(sample_images[0].parent), "local", catalog=rows)


def test_dataset_keeps_the_original_fields(dataset, sample_images):
    assert list(dataset.ids) == [str(i) for i in range(len(sample_images))]
    assert list(dataset.images_path) == [str(p) for p in sample_images]
    assert dataset.id_to_idx["1"] == 1 and dataset.random_product_id() in set(dataset.ids)
    assert len(dataset.hash()) == 64
    remote = FCLIPDataset("r", "https://cdn.test/img/", "URL", catalog=[{"id": 1, "image": "/a.jpg", "caption": "x"}])
    assert remote.images_path[0] == "https://cdn.test/img/a.jpg"


def test_fashionclip_vectors_zero_shot_and_retrieval(tiny_checkpoint, tiny_encoder, dataset, sample_images):
    # a local checkpoint directory loads; compared with tiny_encoder, so the same backend and precision
    fclip = FashionCLIP(str(tiny_checkpoint), dataset, backend="torch", precision="fp32")
    assert fclip.image_vectors.shape == (len(sample_images), tiny_encoder.embedding_dim)
    assert np.allclose(np.linalg.norm(fclip.image_vectors, axis=1), 1, atol=1e-5)
    raw = fclip.encode_images([str(p) for p in sample_images[:2]], batch_size=2)
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1)  # raw features, as the original returned
    labels = ["shirt", "dress", "shoes"]
    # both sides normalised: the same as the library's cosine ranking
    expected = np.argmax(
        tiny_encoder.similarity(tiny_encoder.encode_images(sample_images), tiny_encoder.encode_texts(labels)), axis=1
    )
    assert fclip.zero_shot_classification([str(p) for p in sample_images], labels) == [labels[i] for i in expected]
    found = fclip.retrieval(["product 1", "shirt"], top_k=2)
    assert found.shape == (2, 2)
    sims = tiny_encoder.encode_texts(["shirt"]) @ fclip.image_vectors.T
    assert found[1].tolist() == np.argsort(-sims[0], kind="stable")[:2].tolist()


def test_bad_arguments_are_named(tiny_checkpoint, dataset):
    with pytest.raises(CompatError, match="image_source_type 'ftp'"):
        FCLIPDataset("x", ".", "ftp", catalog=[])
    with pytest.raises(CompatError, match="hosted catalogues are not available"):
        FCLIPDataset("FF", ".", "S3")
    with pytest.raises(CompatError, match=r"row 0: missing \['caption'\]"):
        FCLIPDataset("x", ".", "LOCAL", catalog=[{"id": 1, "image": "a.jpg"}])
    bare = FashionCLIP(str(tiny_checkpoint))
    with pytest.raises(CompatError, match="retrieval needs a dataset"):
        bare.retrieval(["shirt"])
    with pytest.raises(CompatError, match="at least one label"):
        bare.zero_shot_classification(list(dataset.images_path), [])


def test_display_attention_returns_the_heatmap_overlay(tiny_checkpoint, dataset):
    from PIL import Image

    model = FashionCLIP(str(tiny_checkpoint))
    path = dataset.images_path[0]
    overlay = model.display_attention(path, "belt", pixel_size=15, iterations=5)
    assert isinstance(overlay, Image.Image) and overlay.size == Image.open(path).size
    assert not np.array_equal(np.asarray(overlay), np.asarray(Image.open(path).convert("RGB")))

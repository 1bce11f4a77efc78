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
    # a local checkpoint directory loads, in fp32 with torch as the original ran (tiny_encoder's too)
    fclip = FashionCLIP(str(tiny_checkpoint), dataset)
    assert type(fclip.encoder.backend).__name__ == "TorchHFBackend" and fclip.encoder.backend.precision == "fp32"
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
    sims = tiny_encoder.encode_texts(["shirt"]) @ fclip.image_vectors.T
    best = np.argsort(-sims[0], kind="stable")[:2].tolist()
    # approx=True (the default): a list of lists of ints, as the original's Annoy index returned
    assert type(found) is list and all(type(row) is list and all(type(i) is int for i in row) for row in found)
    assert len(found) == 2 and found[1] == best
    exact = FashionCLIP(str(tiny_checkpoint), dataset, approx=False).retrieval(["product 1", "shirt"], top_k=2)
    assert isinstance(exact, np.ndarray) and exact.shape == (2, 2) and exact.tolist() == found


def test_the_catalog_is_an_object_array_and_products_display_as_a_figure(dataset, sample_images):
    import matplotlib

    matplotlib.use("Agg")
    from fashionclip.compat import display_images

    assert dataset.catalog.dtype == object and [row["id"] for row in dataset.catalog[[0, 1]]] == [0, 1]
    figure = dataset.display_products(["0", "1"], fields=("id", "caption"))
    texts = [t.get_text() for axes in figure.axes for t in axes.texts]
    assert len(figure.axes) == 2 and texts == ["0\nproduct 0\n", "1\nproduct 1\n"]
    assert len(display_images([str(p) for p in sample_images], max_images=2).axes) == 2
    assert display_images([]) is None
    with pytest.raises(CompatError, match="no product with id 'nope'"):
        dataset.display_products(["nope"])
    with pytest.raises(CompatError, match="no field 'short_description'"):
        dataset.display_products(["0"])  # the original's default field: this catalogue has none


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


def test_compat_error_is_defined_with_the_other_errors():
    from fashionclip import errors
    from fashionclip.errors import FashionClipError

    assert CompatError is errors.CompatError and issubclass(CompatError, (FashionClipError, ValueError))

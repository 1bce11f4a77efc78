"""The micro-batcher: concurrent calls share forward passes and each gets its own rows back."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from fashionclip.errors import ImageLoadError
from fashionclip.server.batching import BatchingEncoder, MicroBatcher


def test_concurrent_calls_share_batches_and_get_their_own_rows() -> None:
    calls: list[int] = []

    def run(items: list[int]) -> np.ndarray:
        calls.append(len(items))
        time.sleep(0.05)  # a forward pass; requests arriving meanwhile form the next batch
        return np.asarray(items, dtype=np.float32)[:, None] * np.ones((1, 3), dtype=np.float32)

    batcher = MicroBatcher(run, max_batch=64)
    results: dict[int, np.ndarray] = {}

    def request(n: int) -> None:
        results[n] = batcher.submit([n, n + 1000])

    threads = [threading.Thread(target=request, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    batcher.close()
    for n in range(20):
        np.testing.assert_array_equal(results[n][:, 0], [n, n + 1000])
    assert sum(calls) == 40
    assert len(calls) < 20  # some requests were batched together
    assert max(calls) > 2


def test_max_batch_caps_a_shared_batch() -> None:
    sizes: list[int] = []
    gate = threading.Event()

    def run(items: list[int]) -> np.ndarray:
        gate.wait(5)
        sizes.append(len(items))
        return np.zeros((len(items), 1), dtype=np.float32)

    batcher = MicroBatcher(run, max_batch=4)
    threads = [threading.Thread(target=batcher.submit, args=([i],)) for i in range(9)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)  # the first request holds the worker; the other 8 queue up
    gate.set()
    for thread in threads:
        thread.join()
    batcher.close()
    assert sum(sizes) == 9
    assert max(sizes) <= 4


def test_a_failing_batch_fails_its_requests_and_the_worker_goes_on() -> None:
    def run(items: list[str]) -> np.ndarray:
        if "bad" in items:
            raise RuntimeError("forward pass failed")
        return np.ones((len(items), 2), dtype=np.float32)

    batcher = MicroBatcher(run)
    with pytest.raises(RuntimeError, match="forward pass failed"):
        batcher.submit(["bad"])
    assert batcher.submit(["good"]).shape == (1, 2)
    batcher.close()


def test_a_closed_batcher_starts_a_new_worker_for_the_next_request() -> None:
    """An app's lifespan can stop and start again (test clients do it around each request)."""
    before = threading.active_count()
    batcher = MicroBatcher(lambda items: np.full((len(items), 1), len(items), dtype=np.float32))
    assert threading.active_count() == before  # no worker before the first request
    assert batcher.submit(["a"]).shape == (1, 1)
    assert threading.active_count() == before + 1
    batcher.close()
    assert threading.active_count() == before
    assert batcher.submit(["b", "c"]).tolist() == [[2.0], [2.0]]
    batcher.close()
    batcher.close()  # twice is harmless
    assert threading.active_count() == before


@pytest.mark.parametrize("options", [{"max_batch": 0}, {"max_wait": -1.0}])
def test_bad_batcher_options(options: dict) -> None:
    with pytest.raises(ValueError):
        MicroBatcher(lambda items: np.zeros((len(items), 1)), **options)


def test_batching_encoder_matches_the_encoder(tiny_encoder, sample_images) -> None:
    batching = BatchingEncoder(tiny_encoder)
    try:
        texts = ["a red dress", "blue jeans", ""]
        np.testing.assert_allclose(batching.encode_texts(texts), tiny_encoder.encode_texts(texts), atol=1e-6)
        np.testing.assert_allclose(batching.encode_texts("shoes"), tiny_encoder.encode_texts("shoes"), atol=1e-6)
        images = [str(p) for p in sample_images[:3]]
        np.testing.assert_allclose(batching.encode_images(images), tiny_encoder.encode_images(images), atol=1e-6)
        single = batching.encode_images(images[0])
        assert single.shape == (tiny_encoder.embedding_dim,)
        assert batching.name == tiny_encoder.name  # other attributes are the encoder's
        with pytest.raises(TypeError):
            batching.encode_texts(["ok", 3])
        with pytest.raises(ImageLoadError, match="#1"):
            batching.encode_images([images[0], b"not an image"])
    finally:
        batching.close()


def test_batching_encoder_reports_the_images_it_could_not_read_like_the_encoder(tiny_encoder, sample_images) -> None:
    batching = BatchingEncoder(tiny_encoder)
    try:
        items = [str(sample_images[0]), b"not an image", str(sample_images[1])]
        got, want = batching.encode_images_report(items), tiny_encoder.encode_images_report(items)
        assert got.indices == want.indices == [0, 2]
        assert [(f.index, f.item, f.reason) for f in got.failed] == [(f.index, f.item, f.reason) for f in want.failed]
        np.testing.assert_allclose(got.embeddings, want.embeddings, atol=1e-6)
        empty = batching.encode_images_report([b"x"])
        assert empty.embeddings.shape == (0, tiny_encoder.embedding_dim) and empty.indices == []
    finally:
        batching.close()


def test_batching_encoder_batches_concurrent_texts(tiny_encoder) -> None:
    sizes: list[int] = []
    batching = BatchingEncoder(tiny_encoder, on_batch=lambda kind, size, seconds: sizes.append(size))
    out: dict[int, np.ndarray] = {}
    threads = [
        threading.Thread(target=lambda i=i: out.__setitem__(i, batching.encode_texts(f"dress number {i}")))
        for i in range(16)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    batching.close()
    expected = tiny_encoder.encode_texts([f"dress number {i}" for i in range(16)])
    for i in range(16):
        np.testing.assert_allclose(out[i], expected[i], atol=1e-5)
    assert sum(sizes) == 16

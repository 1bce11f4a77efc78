import numpy as np
import pytest

from fashionclip.search.ranking import RRF_K, collapse_duplicates, fuse_rrf, mmr
from fashionclip.store.base import Hit


def hit(i, score=1.0, vector=None):
    return Hit(i, score, None, "", {}, None if vector is None else np.asarray(vector, dtype=np.float32))


def test_rrf_by_hand():
    a = [hit("x"), hit("y"), hit("z")]
    b = [hit("y"), hit("w")]
    fused = fuse_rrf([a, b], [0.7, 0.3])
    expected = {
        "x": 0.7 / (RRF_K + 1),
        "y": 0.7 / (RRF_K + 2) + 0.3 / (RRF_K + 1),
        "z": 0.7 / (RRF_K + 3),
        "w": 0.3 / (RRF_K + 2),
    }
    assert [h.id for h in fused] == sorted(expected, key=lambda i: -expected[i])
    assert all(np.isclose(h.score, expected[h.id]) for h in fused)
    assert [h.id for h in fuse_rrf([a, b], [0.0, 1.0])][:2] == ["y", "w"]
    with pytest.raises(ValueError, match="2 rankings but 1 weights"):
        fuse_rrf([a, b], [1.0])


def test_mmr_trades_relevance_for_novelty():
    same = [1.0, 0.0]
    other = [0.0, 1.0]
    hits = [hit("a", 0.9, same), hit("a2", 0.89, same), hit("b", 0.5, other)]
    assert [h.id for h in mmr(hits, 2, 0.0)] == ["a", "a2"]
    assert [h.id for h in mmr(hits, 2, 0.5)] == ["a", "b"]
    assert [h.id for h in mmr(hits, 5, 0.5)] == ["a", "b", "a2"]


def test_collapse_keeps_the_best_of_near_duplicates():
    v = np.array([1.0, 0.0])
    near = np.array([0.999, 0.0447])
    hits = [hit("a", 0.9, v), hit("a-copy", 0.8, near / np.linalg.norm(near)), hit("b", 0.7, [0.0, 1.0])]
    assert [h.id for h in collapse_duplicates(hits, 0.99)] == ["a", "b"]
    assert [h.id for h in collapse_duplicates(hits, 0.9999)] == ["a", "a-copy", "b"]

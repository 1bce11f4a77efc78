"""Ranking metrics against a naive per-query implementation and hand-computed cases (ties too)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fashionclip.evaluation.metrics import caption_key, retrieval_scores, same_label, tag_columns


def naive(scores: np.ndarray, relevant: np.ndarray, ks) -> dict[str, list[float]]:
    """One query at a time, from a full sorted list; ties broken against the model."""
    out: dict[str, list[float]] = {}
    for row, rel in zip(scores, relevant, strict=True):
        if not rel.any():
            continue
        ranking = sorted(range(len(row)), key=lambda i: (-row[i], bool(rel[i])))
        flags = [bool(rel[i]) for i in ranking]
        total = sum(flags)
        first = flags.index(True) + 1
        for k in ks:
            top = sum(flags[:k])
            out.setdefault(f"recall@{k}", []).append(top / total)
            out.setdefault(f"precision@{k}", []).append(top / k)
            out.setdefault(f"hit@{k}", []).append(float(top > 0))
            out.setdefault(f"mrr@{k}", []).append(1 / first if first <= k else 0.0)
            dcg = sum(1 / math.log2(i + 2) for i, f in enumerate(flags[:k]) if f)
            idcg = sum(1 / math.log2(i + 2) for i in range(min(total, k)))
            out.setdefault(f"ndcg@{k}", []).append(dcg / idcg)
        out.setdefault("mrr", []).append(1 / first)
        hits, precisions = 0, []
        for i, f in enumerate(flags, start=1):
            if f:
                hits += 1
                precisions.append(hits / i)
        out.setdefault("map", []).append(sum(precisions) / total)
    return out


@pytest.mark.parametrize("max_cells", [1 << 24, 7, 40])  # one block, one query per block, a few per block
@pytest.mark.parametrize("sort_above", [0, 3, 1000])  # always sort, both ways, always count
def test_matches_the_naive_implementation(max_cells, sort_above):
    rng = np.random.default_rng(0)
    queries = rng.normal(size=(23, 8)).astype(np.float32)
    items = rng.normal(size=(31, 8)).astype(np.float32)
    items[5] = items[6]  # exact ties between items
    items[7] = items[6]
    query_labels = rng.integers(0, 5, size=23)
    item_labels = rng.integers(0, 6, size=31)  # label 5 never queried, some queries without matches
    query_labels[0] = 9  # a query with no relevant item
    ks = (1, 3, 10, 50)
    relevance = same_label(query_labels, item_labels)
    result = retrieval_scores(queries, items, relevance, ks=ks, max_cells=max_cells, sort_above=sort_above)
    scores = queries @ items.T
    expected = naive(scores, query_labels[:, None] == item_labels[None, :], ks)
    assert result.skipped == 1 and result.queries == 22
    for name, values in expected.items():
        np.testing.assert_allclose(result.per_query[name], values, rtol=1e-9, err_msg=name)


def test_hand_computed_ranking():
    # one query, items scored 0.9 (relevant), 0.8, 0.7 (relevant), 0.1
    queries = np.array([[1.0]], dtype=np.float32)
    items = np.array([[0.9], [0.8], [0.7], [0.1]], dtype=np.float32)
    result = retrieval_scores(queries, items, same_label(["a"], ["a", "b", "a", "c"]), ks=(1, 2, 3)).summary()
    assert result["recall@1"] == 0.5 and result["recall@2"] == 0.5 and result["recall@3"] == 1.0
    assert result["precision@2"] == 0.5 and result["precision@3"] == pytest.approx(2 / 3)
    assert result["hit@1"] == 1.0 and result["mrr"] == 1.0
    assert result["map"] == pytest.approx((1 + 2 / 3) / 2)
    assert result["ndcg@3"] == pytest.approx((1 + 1 / 2) / (1 + 1 / math.log2(3)))


@pytest.mark.parametrize("sort_above", [0, 32])
def test_ties_count_against_the_model(sort_above):
    # every item scores the same: the relevant one ranks after both irrelevant ones
    queries = np.ones((1, 2), dtype=np.float32)
    items = np.ones((3, 2), dtype=np.float32)
    relevance = same_label(["x"], ["y", "x", "z"])
    result = retrieval_scores(queries, items, relevance, ks=(1, 2, 3), sort_above=sort_above).summary()
    assert result["hit@1"] == 0.0 and result["hit@2"] == 0.0 and result["hit@3"] == 1.0
    assert result["mrr"] == pytest.approx(1 / 3) and result["map"] == pytest.approx(1 / 3)


def test_exclude_drops_the_query_itself():
    photos = np.eye(4, dtype=np.float32)
    photos[1] = photos[0] * 0.5 + photos[1] * 0.5
    products = ["p", "p", "q", "q"]
    result = retrieval_scores(photos, photos, same_label(products, products), ks=(1,), exclude=[0, 1, 2, 3])
    # photo 0's best other photo is 1 (same product); 2 and 3 only share product with each other (score 0)
    assert result.per_query["hit@1"][0] == 1.0 and result.queries == 4
    # without exclusion, each photo finds itself first
    itself = retrieval_scores(photos, photos, same_label(products, products), ks=(1,))
    assert itself.mean("hit@1") == 1.0


def test_tag_relevance_and_unlabelled_items():
    items = np.eye(3, dtype=np.float32)
    tags = np.array([[True, False], [False, True], [True, True]])
    result = retrieval_scores(items[[0, 1]], items, tag_columns([0, 1], tags), ks=(1, 2))
    assert result.mean("hit@1") == 1.0 and result.mean("recall@2") == 0.5
    none_match = retrieval_scores(items[:1], items, same_label([None], [None, None, None]))
    assert none_match.queries == 0 and none_match.skipped == 1 and none_match.mean("map") == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ks": (0,)}, "ks must be positive"),
        ({"ks": ()}, "ks must be positive"),
        ({"exclude": [0]}, "exclude must hold one item index"),
    ],
)
def test_bad_arguments(kwargs, message):
    q = np.ones((2, 3), dtype=np.float32)
    with pytest.raises(ValueError, match=message):
        retrieval_scores(q, q, same_label(["a", "b"], ["a", "b"]), **kwargs)
    with pytest.raises(ValueError, match="must be"):
        retrieval_scores(q, np.ones((2, 4)), same_label(["a", "b"], ["a", "b"]))


def test_captions_differing_in_case_and_spacing_are_the_same_caption():
    assert caption_key("  Red\tShirt ") == caption_key("red shirt") == "red shirt"
    assert caption_key("red shirts") != caption_key("red shirt")

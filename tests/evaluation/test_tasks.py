"""Tasks, runner, cache and report on datasets whose right answers are known (KeywordEncoder:
an image embeds as its colour, a text as the colour words it contains)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fashionclip.evaluation.dataset import DatasetError, EvalDataset, EvaluationError
from fashionclip.evaluation.embeddings import EmbeddingCache
from fashionclip.evaluation.report import markdown, write_report
from fashionclip.evaluation.runner import check_tasks, evaluate
from fashionclip.evaluation.tasks import EvalOptions
from fashionclip.testing import KeywordEncoder

RGB = {"red": (200, 30, 30), "blue": (30, 30, 200), "green": (30, 160, 30), "yellow": (230, 220, 30)}
FAST = EvalOptions(resamples=50, attribute="colour")


def photo(colour: str, shade: int) -> np.ndarray:
    array = np.zeros((8, 8, 3), dtype=np.uint8) + np.array(RGB[colour], dtype=np.uint8)
    array[0, 0] = shade  # photos of one colour differ a little
    return array


@pytest.fixture()
def shop() -> EvalDataset:
    colours = ["red", "blue", "green", "yellow"] * 3
    return EvalDataset(
        name="shop",
        ids=[f"p{i}" for i in range(12)],
        images=[photo(c, i) for i, c in enumerate(colours)],
        captions=[f"{c} dress" for c in colours],
        labels={"colour": colours, "category": ["dress"] * 6 + [None] * 6},
        tags=[[c, "dress"] for c in colours],
        products=[f"{c}-product" for c in colours],
        split=["train"] * 8 + ["test"] * 4,
    )


def by_task(evaluation) -> dict:
    return {r.task: r for r in evaluation.results}


def test_every_task_on_a_dataset_with_known_answers(shop):
    pytest.importorskip("sklearn")
    results = by_task(evaluate([KeywordEncoder()], [shop], options=FAST, show_progress=False))
    zero_shot = results["zero-shot"]
    assert zero_shot.details["attribute"] == "colour" and zero_shot.queries == 12
    assert zero_shot.scores["accuracy"].value == 1.0 and zero_shot.scores["weighted_f1"].low == 1.0
    # every "red dress" caption query finds a red photo first; there are 4 distinct captions
    assert results["text-to-image"].queries == 4 and results["text-to-image"].scores["hit@1"].value == 1.0
    assert results["image-to-text"].scores["hit@1"].value == 1.0
    assert results["image-to-image"].scores["hit@1"].value == 1.0  # the other photos of its colour
    assert results["tag-to-image"].queries == 5  # four colours and "dress"
    assert results["linear-probe"].scores["accuracy"].value == 1.0
    assert results["linear-probe"].details == {**results["linear-probe"].details, "train": 8, "test": 4}
    category = results["category-to-product"]
    assert category.details["attribute"] == "category" and category.queries == 1  # only "dress" is labelled


def test_a_known_mistake_rate(shop):
    # relabel three photos with a wrong colour: zero-shot gets exactly 9 of 12 right
    shop.labels["colour"][:3] = ["blue", "green", "red"]
    results = by_task(evaluate([KeywordEncoder()], [shop], tasks=["zero-shot"], options=FAST, show_progress=False))
    score = results["zero-shot"].scores["accuracy"]
    assert score.value == pytest.approx(9 / 12) and score.low < score.value < score.high


def test_tasks_that_do_not_apply_are_listed_with_the_reason(shop):
    bare = EvalDataset(name="bare", ids=shop.ids, images=shop.images)
    evaluation = evaluate([KeywordEncoder()], [bare], options=FAST, show_progress=False)
    assert evaluation.results == []
    reasons = {s["task"]: s["reason"] for s in evaluation.skipped}
    assert reasons["text-to-image"] == "text-to-image: the dataset has no captions"
    assert reasons["zero-shot"] == "zero-shot: no 'colour' labels (it has: none)"
    assert "no product ids" in reasons["image-to-image"]
    assert "## Not applicable" in markdown(evaluation)


def test_query_and_gallery_splits_are_used(shop):
    shop.split = ["query"] * 4 + ["gallery"] * 8
    result = by_task(evaluate([KeywordEncoder()], [shop], tasks=["image-to-image"], options=FAST, show_progress=False))
    assert result["image-to-image"].queries == 4 and result["image-to-image"].details["items"] == 8


def test_unreadable_images_are_left_out_and_listed(shop, tmp_path):
    shop.images[0] = str(tmp_path / "missing.jpg")
    evaluation = evaluate([KeywordEncoder()], [shop], tasks=["zero-shot"], options=FAST, show_progress=False)
    assert by_task(evaluation)["zero-shot"].queries == 11
    [(where, failures)] = evaluation.unreadable.items()
    assert where == "keyword-test / shop" and "p0" in failures[0] and "file not found" in failures[0]


def test_embeddings_are_cached_per_model_and_dataset(shop, tmp_path):
    encoder = KeywordEncoder()
    cache = EmbeddingCache(tmp_path / "cache")
    run = dict(tasks=["text-to-image"], options=FAST, cache=cache, show_progress=False)
    first = evaluate([encoder], [shop], **run)
    calls = encoder.calls
    second = evaluate([encoder], [shop], **run)
    assert encoder.calls == calls  # neither the photos nor the captions embedded again
    assert first.results[0].scores == second.results[0].scores
    evaluate([encoder], [shop.subset(range(8))], **run)
    assert encoder.calls == calls + 8  # another dataset: its photos are new, its captions are not
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 3


def test_report_files(shop, tmp_path):
    pytest.importorskip("matplotlib")
    evaluation = evaluate([KeywordEncoder(), KeywordEncoder("second")], [shop], options=FAST, show_progress=False)
    paths = write_report(evaluation, tmp_path / "out")
    text = paths["markdown"].read_text()
    assert "## shop · zero-shot (`colour`, 4 classes)" in text and "| keyword-test |" in text and "| second |" in text
    assert "![shop zero-shot](plots/shop-zero-shot-per-class-f1.png)" in text
    data = json.loads(paths["json"].read_text())
    assert {r["task"] for r in data["results"]} >= {"zero-shot", "text-to-image"}
    plots = sorted(p.name for p in (tmp_path / "out" / "plots").iterdir())
    assert "shop-zero-shot-second-confusion.png" in plots and "shop-text-to-image-recall-at-k.png" in plots


def test_bad_task_names_and_datasets(shop):
    with pytest.raises(EvaluationError, match="unknown task\\(s\\) 'zero_shot'; use: zero-shot"):
        check_tasks(["zero_shot"])
    with pytest.raises(EvaluationError, match="give at least one task"):
        check_tasks([])
    with pytest.raises(DatasetError, match="has no items"):
        evaluate([KeywordEncoder()], [shop.subset([])], show_progress=False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"images": []}, "12 ids but 0 images"),
        ({"captions": ["x"]}, "12 items but 1 captions"),
        ({"labels": {"colour": ["red"]}}, "12 items but 1 'colour' labels"),
        ({"split": ["train"]}, "12 items but 1 split entries"),
        ({"ids": ["a"] * 12}, "id 'a' appears more than once"),
    ],
)
def test_inconsistent_datasets_are_refused(shop, kwargs, message):
    fields = {"name": "x", "ids": shop.ids, "images": shop.images, **kwargs}
    with pytest.raises(DatasetError, match=message):
        EvalDataset(**fields)


@pytest.mark.parametrize(
    ("options", "task_options", "message"),
    [
        (EvalOptions(prompt="a photo"), {}, "options: prompt: template 'a photo' must contain exactly one {}"),
        (EvalOptions(prompt="a {} {.__class__}"), {}, "field {.__class__} is not allowed"),
        (EvalOptions(top_classes=0), {}, "options: top_classes must be a positive integer, got 0"),
        (EvalOptions(ks=(0,)), {}, "options: ks must be positive integers"),
        (FAST, {"min_count": -1}, "dataset 'shop': min_count must be a positive integer, got -1"),
        (FAST, {"colour": "red"}, "dataset 'shop': unknown task option\\(s\\) colour"),
    ],
)
def test_bad_options_are_named(shop, options, task_options, message):
    shop.task_options = task_options
    with pytest.raises(EvaluationError, match=message):
        evaluate([KeywordEncoder()], [shop], options=options, show_progress=False)


def test_a_prompt_for_class_and_tag_queries(shop):
    shop.task_options = {"prompt": "a {} thing"}
    result = by_task(evaluate([KeywordEncoder()], [shop], tasks=["tag-to-image"], options=FAST, show_progress=False))
    assert result["tag-to-image"].scores["map"].value == 1.0
    assert set(result["tag-to-image"].scores) == {"map", "precision@1", "precision@5", "precision@10", "ndcg@10"}


def test_one_label_column_is_not_both_category_and_subcategory(shop):
    shop.labels = {"colour": shop.labels["colour"]}
    evaluation = evaluate([KeywordEncoder()], [shop], tasks=["category-to-product", "subcategory-to-product"])
    assert [r.task for r in evaluation.results] == ["category-to-product"]
    assert evaluation.skipped[0]["reason"] == (
        "subcategory-to-product: 'colour' is the category column too; name another"
    )

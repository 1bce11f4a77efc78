"""Evaluation tasks: each turns a model's embeddings of a dataset into scores with bootstrap
95% intervals and the number of queries behind them.

- ``zero-shot``: label prompts, argmax, weighted / macro F1 and accuracy (FashionCLIP's protocol).
- ``text-to-image``: each distinct caption finds its product(s); ``image-to-text``: each photo
  finds its caption (EasyNLP's Rank@1/5/10). Items with the same caption all count as matches.
- ``category-to-product`` / ``subcategory-to-product``: a prompt per class finds the products of
  that class (Marqo's protocol): precision@1/10, MRR, mAP.
- ``tag-to-image``: a prompt per tag finds the photos carrying it: mAP (multi-label).
- ``image-to-image``: a photo finds the other photos of its product (query -> gallery when the
  dataset defines those splits).
- ``linear-probe``: logistic regression on frozen image embeddings, train -> test split.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from fashionclip.encoder import EncoderProtocol
from fashionclip.evaluation.dataset import EvalDataset
from fashionclip.evaluation.embeddings import EmbeddingCache
from fashionclip.evaluation.metrics import (
    bootstrap_mean,
    bootstrap_statistic,
    caption_key,
    classification_scores,
    confusion_matrix,
    retrieval_scores,
    same_label,
    scores_from_confusion,
    tag_columns,
)

CURVE_KS = (1, 2, 5, 10, 20, 50, 100)


class TaskSkipped(Exception):
    """A task that does not apply to a dataset (it lacks the annotation the task needs)."""


@dataclass(frozen=True)
class Score:
    """A score with its bootstrap interval."""

    value: float
    low: float
    high: float


@dataclass
class TaskResult:
    """One task's scores for one (model, dataset); ``main`` names the headline score."""

    task: str
    dataset: str
    model: str
    queries: int
    main: str
    scores: dict[str, Score]
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["details"] = _plain(self.details)
        return out


@dataclass(frozen=True)
class EvalOptions:
    """Choices shared by the tasks; None means "pick from the dataset"."""

    attribute: str | None = None  # zero-shot and linear probe column
    category: str | None = None
    subcategory: str | None = None
    templates: Any = None  # ZeroShotClassifier templates: None (the model's), "fashion", a list
    prompt: str | None = None  # template for class and tag queries (default: the model's own)
    top_classes: int | None = None  # keep only the most frequent classes
    min_count: int = 1  # a class (or tag) needs this many items to be queried
    ks: tuple[int, ...] = (1, 5, 10)
    resamples: int = 1000
    seed: int = 0
    batch_size: int = 64


@dataclass
class Context:
    """What a task sees: the encoder, the readable items, their image embeddings and a text
    embedder with a cache."""

    encoder: EncoderProtocol
    dataset: EvalDataset
    images: np.ndarray
    cache: EmbeddingCache
    options: EvalOptions
    show_progress: bool = True

    def texts(self, texts: Sequence[str]) -> np.ndarray:
        return self.cache.texts(self.encoder, texts, show_progress=self.show_progress)

    def prompt(self, label: str) -> str:
        """``label`` in the model's prompt template ("a photo of a {}")."""
        template = self.options.prompt or getattr(getattr(self.encoder, "spec", None), "prompt_template", None)
        return (template or "a photo of a {}").format(label)


# ------------------------------------------------------------------ helpers
CATEGORY_COLUMNS = ("category", "masterCategory", "label", "articleType")
SUBCATEGORY_COLUMNS = ("subcategory", "subCategory", "articleType")
ATTRIBUTE_COLUMNS = ("label", "articleType", "category", "subcategory", "subCategory", "masterCategory")


def _column(dataset: EvalDataset, wanted: str | None, preferred: Sequence[str], task: str) -> str:
    if wanted is not None:
        if wanted not in dataset.labels:
            raise TaskSkipped(f"{task}: no {wanted!r} labels (it has: {', '.join(dataset.labels) or 'none'})")
        return wanted
    for column in preferred:
        if column in dataset.labels:
            return column
    if len(dataset.labels) == 1:
        return next(iter(dataset.labels))
    raise TaskSkipped(f"{task}: no label column among {', '.join(preferred)}; name one")


def _classes(values: Sequence[str | None], options: EvalOptions) -> list[str]:
    counts = Counter(v for v in values if v is not None and v != "")
    ranked = [label for label, n in counts.most_common() if n >= options.min_count]
    if options.top_classes:
        ranked = ranked[: options.top_classes]
    return sorted(ranked)


def _retrieval(
    ctx: Context,
    task: str,
    queries: np.ndarray,
    items: np.ndarray,
    relevance,
    count: int,
    metrics: Sequence[str],
    **kwargs,
) -> TaskResult:
    """Rank, score and bootstrap; ``metrics`` are retrieval_scores names, ``@k`` expanded to
    every requested cut-off, the first one being the headline."""
    ks = tuple(sorted(set(ctx.options.ks) | set(CURVE_KS)))
    result = retrieval_scores(queries, items, relevance, ks=ks, **kwargs)
    if result.queries == 0:
        raise TaskSkipped(f"{task}: no query has a relevant item")
    # "@k": every requested cut-off; "@K": the largest only
    metrics = [m.replace("@K", f"@{max(ctx.options.ks)}") for m in metrics]
    wanted = [m.replace("@k", f"@{k}") for m in metrics for k in (ctx.options.ks if "@k" in m else (0,))]
    scores = {
        name: Score(
            result.mean(name),
            *bootstrap_mean(result.per_query[name], resamples=ctx.options.resamples, seed=ctx.options.seed),
        )
        for name in wanted
    }
    curve = {k: result.mean(f"hit@{k}") for k in CURVE_KS if k <= count}
    details = {"curve": curve, "skipped_queries": result.skipped, "items": count}
    return TaskResult(task, ctx.dataset.name, ctx.encoder.name, result.queries, wanted[0], scores, details)


PAIR_METRICS = ("hit@k", "mrr")  # one match per query: P@k is R@k / k, mAP is MRR
CLASS_METRICS = ("precision@k", "mrr", "map")
TAG_METRICS = ("map", "precision@k", "ndcg@K")
SAME_PRODUCT = ("hit@k", "mrr", "map")  # a product may have several other photos


def _classification_result(
    ctx: Context, truth: np.ndarray, predicted: np.ndarray, n_classes: int, names: Sequence[str]
) -> dict[str, Score]:
    """Classification scores with intervals from resampled items (F1 is not a mean over items)."""
    scores = classification_scores(truth, predicted, n_classes)

    def interval(name: str) -> tuple[float, float]:
        def statistic(sample: np.ndarray) -> float:
            return getattr(scores_from_confusion(confusion_matrix(truth[sample], predicted[sample], n_classes)), name)

        return bootstrap_statistic(len(truth), statistic, resamples=ctx.options.resamples, seed=ctx.options.seed)

    return {name: Score(getattr(scores, name), *interval(name)) for name in names}


def _caption_groups(captions: Sequence[str]) -> tuple[list[str], list[int]]:
    """Distinct captions (case- and space-insensitive) and each item's caption index."""
    keys: dict[str, int] = {}
    distinct: list[str] = []
    of_item = []
    for caption in captions:
        key = caption_key(caption)
        if key not in keys:
            keys[key] = len(distinct)
            distinct.append(caption)
        of_item.append(keys[key])
    return distinct, of_item


# -------------------------------------------------------------------- tasks
def zero_shot(ctx: Context) -> TaskResult:
    from fashionclip.zeroshot import ZeroShotClassifier

    column = _column(ctx.dataset, ctx.options.attribute, ATTRIBUTE_COLUMNS, "zero-shot")
    values = ctx.dataset.labels[column]
    classes = _classes(values, ctx.options)
    if len(classes) < 2:
        raise TaskSkipped(f"zero-shot: {column!r} has fewer than 2 classes with {ctx.options.min_count}+ items")
    index = {label: i for i, label in enumerate(classes)}
    keep = [i for i, v in enumerate(values) if v in index]
    truth = np.array([index[values[i]] for i in keep], dtype=np.int64)
    classifier = ZeroShotClassifier(ctx.encoder, classes, templates=ctx.options.templates)
    predicted = classifier.logits(ctx.images[keep]).argmax(axis=1)
    scores = classification_scores(truth, predicted, len(classes))

    result = _classification_result(ctx, truth, predicted, len(classes), ("weighted_f1", "macro_f1", "accuracy"))
    details = {
        "attribute": column,
        "classes": classes,
        "templates": classifier.templates,
        "per_class": {
            label: {
                "precision": float(scores.precision[i]),
                "recall": float(scores.recall[i]),
                "f1": float(scores.f1[i]),
                "support": int(scores.support[i]),
            }
            for i, label in enumerate(classes)
        },
        "confusion": scores.confusion.tolist(),
    }
    return TaskResult("zero-shot", ctx.dataset.name, ctx.encoder.name, len(truth), "weighted_f1", result, details)


def text_to_image(ctx: Context) -> TaskResult:
    if ctx.dataset.captions is None:
        raise TaskSkipped("text-to-image: the dataset has no captions")
    distinct, of_item = _caption_groups(ctx.dataset.captions)
    queries = ctx.texts(distinct)
    relevance = same_label(range(len(distinct)), of_item)
    return _retrieval(ctx, "text-to-image", queries, ctx.images, relevance, len(ctx.images), PAIR_METRICS)


def image_to_text(ctx: Context) -> TaskResult:
    if ctx.dataset.captions is None:
        raise TaskSkipped("image-to-text: the dataset has no captions")
    distinct, of_item = _caption_groups(ctx.dataset.captions)
    items = ctx.texts(distinct)
    relevance = same_label(of_item, range(len(distinct)))
    return _retrieval(ctx, "image-to-text", ctx.images, items, relevance, len(distinct), PAIR_METRICS)


def _class_to_product(ctx: Context, task: str, wanted: str | None, preferred: Sequence[str]) -> TaskResult:
    column = _column(ctx.dataset, wanted, preferred, task)
    values = ctx.dataset.labels[column]
    classes = _classes(values, ctx.options)
    if not classes:
        raise TaskSkipped(f"{task}: no {column!r} class has {ctx.options.min_count}+ items")
    queries = ctx.texts([ctx.prompt(label) for label in classes])
    result = _retrieval(ctx, task, queries, ctx.images, same_label(classes, values), len(ctx.images), CLASS_METRICS)
    result.details["attribute"] = column
    return result


def category_to_product(ctx: Context) -> TaskResult:
    return _class_to_product(ctx, "category-to-product", ctx.options.category, CATEGORY_COLUMNS)


def subcategory_to_product(ctx: Context) -> TaskResult:
    column = _column(ctx.dataset, ctx.options.subcategory, SUBCATEGORY_COLUMNS, "subcategory-to-product")
    try:
        category = _column(ctx.dataset, ctx.options.category, CATEGORY_COLUMNS, "category-to-product")
    except TaskSkipped:
        category = None
    if column == category:
        raise TaskSkipped(f"subcategory-to-product: {column!r} is the category column too; name another")
    return _class_to_product(ctx, "subcategory-to-product", column, SUBCATEGORY_COLUMNS)


def tag_to_image(ctx: Context) -> TaskResult:
    if ctx.dataset.tags is None:
        raise TaskSkipped("tag-to-image: the dataset has no tags")
    counts = Counter(tag for tags in ctx.dataset.tags for tag in set(tags))
    vocabulary = sorted(tag for tag, n in counts.items() if n >= ctx.options.min_count)
    if not vocabulary:
        raise TaskSkipped(f"tag-to-image: no tag has {ctx.options.min_count}+ items")
    column = {tag: i for i, tag in enumerate(vocabulary)}
    matrix = np.zeros((len(ctx.images), len(vocabulary)), dtype=bool)
    for row, tags in enumerate(ctx.dataset.tags):
        for tag in tags:
            if tag in column:
                matrix[row, column[tag]] = True
    queries = ctx.texts([ctx.prompt(tag) for tag in vocabulary])
    relevance = tag_columns(range(len(vocabulary)), matrix)
    return _retrieval(ctx, "tag-to-image", queries, ctx.images, relevance, len(ctx.images), TAG_METRICS)


def image_to_image(ctx: Context) -> TaskResult:
    products = ctx.dataset.products
    if products is None:
        raise TaskSkipped("image-to-image: the dataset has no product ids")
    split = ctx.dataset.split
    if split is not None and "query" in split and "gallery" in split:
        queries = [i for i, s in enumerate(split) if s == "query"]
        gallery = [i for i, s in enumerate(split) if s == "gallery"]
        relevance = same_label([products[i] for i in queries], [products[i] for i in gallery])
        return _retrieval(
            ctx, "image-to-image", ctx.images[queries], ctx.images[gallery], relevance, len(gallery), SAME_PRODUCT
        )
    counts = Counter(products)
    queries = [i for i, p in enumerate(products) if counts[p] >= 2]
    if not queries:
        raise TaskSkipped("image-to-image: no product has two photos")
    relevance = same_label([products[i] for i in queries], products)
    return _retrieval(
        ctx,
        "image-to-image",
        ctx.images[queries],
        ctx.images,
        relevance,
        len(ctx.images),
        SAME_PRODUCT,
        exclude=queries,
    )


def linear_probe(ctx: Context) -> TaskResult:
    from fashionclip._extras import require

    linear_model = require("sklearn.linear_model", "eval", feature="the linear probe needs scikit-learn, which")
    column = _column(ctx.dataset, ctx.options.attribute, ATTRIBUTE_COLUMNS, "linear-probe")
    values = ctx.dataset.labels[column]
    classes = _classes(values, ctx.options)
    index = {label: i for i, label in enumerate(classes)}
    keep = np.array([i for i, v in enumerate(values) if v in index], dtype=np.int64)
    if len(classes) < 2 or len(keep) < 4:
        raise TaskSkipped(f"linear-probe: {column!r} needs 2+ classes and 4+ labelled items")
    labels = np.array([index[values[i]] for i in keep])
    train, test = _probe_split(ctx.dataset, keep)
    if not train.any() or not test.any():
        raise TaskSkipped("linear-probe: the train/test split leaves one side empty")
    model = linear_model.LogisticRegression(max_iter=1000, C=1.0)
    model.fit(ctx.images[keep[train]], labels[train])
    predicted, truth = model.predict(ctx.images[keep[test]]), labels[test]
    result = _classification_result(ctx, truth, predicted, len(classes), ("accuracy", "weighted_f1", "macro_f1"))
    details = {"attribute": column, "classes": classes, "train": int(train.sum()), "test": int(test.sum())}
    return TaskResult("linear-probe", ctx.dataset.name, ctx.encoder.name, len(truth), "accuracy", result, details)


def _probe_split(dataset: EvalDataset, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The dataset's own train/test (or train/val) split, else 70/30 by a hash of the id."""
    split = dataset.split
    if split is not None:
        sides = {split[i] for i in keep}
        test_name = next((name for name in ("test", "val", "validation") if name in sides), None)
        if "train" in sides and test_name:
            return (
                np.array([split[i] == "train" for i in keep]),
                np.array([split[i] == test_name for i in keep]),
            )
    buckets = np.array([int(hashlib.sha1(dataset.ids[i].encode()).hexdigest()[:8], 16) % 10 for i in keep])
    return buckets >= 3, buckets < 3


TASKS: dict[str, Callable[[Context], TaskResult]] = {
    "zero-shot": zero_shot,
    "text-to-image": text_to_image,
    "image-to-text": image_to_text,
    "category-to-product": category_to_product,
    "subcategory-to-product": subcategory_to_product,
    "tag-to-image": tag_to_image,
    "image-to-image": image_to_image,
    "linear-probe": linear_probe,
}


def _plain(value: Any) -> Any:
    """JSON-ready: numpy scalars and arrays become Python numbers and lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value

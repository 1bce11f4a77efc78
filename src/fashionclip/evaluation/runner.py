"""Run tasks for several models on several datasets, collecting results and skips."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from fashionclip.errors import TemplateError
from fashionclip.evaluation.dataset import DatasetError, EvalDataset, EvaluationError
from fashionclip.evaluation.embeddings import EmbeddingCache
from fashionclip.evaluation.tasks import TASKS, Context, EvalOptions, TaskResult, TaskSkipped
from fashionclip.templating import check_label_template

log = logging.getLogger(__name__)


@dataclass
class Evaluation:
    """Every task result, every (model, dataset, task) that did not apply and why, and the
    images that could not be read per (model, dataset)."""

    results: list[TaskResult] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    unreadable: dict[str, list[str]] = field(default_factory=dict)
    options: EvalOptions = field(default_factory=EvalOptions)

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {
            "options": asdict(self.options),
            "results": [r.to_dict() for r in self.results],
            "skipped": self.skipped,
            "unreadable_images": self.unreadable,
        }


def check_tasks(tasks: Sequence[str] | None) -> list[str]:
    """The task names to run (all by default), refusing unknown ones by name."""
    if tasks is None:
        return list(TASKS)
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise EvaluationError(f"unknown task(s) {', '.join(map(repr, unknown))}; use: {', '.join(TASKS)}")
    if not tasks:
        raise EvaluationError(f"give at least one task: {', '.join(TASKS)}")
    return list(tasks)


def check_options(options: EvalOptions, where: str = "options") -> None:
    """Refuse options no task can use, naming them."""
    if options.prompt is not None:
        try:
            check_label_template(options.prompt)
        except TemplateError as exc:
            raise EvaluationError(f"{where}: prompt: {exc}") from None
    for name in ("top_classes", "min_count", "resamples", "batch_size"):
        value = getattr(options, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise EvaluationError(f"{where}: {name} must be a positive integer, got {value!r}")
    if not options.ks or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in options.ks):
        raise EvaluationError(f"{where}: ks must be positive integers, got {options.ks!r}")


def evaluate(
    models: Sequence[Any],
    datasets: Sequence[EvalDataset],
    *,
    tasks: Sequence[str] | None = None,
    options: EvalOptions = EvalOptions(),
    cache: EmbeddingCache | None = None,
    show_progress: bool = True,
) -> Evaluation:
    """Run ``tasks`` (all by default) for every model (a name, a checkpoint path or a loaded
    encoder) on every dataset. A task that does not apply to a dataset is recorded as skipped
    with its reason; unreadable images are left out and listed."""
    from fashionclip.loading import load_model

    names = check_tasks(tasks)
    check_options(options)
    per_dataset = []  # each dataset's options, checked before any model is loaded
    for dataset in datasets:
        unknown = set(dataset.task_options) - set(EvalOptions.__dataclass_fields__)
        if unknown:
            raise EvaluationError(f"dataset {dataset.name!r}: unknown task option(s) {', '.join(sorted(unknown))}")
        per_dataset.append(replace(options, **dataset.task_options))
        check_options(per_dataset[-1], f"dataset {dataset.name!r}")
    cache = cache or EmbeddingCache(None)
    evaluation = Evaluation(options=options)
    for model in models:
        encoder = load_model(model) if isinstance(model, str) else model
        for dataset, dataset_options in zip(datasets, per_dataset, strict=True):
            if len(dataset) == 0:
                raise DatasetError(f"dataset {dataset.name!r} has no items")
            embeddings, indices, failures = cache.images(
                encoder, dataset, batch_size=options.batch_size, show_progress=show_progress
            )
            if failures:
                evaluation.unreadable[f"{encoder.name} / {dataset.name}"] = failures
                print(f"{dataset.name}: {len(failures)} unreadable image(s) left out", file=sys.stderr)
            readable = dataset if len(indices) == len(dataset) else dataset.subset(indices.tolist())
            context = Context(encoder, readable, embeddings, cache, dataset_options, show_progress)
            for name in names:
                try:
                    evaluation.results.append(TASKS[name](context))
                except TaskSkipped as reason:
                    log.info("skipped %s on %s: %s", name, dataset.name, reason)
                    evaluation.skipped.append(
                        {"model": encoder.name, "dataset": dataset.name, "task": name, "reason": str(reason)}
                    )
    return evaluation

"""Evaluation harness: datasets, metrics, tasks and leaderboards.

>>> from fashionclip.evaluation import EvalOptions, evaluate, load_dataset, write_report
>>> data = load_dataset("kagl:data/kagl", split="val")            # doctest: +SKIP
>>> report = evaluate(["fashion-clip-mini"], [data])               # doctest: +SKIP
>>> write_report(report, "runs/eval")                              # doctest: +SKIP
"""

from fashionclip.evaluation.dataset import DatasetError, EvalDataset, EvaluationError
from fashionclip.evaluation.datasets import LOADERS, load_dataset
from fashionclip.evaluation.embeddings import EmbeddingCache
from fashionclip.evaluation.report import markdown, write_report
from fashionclip.evaluation.runner import Evaluation, evaluate
from fashionclip.evaluation.tasks import TASKS, EvalOptions, Score, TaskResult

__all__ = [
    "LOADERS",
    "TASKS",
    "DatasetError",
    "EmbeddingCache",
    "EvalDataset",
    "EvalOptions",
    "EvaluationError",
    "Evaluation",
    "Score",
    "TaskResult",
    "evaluate",
    "load_dataset",
    "markdown",
    "write_report",
]

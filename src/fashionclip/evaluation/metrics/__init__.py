"""Evaluation metrics (pure numpy): classification, ranking, bootstrap intervals."""

from fashionclip.evaluation.metrics.bootstrap import bootstrap_mean, bootstrap_statistic
from fashionclip.evaluation.metrics.classification import (
    ClassificationScores,
    classification_scores,
    confusion_matrix,
    scores_from_confusion,
)
from fashionclip.evaluation.metrics.retrieval import (
    RetrievalScores,
    caption_key,
    retrieval_scores,
    same_label,
    tag_columns,
)

__all__ = [
    "ClassificationScores",
    "RetrievalScores",
    "bootstrap_mean",
    "bootstrap_statistic",
    "caption_key",
    "classification_scores",
    "confusion_matrix",
    "retrieval_scores",
    "same_label",
    "scores_from_confusion",
    "tag_columns",
]

"""Zero-shot classification and tagging."""

from fashionclip.zeroshot.classifier import Prediction, ZeroShotClassifier
from fashionclip.zeroshot.templates import load_templates

__all__ = ["Prediction", "ZeroShotClassifier", "load_templates"]

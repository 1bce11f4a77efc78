"""Checkpoints of other toolkits -> Hugging Face folders that :func:`fashionclip.load_model` reads."""

from __future__ import annotations

from fashionclip.convert.easynlp import EASYNLP_CHECKPOINTS, convert_easynlp, detect_layout

__all__ = ["EASYNLP_CHECKPOINTS", "convert_easynlp", "detect_layout"]

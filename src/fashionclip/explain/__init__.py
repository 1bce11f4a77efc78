"""Localisation: heatmaps of where a text concept is in an image."""

from fashionclip.explain.heatmap import METHODS, Heatmap, explain

__all__ = ["METHODS", "Heatmap", "explain"]

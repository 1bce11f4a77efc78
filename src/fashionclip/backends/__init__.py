"""Inference backends behind one small protocol; every backend sees the same pixels and ids."""

from fashionclip.backends.base import Backend

__all__ = ["Backend"]

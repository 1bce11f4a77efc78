"""``fashion_clip`` as an alias of :mod:`fashionclip.compat`, for code written for the original
``fashion-clip`` package (``from fashion_clip.fashion_clip import FashionCLIP, FCLIPDataset``,
``from fashion_clip.utils import display_images``).

Why a distribution of its own, and a finder instead of a ``fashion_clip/`` folder: a folder of that
name would overwrite the original package's files where both are installed. The finder is
appended to ``sys.meta_path`` by this distribution's ``.pth`` file, after Python's own finders,
so where the original package is installed it is found first and this alias stays out of its way.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
from typing import Any

# the original's modules and the names each gives
_MODULES: dict[str, tuple[str, ...]] = {
    "fashion_clip": ("FashionCLIP", "FCLIPDataset"),
    "fashion_clip.fashion_clip": ("FashionCLIP", "FCLIPDataset"),
    "fashion_clip.utils": ("display_images",),
}


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in _MODULES:
            return None
        return importlib.util.spec_from_loader(name, self, is_package=name == "fashion_clip")

    def create_module(self, spec: Any) -> types.ModuleType | None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        compat = importlib.import_module("fashionclip.compat")
        for attribute in _MODULES[module.__name__]:
            setattr(module, attribute, getattr(compat, attribute))
        module.__doc__ = f"The original fashion-clip's {module.__name__}, served by fashionclip.compat."


def install() -> None:
    """Serve the original's module names, after every other finder (once)."""
    if not any(isinstance(finder, _Alias) for finder in sys.meta_path):
        sys.meta_path.append(_Alias())

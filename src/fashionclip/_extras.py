"""Optional dependencies: import them lazily and say exactly how to install them."""

from __future__ import annotations

import importlib
from types import ModuleType

from fashionclip.errors import MissingExtraError


def require(module: str, extra: str, *, feature: str | None = None) -> ModuleType:
    """Import ``module`` or raise MissingExtraError with the pip command that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        what = feature or f"this feature needs '{module}', which"
        raise MissingExtraError(
            f"{what} is not installed. Install it with:\n    pip install 'fashionclip[{extra}]'\n(import error: {exc})"
        ) from exc

"""fashionclip: CLIP-family embeddings, search, tagging and evaluation for fashion catalogues."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from fashionclip.config import ModelSpec, PreprocessConfig
from fashionclip.errors import (
    FashionClipError,
    ImageLoadError,
    ImageTooLargeError,
    MissingExtraError,
    ModelNotAvailableError,
    UnknownModelError,
)
from fashionclip.registry import DEFAULT_MODEL, list_models
from fashionclip.version import __version__

# imported on first use: they pull in torch and transformers, which a command that only talks to
# a running server (or prints its version) never needs
_LAZY = {
    "Encoder": "fashionclip.encoder",
    "EncodeResult": "fashionclip.encoder",
    "EncoderProtocol": "fashionclip.encoder",
    "FailedItem": "fashionclip.encoder",
    "load_model": "fashionclip.loading",
    "ImageLimits": "fashionclip.preprocess.image",
    "Prediction": "fashionclip.zeroshot",
    "ZeroShotClassifier": "fashionclip.zeroshot",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fashionclip' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "DEFAULT_MODEL",
    "EncodeResult",
    "Encoder",
    "EncoderProtocol",
    "FailedItem",
    "FashionClipError",
    "ImageLimits",
    "ImageLoadError",
    "ImageTooLargeError",
    "MissingExtraError",
    "ModelNotAvailableError",
    "ModelSpec",
    "Prediction",
    "PreprocessConfig",
    "UnknownModelError",
    "ZeroShotClassifier",
    "__version__",
    "list_models",
    "load_model",
]

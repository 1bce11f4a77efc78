"""fashionclip: CLIP-family embeddings, search, tagging and evaluation for fashion catalogues."""

from fashionclip.config import ModelSpec, PreprocessConfig
from fashionclip.encoder import Encoder, EncodeResult, FailedItem
from fashionclip.errors import (
    FashionClipError,
    ImageLoadError,
    ImageTooLargeError,
    MissingExtraError,
    ModelNotAvailableError,
    UnknownModelError,
)
from fashionclip.loading import load_model
from fashionclip.preprocess.image import ImageLimits
from fashionclip.registry import DEFAULT_MODEL, list_models
from fashionclip.zeroshot import Prediction, ZeroShotClassifier

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MODEL",
    "EncodeResult",
    "Encoder",
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

"""Exception types raised at the library's public boundaries.

Each subclasses the builtin a caller would naturally catch (ValueError, KeyError,
ImportError, ...), so ``except ValueError`` keeps working for users who do not
know our names.
"""

from __future__ import annotations

from typing import Any


def shown(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters, for an error message that names a client's value."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class FashionClipError(Exception):
    """Base class of every error this package raises on purpose."""


class UnknownModelError(FashionClipError, KeyError):
    """A model name is neither a registry entry, a Hugging Face id nor a local directory."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""


class ModelNotAvailableError(FashionClipError, OSError):
    """A known checkpoint cannot be loaded here (not downloaded, offline, broken files)."""


class ImageLoadError(FashionClipError, ValueError):
    """One image input could not be read, decoded or converted.

    ``item`` is a short description of the input (its path, URL or type) and
    ``index`` its position in the caller's list, when known.
    """

    def __init__(self, item: str, reason: str, index: int | None = None) -> None:
        self.item = item
        self.reason = reason
        self.index = index
        where = f"image #{index} ({item})" if index is not None else f"image {item}"
        super().__init__(f"{where}: {reason}")

    def at(self, index: int) -> ImageLoadError:
        """The same error, tagged with the input's position in a batch."""
        return ImageLoadError(self.item, self.reason, index)


class ImageTooLargeError(ImageLoadError):
    """An image declares more pixels than allowed (a decompression bomb guard)."""

    def at(self, index: int) -> ImageTooLargeError:
        return ImageTooLargeError(self.item, self.reason, index)


class MissingExtraError(FashionClipError, ImportError):
    """An optional feature's dependencies are not installed."""


class CatalogError(FashionClipError, ValueError):
    """A catalogue file cannot be read as asked (missing, unknown format, a named column absent)."""


class StoreError(FashionClipError, ValueError):
    """A vector store cannot do what was asked (a filter on an unknown column, a bad query)."""


class ModelMismatchError(StoreError):
    """An index holds vectors of another model (or dimension) than the one asked to add or query."""


class QueryError(FashionClipError, ValueError):
    """A search request is malformed (no query at all, a weight out of range, an unknown product id)."""


class TemplateError(FashionClipError, ValueError):
    """A text template that cannot be filled safely (a stray brace, a field other than a plain name)."""


class ClassificationError(FashionClipError, ValueError):
    """Labels, templates, thresholds or options of a zero-shot classifier that cannot be used."""


class CompatError(FashionClipError, ValueError):
    """An argument the fashion-clip compatible API cannot use."""


class ExplainError(FashionClipError, ValueError):
    """A localisation heatmap cannot be made as asked (unknown method, a method the model cannot run)."""


class EvaluationError(FashionClipError, ValueError):
    """An evaluation cannot run as asked (an unknown task, a bad option)."""


class DatasetError(EvaluationError):
    """An evaluation dataset cannot be read (missing files, an unknown layout, a malformed row)."""


class TrainConfigError(FashionClipError, ValueError):
    """A training option or recipe is invalid."""


class UrlRefused(FashionClipError, ValueError):
    """A client's image URL may not be fetched (scheme, host, address, redirect...); the message
    names the URL and why."""


class UrlFetchError(FashionClipError, ValueError):
    """Fetching a client's image URL failed (timeout, HTTP status >= 400, too large, connection
    refused); the message names the URL and why."""

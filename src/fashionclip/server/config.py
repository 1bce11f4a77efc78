"""The server's settings, one frozen dataclass that the CLI fills from its flags."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from fashionclip.preprocess.image import ImageLimits

# the server's own image caps: tighter than the library's, since every image comes from a client
SERVER_LIMITS = ImageLimits(max_pixels=40_000_000, max_bytes=10_000_000, url_timeout=10.0)


@dataclass(frozen=True, init=False)
class ServerConfig:
    """What the HTTP app allows and how it batches.

    - ``api_key``: when set, every API route wants it in ``X-API-Key`` (or ``Authorization: Bearer``);
      the page, its static files and ``/health`` stay open.
    - ``write_key``: writes (``POST /products/updates``) are refused (403) without one; with one,
      they want it in the same headers. It must differ from ``api_key``: reading is not writing.
    - ``max_upload_bytes``: the largest request body.
    - ``limits``: the caps on a client's images (:class:`~fashionclip.preprocess.image.ImageLimits`):
      ``max_pixels`` (the largest decoded image), ``max_bytes`` (the largest image downloaded from
      a URL), ``url_timeout``, ``formats``. Default: :data:`SERVER_LIMITS` with ``max_bytes`` set to
      ``max_upload_bytes``.
    - ``allow_urls``: whether image URLs are fetched at all; even then, private, loopback and
      link-local addresses are refused (see :mod:`fashionclip.server.fetch`).
    - ``image_roots``: folders product images may be served from; empty means the folders the
      indexed images are in.
    - ``max_batch``: most inputs in one shared forward pass; ``max_wait``: seconds a batch may wait
      for more requests (0: run what has queued, never wait).
    - ``taxonomy``: a YAML taxonomy for product tags (default: the bundled fashion taxonomy).
    - ``card_fields``, ``examples``: the metadata columns shown on the page's result cards and the
      example queries it offers; None derives them from the index's own columns.

    ``max_pixels=`` and ``url_timeout=`` are deprecated aliases of the same fields of ``limits``.
    """

    api_key: str | None
    write_key: str | None
    max_upload_bytes: int
    allow_urls: bool
    image_roots: tuple[Path, ...]
    max_batch: int
    max_wait: float
    max_k: int
    taxonomy: Path | None
    facet_values: int
    limits: ImageLimits
    card_fields: tuple[str, ...] | None
    examples: tuple[str, ...] | None

    # the old positional order (max_pixels third, url_timeout fifth) still works
    def __init__(
        self,
        api_key: str | None = None,
        max_upload_bytes: int = 10_000_000,
        max_pixels: int | None = None,
        allow_urls: bool = False,
        url_timeout: float | None = None,
        image_roots: tuple[Path, ...] = (),
        max_batch: int = 64,
        max_wait: float = 0.0,
        max_k: int = 200,
        taxonomy: Path | None = None,
        facet_values: int = 50,
        limits: ImageLimits | None = None,
        card_fields: tuple[str, ...] | None = None,
        examples: tuple[str, ...] | None = None,
        write_key: str | None = None,
    ) -> None:
        if limits is None:
            limits = replace(SERVER_LIMITS, max_bytes=max_upload_bytes)
        old = {"max_pixels": max_pixels, "url_timeout": url_timeout}
        for name, value in old.items():
            if value is None:
                continue
            warnings.warn(
                f"ServerConfig({name}=...) is deprecated; pass limits=ImageLimits({name}=...)",
                DeprecationWarning,
                stacklevel=2,
            )
            limits = replace(limits, **{name: value})
        values: dict[str, Any] = {
            "api_key": api_key,
            "write_key": write_key,
            "max_upload_bytes": max_upload_bytes,
            "allow_urls": allow_urls,
            "image_roots": tuple(image_roots),
            "max_batch": max_batch,
            "max_wait": max_wait,
            "max_k": max_k,
            "taxonomy": taxonomy,
            "facet_values": facet_values,
            "limits": limits,
            "card_fields": None if card_fields is None else tuple(card_fields),
            "examples": None if examples is None else tuple(examples),
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)
        self._validate()

    def _validate(self) -> None:
        checked = {
            "max_upload_bytes": self.max_upload_bytes,
            "max_pixels": self.limits.max_pixels,
            "limits.max_bytes": self.limits.max_bytes,
            "max_batch": self.max_batch,
            "max_k": self.max_k,
            "facet_values": self.facet_values,
        }
        for name, value in checked.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.max_wait < 0 or self.limits.url_timeout <= 0:
            raise ValueError("max_wait must be >= 0 and url_timeout > 0")
        for name in ("api_key", "write_key"):
            key = getattr(self, name)
            if key is not None and (not isinstance(key, str) or len(key) < 8):
                raise ValueError(
                    f"{'an API key' if name == 'api_key' else 'a write key'} must be at least 8 characters long"
                )
        if self.write_key is not None and self.write_key == self.api_key:
            raise ValueError("the write key must differ from the API key: whoever may search may not write")
        for name in ("card_fields", "examples"):
            given = getattr(self, name)
            if given is not None and not all(isinstance(v, str) and v.strip() for v in given):
                raise ValueError(f"{name} must be non-empty strings, got {given!r}")

    @property
    def max_pixels(self) -> int:
        """Deprecated: ``limits.max_pixels``."""
        warnings.warn("ServerConfig.max_pixels is deprecated; read limits.max_pixels", DeprecationWarning, stacklevel=2)
        return self.limits.max_pixels

    @property
    def url_timeout(self) -> float:
        """Deprecated: ``limits.url_timeout``."""
        warnings.warn(
            "ServerConfig.url_timeout is deprecated; read limits.url_timeout", DeprecationWarning, stacklevel=2
        )
        return self.limits.url_timeout

"""The server's settings, one frozen dataclass that the CLI fills from its flags."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ServerConfig:
    """What the HTTP app allows and how it batches.

    - ``api_key``: when set, every API route wants it in ``X-API-Key`` (or ``Authorization: Bearer``);
      the page, its static files and ``/health`` stay open.
    - ``max_upload_bytes``: the largest request body; ``max_pixels``: the largest decoded image.
    - ``allow_urls``: whether image URLs are fetched at all; even then, private, loopback and
      link-local addresses are refused (see :mod:`fashionclip.server.fetch`).
    - ``image_roots``: folders product images may be served from; empty means the folders the
      indexed images are in.
    - ``max_batch``: most inputs in one shared forward pass; ``max_wait``: seconds a batch may wait
      for more requests (0: run what has queued, never wait).
    - ``taxonomy``: a YAML taxonomy for product tags (default: the bundled fashion taxonomy).
    """

    api_key: str | None = None
    max_upload_bytes: int = 10_000_000
    max_pixels: int = 40_000_000
    allow_urls: bool = False
    url_timeout: float = 10.0
    image_roots: tuple[Path, ...] = field(default_factory=tuple)
    max_batch: int = 64
    max_wait: float = 0.0
    max_k: int = 200
    taxonomy: Path | None = None
    facet_values: int = 50

    def __post_init__(self) -> None:
        for name in ("max_upload_bytes", "max_pixels", "max_batch", "max_k", "facet_values"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.max_wait < 0 or self.url_timeout <= 0:
            raise ValueError("max_wait must be >= 0 and url_timeout > 0")
        if self.api_key is not None and len(self.api_key) < 8:
            raise ValueError("an API key must be at least 8 characters long")

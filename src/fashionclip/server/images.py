"""Images that cross the HTTP boundary: client images in (as bytes only, never as a path the server
would open) and product images out (only from the catalogue's own folders)."""

from __future__ import annotations

import base64
import binascii
import io
import os
import re
from collections.abc import Iterable
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from fashionclip.preprocess.image import sniff_format
from fashionclip.server.config import ServerConfig
from fashionclip.server.errors import ApiError
from fashionclip.server.fetch import UrlPolicy, fetch_url

IMAGE_MEDIA = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
}
_DATA_URL = re.compile(r"^data:image/[\w.+-]+;base64,", re.IGNORECASE)


def image_bytes(ref: str, config: ServerConfig, what: str = "image") -> bytes:
    """The bytes of a client's image: base64 (or a ``data:`` URL), or an http(s) URL where the
    server allows URLs. Paths and other schemes are refused: a client must never make the server
    read its own files."""
    if not isinstance(ref, str) or not ref.strip():
        raise ApiError(400, f"{what}: empty", "bad_image")
    text = ref.strip()
    if text.lower().startswith(("http://", "https://")):
        if not config.allow_urls:
            raise ApiError(400, f"{what}: image URLs are disabled on this server; send the image itself", "url_refused")
        policy = UrlPolicy(max_bytes=config.limits.max_bytes, timeout=config.limits.url_timeout)
        return fetch_url(text, policy)
    if "://" in text[:16]:  # file://, s3://...: never opened; a path fails as base64 below
        raise ApiError(400, f"{what}: only base64 image data or an http(s) URL is accepted", "bad_image")
    text = _DATA_URL.sub("", text, count=1)
    if len(text) > (config.max_upload_bytes * 4) // 3 + 4:
        raise ApiError(413, f"{what}: over the limit of {config.max_upload_bytes} bytes", "too_large")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, f"{what}: not valid base64 image data", "bad_image") from None


def check_image(data: bytes, config: ServerConfig, what: str = "image") -> bytes:
    """Refuse what is not an image, or declares more pixels than allowed, from its header alone."""
    if not data:
        raise ApiError(400, f"{what}: empty", "bad_image")
    if len(data) > config.max_upload_bytes:
        raise ApiError(413, f"{what}: over the limit of {config.max_upload_bytes} bytes", "too_large")
    limits = config.limits
    found = sniff_format(data[:16])
    if found not in limits.formats:  # refused from the signature: Pillow never parses what it is not meant to
        raise ApiError(415, f"{what}: not a readable image ({', '.join(limits.formats)} are accepted)", "bad_image")
    try:
        with Image.open(io.BytesIO(data), formats=[found]) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise ApiError(415, f"{what}: not a readable {found} image", "bad_image") from None
    if width * height > limits.max_pixels:
        raise ApiError(
            413, f"{what}: {width}x{height} is over the limit of {limits.max_pixels} pixels", "image_too_large"
        )
    return data


def image_media_type(path: Path) -> str | None:
    """The media type to serve a stored image file as, from its signature (not its name), or None
    when it is not an image in an accepted format."""
    try:
        with path.open("rb") as handle:
            found = sniff_format(handle.read(16))
    except OSError:  # gone or unreadable since the folders were listed
        return None
    return None if found is None else IMAGE_MEDIA[found]


class ImageFolders:
    """The folders product images may be served from: the configured roots, else the folders of
    the indexed images. A stored path is served only when its real path (symlinks followed) lies
    inside one of them."""

    def __init__(self, roots: Iterable[Path]) -> None:
        self.roots = sorted({Path(os.path.realpath(r)) for r in roots})

    def resolve(self, stored: str) -> Path | None:
        """The file to serve for a stored local image path, or None if it is outside the roots."""
        real = Path(os.path.realpath(stored))
        for root in self.roots:
            if real == root or root in real.parents:
                return real if real.is_file() else None
        return None

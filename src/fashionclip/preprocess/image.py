"""Any image input -> RGB PIL image -> normalised CHW float32 pixels.

The pixels match transformers' PIL-based CLIP image processor
(``CLIPImageProcessor`` in transformers 4.x, ``CLIPImageProcessorPil`` in 5.x):
the same size arithmetic, the same Pillow resampling filter on uint8 RGB, the
same crop offsets. Two deliberate differences, both no-ops on ordinary RGB
product photos: EXIF orientation is applied (phone photos come out upright),
and 16-bit / float greyscale is rescaled to 8 bits instead of clipped.
"""

from __future__ import annotations

import io
import math
import os
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from fashionclip._extras import require
from fashionclip.config import PreprocessConfig
from fashionclip.errors import ImageLoadError, ImageTooLargeError
from fashionclip.io import is_remote

ImageInput = str | os.PathLike | bytes | bytearray | memoryview | Image.Image | np.ndarray

# Pillow's filter for each PreprocessConfig.interpolation name
RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
}
_ALPHA_MODES = {"RGBA", "LA", "La", "RGBa", "PA"}

# The formats decoded by default: what catalogues and the web use. Everything else is refused
# from its first bytes, before Pillow sees it: some of Pillow's readers run other programs (EPS
# runs Ghostscript) or parse rarely exercised formats.
IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),  # BigTIFF
    (b"MM\x00+", "TIFF"),
)


def sniff_format(head: bytes) -> str | None:
    """The format of encoded image bytes from their signature (Pillow's name: ``"JPEG"``,
    ``"WEBP"``...), or None when it is none of :data:`IMAGE_FORMATS`."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return next((name for signature, name in _SIGNATURES if head.startswith(signature)), None)


@dataclass(frozen=True)
class ImageLimits:
    """Guards for untrusted inputs.

    ``max_pixels`` refuses decompression bombs from the file header, before any
    pixel is decoded; ``max_bytes`` and ``url_timeout`` bound remote downloads;
    ``formats`` are the encoded formats decoded at all (a subset of :data:`IMAGE_FORMATS`),
    the others refused from their signature.
    """

    max_pixels: int = 100_000_000
    max_bytes: int = 50_000_000
    url_timeout: float = 15.0
    formats: tuple[str, ...] = IMAGE_FORMATS

    def __post_init__(self) -> None:
        unknown = sorted(set(self.formats) - set(IMAGE_FORMATS))
        if unknown or not self.formats:
            raise ValueError(f"formats must be a non-empty subset of {', '.join(IMAGE_FORMATS)}, got {self.formats!r}")

    def check_format(self, head: bytes, item: str) -> str:
        """The format of an encoded image from its first bytes, or ImageLoadError naming ``item``."""
        found = sniff_format(head)
        if found not in self.formats:
            allowed = ", ".join(self.formats)
            raise ImageLoadError(item, f"not a recognised image format: {allowed} are accepted")
        return found


def describe(item: Any) -> str:
    """A short, printable name for an input: its path or URL, else its type and size."""
    if isinstance(item, (str, os.PathLike)):
        text = os.fspath(item)
        return text if len(text) <= 200 else text[:197] + "..."
    if isinstance(item, (bytes, bytearray, memoryview)):
        return f"<{len(item)} bytes>"
    if isinstance(item, Image.Image):
        return f"<PIL image {item.mode} {item.width}x{item.height}>"
    if isinstance(item, np.ndarray):
        return f"<array {item.dtype} {item.shape}>"
    return f"<{type(item).__name__}>"


def _read_url(url: str, limits: ImageLimits) -> bytes:
    if url.startswith(("http://", "https://")):
        request = urllib.request.Request(url, headers={"User-Agent": "fashionclip"})
        try:
            with urllib.request.urlopen(request, timeout=limits.url_timeout) as response:
                data = response.read(limits.max_bytes + 1)
        except urllib.error.HTTPError as exc:
            raise ImageLoadError(url, f"HTTP {exc.code} {exc.reason}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ImageLoadError(url, f"download failed: {reason}") from exc
    else:
        fsspec = require("fsspec", "remote", feature=f"reading {url.split('://')[0]}:// URLs needs fsspec, which")
        try:
            with fsspec.open(url, "rb") as handle:
                data = handle.read(limits.max_bytes + 1)
        except Exception as exc:  # fsspec backends raise their own types
            raise ImageLoadError(url, f"download failed: {exc}") from exc
    if len(data) > limits.max_bytes:
        raise ImageTooLargeError(url, f"more than {limits.max_bytes} bytes (max_bytes)")
    return data


def read_image_bytes(source: str | os.PathLike, limits: ImageLimits = ImageLimits()) -> bytes:
    """The encoded bytes of a local path, ``file://``, http(s) or fsspec URL, undecoded
    (what a content hash is taken of). Raises ImageLoadError naming the source."""
    text = os.fspath(source)
    if not isinstance(text, str) or not text.strip():
        raise ImageLoadError(repr(text), "empty path")
    if is_remote(text):
        return _read_url(text, limits)
    path = _local_path(text)
    name = describe(source)
    try:
        size = path.stat().st_size
        if size > limits.max_bytes:
            raise ImageTooLargeError(name, f"more than {limits.max_bytes} bytes (max_bytes)")
        return path.read_bytes()
    except OSError as exc:
        raise _file_error(exc, name) or ImageLoadError(name, f"cannot read: {exc}") from exc


def _local_path(text: str) -> Path:
    return Path(text[len("file://") :] if text.startswith("file://") else text).expanduser()


def _file_error(exc: OSError, item: str) -> ImageLoadError | None:
    """The error for a file that cannot be opened at all, named by its usual cause."""
    for kind, reason in (
        (FileNotFoundError, "file not found"),
        (IsADirectoryError, "is a directory, not an image file"),
        (PermissionError, "permission denied"),
    ):
        if isinstance(exc, kind):
            return ImageLoadError(item, reason)
    return None


def _open(source: Any, item: str, limits: ImageLimits, min_side: int | None = None) -> Image.Image:
    """Open and fully decode an encoded image, refusing bombs before decoding.

    ``min_side``: a JPEG may be decoded at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling,
    "draft mode") as long as both sides stay at least this long; that skips most of the
    decoding work for large photos."""
    try:
        if isinstance(source, Path):
            with source.open("rb") as handle:
                head = handle.read(16)
        else:
            head = source.read(16)
            source.seek(0)
        limits.check_format(head, item)
        with warnings.catch_warnings():
            # our own max_pixels check replaces Pillow's global bomb warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(source, formats=limits.formats)
            _check_pixels(image.width, image.height, item, limits)
            if min_side and image.format == "JPEG" and image.mode in ("RGB", "L"):
                image.draft(image.mode, (min_side, min_side))
            image.load()
    except ImageLoadError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(item, f"refused as a decompression bomb: {exc}") from exc
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise _file_error(exc, item) from exc  # type: ignore[misc]
    except Image.UnidentifiedImageError as exc:
        raise ImageLoadError(item, "not a recognised image format (corrupt or not an image)") from exc
    except Exception as exc:  # Pillow raises OSError, SyntaxError, EOFError, ... on damaged data
        raise ImageLoadError(item, f"cannot decode image: {exc}") from exc
    return image


def _check_pixels(width: int, height: int, item: str, limits: ImageLimits) -> None:
    if width <= 0 or height <= 0:
        raise ImageLoadError(item, f"empty image ({width}x{height})")
    if width * height > limits.max_pixels:
        raise ImageTooLargeError(
            item,
            f"refused as a decompression bomb: {width}x{height} = {width * height} pixels "
            f"exceeds max_pixels={limits.max_pixels}",
        )


def _array_to_image(array: np.ndarray, item: str) -> Image.Image:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageLoadError(item, "arrays must be HxW, HxWx1, HxWx3 (RGB) or HxWx4 (RGBA)")
    if array.dtype != np.uint8:
        raise ImageLoadError(item, f"arrays must be uint8 (0-255), got {array.dtype}")
    mode = {2: "L", 3: "RGB", 4: "RGBA"}[array.ndim if array.ndim == 2 else array.shape[2]]
    return Image.fromarray(np.ascontiguousarray(array), mode=mode)


def to_rgb(image: Image.Image) -> Image.Image:
    """Upright RGB: EXIF orientation applied, transparency composited on white."""
    if image.getexif().get(0x0112, 1) != 1:
        image = ImageOps.exif_transpose(image)
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in _ALPHA_MODES or (mode in ("P", "L", "RGB") and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode.startswith("I") or mode == "F":
        # high bit-depth greyscale: Pillow's convert() would clip at 255
        values = np.asarray(image, dtype=np.float64)
        if mode.startswith("I;16") or values.max(initial=0) > 255:
            values = values / 257.0
        elif mode == "F" and values.max(initial=0) <= 1.0:
            values = values * 255.0
        grey = np.clip(np.rint(values), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, mode="L").convert("RGB")
    return image.convert("RGB")


def load_image(item: ImageInput, limits: ImageLimits = ImageLimits(), min_side: int | None = None) -> Image.Image:
    """Read any supported input into an upright RGB PIL image.

    ``min_side``: encoded JPEGs may be decoded at a reduced scale whose sides are at least
    this long (see :func:`_open`); other inputs are unaffected. Raises ImageLoadError (naming
    the item) for anything unreadable and ImageTooLargeError for inputs over ``limits``.
    """
    name = describe(item)
    if isinstance(item, Image.Image):
        _check_pixels(item.width, item.height, name, limits)
        image = item
    elif isinstance(item, np.ndarray):
        if item.ndim >= 2:
            _check_pixels(item.shape[1], item.shape[0], name, limits)
        image = _array_to_image(item, name)
    elif isinstance(item, (bytes, bytearray, memoryview)):
        if len(item) == 0:
            raise ImageLoadError(name, "empty bytes")
        image = _open(io.BytesIO(bytes(item)), name, limits, min_side)
    elif isinstance(item, (str, os.PathLike)):
        text = os.fspath(item)
        if isinstance(text, bytes):
            raise ImageLoadError(name, "byte-string paths are not supported; pass str or pathlib.Path")
        if not text.strip():
            raise ImageLoadError(repr(text), "empty path")
        if isinstance(item, str) and is_remote(text):
            image = _open(io.BytesIO(_read_url(text, limits)), name, limits, min_side)
        else:
            image = _open(_local_path(text), name, limits, min_side)
    else:
        raise ImageLoadError(name, "unsupported input type; pass a path, URL, bytes, PIL image or HxWxC uint8 array")
    try:
        return to_rgb(image)
    except Exception as exc:
        raise ImageLoadError(name, f"cannot convert {image.mode} image to RGB: {exc}") from exc


def resize_and_crop(image: Image.Image, config: PreprocessConfig) -> Image.Image:
    """Resize and centre-crop with transformers' size arithmetic.

    Shortest-edge mode: short side -> ``config.resize``, long side ->
    ``int(resize * long / short)`` (truncated, as transformers does), then a
    centre crop whose offsets are ``(size - crop) // 2``; a crop larger than the
    image pads with black, as transformers does.
    """
    width, height = image.size
    if config.resize_mode == "squash":
        new_w = new_h = config.resize
    elif width <= height:
        new_w, new_h = config.resize, int(config.resize * height / width)
    else:
        new_w, new_h = int(config.resize * width / height), config.resize
    if (new_w, new_h) != (width, height):
        image = image.resize((new_w, new_h), resample=RESAMPLE[config.interpolation])
    crop = config.image_size
    if (new_w, new_h) == (crop, crop):
        return image
    if config.crop_offset == "round":
        left, top = int(round((new_w - crop) / 2.0)), int(round((new_h - crop) / 2.0))
    else:
        # floor division also gives transformers' offsets when the crop is larger
        # than the image (it pads by ceil(d / 2) on the leading side, then crops)
        left, top = (new_w - crop) // 2, (new_h - crop) // 2
    return image.crop((left, top, left + crop, top + crop))


def naflex_size(height: int, width: int, patch: int, max_patches: int) -> tuple[int, int]:
    """SigLIP 2 NaFlex's target size: the largest scale (found by bisection to 1e-5, as
    transformers searches it) at which both sides, rounded up to whole patches, cut into at most
    ``max_patches`` patches; at least one patch a side."""

    def side(scale: float, size: int) -> int:
        return max(patch, math.ceil(size * scale / patch) * patch)

    low, high = 1e-6, 100.0
    while high - low >= 1e-5:
        middle = (low + high) / 2
        if (side(middle, height) // patch) * (side(middle, width) // patch) <= max_patches:
            low = middle
        else:
            high = middle
    return side(low, height), side(low, width)


def naflex_resize(image: Image.Image, config: PreprocessConfig) -> Image.Image:
    """``image`` resized to its NaFlex size (aspect ratio kept, whole patches)."""
    height, width = naflex_size(image.height, image.width, config.patch_size, config.max_patches)
    if (width, height) == image.size:
        return image
    return image.resize((width, height), resample=RESAMPLE[config.interpolation])


def naflex_patches(pixels: np.ndarray, config: PreprocessConfig) -> np.ndarray:
    """Normalised (3, H, W) pixels -> (1 + max_patches, 3 * p * p): a header row with the patch
    grid's height and width, then each patch's pixels row by row (row, column, channel, as
    transformers orders them), zero rows after the last patch."""
    patch = config.patch_size
    channels, height, width = pixels.shape
    rows, columns = height // patch, width // patch
    patches = pixels.reshape(channels, rows, patch, columns, patch).transpose(1, 3, 2, 4, 0)
    out = np.zeros(config.pixel_shape, dtype=np.float32)
    out[0, :2] = (rows, columns)
    out[1 : 1 + rows * columns] = patches.reshape(rows * columns, -1)
    return out


def naflex_inputs(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A batch of :func:`naflex_patches` arrays, (B, 1 + N, P) -> the model's pixel values
    (B, N, P), attention mask (B, N) and patch grid shapes (B, 2)."""
    shapes = pixels[:, 0, :2].astype(np.int64)
    values = np.ascontiguousarray(pixels[:, 1:])
    mask = (np.arange(values.shape[1])[None, :] < (shapes[:, 0] * shapes[:, 1])[:, None]).astype(np.int64)
    return values, mask, shapes


class ImagePreprocessor:
    """Turns one image input into the (3, S, S) float32 array a checkpoint expects.

    ``draft`` (default 1): large JPEGs are decoded at a reduced scale (libjpeg's DCT scaling)
    whose shorter side is at least ``draft`` x the resize target, then resized as usual; 0 decodes
    at full size, which reproduces transformers' pixels exactly. On 1800x2400 catalogue photos
    draft=1 decodes at 1/8 scale, 27% faster than draft=2's 1/4, at a mean pixel difference of
    0.8/255 and embedding cosine 0.99999 to a full decode (``benchmarks/speed.py --decode``).
    """

    def __init__(self, config: PreprocessConfig, limits: ImageLimits = ImageLimits(), draft: int = 1) -> None:
        if isinstance(draft, bool) or not isinstance(draft, int) or draft < 0:
            raise ValueError(f"draft must be a non-negative integer, got {draft!r}")
        self.config = config
        self.limits = limits
        self.draft = draft
        std = np.asarray(config.std, dtype=np.float32)
        # (x/255 - mean) / std == x * scale - offset, done in one pass over uint8 pixels
        self._scale = (1.0 / (255.0 * std)).reshape(1, 1, 3)
        self._offset = (np.asarray(config.mean, dtype=np.float32) / std).reshape(1, 1, 3)

    def __call__(self, item: ImageInput) -> np.ndarray:
        min_side = self.draft * max(self.config.resize, self.config.image_size) if self.draft else None
        return self.pixels(load_image(item, self.limits, min_side))

    def pixels(self, image: Image.Image) -> np.ndarray:
        """Normalised pixels of an RGB image, channels first (NaFlex: as patches,
        :attr:`PreprocessConfig.pixel_shape`)."""
        if self.config.resize_mode == "naflex":
            return naflex_patches(self.normalize(naflex_resize(image, self.config)), self.config)
        return self.normalize(resize_and_crop(image, self.config))

    def normalize(self, image: Image.Image) -> np.ndarray:
        """An RGB image already at the model's size -> normalised (3, S, S) float32."""
        array = np.asarray(image, dtype=np.float32)  # (S, S, 3)
        array = array * self._scale - self._offset
        return np.ascontiguousarray(array.transpose(2, 0, 1))

"""Images at the HTTP boundary: client images only as bytes, product images only from their folders."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image

from fashionclip.preprocess.image import ImageLimits
from fashionclip.server.config import ServerConfig
from fashionclip.server.errors import ApiError
from fashionclip.server.images import ImageFolders, check_image, image_bytes


def _jpeg(size: tuple[int, int] = (20, 10)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 200, 10)).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_base64_and_data_urls_decode_to_the_same_bytes() -> None:
    data = _jpeg()
    text = base64.b64encode(data).decode()
    assert text.startswith("/9j/")  # a JPEG's base64 looks like an absolute path, and is no path
    assert image_bytes(text, ServerConfig()) == data
    assert image_bytes("data:image/jpeg;base64," + text, ServerConfig()) == data
    assert check_image(data, ServerConfig()) == data


@pytest.mark.parametrize(
    ("ref", "code"),
    [
        ("", "bad_image"),
        ("/etc/passwd", "bad_image"),
        ("file:///etc/passwd", "bad_image"),
        ("http://example.com/a.jpg", "url_refused"),
        ("@@@@", "bad_image"),
    ],
)
def test_refused_references(ref: str, code: str) -> None:
    with pytest.raises(ApiError) as caught:
        image_bytes(ref, ServerConfig())
    assert caught.value.code == code


def test_oversized_base64_is_refused_before_decoding() -> None:
    with pytest.raises(ApiError) as caught:
        image_bytes("A" * 5000, ServerConfig(max_upload_bytes=1000))
    assert caught.value.status == 413


@pytest.mark.parametrize(("data", "status"), [(b"", 400), (b"GIF89a broken", 415), (b"text", 415)])
def test_check_image_refuses_what_is_not_an_image(data: bytes, status: int) -> None:
    with pytest.raises(ApiError) as caught:
        check_image(data, ServerConfig())
    assert caught.value.status == status


def test_check_image_refuses_too_many_pixels_from_the_header() -> None:
    with pytest.raises(ApiError, match="20x10 is over the limit of 100 pixels"):
        check_image(_jpeg((20, 10)), ServerConfig(limits=ImageLimits(max_pixels=100)))


def test_check_image_accepts_only_the_formats_of_the_limits() -> None:
    only_png = ServerConfig(limits=ImageLimits(formats=("PNG",)))
    with pytest.raises(ApiError, match=r"not a readable image \(PNG are accepted\)") as caught:
        check_image(_jpeg(), only_png)
    assert caught.value.status == 415


def test_image_folders_serve_inside_and_refuse_escapes(tmp_path: Path) -> None:
    shop, secret = tmp_path / "shop", tmp_path / "secret"
    shop.mkdir()
    secret.mkdir()
    (shop / "a.jpg").write_bytes(_jpeg())
    (secret / "key.txt").write_text("private")
    (shop / "escape.jpg").symlink_to(secret / "key.txt")
    folders = ImageFolders([shop])
    assert folders.roots == [shop.resolve()]
    assert folders.resolve(str(shop / "a.jpg")) == (shop / "a.jpg").resolve()
    assert folders.resolve(str(shop / "escape.jpg")) is None  # a symlink out of the folder
    assert folders.resolve(str(shop / ".." / "secret" / "key.txt")) is None
    assert folders.resolve(str(shop / "missing.jpg")) is None

import io
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from fashionclip.config import PreprocessConfig
from fashionclip.errors import ImageLoadError, ImageTooLargeError
from fashionclip.preprocess.image import ImageLimits, ImagePreprocessor, load_image, resize_and_crop

try:
    from transformers import CLIPImageProcessorPil as ReferenceProcessor
except ImportError:  # transformers 4.x: the default processor is the PIL one
    from transformers import CLIPImageProcessor as ReferenceProcessor


def _reference(image: Image.Image, size: int = 224, crop: int = 224) -> np.ndarray:
    processor = ReferenceProcessor(size={"shortest_edge": size}, crop_size={"height": crop, "width": crop})
    return processor(images=image, return_tensors="np")["pixel_values"][0]


def test_real_photos_match_the_transformers_pil_processor(sample_images):
    ours = ImagePreprocessor(PreprocessConfig())
    for path in sample_images:
        expected = _reference(Image.open(path))
        got = ours(path)
        assert got.shape == (3, 224, 224) and got.dtype == np.float32
        assert np.abs(got - expected).max() < 1e-5, path


@pytest.mark.parametrize(
    "size, resize, crop",
    [
        ((217, 301), 224, 224),  # portrait, odd margins
        ((640, 427), 224, 224),  # landscape
        ((224, 224), 224, 224),  # already the right size
        ((100, 150), 224, 224),  # upscaling
        ((61, 80), 32, 32),  # tiny model sizes
        ((300, 300), 200, 224),  # crop larger than the resized image: black padding
        ((1800, 2400), 224, 224),  # full-size catalogue photo
    ],
)
def test_size_arithmetic_matches_reference(photo_rgb, size, resize, crop):
    image = photo_rgb.resize(size)
    config = PreprocessConfig(image_size=crop, resize=resize)
    got = ImagePreprocessor(config).pixels(image)
    expected = _reference(image, resize, crop)
    assert got.shape == expected.shape == (3, crop, crop)
    assert np.abs(got - expected).max() < 1e-5


def test_squash_mode_resizes_to_a_square_without_cropping(photo_rgb):
    config = PreprocessConfig(resize_mode="squash", mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    got = ImagePreprocessor(config).pixels(photo_rgb)
    expected = np.asarray(photo_rgb.resize((224, 224), Image.Resampling.BICUBIC), np.float32) / 127.5 - 1.0
    np.testing.assert_allclose(got, expected.transpose(2, 0, 1), atol=1e-5)


def test_round_crop_offset_is_torchvision_style():
    image = Image.new("RGB", (224, 299))  # 75 spare rows: floor -> 37, round -> 38 (banker's rounding of 37.5)
    floor = resize_and_crop(image, PreprocessConfig())
    rounded = resize_and_crop(image, replace(PreprocessConfig(), crop_offset="round"))
    assert floor.size == rounded.size == (224, 224)
    marker = np.zeros((299, 224, 3), np.uint8)
    marker[37] = 255
    marked = Image.fromarray(marker)
    assert np.asarray(resize_and_crop(marked, PreprocessConfig()))[0].max() == 255
    assert np.asarray(resize_and_crop(marked, replace(PreprocessConfig(), crop_offset="round")))[0].max() == 0


def _rgb_of(image: Image.Image) -> np.ndarray:
    return np.asarray(load_image(image))


def test_transparency_is_composited_on_white():
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    assert (_rgb_of(rgba) == 255).all()
    half = Image.new("RGBA", (4, 4), (0, 0, 0, 128))
    assert abs(int(_rgb_of(half)[0, 0, 0]) - 127) <= 1
    assert (_rgb_of(Image.new("LA", (4, 4), (0, 0))) == 255).all()
    palette = Image.new("P", (4, 4), 0)
    palette.putpalette([0, 0, 0] * 256)
    palette.info["transparency"] = 0
    assert (_rgb_of(palette) == 255).all()


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "1", "YCbCr", "I", "F", "I;16", "RGBA", "LA", "HSV"])
def test_every_mode_becomes_rgb(mode, photo_rgb):
    image = photo_rgb.convert("L").convert("I;16") if mode == "I;16" else photo_rgb.convert(mode)
    rgb = load_image(image)
    assert rgb.mode == "RGB" and rgb.size == photo_rgb.size


def test_sixteen_bit_greyscale_is_rescaled_not_clipped(tmp_path):
    values = np.array([[0, 32896, 65535]], dtype=np.uint16)
    path = tmp_path / "grey16.png"
    Image.fromarray(values).save(path)
    rgb = np.asarray(load_image(path))
    assert rgb[0, :, 0].tolist() == [0, 128, 255]


def test_exif_orientation_is_applied(tmp_path, photo_rgb):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90 degrees clockwise to view
    path = tmp_path / "phone.jpg"
    photo_rgb.save(path, exif=exif.tobytes(), quality=95)
    upright = load_image(path)
    assert upright.size == (photo_rgb.height, photo_rgb.width)


def test_cmyk_jpeg_bytes_load(photo_rgb):
    buffer = io.BytesIO()
    photo_rgb.convert("CMYK").save(buffer, "JPEG")
    assert load_image(buffer.getvalue()).mode == "RGB"


def test_byte_string_paths_are_refused():
    with pytest.raises(ImageLoadError, match="byte-string"):
        load_image(_BytesPath())


class _BytesPath:
    def __fspath__(self) -> bytes:
        return b"/tmp/x.jpg"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"image_size": 0}, "positive"),
        ({"resize_mode": "stretch"}, "resize_mode"),
        ({"interpolation": "cubic"}, "interpolation"),
        ({"std": (0.5, 0.0, 0.5)}, "std"),
        ({"context_length": 1}, "context_length"),
        ({"crop_offset": "ceil"}, "crop_offset"),
    ],
)
def test_invalid_preprocess_configs_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PreprocessConfig(**kwargs)


def test_hf_processor_json_overrides_sizes_and_stats():
    config = PreprocessConfig().with_hf_processor(
        {
            "size": {"shortest_edge": 256},
            "crop_size": {"height": 240, "width": 240},
            "image_mean": [0.5, 0.5, 0.5],
            "image_std": [0.25, 0.25, 0.25],
            "resample": 2,
        }
    )
    assert (config.resize, config.image_size, config.interpolation) == (256, 240, "bilinear")
    assert config.mean == (0.5, 0.5, 0.5) and config.std == (0.25, 0.25, 0.25)
    legacy = PreprocessConfig().with_hf_processor({"size": 288, "crop_size": 288})
    assert (legacy.resize, legacy.image_size) == (288, 288)
    siglip = PreprocessConfig().with_hf_processor({"size": {"height": 384, "width": 384}})
    assert (siglip.resize_mode, siglip.resize, siglip.image_size) == ("squash", 384, 384)
    with pytest.raises(ValueError, match="non-square"):
        PreprocessConfig().with_hf_processor({"size": {"height": 384, "width": 200}})


def test_read_image_bytes_returns_the_file_and_names_what_is_wrong(tmp_path):
    from fashionclip.preprocess.image import read_image_bytes

    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"\xff\xd8 any bytes")
    assert read_image_bytes(photo) == read_image_bytes(f"file://{photo}") == b"\xff\xd8 any bytes"
    with pytest.raises(ImageLoadError, match="missing.jpg: file not found"):
        read_image_bytes(tmp_path / "missing.jpg")
    with pytest.raises(ImageLoadError, match="is a directory"):
        read_image_bytes(tmp_path)
    with pytest.raises(ImageLoadError, match="empty path"):
        read_image_bytes("  ")
    with pytest.raises(ImageTooLargeError, match="more than 4 bytes"):
        read_image_bytes(photo, ImageLimits(max_bytes=4))


@pytest.fixture()
def large_jpeg(tmp_path):
    """A 1200x1600 photo-like JPEG: smooth gradients and some texture."""
    y, x = np.mgrid[0:1600, 0:1200]
    texture = (np.sin(x / 7.0) * np.cos(y / 11.0) * 40).astype(np.int64)
    array = np.stack([(x * 255 // 1199 + texture) % 256, (y * 255 // 1599), ((x + y) // 11) % 256], axis=-1)
    path = tmp_path / "large.jpg"
    Image.fromarray(array.astype(np.uint8), "RGB").save(path, quality=92)
    return path


def test_draft_decoding_is_faithful_and_engaged(large_jpeg):
    config = PreprocessConfig()
    exact = ImagePreprocessor(config, draft=0)(large_jpeg)
    std = np.asarray(config.std, dtype=np.float32)[:, None, None] * 255  # back to 0-255 units
    # the default, draft=1 (a shorter side of at least 224 decoded): under one grey level on average
    # (0.78 on the catalogue's 1800x2400 photos, at embedding cosine 0.99999: benchmarks/speed.py)
    assert ImagePreprocessor(config).draft == 1
    assert (np.abs(ImagePreprocessor(config)(large_jpeg) - exact) * std).mean() < 1.0
    # draft=2 (at least 448): a fraction of one grey level
    assert (np.abs(ImagePreprocessor(config, draft=2)(large_jpeg) - exact) * std).mean() < 0.5
    assert load_image(large_jpeg, min_side=448).size == (600, 800)  # decoded at half scale (1200 / 448 < 4)
    assert load_image(large_jpeg, min_side=224).size == (300, 400)  # a quarter
    assert load_image(large_jpeg).size == (1200, 1600)


def test_draft_leaves_small_and_non_jpeg_images_alone(tmp_path, photo_rgb):
    photo_rgb.save(tmp_path / "p.png")
    assert load_image(tmp_path / "p.png", min_side=10).size == photo_rgb.size
    photo_rgb.save(tmp_path / "p.jpg")
    assert load_image(tmp_path / "p.jpg", min_side=448).size == photo_rgb.size  # smaller than asked: full size


@pytest.mark.parametrize("draft", [-1, 1.5, True])
def test_bad_draft_factors_are_refused(draft):
    with pytest.raises(ValueError, match="draft must be a non-negative integer"):
        ImagePreprocessor(PreprocessConfig(), draft=draft)


EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nnewpath 0 0 moveto 8 8 lineto stroke\nshowpage\n"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"])
def test_each_allowed_format_loads_from_bytes_and_from_a_file(fmt, tmp_path, photo_rgb):
    from fashionclip.preprocess.image import sniff_format

    buffer = io.BytesIO()
    photo_rgb.resize((40, 30)).save(buffer, format=fmt)
    data = buffer.getvalue()
    assert sniff_format(data[:16]) == fmt
    (tmp_path / "photo.img").write_bytes(data)  # the name says nothing: the bytes decide
    for item in (data, tmp_path / "photo.img"):
        assert load_image(item).size == (40, 30)


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (EPS, "EPS (Pillow would run Ghostscript)"),
        (b"\xc5\xd0\xd3\xc6" + b"\x00" * 28, "binary EPS"),
        (b"8BPS\x00\x01" + b"\x00" * 26, "Photoshop"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "SVG"),
        (b"P6\n2 2\n255\n" + b"\x00" * 12, "PPM"),
        (b"\x00\x00\x01\x00\x01\x00" + b"\x00" * 26, "ICO"),
        (b"hello world", "text"),
    ],
)
def test_other_formats_are_refused_from_their_signature_before_pillow_opens_them(data, what, tmp_path, monkeypatch):
    opened = []
    monkeypatch.setattr(Image, "open", lambda *a, **k: opened.append(a) or pytest.fail("Pillow opened it"))
    (tmp_path / "x.jpg").write_bytes(data)
    for item in (data, tmp_path / "x.jpg"):
        with pytest.raises(ImageLoadError, match="not a recognised image format: JPEG, PNG, WEBP, GIF, BMP, TIFF"):
            load_image(item)
    assert not opened, what


def test_the_allowed_formats_can_be_narrowed_but_not_widened(photo_rgb):
    buffer = io.BytesIO()
    photo_rgb.save(buffer, format="PNG")
    with pytest.raises(ImageLoadError, match="JPEG are accepted"):
        load_image(buffer.getvalue(), ImageLimits(formats=("JPEG",)))
    for formats in (("EPS",), (), ("JPEG", "PSD")):
        with pytest.raises(ValueError, match="formats must be a non-empty subset"):
            ImageLimits(formats=formats)

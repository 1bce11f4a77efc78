from pathlib import Path

import pytest

import fashionclip
from fashionclip.errors import ModelNotAvailableError, UnknownModelError
from fashionclip.loading import resolve
from fashionclip.registry import BUNDLED_MODEL, DEFAULT_MODEL, get_spec


def test_registry_lists_the_required_checkpoints_with_licenses():
    specs = {spec.name: spec for spec in fashionclip.list_models()}
    # The default must run offline on a fresh install: it is the model shipped in the package.
    assert DEFAULT_MODEL == BUNDLED_MODEL == "fashion-clip-mini"
    assert specs[DEFAULT_MODEL].source == "package:models/fashion-clip-mini"
    assert specs["fashion-clip"].source == "hf-hub:patrickjohncyh/fashion-clip"
    assert specs["fashion-clip"].license == "MIT"
    assert specs["openai-clip-vit-b-32"].source == "hf-hub:openai/clip-vit-base-patch32"
    assert specs["laion-clip-vit-b-32"].source == "hf-hub:laion/CLIP-ViT-B-32-laion2B-s34B-b79K"
    assert specs["marqo-fashion-clip"].format == "open_clip"
    assert specs["marqo-fashion-siglip"].license == "Apache-2.0"
    assert specs["marqo-fashion-siglip"].preprocess.resize_mode == "squash"
    # the families beyond CLIP (issue 24): each with its license and languages
    families = {
        "chinese-clip-vit-b-16": ("hf-hub:OFA-Sys/chinese-clip-vit-base-patch16", "MIT", "zh"),
        "chinese-clip-vit-l-14": ("hf-hub:OFA-Sys/chinese-clip-vit-large-patch14", "MIT", "zh"),
        "siglip2-base": ("hf-hub:google/siglip2-base-patch16-224", "Apache-2.0", "multilingual"),
        "siglip2-base-naflex": ("hf-hub:google/siglip2-base-patch16-naflex", "Apache-2.0", "multilingual"),
        "siglip-base-multilingual": (
            "hf-hub:google/siglip-base-patch16-256-multilingual",
            "Apache-2.0",
            "multilingual",
        ),
        "altclip": ("hf-hub:BAAI/AltCLIP", "CreativeML OpenRAIL-M", "zh+en"),
        "marqo-ecommerce-b": ("hf-hub:Marqo/marqo-ecommerce-embeddings-B", "Apache-2.0", "en"),
        "marqo-ecommerce-l": ("hf-hub:Marqo/marqo-ecommerce-embeddings-L", "Apache-2.0", "en"),
    }
    for name, (source, license, languages) in families.items():
        assert (specs[name].source, specs[name].license, specs[name].languages) == (source, license, languages)
    assert specs["siglip2-base-naflex"].preprocess.pixel_shape == (257, 768)
    for spec in specs.values():
        assert spec.preprocess.image_size > 0 and spec.preprocess.context_length > 0
        assert "{}" in spec.prompt_template


def test_resolve_registry_name_and_hub_ids():
    assert resolve("fashion-clip").hub_id == "patrickjohncyh/fashion-clip"
    assert resolve("hf-hub:org/some-clip").hub_id == "org/some-clip"
    assert resolve("org/some-clip").hub_id == "org/some-clip"
    assert get_spec("no-such-model") is None


def test_resolve_local_directories(tmp_path: Path):
    assert resolve(str(tmp_path)).path == tmp_path
    assert resolve(f"local-dir:{tmp_path}").path == tmp_path


@pytest.mark.parametrize("name", ["no-such-model", "", "   ", "a/b/c"])
def test_unknown_names_raise_a_clear_error(name):
    with pytest.raises(UnknownModelError) as info:
        resolve(name)
    assert "model" in str(info.value)


def test_missing_local_dir_raises(tmp_path: Path):
    with pytest.raises(ModelNotAvailableError, match="does not exist"):
        resolve(f"local-dir:{tmp_path / 'missing'}")


def test_non_string_name_raises():
    with pytest.raises(UnknownModelError):
        resolve(None)  # type: ignore[arg-type]

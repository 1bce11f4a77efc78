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

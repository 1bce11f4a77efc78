import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import fashionclip
from fashionclip.errors import ModelNotAvailableError, UnknownModelError


@pytest.fixture()
def no_open_clip(monkeypatch):
    """Make ``import open_clip`` fail, as on a machine without the openclip extra."""
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "open_clip" or name.startswith("open_clip."):
            raise ImportError("No module named 'open_clip'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)


def test_loads_a_local_directory_by_path_and_prefix(tiny_checkpoint: Path):
    for name in (str(tiny_checkpoint), f"local-dir:{tiny_checkpoint}"):
        encoder = fashionclip.load_model(name)
        assert encoder.embedding_dim == 16
        assert encoder.preprocess.image_size == 32
        assert encoder.preprocess.context_length == 77
        assert encoder.device == "cpu"


def test_encoder_exposes_name_license_and_checkpoint_logit_scale(tiny_checkpoint: Path):
    from transformers import CLIPModel

    encoder = fashionclip.load_model(str(tiny_checkpoint))
    reference = CLIPModel.from_pretrained(tiny_checkpoint)
    assert encoder.name == str(tiny_checkpoint)
    assert encoder.license.startswith("unknown")
    assert encoder.logit_scale == pytest.approx(float(reference.logit_scale.detach().exp()))


def test_one_default_model_that_needs_no_hub():
    assert fashionclip.DEFAULT_MODEL == "fashion-clip-mini"
    assert fashionclip.load_model(backend="torch", precision="fp32").name == "fashion-clip-mini"


def test_fashion_clip_resolves_through_the_offline_hf_cache(fake_fashion_clip_cache: Path):
    encoder = fashionclip.load_model("fashion-clip")  # -> patrickjohncyh/fashion-clip in the cache
    assert encoder.name == "fashion-clip"
    assert encoder.license == "MIT"
    assert encoder.embedding_dim == 16
    assert encoder.encode_texts("a red dress").shape == (16,)
    # the same checkpoint by its hub id and with the explicit scheme
    assert fashionclip.load_model("hf-hub:patrickjohncyh/fashion-clip").embedding_dim == 16


def test_uncached_model_offline_raises_one_clear_error():
    with pytest.raises(ModelNotAvailableError) as info:
        fashionclip.load_model("openai-clip-vit-b-32")
    message = str(info.value)
    assert "openai-clip-vit-b-32" in message and "openai/clip-vit-base-patch32" in message
    assert "HF_HUB_OFFLINE" in message and "`hf download openai/clip-vit-base-patch32`" in message
    assert info.value.__cause__ is None  # no chained stack trace from inside the hub client


def test_unknown_hub_id_offline_is_not_available():
    with pytest.raises(ModelNotAvailableError, match="someone/unknown-clip"):
        fashionclip.load_model("someone/unknown-clip")


def test_directory_without_config_is_refused(tmp_path: Path):
    with pytest.raises(ModelNotAvailableError, match="no config.json"):
        fashionclip.load_model(str(tmp_path))


def test_directory_without_weights_is_refused(tmp_path: Path, tiny_checkpoint: Path):
    shutil.copy(tiny_checkpoint / "config.json", tmp_path / "config.json")
    with pytest.raises(ModelNotAvailableError, match="no weights"):
        fashionclip.load_model(str(tmp_path))


def test_corrupt_weights_are_refused(tmp_path: Path, tiny_checkpoint: Path):
    shutil.copytree(tiny_checkpoint, tmp_path / "ckpt")
    (tmp_path / "ckpt" / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(ModelNotAvailableError, match="cannot load weights"):
        fashionclip.load_model(str(tmp_path / "ckpt"))


def test_non_clip_checkpoint_is_refused(tmp_path: Path, tiny_checkpoint: Path):
    shutil.copytree(tiny_checkpoint, tmp_path / "ckpt")
    config = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    config["model_type"] = "bert"
    (tmp_path / "ckpt" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelNotAvailableError, match="'bert'"):
        fashionclip.load_model(str(tmp_path / "ckpt"))


def test_checkpoint_without_tokenizer_files_uses_bundled_clip_bpe(tmp_path: Path, tiny_checkpoint: Path):
    shutil.copytree(tiny_checkpoint, tmp_path / "ckpt")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (tmp_path / "ckpt" / name).unlink()
    bare = fashionclip.load_model(str(tmp_path / "ckpt"), backend="torch", precision="fp32")
    full = fashionclip.load_model(str(tiny_checkpoint), backend="torch", precision="fp32")
    texts = ["a photo of a red dress", "navy blue slim fit jeans", ""]
    np.testing.assert_allclose(bare.encode_texts(texts), full.encode_texts(texts), atol=1e-6)


@pytest.mark.parametrize(
    ("dtype", "precision"), [("bf16", "bf16-weights"), (torch.bfloat16, "bf16-weights"), ("float32", "fp32")]
)
def test_dtype_is_a_deprecated_spelling_that_still_casts_the_weights(tiny_checkpoint: Path, dtype, precision):
    with pytest.warns(DeprecationWarning, match="use precision="):
        encoder = fashionclip.load_model(str(tiny_checkpoint), dtype=dtype)
    assert encoder.backend.precision == precision
    vector = encoder.encode_texts("black leather boots")
    assert vector.dtype == np.float32 and np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


def test_one_precision_vocabulary():
    from fashionclip import config, loading

    assert loading.PRECISIONS is config.PRECISIONS == ("fp32", "bf16", "fp16", "int8")


@pytest.mark.filterwarnings("ignore:load_model\\(dtype=:DeprecationWarning")
def test_bad_dtype_and_device_raise_value_errors(tiny_checkpoint: Path):
    with pytest.raises(ValueError, match="dtype"):
        fashionclip.load_model(str(tiny_checkpoint), dtype="int3")
    with pytest.raises(ValueError, match="device"):
        fashionclip.load_model(str(tiny_checkpoint), device="toaster")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            fashionclip.load_model(str(tiny_checkpoint), device="cuda")


def test_open_clip_checkpoint_without_the_extra_names_the_pip_command(tmp_path: Path, no_open_clip):
    (tmp_path / "open_clip_config.json").write_text(json.dumps({"model_cfg": {}}))
    with pytest.raises(fashionclip.MissingExtraError, match=r"pip install 'fashionclip\[openclip\]'"):
        fashionclip.load_model(str(tmp_path))


def test_unknown_model_error_is_a_key_error_with_a_readable_message():
    with pytest.raises(KeyError) as info:
        fashionclip.load_model("definitely not a model")
    assert isinstance(info.value, UnknownModelError)
    assert str(info.value).startswith("unknown model")


def test_loaded_spec_reports_the_checkpoints_real_dimension(fake_fashion_clip_cache: Path):
    encoder = fashionclip.load_model("fashion-clip")
    assert encoder.spec.embedding_dim == encoder.embedding_dim == 16  # tiny weights, not the registry's 512


def test_folder_with_open_clip_config_and_a_custom_hf_config_goes_to_open_clip(tmp_path: Path, no_open_clip):
    (tmp_path / "open_clip_config.json").write_text(json.dumps({"model_cfg": {}}))
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "marqo_fashion_clip"}))
    with pytest.raises(fashionclip.MissingExtraError, match="open_clip"):
        fashionclip.load_model(str(tmp_path))


def test_a_misspelt_model_name_gets_a_suggestion():
    with pytest.raises(UnknownModelError, match="did you mean 'fashion-clip-mini'"):
        fashionclip.load_model("fashion-clip-mni")


def test_the_license_of_a_local_checkpoint_is_read_from_its_card(tmp_path, tiny_checkpoint):
    shutil.copytree(tiny_checkpoint, tmp_path / "ckpt")
    (tmp_path / "ckpt" / "README.md").write_text("---\nlicense: mit\ntags: [clip]\n---\n# my model\n")
    assert fashionclip.load_model(str(tmp_path / "ckpt"), backend="torch", precision="fp32").license == "MIT"
    (tmp_path / "ckpt" / "README.md").write_text("# no front matter\nlicense: mit\n")
    assert fashionclip.load_model(str(tmp_path / "ckpt"), backend="torch", precision="fp32").license.startswith(
        "unknown"
    )

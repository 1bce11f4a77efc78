"""``convert_easynlp`` against EasyNLP's own computation, on tiny random checkpoints.

The fake checkpoints are written as EasyNLP writes its folders (easynlp/appzoo/clip/model.py):
config.json holds the constructor arguments of OPEN_CLIP / CHINESE_CLIP plus ``model_type``;
pytorch_model.bin is CLIPApp's state dict (``open_clip.`` / ``chinese_clip.`` prefixes, the BERT
pooler and position-ids buffer included); vocab.txt is the gzipped OpenAI BPE or a WordPiece
list. The reference modules (``easynlp_reference.py``) compute what EasyNLP's ``encode_image`` / ``encode_text`` do,
independently of the transformers classes the converter targets.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

import fashionclip
from fashionclip.backends.torch_hf import pooled
from fashionclip.cli.main import main
from fashionclip.config import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD
from fashionclip.convert import easynlp
from fashionclip.convert.easynlp import EASYNLP_CHECKPOINTS, convert_easynlp, detect_layout
from fashionclip.errors import ModelNotAvailableError
from fashionclip.registry import get_spec
from tests.convert.easynlp_reference import (
    CHINESE,
    ENGLISH,
    OPEN_CLIP_CONFIG,
    WORDPIECES,
    ChineseClip,
    OpenClip,
    padded,
    pixels,
    unit,
    write_chinese_clip,
    write_open_clip,
)


@pytest.fixture(scope="module")
def open_clip_source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, OpenClip]:
    return write_open_clip(tmp_path_factory.mktemp("easynlp") / "pai-clip-tiny-en")


@pytest.fixture(scope="module")
def chinese_clip_source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ChineseClip]:
    return write_chinese_clip(tmp_path_factory.mktemp("easynlp") / "clip-tiny-zh")


@pytest.fixture(scope="module")
def open_clip_target(open_clip_source, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return convert_easynlp(open_clip_source[0], tmp_path_factory.mktemp("converted") / "en")


@pytest.fixture(scope="module")
def chinese_clip_target(chinese_clip_source, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return convert_easynlp(chinese_clip_source[0], tmp_path_factory.mktemp("converted") / "zh")


# --- the conversions compute what EasyNLP computes ---------------------------------------------


def test_open_clip_layout_becomes_a_clip_model_with_easynlp_embeddings(open_clip_source, open_clip_target):
    from transformers import AutoModel, AutoTokenizer

    _, reference = open_clip_source
    config = json.loads((open_clip_target / "config.json").read_text())
    assert config["model_type"] == "clip" and config["architectures"] == ["CLIPModel"]
    model = AutoModel.from_pretrained(open_clip_target).eval()
    tokenizer = AutoTokenizer.from_pretrained(open_clip_target)
    assert type(model).__name__ == "CLIPModel" and type(tokenizer).__name__.startswith("CLIPTokenizer")
    batch = tokenizer(ENGLISH, padding=True, return_tensors="pt")  # padded with EOT, to the longest
    with torch.no_grad():
        got_images = unit(pooled(model.get_image_features(pixel_values=pixels())))
        got_texts = unit(pooled(model.get_text_features(**batch)))
        want_images = unit(reference.encode_image(pixels()))
        want_texts = unit(reference.encode_text(padded(tokenizer(ENGLISH)["input_ids"], 77)))
    np.testing.assert_allclose(got_images, want_images, atol=1e-5)
    np.testing.assert_allclose(got_texts, want_texts, atol=1e-5)
    assert model.logit_scale.item() == pytest.approx(reference.logit_scale.item())


def test_open_clip_text_pools_as_easynlp_without_an_end_token(open_clip_source, open_clip_target):
    """EasyNLP truncates long texts to 77 tokens without keeping the end token, and pools at the
    highest id all the same (``text.argmax(-1)``): the start token. So must the converted model."""
    from transformers import AutoModel

    _, reference = open_clip_source
    model = AutoModel.from_pretrained(open_clip_target).eval()
    generator = torch.Generator().manual_seed(1)
    ids = torch.cat([torch.full((2, 1), 49406), torch.randint(1, 49406, (2, 76), generator=generator)], dim=1)
    with torch.no_grad():
        got = unit(pooled(model.get_text_features(input_ids=ids)))
        want = unit(reference.encode_text(ids))
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_chinese_clip_layout_becomes_a_chinese_clip_model_with_easynlp_embeddings(
    chinese_clip_source, chinese_clip_target
):
    from transformers import AutoModel, AutoTokenizer

    _, reference = chinese_clip_source
    config = json.loads((chinese_clip_target / "config.json").read_text())
    assert config["model_type"] == "chinese_clip" and config["architectures"] == ["ChineseCLIPModel"]
    model = AutoModel.from_pretrained(chinese_clip_target).eval()
    tokenizer = AutoTokenizer.from_pretrained(chinese_clip_target)
    assert type(model).__name__ == "ChineseCLIPModel" and type(tokenizer).__name__.startswith("BertTokenizer")
    # WordPiece as EasyNLP's BertTokenizer: Chinese characters one by one, English lower-cased
    assert tokenizer(CHINESE[0])["input_ids"] == [2, 5, 6, 7, 8, 9, 3]
    assert tokenizer.tokenize(CHINESE[3]) == ["long", "##er"]
    batch = tokenizer(CHINESE, padding=True, return_tensors="pt")
    with torch.no_grad():
        got_images = unit(pooled(model.get_image_features(pixel_values=pixels())))
        got_texts = unit(pooled(model.get_text_features(**batch)))
        want_images = unit(reference.encode_image(pixels()))
        # EasyNLP pads to its sequence_length (32 in its CLIP examples)
        want_texts = unit(reference.encode_text(padded(tokenizer(CHINESE)["input_ids"], 32)))
    np.testing.assert_allclose(got_images, want_images, atol=1e-5)
    np.testing.assert_allclose(got_texts, want_texts, atol=1e-5)


@pytest.mark.parametrize("layout", ["open_clip", "chinese_clip"])
def test_converted_folders_load_in_fashionclip_with_easynlp_preprocessing(layout, request):
    source, reference = request.getfixturevalue(f"{layout}_source")
    target = request.getfixturevalue(f"{layout}_target")
    encoder = fashionclip.load_model(str(target), backend="torch", precision="fp32")
    pre = encoder.preprocess
    assert (pre.image_size, pre.resize, pre.resize_mode, pre.interpolation) == (32, 32, "shortest", "bicubic")
    assert pre.mean == pytest.approx(OPENAI_CLIP_MEAN) and pre.std == pytest.approx(OPENAI_CLIP_STD)
    assert encoder.embedding_dim == 16
    np.testing.assert_allclose(
        encoder.encode_pixels(pixels().numpy()), unit(reference.encode_image(pixels())), atol=1e-5
    )
    texts = ENGLISH if layout == "open_clip" else CHINESE
    tokens = encoder.tokenizer(texts)  # fashionclip's own padding; EasyNLP's below
    rows = [row[mask.astype(bool)].tolist() for row, mask in zip(tokens.input_ids, tokens.attention_mask, strict=True)]
    with torch.no_grad():
        want = unit(reference.encode_text(padded(rows, 77 if layout == "open_clip" else 32)))
    np.testing.assert_allclose(encoder.encode_texts(texts), want, atol=1e-5)


def test_converted_folder_holds_the_files_transformers_and_fashionclip_read(open_clip_target, chinese_clip_target):
    for target in (open_clip_target, chinese_clip_target):
        names = {p.name for p in target.iterdir()}
        assert {"config.json", "model.safetensors", "preprocessor_config.json", "tokenizer_config.json"} <= names
        assert "README.md" in names and not any(n.endswith(".partial") for n in names)
    assert (chinese_clip_target / "vocab.txt").read_text(encoding="utf-8").split() == WORDPIECES
    processor = json.loads((chinese_clip_target / "preprocessor_config.json").read_text())
    assert processor["image_processor_type"] == "ChineseCLIPImageProcessor"
    assert processor["size"] == {"shortest_edge": 32} and processor["crop_size"] == {"height": 32, "width": 32}


@pytest.mark.openclip
def test_open_clip_layout_matches_open_clip_itself(tmp_path: Path):
    open_clip = pytest.importorskip("open_clip", reason="needs fashionclip[openclip]; run by scripts/test.sh")
    from transformers import AutoModel, AutoTokenizer

    # open_clip's OpenAI builder derives the heads as width // 64
    source, _ = write_open_clip(tmp_path / "src", {**OPEN_CLIP_CONFIG, "transformer_heads": 1}, seed=3)
    state = {k.removeprefix("open_clip."): v for k, v in torch.load(source / "pytorch_model.bin").items()}
    theirs = open_clip.model.build_model_from_openai_state_dict(dict(state)).float()
    theirs.load_state_dict(state)  # again in float32: the builder keeps OpenAI's fp16 weights
    theirs.eval()
    target = convert_easynlp(source, tmp_path / "hf")
    model = AutoModel.from_pretrained(target).eval()
    tokenizer = AutoTokenizer.from_pretrained(target)
    ids = open_clip.tokenize(ENGLISH)  # (B, 77) zero-padded, as EasyNLP's SimpleTokenizer
    ours = tokenizer(ENGLISH)["input_ids"]
    assert [row[row.nonzero()].flatten().tolist() for row in ids] == ours
    with torch.no_grad():
        np.testing.assert_allclose(
            unit(pooled(model.get_image_features(pixel_values=pixels(1)))),
            unit(theirs.encode_image(pixels(1))),
            atol=1e-5,
        )
        batch = tokenizer(ENGLISH, padding=True, return_tensors="pt")
        np.testing.assert_allclose(
            unit(pooled(model.get_text_features(**batch))), unit(theirs.encode_text(ids)), atol=1e-5
        )


# --- what cannot be converted, and the target's safety ----------------------------------------


def copy_of(source: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(source, tmp_path / source.name))


def edit_config(folder: Path, **changes: object) -> None:
    config = json.loads((folder / "config.json").read_text())
    config.update(changes)
    (folder / "config.json").write_text(json.dumps({k: v for k, v in config.items() if v is not None}))


def edit_weights(folder: Path, change: Callable[[dict], None]) -> None:
    state = torch.load(folder / "pytorch_model.bin")
    change(state)
    torch.save(state, folder / "pytorch_model.bin")


@pytest.mark.parametrize("name", ["config.json", "pytorch_model.bin", "vocab.txt"])
def test_a_missing_file_is_named(open_clip_source, tmp_path: Path, name: str):
    source = copy_of(open_clip_source[0], tmp_path)
    (source / name).unlink()
    with pytest.raises(ModelNotAvailableError, match=rf"{name}: missing"):
        convert_easynlp(source, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_missing_source_folder_is_named(tmp_path: Path):
    with pytest.raises(ModelNotAvailableError, match="no such folder"):
        convert_easynlp(tmp_path / "nowhere", tmp_path / "out")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("config.json", b"{not json", "config.json: not readable as JSON"),
        ("config.json", b"[1, 2]", "config.json: expected a JSON object"),
        ("pytorch_model.bin", b"truncated download", "pytorch_model.bin: cannot read the weights"),
    ],
)
def test_broken_files_are_named(open_clip_source, tmp_path: Path, name: str, content: bytes, message: str):
    source = copy_of(open_clip_source[0], tmp_path)
    (source / name).write_bytes(content)
    with pytest.raises(ModelNotAvailableError, match=message):
        convert_easynlp(source, tmp_path / "out")


def test_an_unknown_layout_is_refused(open_clip_source, tmp_path: Path):
    source = copy_of(open_clip_source[0], tmp_path)
    edit_config(source, model_type="blip")
    with pytest.raises(
        ValueError, match=rf"^{re.escape(str(source))}: config.json: unknown EasyNLP CLIP layout.*'blip'"
    ):
        convert_easynlp(source, tmp_path / "out")


def test_weights_of_another_layout_than_the_config_says_are_refused(open_clip_source, tmp_path: Path):
    source = copy_of(open_clip_source[0], tmp_path)
    edit_config(source, model_type="chinese_clip")
    with pytest.raises(ValueError, match=r"chinese_clip layout but no weight starts with chinese_clip\."):
        convert_easynlp(source, tmp_path / "out")


def test_a_hugging_face_folder_is_recognised(tiny_checkpoint: Path, tmp_path: Path):
    from safetensors.torch import load_file

    source = Path(shutil.copytree(tiny_checkpoint, tmp_path / "hf"))
    torch.save(load_file(source / "model.safetensors"), source / "pytorch_model.bin")
    (source / "vocab.txt").write_text("")
    with pytest.raises(ValueError, match="Hugging Face checkpoint already"):
        convert_easynlp(source, tmp_path / "out")


def test_the_roberta_vit_layout_is_refused_with_the_reason(tmp_path: Path):
    """EasyNLP's third layout: RoBERTa pooler + biased projections, which no transformers CLIP computes."""
    source = tmp_path / "clip_chinese_roberta_large_with_vit_large"
    source.mkdir()
    text = {"vocab_size": 21128, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2}
    vision = {"hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "patch_size": 8, "image_size": 16}
    (source / "config.json").write_text(json.dumps({"text_config": text, "vision_config": vision}))
    state = {
        "text_encoder.embeddings.word_embeddings.weight": torch.zeros(21128, 8),
        "text_encoder.pooler.dense.weight": torch.zeros(8, 8),
        "vision_encoder.vision_model.post_layernorm.weight": torch.ones(8),
        "text_projection.weight": torch.zeros(4, 8),
        "text_projection.bias": torch.zeros(4),
        "vision_projection.weight": torch.zeros(4, 8),
        "vision_projection.bias": torch.zeros(4),
        "logit_scale": torch.tensor(2.0),
    }
    torch.save(state, source / "pytorch_model.bin")
    (source / "vocab.txt").write_text("\n".join(WORDPIECES))
    assert detect_layout(json.loads((source / "config.json").read_text()), state) == "roberta_vit"
    with pytest.raises(ValueError, match="RoBERTa's pooler.*biased linear"):
        convert_easynlp(source, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_resnet_image_tower_is_refused(open_clip_source, tmp_path: Path):
    source = copy_of(open_clip_source[0], tmp_path)
    edit_config(source, vision_layers=[3, 4, 6, 3])
    with pytest.raises(ValueError, match="ModifiedResNet"):
        convert_easynlp(source, tmp_path / "out")


def test_missing_config_fields_are_named(chinese_clip_source, tmp_path: Path):
    source = copy_of(chinese_clip_source[0], tmp_path)
    edit_config(source, text_num_attention_heads=None, embed_dim=None)
    with pytest.raises(ValueError, match="needs embed_dim, text_num_attention_heads"):
        convert_easynlp(source, tmp_path / "out")


def test_missing_and_unexpected_keys_are_listed(open_clip_source, tmp_path: Path):
    source = copy_of(open_clip_source[0], tmp_path)

    def change(state: dict) -> None:
        del state["open_clip.visual.proj"], state["open_clip.transformer.resblocks.1.ln_2.bias"]
        state["open_clip.visual.transformer.resblocks.2.ln_1.weight"] = torch.ones(64)

    edit_weights(source, change)
    with pytest.raises(ValueError) as caught:
        convert_easynlp(source, tmp_path / "out")
    message = str(caught.value)
    assert "2 missing (open_clip.visual.proj, open_clip.transformer.resblocks.1.ln_2.bias)" in message
    assert "1 unexpected (open_clip.visual.transformer.resblocks.2.ln_1.weight)" in message
    assert not (tmp_path / "out").exists()


def test_weights_of_other_sizes_than_the_config_are_named(open_clip_source, tmp_path: Path):
    source = copy_of(open_clip_source[0], tmp_path)
    edit_config(source, embed_dim=24)
    with pytest.raises(ValueError, match=r"shapes do not fit config.json: open_clip.visual.proj \(64, 16\)"):
        convert_easynlp(source, tmp_path / "out")


def test_a_chinese_clip_checkpoint_without_logit_scale_keeps_easynlp_s_initial_one(chinese_clip_source, tmp_path: Path):
    source = copy_of(chinese_clip_source[0], tmp_path)
    edit_weights(source, lambda state: state.pop("chinese_clip.logit_scale"))
    target = convert_easynlp(source, tmp_path / "out")
    from safetensors.torch import load_file

    assert float(load_file(target / "model.safetensors")["logit_scale"]) == pytest.approx(math.log(1 / 0.07))


def test_a_bpe_vocabulary_other_than_clip_s_is_refused(open_clip_source, tmp_path: Path):
    source = copy_of(open_clip_source[0], tmp_path)
    (source / "vocab.txt").write_text("#version: 0.2\nh e\nt h\n")
    with pytest.raises(ValueError, match="vocab.txt: its BPE merges are not OpenAI CLIP's"):
        convert_easynlp(source, tmp_path / "out")


def test_a_wordpiece_vocabulary_not_padding_with_id_0_is_refused(chinese_clip_source, tmp_path: Path):
    source = copy_of(chinese_clip_source[0], tmp_path)
    (source / "vocab.txt").write_text("\n".join(["[UNK]", "[PAD]", *WORDPIECES[2:]]), encoding="utf-8")
    with pytest.raises(ValueError, match=r"vocab.txt: the first token is '\[UNK\]', expected '\[PAD\]'"):
        convert_easynlp(source, tmp_path / "out")


def test_a_non_empty_target_is_never_touched(open_clip_source, tmp_path: Path):
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="already exists and is not an empty folder"):
        convert_easynlp(open_clip_source[0], target)
    assert [p.name for p in target.iterdir()] == ["notes.txt"] and (target / "notes.txt").read_text() == "keep me"
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(ValueError, match="a-file: already exists"):
        convert_easynlp(open_clip_source[0], tmp_path / "a-file")


def test_an_empty_target_folder_and_missing_parents_are_fine(open_clip_source, tmp_path: Path):
    (tmp_path / "empty").mkdir()
    assert (convert_easynlp(open_clip_source[0], tmp_path / "empty") / "model.safetensors").is_file()
    assert (convert_easynlp(open_clip_source[0], tmp_path / "a" / "b") / "config.json").is_file()


def test_a_failure_half_way_leaves_nothing_behind(open_clip_source, tmp_path: Path, monkeypatch):
    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(easynlp, "save_file", disk_full)
    parent = tmp_path / "models"
    with pytest.raises(OSError, match="No space left"):
        convert_easynlp(open_clip_source[0], parent / "en")
    assert list(parent.iterdir()) == []  # neither the target nor the folder it was being written in


def test_the_model_zoo_table_names_the_four_checkpoints():
    assert set(EASYNLP_CHECKPOINTS) == {
        "alibaba-pai/clip_chinese_roberta_base_vit_base",
        "alibaba-pai/clip_chinese_roberta_base_vit_large",
        "alibaba-pai/pai-clip-commercial-base-en",
        "alibaba-pai/pai-clip-commercial-large-en",
    }
    url = EASYNLP_CHECKPOINTS["alibaba-pai/pai-clip-commercial-base-en"]
    assert (
        url
        == "https://atp-modelzoo-sh.oss-cn-shanghai.aliyuncs.com/release/easynlp_modelzoo/alibaba-pai/pai-clip-commercial-base-en.tgz"
    )


@pytest.mark.parametrize(
    ("name", "zoo_name"),
    [
        ("pai-clip-commercial-base-en", "alibaba-pai/pai-clip-commercial-base-en"),
        ("pai-clip-commercial-large-en", "alibaba-pai/pai-clip-commercial-large-en"),
        ("pai-clip-chinese-base", "alibaba-pai/clip_chinese_roberta_base_vit_base"),
        ("pai-clip-chinese-large", "alibaba-pai/clip_chinese_roberta_base_vit_large"),
    ],
)
def test_registry_entries_say_how_to_get_each_checkpoint(name: str, zoo_name: str, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    spec = get_spec(name)
    assert spec is not None and spec.url == EASYNLP_CHECKPOINTS[zoo_name]
    assert spec.license.startswith("Apache-2.0") and spec.source.startswith("local-dir:~/.cache/fashionclip/easynlp/")
    # not converted yet: the error is the how-to
    with pytest.raises(ModelNotAvailableError) as info:
        fashionclip.load_model(name)
    message = str(info.value)
    assert spec.url in message and f"fashionclip convert easynlp {zoo_name.rpartition('/')[2]}" in message


def test_a_converted_checkpoint_loads_by_its_registry_name(open_clip_source, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    target = tmp_path / ".cache" / "fashionclip" / "easynlp" / "pai-clip-commercial-base-en"
    assert main(["convert", "easynlp", str(open_clip_source[0]), str(target)]) == 0
    encoder = fashionclip.load_model("pai-clip-commercial-base-en", backend="torch", precision="fp32")
    _, reference = open_clip_source
    np.testing.assert_allclose(
        encoder.encode_pixels(pixels().numpy()), unit(reference.encode_image(pixels())), atol=1e-5
    )


# --- the command ---------------------------------------------------------------------------------


def test_cli_converts(open_clip_source, tmp_path: Path, capsys):
    target = tmp_path / "en-hf"
    assert main(["convert", "easynlp", str(open_clip_source[0]), str(target)]) == 0
    assert f"wrote {target}" in capsys.readouterr().out
    assert (target / "model.safetensors").is_file()


@pytest.mark.parametrize("problem", ["no source", "non-empty target", "unknown layout"])
def test_cli_errors_exit_1_with_one_line(open_clip_source, tmp_path: Path, capsys, problem: str):
    source, target = open_clip_source[0], tmp_path / "out"
    if problem == "no source":
        source = tmp_path / "nowhere"
    elif problem == "non-empty target":
        target.mkdir()
        (target / "x").write_text("x")
    else:
        source = copy_of(source, tmp_path)
        edit_config(source, model_type="blip")
    assert main(["convert", "easynlp", str(source), str(target)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fashionclip convert: error: ") and err.count("\n") == 1
    assert {"no source": "nowhere", "non-empty target": "not an empty folder", "unknown layout": "blip"}[problem] in err


def test_cli_usage_errors_exit_2(capsys):
    for argv in (["convert"], ["convert", "easynlp"], ["convert", "tensorflow", "a", "b"]):
        with pytest.raises(SystemExit) as caught:
            main(argv)
        assert caught.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_cli_debug_after_the_format_shows_the_traceback(tmp_path: Path):
    with pytest.raises(ModelNotAvailableError):
        main(["convert", "easynlp", str(tmp_path / "nowhere"), str(tmp_path / "out"), "--debug"])

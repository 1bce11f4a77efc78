"""Alibaba EasyNLP CLIP checkpoints -> Hugging Face folders (``AutoModel.from_pretrained``).

EasyNLP (github.com/alibaba/EasyNLP) ships its CLIP checkpoints in its own model zoo as
``.tgz`` folders of ``config.json``, ``pytorch_model.bin`` and ``vocab.txt``.
``easynlp/appzoo/clip/model.py`` tells three layouts apart by ``config.json``:

``model_type: "open_clip"`` (``modelzoo/models/clip/modeling_openclip.py``)
    OpenAI CLIP, weights under ``open_clip.``. Text: causal transformer, ``ln_final``, the
    token with the highest id (EOT) ``@ text_projection``. Image: ViT, ``ln_post`` of the
    class token ``@ visual.proj``. Becomes a ``CLIPModel``, computing exactly that.
``model_type: "chinese_clip"`` (``modeling_chineseclip.py``, OFA-Sys Chinese-CLIP)
    A BERT/RoBERTa-wwm text tower under ``chinese_clip.bert.``, pooled at [CLS] of the last
    hidden state (not the pooler), padding = id 0 masked, ``@ text_projection``; the same ViT
    under ``chinese_clip.visual.``. Becomes a ``ChineseCLIPModel``, computing exactly that.
anything else with ``text_config`` + ``vision_config`` (``text_encoder.`` / ``vision_encoder.``)
    RoBERTa pooled by its pooler (dense + tanh) and a CLIP vision tower, each projected by an
    ``nn.Linear`` *with bias*. No transformers CLIP class computes that: refused, with why.

EasyNLP L2-normalises both towers' outputs, as fashionclip does. Its preprocessing
(``appzoo/clip/data.py``) is the same for every layout: shortest side to 224 (bicubic),
centre crop 224, OpenAI's mean and std; text by ``vocab.txt`` (gzipped OpenAI BPE merges for
open_clip, 77 tokens; a BERT WordPiece vocabulary, lower-cased, otherwise).
"""

from __future__ import annotations

import gzip
import json
import logging
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from fashionclip.config import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD
from fashionclip.errors import ModelNotAvailableError
from fashionclip.registry import EASYNLP_CHECKPOINTS

log = logging.getLogger(__name__)

# EASYNLP_CHECKPOINTS, the model zoo table, is the registry's (its entries name the same files); named here too
__all__ = ["EASYNLP_CHECKPOINTS", "LAYOUTS", "convert_easynlp", "detect_layout"]

LAYOUTS = ("open_clip", "chinese_clip", "roberta_vit")
_PREFIXES = {"open_clip": ("open_clip.",), "chinese_clip": ("chinese_clip.",)}
_PREFIXES["roberta_vit"] = ("text_encoder.", "vision_encoder.")

# the keyword arguments EasyNLP's OPEN_CLIP and CHINESE_CLIP are built from (config.json minus model_type)
_VISION_FIELDS = ("embed_dim", "image_resolution", "vision_layers", "vision_width", "vision_patch_size")
_OPEN_CLIP_FIELDS = (
    *_VISION_FIELDS,
    *("context_length", "vocab_size", "transformer_width", "transformer_heads", "transformer_layers"),
)
_CHINESE_CLIP_FIELDS = (
    *_VISION_FIELDS,
    "vocab_size",
    *("text_attention_probs_dropout_prob", "text_hidden_act", "text_hidden_dropout_prob", "text_hidden_size"),
    *("text_initializer_range", "text_intermediate_size", "text_max_position_embeddings"),
    *("text_num_attention_heads", "text_num_hidden_layers", "text_type_vocab_size"),
)
# in the checkpoint, not used by EasyNLP's encode_text: BERT's pooler and its position-ids buffer
_CHINESE_CLIP_UNUSED = ("bert.pooler.dense.weight", "bert.pooler.dense.bias", "bert.embeddings.position_ids")

Tensor = torch.Tensor
# (transformers key, key in the checkpoint without its prefix, how the tensor changes)
Rule = tuple[str, str, Callable[[Tensor], Tensor]]


@dataclass(frozen=True)
class _Converted:
    """One checkpoint mapped in memory, ready to be written."""

    layout: str
    config: Any  # a transformers CLIPConfig / ChineseCLIPConfig
    tensors: dict[str, Tensor]
    image_size: int
    processor_class: str
    write_tokenizer: Callable[[Path], None]


def convert_easynlp(source: str | Path, target: str | Path) -> Path:
    """Convert the EasyNLP CLIP checkpoint folder ``source`` into a new Hugging Face folder
    ``target`` (config.json, model.safetensors, tokenizer and preprocessor files) and return it.

    ``target`` must not exist or be an empty folder; it appears only once complete (written
    beside it, then renamed). Raises :class:`ModelNotAvailableError` for missing or unreadable
    files and ValueError for a layout, key set or target that cannot be converted.
    """
    source, target = Path(source).expanduser(), Path(target).expanduser()
    _check_target(target)
    config, state = _read_source(source)
    try:
        layout = detect_layout(config, state)
        if layout == "roberta_vit":
            raise ValueError(
                "config.json: the RoBERTa + ViT layout (text_encoder. / vision_encoder. weights) pools text "
                "with RoBERTa's pooler (dense + tanh) and projects both towers with biased linear layers; no "
                "transformers CLIP class computes that (CLIPModel and ChineseCLIPModel project without bias, "
                "ChineseCLIP pools [CLS] without the pooler), so it is not converted rather than converted wrong"
            )
        converted = (_open_clip if layout == "open_clip" else _chinese_clip)(source, config, state)
    except ValueError as exc:  # the messages name a file of the folder; say which folder
        raise ValueError(f"{source}: {exc}") from None
    _write_atomically(converted, source, target)
    return target


def detect_layout(config: Mapping[str, Any], keys: Iterable[str]) -> str:
    """The EasyNLP layout of a checkpoint (one of :data:`LAYOUTS`), decided as EasyNLP does from
    ``config.json``'s ``model_type`` and checked against the weights' key prefixes."""
    keys = list(keys)
    model_type = config.get("model_type")
    if model_type in ("open_clip", "chinese_clip"):
        layout = str(model_type)
    elif "text_config" in config and "vision_config" in config:
        layout = "roberta_vit"
    else:
        raise ValueError(
            f"config.json: unknown EasyNLP CLIP layout (model_type {model_type!r}); EasyNLP's are "
            "model_type 'open_clip', model_type 'chinese_clip', or text_config + vision_config (RoBERTa + ViT)"
        )
    prefixes = _PREFIXES[layout]
    if not any(key.startswith(prefixes) for key in keys):
        hint = ""
        if any(key.startswith(("text_model.", "vision_model.")) for key in keys):
            hint = "; it looks like a Hugging Face checkpoint already: load it directly"
        raise ValueError(
            f"pytorch_model.bin: config.json says the {layout} layout but no weight starts with "
            f"{' or '.join(prefixes)} (found {_few(keys)}){hint}"
        )
    return layout


def _check_target(target: Path) -> None:
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ValueError(
            f"{target}: already exists and is not an empty folder; give a new one (nothing is overwritten)"
        )


def _read_source(source: Path) -> tuple[dict[str, Any], dict[str, Tensor]]:
    """config.json and the weights of an EasyNLP folder; ModelNotAvailableError for missing or broken files."""
    what = "an EasyNLP checkpoint folder holds config.json, pytorch_model.bin and vocab.txt"
    if not source.is_dir():
        raise ModelNotAvailableError(f"{source}: no such folder ({what})")
    for name in ("config.json", "pytorch_model.bin", "vocab.txt"):
        if not (source / name).is_file():
            raise ModelNotAvailableError(f"{source / name}: missing ({what})")
    try:
        config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelNotAvailableError(f"{source / 'config.json'}: not readable as JSON ({exc})") from None
    if not isinstance(config, dict):
        raise ModelNotAvailableError(f"{source / 'config.json'}: expected a JSON object")
    weights = source / "pytorch_model.bin"
    try:
        # tensors only: a checkpoint cannot run code while it is read
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for truncated or foreign files
        raise ModelNotAvailableError(f"{weights}: cannot read the weights ({' '.join(str(exc).split())})") from None
    if not isinstance(state, Mapping) or not all(isinstance(v, Tensor) for v in state.values()):
        raise ModelNotAvailableError(f"{weights}: expected a state dict of tensors, got {type(state).__name__}")
    return config, dict(state)


def _few(names: Iterable[str], limit: int = 5) -> str:
    names = list(names)
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "") if names else "nothing"


def _require(config: Mapping[str, Any], fields: Iterable[str], layout: str) -> None:
    missing = [f for f in fields if f not in config]
    if missing:
        raise ValueError(f"config.json: the {layout} layout needs {', '.join(missing)}, which it lacks")


# --- tensor rules ------------------------------------------------------------------------------


def _same(t: Tensor) -> Tensor:
    return t


def _transposed(t: Tensor) -> Tensor:
    # OpenAI keeps projections as (in, out) matrices used as x @ P; nn.Linear stores (out, in)
    return t.t()


def _third(i: int) -> Callable[[Tensor], Tensor]:
    # nn.MultiheadAttention packs q, k, v row-wise into one in_proj
    return lambda t: t.chunk(3, dim=0)[i]


def _openai_block(src: str, dst: str) -> list[Rule]:
    """One OpenAI residual attention block -> one transformers CLIP encoder layer."""
    rules: list[Rule] = []
    for i, name in enumerate("qkv"):
        rules.append((f"{dst}.self_attn.{name}_proj.weight", f"{src}.attn.in_proj_weight", _third(i)))
        rules.append((f"{dst}.self_attn.{name}_proj.bias", f"{src}.attn.in_proj_bias", _third(i)))
    pairs = {"self_attn.out_proj": "attn.out_proj", "layer_norm1": "ln_1", "layer_norm2": "ln_2"}
    pairs.update({"mlp.fc1": "mlp.c_fc", "mlp.fc2": "mlp.c_proj"})
    for hf, ours in pairs.items():
        rules += [(f"{dst}.{hf}.{p}", f"{src}.{ours}.{p}", _same) for p in ("weight", "bias")]
    return rules


def _openai_vit(layers: int) -> list[Rule]:
    """EasyNLP's ``visual`` (OpenAI VisualTransformer) -> transformers' vision tower and projection."""
    rules: list[Rule] = [
        ("vision_model.embeddings.class_embedding", "visual.class_embedding", _same),
        ("vision_model.embeddings.patch_embedding.weight", "visual.conv1.weight", _same),
        ("vision_model.embeddings.position_embedding.weight", "visual.positional_embedding", _same),
        ("visual_projection.weight", "visual.proj", _transposed),
    ]
    for p in ("weight", "bias"):
        rules.append((f"vision_model.pre_layrnorm.{p}", f"visual.ln_pre.{p}", _same))
        rules.append((f"vision_model.post_layernorm.{p}", f"visual.ln_post.{p}", _same))
    for i in range(layers):
        rules += _openai_block(f"visual.transformer.resblocks.{i}", f"vision_model.encoder.layers.{i}")
    return rules


def _apply(
    state: Mapping[str, Tensor],
    prefix: str,
    rules: list[Rule],
    expected: Mapping[str, torch.Size],
    unused: Iterable[str] = (),
) -> dict[str, Tensor]:
    """The transformers state dict the rules make of ``state``; ValueError naming missing,
    unexpected or misshapen checkpoint keys."""
    missing = list(dict.fromkeys(prefix + key for _, key, _ in rules if prefix + key not in state))
    used = {prefix + key for _, key, _ in rules} | {prefix + key for key in unused}
    unexpected = sorted(set(state) - used)
    if missing or unexpected:
        parts = [f"{len(missing)} missing ({_few(missing)})"] if missing else []
        parts += [f"{len(unexpected)} unexpected ({_few(unexpected)})"] if unexpected else []
        raise ValueError(f"pytorch_model.bin does not hold the model config.json describes: keys {'; '.join(parts)}")
    out: dict[str, Tensor] = {}
    wrong = []
    for hf_key, key, how in rules:
        tensor = how(state[prefix + key])
        if tensor.shape != expected.get(hf_key):
            wrong.append(f"{prefix}{key} {tuple(state[prefix + key].shape)}")
        # own contiguous float32 storage: safetensors refuses views that share memory (q, k, v)
        out[hf_key] = tensor.detach().to(torch.float32).clone(memory_format=torch.contiguous_format)
    if wrong:
        raise ValueError(f"pytorch_model.bin: shapes do not fit config.json: {_few(wrong)}")
    if set(out) != set(expected):  # a rule table that misses a transformers weight: our bug, not the user's
        raise ValueError(f"internal: no rule for {_few(sorted(set(expected) - set(out)))}")
    return out


def _expected_shapes(model_class: Any, config: Any) -> dict[str, torch.Size]:
    """The state dict shapes a transformers model of ``config`` has (built on the meta device: no memory)."""
    with torch.device("meta"):
        model = model_class(config)
    return {key: value.shape for key, value in model.state_dict().items()}


def _vision_config(config: Mapping[str, Any]) -> dict[str, Any]:
    layers = config["vision_layers"]
    if isinstance(layers, (list, tuple)):
        raise ValueError(
            f"config.json: vision_layers {layers} is a ModifiedResNet image tower (RN50 style); "
            "transformers' CLIP classes hold ViT image towers only, so it cannot be converted"
        )
    width = int(config["vision_width"])
    heads = width // 64  # EasyNLP's VisualTransformer: one head per 64 channels
    if heads < 1 or width % heads:
        raise ValueError(f"config.json: vision_width {width} does not split into heads of 64 channels")
    return dict(
        hidden_size=width,
        intermediate_size=4 * width,
        num_hidden_layers=int(layers),
        num_attention_heads=heads,
        image_size=int(config["image_resolution"]),
        patch_size=int(config["vision_patch_size"]),
        hidden_act="quick_gelu",
        layer_norm_eps=1e-5,  # torch's LayerNorm default, which EasyNLP's towers use
        projection_dim=int(config["embed_dim"]),
    )


# --- the two convertible layouts ---------------------------------------------------------------


def _open_clip(source: Path, config: Mapping[str, Any], state: Mapping[str, Tensor]) -> _Converted:
    from transformers import CLIPConfig, CLIPModel

    _require(config, _OPEN_CLIP_FIELDS, "open_clip")
    vision = _vision_config(config)
    width, context = int(config["transformer_width"]), int(config["context_length"])
    text = dict(
        vocab_size=int(config["vocab_size"]),
        hidden_size=width,
        intermediate_size=4 * width,
        num_hidden_layers=int(config["transformer_layers"]),
        num_attention_heads=int(config["transformer_heads"]),
        max_position_embeddings=context,
        hidden_act="quick_gelu",
        layer_norm_eps=1e-5,
        projection_dim=int(config["embed_dim"]),
        # EasyNLP pools at text.argmax(-1): the first end token (49407, the highest id), or for a text
        # truncated without one the start token at 0, which is where transformers pools then too
        bos_token_id=49406,
        eos_token_id=49407,
    )
    hf_config = CLIPConfig(text_config=text, vision_config=vision, projection_dim=int(config["embed_dim"]))
    rules = _openai_vit(vision["num_hidden_layers"]) + [
        ("text_model.embeddings.token_embedding.weight", "token_embedding.weight", _same),
        ("text_model.embeddings.position_embedding.weight", "positional_embedding", _same),
        ("text_model.final_layer_norm.weight", "ln_final.weight", _same),
        ("text_model.final_layer_norm.bias", "ln_final.bias", _same),
        ("text_projection.weight", "text_projection", _transposed),
        ("logit_scale", "logit_scale", _same),
    ]
    for i in range(text["num_hidden_layers"]):
        rules += _openai_block(f"transformer.resblocks.{i}", f"text_model.encoder.layers.{i}")
    tensors = _apply(state, "open_clip.", rules, _expected_shapes(CLIPModel, hf_config))
    tokenizer = _clip_tokenizer(source / "vocab.txt", int(config["vocab_size"]), context)
    hf_config.architectures = ["CLIPModel"]
    return _Converted("open_clip", hf_config, tensors, vision["image_size"], "CLIPImageProcessor", tokenizer)


def _chinese_clip(source: Path, config: Mapping[str, Any], state: Mapping[str, Tensor]) -> _Converted:
    from transformers import ChineseCLIPConfig, ChineseCLIPModel

    _require(config, _CHINESE_CLIP_FIELDS, "chinese_clip")
    vision = _vision_config(config)
    # EasyNLP's text_* fields are BertConfig's, prefixed
    text = {field[len("text_") :]: config[field] for field in _CHINESE_CLIP_FIELDS if field.startswith("text_")}
    text.update(vocab_size=int(config["vocab_size"]), layer_norm_eps=1e-12, pad_token_id=0)  # fixed in EasyNLP
    embed_dim = int(config["embed_dim"])
    hf_config = ChineseCLIPConfig(text_config=text, vision_config=vision, projection_dim=embed_dim)
    expected = _expected_shapes(ChineseCLIPModel, hf_config)
    # EasyNLP's BertModel names its weights as transformers' BERT does: only the prefix changes
    rules = [(key, "bert." + key[len("text_model.") :], _same) for key in expected if key.startswith("text_model.")]
    rules += _openai_vit(vision["num_hidden_layers"])
    rules += [("text_projection.weight", "text_projection", _transposed), ("logit_scale", "logit_scale", _same)]
    state = dict(state)
    # EasyNLP loads this layout with strict=False: a checkpoint without a logit scale ran with its initial one
    state.setdefault("chinese_clip.logit_scale", torch.tensor(math.log(1 / 0.07)))
    tensors = _apply(state, "chinese_clip.", rules, expected, unused=_CHINESE_CLIP_UNUSED)
    tokenizer = _bert_tokenizer(source / "vocab.txt", int(config["vocab_size"]), int(text["max_position_embeddings"]))
    hf_config.architectures = ["ChineseCLIPModel"]
    return _Converted("chinese_clip", hf_config, tensors, vision["image_size"], "ChineseCLIPImageProcessor", tokenizer)


# --- tokenizers --------------------------------------------------------------------------------


def _clip_tokenizer(vocab: Path, vocab_size: int, context_length: int) -> Callable[[Path], None]:
    """The writer of CLIP BPE tokenizer files, once ``vocab`` is checked to be OpenAI's merges (what
    EasyNLP's SimpleTokenizer reads, ids included) for which the package has its own copy."""
    from fashionclip.preprocess.text import clip_bpe_vocab, clip_tokenizer

    ids, merges = clip_bpe_vocab()
    raw = vocab.read_bytes()
    try:
        text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8")
    except (OSError, ValueError) as exc:
        raise ValueError(f"vocab.txt: not a CLIP BPE merges file ({exc})") from None
    # like SimpleTokenizer: skip the header line, keep as many merges as CLIP's 49,408 ids need
    found = [tuple(line.split()) for line in text.split("\n")[1 : len(merges) + 1]]
    if found != merges:
        raise ValueError(
            "vocab.txt: its BPE merges are not OpenAI CLIP's, so the bundled CLIP tokenizer would not match"
        )
    if vocab_size != len(ids):
        raise ValueError(f"config.json: vocab_size {vocab_size} is not CLIP's {len(ids)}, which vocab.txt makes")

    def write(folder: Path) -> None:
        tokenizer = clip_tokenizer()
        tokenizer.model_max_length = context_length
        tokenizer.save_pretrained(folder)

    return write


def _bert_tokenizer(vocab: Path, vocab_size: int, max_length: int) -> Callable[[Path], None]:
    """The writer of BERT WordPiece tokenizer files from EasyNLP's ``vocab.txt`` (lower-cased,
    Chinese characters split, as EasyNLP's BertTokenizer defaults)."""
    try:
        tokens = vocab.read_text(encoding="utf-8").splitlines()
    except (OSError, ValueError) as exc:
        raise ModelNotAvailableError(f"{vocab}: not readable as a text vocabulary ({exc})") from None
    if not tokens or tokens[0] != "[PAD]":
        # EasyNLP masks id 0 as padding; a tokenizer padding with another id would change the pooling
        raise ValueError(f"vocab.txt: the first token is {tokens[0] if tokens else None!r}, expected '[PAD]' (id 0)")
    absent = [t for t in ("[UNK]", "[CLS]", "[SEP]") if t not in tokens]
    if absent:
        raise ValueError(f"vocab.txt: lacks {', '.join(absent)}")
    if len(tokens) > vocab_size:
        raise ValueError(f"vocab.txt: {len(tokens)} tokens, more than config.json's vocab_size {vocab_size}")

    def write(folder: Path) -> None:
        from transformers import BertTokenizerFast

        shutil.copyfile(vocab, folder / "vocab.txt")
        tokenizer = BertTokenizerFast.from_pretrained(folder, do_lower_case=True, model_max_length=max_length)
        tokenizer.save_pretrained(folder)

    return write


# --- writing -----------------------------------------------------------------------------------


def _preprocessor_config(processor_class: str, size: int) -> dict[str, Any]:
    # EasyNLP resizes every layout to 224 and crops 224; image_resolution is 224 in any checkpoint
    # it can run, and the only size the position embeddings fit
    return {
        "image_processor_type": processor_class,
        "do_convert_rgb": True,
        "do_resize": True,
        "size": {"shortest_edge": size},
        "resample": 3,  # PIL bicubic
        "do_center_crop": True,
        "crop_size": {"height": size, "width": size},
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": list(OPENAI_CLIP_MEAN),
        "image_std": list(OPENAI_CLIP_STD),
    }


def _card(converted: _Converted, source: Path) -> str:
    pooling = {
        "open_clip": "text at the end-of-text token (highest id), image at the class token",
        "chinese_clip": "text at [CLS] of the last hidden state (padding id 0 masked), image at the class token",
    }[converted.layout]
    return (
        "---\nlibrary_name: transformers\ntags:\n- clip\n- easynlp\n---\n\n"
        f"# {source.name} (converted from EasyNLP)\n\n"
        f"Converted by `fashionclip convert easynlp` from the EasyNLP `{converted.layout}` checkpoint "
        f"`{source.name}` into a transformers `{converted.config.architectures[0]}`, weights unchanged "
        f"(float32). Pooling as in EasyNLP: {pooling}; both projected, then L2-normalised.\n\n"
        "EasyNLP's model zoo states no license of its own for its checkpoints; EasyNLP is Apache-2.0. "
        "Check the terms of the original checkpoint before redistributing it.\n"
    )


def _write_atomically(converted: _Converted, source: Path, target: Path) -> None:
    """Write the folder beside ``target`` and rename it into place: never a half-written target."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        converted.write_tokenizer(partial)  # first: a tokenizer loader must not meet the model's config.json
        converted.config.save_pretrained(partial)
        save_file(converted.tensors, str(partial / "model.safetensors"), metadata={"format": "pt"})
        processor = _preprocessor_config(converted.processor_class, converted.image_size)
        (partial / "preprocessor_config.json").write_text(json.dumps(processor, indent=2) + "\n")
        (partial / "README.md").write_text(_card(converted, source), encoding="utf-8")
        _check_target(target)  # again: something may have appeared there meanwhile
        if target.is_dir():
            target.rmdir()  # empty, checked; os.rename onto a folder fails on Windows
        os.rename(partial, target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    log.info("wrote %s (%s from %s)", target, converted.config.architectures[0], source)

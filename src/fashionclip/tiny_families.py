"""Tiny random checkpoints of the model families beyond CLIP, each with its own kind of tokenizer
built offline: Chinese-CLIP (BERT WordPiece), AltCLIP (XLM-R unigram), SigLIP (SentencePiece or, as
SigLIP 2 ships it, Gemma BPE) and SigLIP 2 NaFlex.

They load through :func:`fashionclip.load_model` like the real checkpoints, so loading and
parity with transformers are tested offline. Their embeddings mean nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fashionclip.loading import quiet_transformers

# a little English, Chinese and French: enough to tokenize a query in each
WORDS = (
    *("a", "photo", "of", "red", "blue", "black", "white", "dress", "shirt", "jeans", "shoes", "bag", "midi"),
    *("light", "long", "红", "色", "连", "衣", "裙", "蓝", "牛", "仔", "裤", "衬", "衫", "鞋", "包", "白", "黑"),
    *("的", "照", "片", "一", "张", "une", "robe", "rouge", "chemise", "bleue"),
)
_VISION = dict(image_size=32, patch_size=8, hidden_size=32, intermediate_size=64, num_hidden_layers=2)
FAMILIES = ("chinese_clip", "altclip", "siglip", "siglip-gemma", "siglip2-naflex")


def write_tiny(family: str, path: str | Path, *, seed: int = 0) -> Path:
    """Write a random checkpoint of ``family`` (one of :data:`FAMILIES`) with its tokenizer and
    preprocessor files to ``path``."""
    writers = {
        "chinese_clip": _chinese_clip,
        "altclip": _altclip,
        "siglip": lambda p, s: _siglip(p, s, tokenizer="sentencepiece"),
        "siglip-gemma": lambda p, s: _siglip(p, s, tokenizer="gemma"),
        "siglip2-naflex": _siglip2_naflex,
    }
    if family not in writers:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}, got {family!r}")
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return writers[family](path, seed)


def _save(path: Path, model: Any, tokenizer: Any, processor: dict[str, Any]) -> Path:
    with quiet_transformers():
        model.eval().save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    (path / "preprocessor_config.json").write_text(json.dumps(processor, indent=1))
    return path


def _chinese_clip(path: Path, seed: int) -> Path:
    import torch
    from transformers import BertTokenizer, ChineseCLIPConfig, ChineseCLIPModel

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    (path / "vocab.txt").write_text("\n".join(specials + list(dict.fromkeys(WORDS))) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(str(path / "vocab.txt"), model_max_length=52)
    config = ChineseCLIPConfig(
        text_config=dict(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            max_position_embeddings=64,
        ),
        vision_config=dict(num_attention_heads=2, **_VISION),
        projection_dim=16,
    )
    torch.manual_seed(seed)
    # as OFA-Sys ships it: a square resize, no crop
    processor = {
        "image_processor_type": "ChineseCLIPImageProcessor",
        "do_resize": True,
        "size": {"height": 32, "width": 32},
        "do_center_crop": False,
        "resample": 3,
        "do_normalize": True,
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711],
        "do_convert_rgb": True,
    }
    return _save(path, ChineseCLIPModel(config), tokenizer, processor)


def _unigram(specials: list[str]) -> Any:
    """A tiny SentencePiece-style unigram tokenizer (``▁`` marks a word start)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers

    pieces = [(token, 0.0) for token in specials]
    pieces += [(f"▁{w}", -float(i % 7 + 2)) for i, w in enumerate(dict.fromkeys(WORDS))]
    pieces += [(w, -float(i % 5 + 9)) for i, w in enumerate(dict.fromkeys("".join(WORDS)))]
    pieces.append(("▁", -12.0))
    tokenizer = Tokenizer(models.Unigram(pieces, unk_id=specials.index("<unk>"), byte_fallback=False))
    tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    return tokenizer


def _altclip(path: Path, seed: int) -> Path:
    import torch
    from tokenizers import processors
    from transformers import AltCLIPConfig, AltCLIPModel, XLMRobertaTokenizerFast

    backend = _unigram(["<s>", "<pad>", "</s>", "<unk>"])
    backend.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    tokenizer = XLMRobertaTokenizerFast(tokenizer_object=backend, model_max_length=77)
    config = AltCLIPConfig(
        text_config=dict(
            vocab_size=backend.get_vocab_size(),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            max_position_embeddings=80,
            project_dim=16,
            pad_token_id=1,
        ),
        vision_config=dict(num_attention_heads=2, **_VISION),
        projection_dim=16,
    )
    torch.manual_seed(seed)
    processor = {
        "image_processor_type": "CLIPImageProcessor",
        "do_resize": True,
        "size": {"shortest_edge": 32},
        "do_center_crop": True,
        "crop_size": {"height": 32, "width": 32},
        "resample": 3,
        "do_normalize": True,
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711],
    }
    return _save(path, AltCLIPModel(config), tokenizer, processor)


_SIGLIP_PROCESSOR = {
    "image_processor_type": "SiglipImageProcessor",
    "do_resize": True,
    "size": {"height": 32, "width": 32},
    "resample": 2,
    "do_rescale": True,
    "rescale_factor": 1 / 255,
    "do_normalize": True,
    "image_mean": [0.5, 0.5, 0.5],
    "image_std": [0.5, 0.5, 0.5],
}


def _sentencepiece_tokenizer(path: Path) -> Any:
    """SigLIP's own tokenizer (T5-style SentencePiece), trained on a few lines: what the
    multilingual SigLIP ships, as a ``spiece.model``."""
    import io

    import sentencepiece as spm
    from transformers import SiglipTokenizer

    lines = [" ".join(WORDS[i : i + 6]) for i in range(0, len(WORDS), 3)] * 4
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        vocab_size=60,
        model_type="unigram",
        character_coverage=1.0,
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        minloglevel=2,
    )
    (path / "spiece.model").write_bytes(model.getvalue())
    return SiglipTokenizer(str(path / "spiece.model"), model_max_length=64)


def _gemma_tokenizer() -> Any:
    """A Gemma-style BPE tokenizer (SigLIP 2's), with a few merges."""
    from transformers import GemmaTokenizerFast

    vocab = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3, "<mask>": 4}
    letters = sorted(set("".join(WORDS)) | {"▁"})
    for letter in letters:
        vocab.setdefault(letter, len(vocab))
    merges = []
    for word in ("▁red", "▁dress", "▁a", "▁photo"):
        for end in range(2, len(word) + 1):
            left, right = word[: end - 1], word[end - 1]
            if word[:end] not in vocab:
                vocab[word[:end]] = len(vocab)
                merges.append((left, right))
    return GemmaTokenizerFast(vocab=vocab, merges=merges, model_max_length=64)


def _siglip_config(vocab_size: int, model_type: str) -> Any:
    from transformers import Siglip2Config, SiglipConfig

    text = dict(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=64,
    )
    if model_type == "siglip2":
        vision = {k: v for k, v in _VISION.items() if k != "image_size"}
        return Siglip2Config(text_config=text, vision_config=dict(num_attention_heads=2, num_patches=16, **vision))
    return SiglipConfig(text_config=text, vision_config=dict(num_attention_heads=2, **_VISION))


def _siglip(path: Path, seed: int, *, tokenizer: str) -> Path:
    import torch
    from transformers import SiglipModel

    tok = _sentencepiece_tokenizer(path) if tokenizer == "sentencepiece" else _gemma_tokenizer()
    torch.manual_seed(seed)
    return _save(path, SiglipModel(_siglip_config(len(tok), "siglip")), tok, _SIGLIP_PROCESSOR)


def _siglip2_naflex(path: Path, seed: int) -> Path:
    import torch
    from transformers import Siglip2Model

    tok = _gemma_tokenizer()
    torch.manual_seed(seed)
    processor = {
        "image_processor_type": "Siglip2ImageProcessor",
        "do_resize": True,
        "resample": 2,
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5],
        "patch_size": 8,
        "max_num_patches": 16,
    }
    return _save(path, Siglip2Model(_siglip_config(len(tok), "siglip2")), tok, processor)

"""EasyNLP's CLIP computation written out, independently of the transformers classes the
converter targets, and tiny random checkpoints written as EasyNLP writes its folders
(easynlp/appzoo/clip/model.py); ``test_easynlp.py`` checks ``convert_easynlp`` against them."""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from torch import nn

OPEN_CLIP_CONFIG = {
    "model_type": "open_clip",
    "embed_dim": 16,
    "image_resolution": 32,
    "vision_layers": 2,
    "vision_width": 64,  # EasyNLP gives the image tower one head per 64 channels
    "vision_patch_size": 8,
    "context_length": 77,
    "vocab_size": 49408,
    "transformer_width": 64,
    "transformer_heads": 2,
    "transformer_layers": 2,
}
WORDPIECES = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "红", "色", "连", "衣", "裙", "蓝", "牛", "仔", "裤"]
WORDPIECES += ["a", "photo", "of", "red", "blue", "dress", "jeans", "long", "##er"]
CHINESE_CLIP_CONFIG = {
    "model_type": "chinese_clip",
    "embed_dim": 16,
    "image_resolution": 32,
    "vision_layers": 2,
    "vision_width": 64,
    "vision_patch_size": 8,
    "vocab_size": len(WORDPIECES) + 3,  # OFA's config.json sizes the table beyond the vocabulary too
    "text_attention_probs_dropout_prob": 0.1,
    "text_hidden_act": "gelu",
    "text_hidden_dropout_prob": 0.1,
    "text_hidden_size": 32,
    "text_initializer_range": 0.02,
    "text_intermediate_size": 64,
    "text_max_position_embeddings": 40,
    "text_num_attention_heads": 2,
    "text_num_hidden_layers": 2,
    "text_type_vocab_size": 2,
}
ENGLISH = ["a photo of a red dress", "Long blue jeans", "dress"]
CHINESE = ["红色连衣裙", "蓝色牛仔裤", "a photo of a Red Dress", "longer"]


# --- EasyNLP's computation, written out --------------------------------------------------------


class QuickGELU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class Block(nn.Module):
    """A pre-norm residual attention block, sequence first (nn.MultiheadAttention's default)."""

    def __init__(self, width: int, heads: int, causal: bool) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1, self.ln_2 = nn.LayerNorm(width), nn.LayerNorm(width)
        fc = OrderedDict(c_fc=nn.Linear(width, 4 * width), gelu=QuickGELU(), c_proj=nn.Linear(4 * width, width))
        self.mlp = nn.Sequential(fc)
        self.causal = causal

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (L, B, C)
        mask = torch.full((len(x), len(x)), float("-inf")).triu(1) if self.causal else None
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class Tower(nn.Module):
    def __init__(self, width: int, layers: int, heads: int, causal: bool = False) -> None:
        super().__init__()
        self.resblocks = nn.Sequential(*[Block(width, heads, causal) for _ in range(layers)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.resblocks(x)


class ViT(nn.Module):
    """The image tower of both layouts: class token after ``ln_post``, times ``proj``."""

    def __init__(self, config: dict) -> None:
        super().__init__()
        width, patch, size = config["vision_width"], config["vision_patch_size"], config["image_resolution"]
        self.conv1 = nn.Conv2d(3, width, patch, stride=patch, bias=False)
        self.class_embedding = nn.Parameter(torch.zeros(width))
        self.positional_embedding = nn.Parameter(torch.zeros((size // patch) ** 2 + 1, width))
        self.ln_pre, self.ln_post = nn.LayerNorm(width), nn.LayerNorm(width)
        self.transformer = Tower(width, config["vision_layers"], width // 64)
        self.proj = nn.Parameter(torch.zeros(width, config["embed_dim"]))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:  # (B, 3, S, S) -> (B, E)
        x = self.conv1(pixels).flatten(2).transpose(1, 2)  # (B, N, C)
        x = torch.cat([self.class_embedding.expand(len(x), 1, -1), x], dim=1) + self.positional_embedding
        x = self.transformer(self.ln_pre(x).transpose(0, 1)).transpose(0, 1)  # (B, N + 1, C)
        return self.ln_post(x[:, 0]) @ self.proj


class OpenClip(nn.Module):
    """EasyNLP's open_clip layout: text pooled at the highest token id (EOT)."""

    def __init__(self, config: dict) -> None:
        super().__init__()
        width = config["transformer_width"]
        self.visual = ViT(config)
        self.transformer = Tower(width, config["transformer_layers"], config["transformer_heads"], causal=True)
        self.token_embedding = nn.Embedding(config["vocab_size"], width)
        self.positional_embedding = nn.Parameter(torch.zeros(config["context_length"], width))
        self.ln_final = nn.LayerNorm(width)
        self.text_projection = nn.Parameter(torch.zeros(width, config["embed_dim"]))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.visual(pixels)

    def encode_text(self, ids: torch.Tensor) -> torch.Tensor:  # (B, 77), zero-padded as EasyNLP pads
        x = self.token_embedding(ids) + self.positional_embedding
        x = self.ln_final(self.transformer(x.transpose(0, 1)).transpose(0, 1))  # (B, 77, C)
        return x[torch.arange(len(ids)), ids.argmax(-1)] @ self.text_projection


class ChineseClip(nn.Module):
    """EasyNLP's chinese_clip layout: BERT's last hidden state at [CLS], padding (id 0) masked."""

    def __init__(self, config: dict) -> None:
        from transformers import BertConfig, BertModel

        super().__init__()
        text = {k[len("text_") :]: v for k, v in config.items() if k.startswith("text_")}
        self.visual = ViT(config)
        self.bert = BertModel(BertConfig(vocab_size=config["vocab_size"], layer_norm_eps=1e-12, **text))
        self.text_projection = nn.Parameter(torch.zeros(config["text_hidden_size"], config["embed_dim"]))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.visual(pixels)

    def encode_text(self, ids: torch.Tensor) -> torch.Tensor:  # (B, L), zero-padded
        hidden = self.bert(ids, attention_mask=ids.ne(0).long()).last_hidden_state  # (B, L, H)
        return hidden[:, 0] @ self.text_projection


def randomize(model: nn.Module, seed: int) -> nn.Module:
    """Every weight random, norms around 1: a wrong mapping of any tensor changes the output."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=generator) * 0.2
            param.copy_(noise + 1 if name.endswith("weight") and param.ndim == 1 else noise)
    return model.eval()


def write_open_clip(path: Path, config: dict = OPEN_CLIP_CONFIG, seed: int = 0) -> tuple[Path, OpenClip]:
    reference = randomize(OpenClip(config), seed)
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps(config))
    torch.save({f"open_clip.{k}": v for k, v in reference.state_dict().items()}, path / "pytorch_model.bin")
    # EasyNLP's SimpleTokenizer gunzips vocab.txt: OpenAI's BPE merges, as bundled in this package
    bpe = resources.files("fashionclip.preprocess").joinpath("bpe_simple_vocab_16e6.txt.gz").read_bytes()
    (path / "vocab.txt").write_bytes(bpe)
    return path, reference


def write_chinese_clip(path: Path, seed: int = 0) -> tuple[Path, ChineseClip]:
    reference = randomize(ChineseClip(CHINESE_CLIP_CONFIG), seed)
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps(CHINESE_CLIP_CONFIG))
    state = {f"chinese_clip.{k}": v for k, v in reference.state_dict().items()}
    # EasyNLP's BertModel keeps position_ids as a persistent buffer
    positions = torch.arange(CHINESE_CLIP_CONFIG["text_max_position_embeddings"])[None]
    state["chinese_clip.bert.embeddings.position_ids"] = positions
    assert "chinese_clip.bert.pooler.dense.weight" in state  # saved, unused by encode_text
    torch.save(state, path / "pytorch_model.bin")
    (path / "vocab.txt").write_text("\n".join(WORDPIECES) + "\n", encoding="utf-8")
    return path, reference


def unit(x: torch.Tensor) -> np.ndarray:
    return (x / x.norm(dim=-1, keepdim=True)).detach().numpy()


def pixels(seed: int = 0) -> torch.Tensor:
    return torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(seed))  # (B, 3, S, S)


def padded(rows: list[list[int]], length: int) -> torch.Tensor:
    """Token ids padded with zeros to ``length``, as EasyNLP's tokenizers pad."""
    out = torch.zeros(len(rows), length, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.tensor(row)
    return out

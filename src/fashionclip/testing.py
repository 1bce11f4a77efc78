"""Tiny randomly initialised checkpoints in Hugging Face CLIP format.

They load through the same :func:`fashionclip.load_model` path as real
checkpoints and carry the real CLIP tokenizer, so every code path can be
exercised offline. Their embeddings mean nothing.
"""

from __future__ import annotations

from pathlib import Path

from fashionclip.config import ModelSpec
from fashionclip.loading import quiet_transformers
from fashionclip.preprocess.text import clip_tokenizer


def write_tiny_clip(
    path: str | Path,
    *,
    seed: int = 0,
    image_size: int = 32,
    patch_size: int = 8,
    width: int = 32,
    layers: int = 2,
    projection_dim: int = 16,
    context_length: int = 77,
) -> Path:
    """Write a random CLIP checkpoint (config, safetensors, tokenizer, preprocessor) to ``path``."""
    from transformers import CLIPConfig

    path = Path(path)
    common = dict(hidden_size=width, intermediate_size=2 * width, num_hidden_layers=layers, num_attention_heads=2)
    config = CLIPConfig(
        text_config=dict(vocab_size=49408, max_position_embeddings=context_length, eos_token_id=49407, **common),
        vision_config=dict(image_size=image_size, patch_size=patch_size, **common),
        projection_dim=projection_dim,
    )
    return _save_random(path, config, seed)


def write_vit_b32(path: str | Path, *, seed: int = 0) -> Path:
    """Write a randomly initialised checkpoint with FashionCLIP's exact architecture (OpenAI / LAION
    CLIP ViT-B/32: 224 px, patch 32, 768-wide 12-layer vision tower, 512-wide 12-layer text tower,
    512-d joint space), about 600 MB. Speed does not depend on weight values, so it measures real
    FashionCLIP speed; its embeddings mean nothing."""
    from transformers import CLIPConfig

    return _save_random(Path(path), CLIPConfig(), seed)  # the defaults are ViT-B/32's


def benchmark_checkpoint(model: str, folder: str | Path) -> Path:
    """The checkpoint a benchmark measures: ``"vit-b-32"`` is :func:`write_vit_b32` written into
    ``folder``; any other name is a registry name, hub id or folder, found as ``load_model``
    finds it (offline: the bundled model or the hub cache)."""
    from fashionclip.loading import local_checkpoint

    if model == "vit-b-32":
        return write_vit_b32(Path(folder) / "vit-b-32")
    return Path(local_checkpoint(model)[1])


def _save_random(path: Path, config, seed: int) -> Path:
    import torch
    from transformers import CLIPModel

    try:
        from transformers import CLIPImageProcessorPil as ImageProcessor
    except ImportError:  # transformers 4.x
        from transformers import CLIPImageProcessor as ImageProcessor

    torch.manual_seed(seed)
    model = CLIPModel(config).eval()
    with quiet_transformers():
        model.save_pretrained(path, safe_serialization=True)
    clip_tokenizer().save_pretrained(path)
    image_size = config.vision_config.image_size
    ImageProcessor(
        size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
    ).save_pretrained(path)
    return path


class KeywordEncoder:
    """A stand-in encoder for logic tests of search and tagging: known words and image colours map
    to fixed directions, so "red dress" is near a red image and results are predictable.

    Text: the sum of one-hot directions of the known words it contains. Image: the direction of
    its mean colour's nearest named colour, plus a small component from a hash of its pixels (so
    different images differ a little, and identical images are identical). ``calls`` counts the
    items embedded, for tests of incremental indexing. It implements
    :class:`~fashionclip.encoder.EncoderProtocol` (no checkpoint, no model internals).
    """

    WORDS = ("red", "blue", "green", "black", "white", "yellow", "dress", "shirt", "shoes", "bag", "jeans", "midi")
    # a multilingual stand-in: Chinese words (no spaces between them) name the same directions
    CHINESE = {
        "红色": "red",
        "红": "red",
        "蓝色": "blue",
        "蓝": "blue",
        "绿色": "green",
        "绿": "green",
        "黑色": "black",
        "黑": "black",
        "白色": "white",
        "白": "white",
        "黄色": "yellow",
        "黄": "yellow",
        "连衣裙": "dress",
        "裙子": "dress",
        "衬衫": "shirt",
        "鞋子": "shoes",
        "鞋": "shoes",
        "包包": "bag",
        "包": "bag",
        "牛仔裤": "jeans",
        "中长": "midi",
    }
    COLOURS = {
        "red": (200, 30, 30),
        "blue": (30, 30, 200),
        "green": (30, 160, 30),
        "black": (10, 10, 10),
        "white": (245, 245, 245),
        "yellow": (230, 220, 30),
    }
    embedding_dim = 16
    num_workers = 1
    logit_scale = 100.0
    checkpoint_id = ""  # no checkpoint files
    patch_size = None

    def __init__(self, name: str = "keyword-test", delay: float = 0.0) -> None:
        from fashionclip.config import PreprocessConfig
        from fashionclip.preprocess.image import ImagePreprocessor

        self.name = name
        self.delay = delay
        self.calls = 0
        self.preprocess = PreprocessConfig()
        self.image_preprocessor = ImagePreprocessor(self.preprocess)
        self.spec = ModelSpec(
            name=name,
            source=f"test:{name}",
            format="hf",
            family="test",
            license="MIT",
            description="keyword stand-in encoder",
            embedding_dim=self.embedding_dim,
        )

    def internals(self) -> None:
        return None

    def encode_texts(self, texts, *, batch_size: int = 256, normalize: bool = True, show_progress=None):
        import numpy as np

        single = isinstance(texts, str)
        batch = [texts] if single else list(texts)
        out = np.zeros((len(batch), self.embedding_dim), dtype=np.float32)
        for row, text in enumerate(batch):
            for word in self.words(str(text)):
                if word in self.WORDS:
                    out[row, self.WORDS.index(word)] += 1.0
            if not out[row].any():
                out[row, -1] = 1.0
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        self.calls += len(batch)
        return out[0] if single else out

    @classmethod
    def words(cls, text: str) -> list[str]:
        """The known English words of ``text``: its own, and those its Chinese words name (longest
        match first, as a Chinese word segmenter reads them)."""
        found = []
        for part in text.lower().replace(",", " ").replace("，", " ").split():
            if part in cls.WORDS:
                found.append(part)
                continue
            start = 0
            while start < len(part):
                match = next((t for t in (part[start : start + n] for n in (3, 2, 1)) if t in cls.CHINESE), None)
                if match:
                    found.append(cls.CHINESE[match])
                start += len(match) if match else 1
        return found

    def encode_images(
        self, items, *, batch_size: int = 32, normalize: bool = True, show_progress=None, on_error: str = "raise"
    ):
        """(N, D) or (D,) like :meth:`Encoder.encode_images`; ``on_error="skip"`` is deprecated there
        and here (use :meth:`encode_images_report`)."""
        from fashionclip.encoder import is_single_image

        if on_error == "skip":
            import warnings

            warnings.warn(
                "encode_images(on_error='skip') is deprecated; use encode_images_report()",
                DeprecationWarning,
                stacklevel=2,
            )
            return self.encode_images_report(items)
        single = is_single_image(items)
        embeddings = self._encode_images([items] if single else list(items), skip=False).embeddings
        return embeddings[0] if single else embeddings

    def encode_images_report(self, items, *, batch_size: int = 32, normalize: bool = True, show_progress=None):
        from fashionclip.encoder import is_single_image

        return self._encode_images([items] if is_single_image(items) else list(items), skip=True)

    def encode_pixels(self, pixels, *, normalize: bool = True):
        """Preprocessed pixels: the colour direction of their mean colour (the hash part is of the
        pixels, so it differs from :meth:`encode_images` of the same photo)."""
        import numpy as np

        config = self.preprocess
        pixels = np.asarray(pixels, dtype=np.float32)
        rgb = (
            pixels * np.asarray(config.std, np.float32)[:, None, None]
            + np.asarray(config.mean, np.float32)[:, None, None]
        )
        rows = [self._vector(np.moveaxis(255.0 * image, 0, -1)) for image in rgb]
        self.calls += len(rows)
        return np.stack(rows) if rows else np.zeros((0, self.embedding_dim), dtype=np.float32)

    def _vector(self, pixels):
        import hashlib

        import numpy as np

        mean = pixels.reshape(-1, 3).mean(axis=0)
        colour = min(self.COLOURS, key=lambda c: float(np.sum((np.array(self.COLOURS[c]) - mean) ** 2)))
        vector = np.zeros(self.embedding_dim, dtype=np.float32)
        vector[self.WORDS.index(colour)] = 1.0
        seed = int.from_bytes(hashlib.sha256(pixels.tobytes()).digest()[:4], "big")
        vector[12:15] = 0.2 * np.random.default_rng(seed).standard_normal(3)
        return vector / np.linalg.norm(vector)

    def _encode_images(self, batch, *, skip: bool):
        import time

        import numpy as np

        from fashionclip.encoder import EncodeResult, FailedItem
        from fashionclip.errors import ImageLoadError
        from fashionclip.preprocess.image import describe, load_image

        rows, indices, failed = [], [], []
        for index, item in enumerate(batch):
            try:
                image = load_image(item)
            except ImageLoadError as exc:
                if not skip:
                    raise exc.at(index) from exc
                failed.append(FailedItem(index, describe(item), exc.reason))
                continue
            rows.append(self._vector(np.asarray(image, dtype=np.float32)))
            indices.append(index)
        if self.delay:
            time.sleep(self.delay)
        self.calls += len(rows)
        embeddings = np.stack(rows) if rows else np.zeros((0, self.embedding_dim), dtype=np.float32)
        return EncodeResult(embeddings, indices, failed)

"""The one table of named checkpoints.

Preprocessing belongs to the weights (as in open_clip's pretrained table), so
each entry carries its own. For Hugging Face-format checkpoints the
``preprocessor_config.json`` shipped with the weights overrides these values
when present; the table is the fallback and the documentation.

A checkpoint bundled inside this package is just another entry whose source is
``package:<dir>`` (resolved relative to the installed package).
"""

from __future__ import annotations

from dataclasses import replace
from importlib import resources
from pathlib import Path

from fashionclip.config import ModelSpec, PreprocessConfig

BUNDLED_MODEL = "fashion-clip-mini"  # ships inside the package: works offline
# one default for the library and every command: the bundled model, so nothing needs the hub;
# FashionCLIP itself is "fashion-clip"
DEFAULT_MODEL = BUNDLED_MODEL

_SIGLIP_PREPROCESS = PreprocessConfig(
    image_size=224,
    resize=224,
    resize_mode="squash",
    interpolation="bicubic",
    mean=(0.5, 0.5, 0.5),
    std=(0.5, 0.5, 0.5),
    context_length=64,
    pad_to_context_length=True,
)

# Chinese-CLIP's processor: a square resize to 224, no crop
_CHINESE_CLIP_PREPROCESS = PreprocessConfig(image_size=224, resize=224, resize_mode="squash", context_length=52)

_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="fashion-clip",
        source="hf-hub:patrickjohncyh/fashion-clip",
        format="hf",
        family="CLIP ViT-B/32",
        license="MIT",
        description="FashionCLIP 2.0 (Chia et al. 2022), LAION ViT-B/32 fine-tuned on Farfetch fashion pairs",
        embedding_dim=512,
        prompt_template="a photo of a {}",
        url="https://huggingface.co/patrickjohncyh/fashion-clip",
    ),
    ModelSpec(
        name="fashion-clip-mini",
        source="package:models/fashion-clip-mini",
        format="hf",
        family="CLIP ViT 6x192 / 48 px, text 4x128 (10M parameters)",
        license="MIT",
        description=(
            "small fashion CLIP trained from scratch with `fashionclip train` on Kaggle fashion products and "
            "street outfit photos; bundled in the package, no download, fast on a CPU"
        ),
        embedding_dim=256,
        preprocess=PreprocessConfig(image_size=48, resize=48, resize_mode="squash", context_length=32),
        prompt_template="a photo of a {}",
    ),
    ModelSpec(
        name="openai-clip-vit-b-32",
        source="hf-hub:openai/clip-vit-base-patch32",
        format="hf",
        family="CLIP ViT-B/32",
        license="MIT",
        description="OpenAI CLIP ViT-B/32, the paper's general-domain baseline",
        embedding_dim=512,
        prompt_template="a photo of a {}.",
        url="https://huggingface.co/openai/clip-vit-base-patch32",
    ),
    ModelSpec(
        name="laion-clip-vit-b-32",
        source="hf-hub:laion/CLIP-ViT-B-32-laion2B-s34B-b79K",
        format="hf",
        family="CLIP ViT-B/32",
        license="MIT",
        description="LAION-2B CLIP ViT-B/32, the starting point of FashionCLIP 2.0",
        embedding_dim=512,
        prompt_template="a photo of a {}.",
        url="https://huggingface.co/laion/CLIP-ViT-B-32-laion2B-s34B-b79K",
    ),
    ModelSpec(
        name="marqo-fashion-clip",
        source="hf-hub:Marqo/marqo-fashionCLIP",
        format="open_clip",
        family="CLIP ViT-B/16 (open_clip)",
        license="Apache-2.0",
        description="Marqo-FashionCLIP, GCL fine-tune of ViT-B/16 on fashion data (needs fashionclip[openclip])",
        embedding_dim=512,
        prompt_template="a photo of a {}",
        url="https://huggingface.co/Marqo/marqo-fashionCLIP",
    ),
    ModelSpec(
        name="marqo-ecommerce-b",
        source="hf-hub:Marqo/marqo-ecommerce-embeddings-B",
        format="open_clip",
        family="SigLIP ViT-B/16 (open_clip)",
        license="Apache-2.0",
        description=(
            "Marqo-Ecommerce-B, GCL-trained on Google Shopping and Amazon products (needs fashionclip[openclip])"
        ),
        embedding_dim=768,
        preprocess=_SIGLIP_PREPROCESS,
        prompt_template="a photo of a {}",
        url="https://huggingface.co/Marqo/marqo-ecommerce-embeddings-B",
    ),
    ModelSpec(
        name="marqo-ecommerce-l",
        source="hf-hub:Marqo/marqo-ecommerce-embeddings-L",
        format="open_clip",
        family="SigLIP ViT-L/16, 384 px (open_clip)",
        license="Apache-2.0",
        description="Marqo-Ecommerce-L, the large variant of Marqo-Ecommerce-B (needs fashionclip[openclip])",
        embedding_dim=1024,
        preprocess=replace(_SIGLIP_PREPROCESS, image_size=384, resize=384),
        prompt_template="a photo of a {}",
        url="https://huggingface.co/Marqo/marqo-ecommerce-embeddings-L",
    ),
    ModelSpec(
        name="chinese-clip-vit-b-16",
        source="hf-hub:OFA-Sys/chinese-clip-vit-base-patch16",
        format="hf",
        family="Chinese-CLIP ViT-B/16 + RoBERTa-wwm-base",
        license="MIT",
        description="Chinese-CLIP (Yang et al. 2022), trained on 200M Chinese image-text pairs; Chinese queries",
        embedding_dim=512,
        preprocess=_CHINESE_CLIP_PREPROCESS,
        prompt_template="一张{}的照片",
        url="https://huggingface.co/OFA-Sys/chinese-clip-vit-base-patch16",
        languages="zh",
    ),
    ModelSpec(
        name="chinese-clip-vit-l-14",
        source="hf-hub:OFA-Sys/chinese-clip-vit-large-patch14",
        format="hf",
        family="Chinese-CLIP ViT-L/14 + RoBERTa-wwm-base",
        license="MIT",
        description="Chinese-CLIP large; Chinese queries",
        embedding_dim=768,
        preprocess=_CHINESE_CLIP_PREPROCESS,
        prompt_template="一张{}的照片",
        url="https://huggingface.co/OFA-Sys/chinese-clip-vit-large-patch14",
        languages="zh",
    ),
    ModelSpec(
        name="siglip2-base",
        source="hf-hub:google/siglip2-base-patch16-224",
        format="hf",
        family="SigLIP 2 ViT-B/16, 224 px (FixRes), Gemma tokenizer",
        license="Apache-2.0",
        description="SigLIP 2 (Tschannen et al. 2025), multilingual; loaded as transformers SiglipModel",
        embedding_dim=768,
        preprocess=_SIGLIP_PREPROCESS,
        prompt_template="a photo of a {}",
        url="https://huggingface.co/google/siglip2-base-patch16-224",
        languages="multilingual",
    ),
    ModelSpec(
        name="siglip2-base-naflex",
        source="hf-hub:google/siglip2-base-patch16-naflex",
        format="hf",
        family="SigLIP 2 ViT-B/16 NaFlex (native aspect ratio, up to 256 patches)",
        license="Apache-2.0",
        description="SigLIP 2 NaFlex: images keep their aspect ratio; torch only (no ONNX/OpenVINO export)",
        embedding_dim=768,
        preprocess=PreprocessConfig(
            resize_mode="naflex",
            patch_size=16,
            max_patches=256,
            resize=256,
            image_size=256,
            interpolation="bilinear",
            mean=(0.5, 0.5, 0.5),
            std=(0.5, 0.5, 0.5),
            context_length=64,
            pad_to_context_length=True,
        ),
        prompt_template="a photo of a {}",
        url="https://huggingface.co/google/siglip2-base-patch16-naflex",
        languages="multilingual",
    ),
    ModelSpec(
        name="siglip-base-multilingual",
        source="hf-hub:google/siglip-base-patch16-256-multilingual",
        format="hf",
        family="SigLIP ViT-B/16, 256 px, multilingual SentencePiece tokenizer",
        license="Apache-2.0",
        description="the multilingual SigLIP (Zhai et al. 2023); its tokenizer needs fashionclip[multilingual]",
        embedding_dim=768,
        preprocess=replace(_SIGLIP_PREPROCESS, image_size=256, resize=256),
        prompt_template="a photo of a {}",
        url="https://huggingface.co/google/siglip-base-patch16-256-multilingual",
        languages="multilingual",
    ),
    ModelSpec(
        name="altclip",
        source="hf-hub:BAAI/AltCLIP",
        format="hf",
        family="AltCLIP: CLIP ViT-L/14 + XLM-R large text tower",
        license="CreativeML OpenRAIL-M",
        description="AltCLIP (Chen et al. 2022), bilingual Chinese-English text tower distilled from CLIP",
        embedding_dim=768,
        prompt_template="a photo of a {}",
        url="https://huggingface.co/BAAI/AltCLIP",
        languages="zh+en",
    ),
    ModelSpec(
        name="marqo-fashion-siglip",
        source="hf-hub:Marqo/marqo-fashionSigLIP",
        format="open_clip",
        family="SigLIP ViT-B/16 (open_clip)",
        license="Apache-2.0",
        description="Marqo-FashionSigLIP, GCL fine-tune of SigLIP ViT-B/16 (needs fashionclip[openclip])",
        embedding_dim=768,
        preprocess=_SIGLIP_PREPROCESS,
        prompt_template="a photo of a {}",
        url="https://huggingface.co/Marqo/marqo-fashionSigLIP",
    ),
)

# Alibaba EasyNLP's CLIP checkpoints live in its own model zoo (not on the hub), in a layout
# of their own: a user downloads, unpacks and converts them into the folder each entry names
EASYNLP_MODELZOO = "https://atp-modelzoo-sh.oss-cn-shanghai.aliyuncs.com/release/easynlp_modelzoo/"
EASYNLP_FOLDER = "~/.cache/fashionclip/easynlp"
# EasyNLP's name -> its .tgz (the model zoo's modelzoo_alibaba.json maps each name to "<name>.tgz")
EASYNLP_CHECKPOINTS: dict[str, str] = {
    name: f"{EASYNLP_MODELZOO}{name}.tgz"
    for name in (
        "alibaba-pai/clip_chinese_roberta_base_vit_base",
        "alibaba-pai/clip_chinese_roberta_base_vit_large",
        "alibaba-pai/pai-clip-commercial-base-en",
        "alibaba-pai/pai-clip-commercial-large-en",
    )
}


def _easynlp(name: str, zoo_name: str, family: str, dim: int, languages: str) -> ModelSpec:
    url = EASYNLP_CHECKPOINTS[zoo_name]
    archive = zoo_name.rpartition("/")[2]
    return ModelSpec(
        name=name,
        source=f"local-dir:{EASYNLP_FOLDER}/{name}",
        format="hf",
        family=family,
        license="Apache-2.0 (EasyNLP)",  # the toolkit's license: the model zoo states none per checkpoint
        description=(
            f"Alibaba EasyNLP {zoo_name} (from EasyNLP's model zoo, not the hub): download {url}, "
            f"`tar xzf {archive}.tgz`, then `fashionclip convert easynlp {archive} {EASYNLP_FOLDER}/{name}`"
        ),
        embedding_dim=dim,
        prompt_template="一张{}的照片" if languages == "zh" else "a photo of a {}",
        url=url,
        languages=languages,
    )


# dimensions follow the towers' names (B: 512, L: 768); unverified without the files
_MODELS += (
    _easynlp(
        "pai-clip-commercial-base-en",
        "alibaba-pai/pai-clip-commercial-base-en",
        "CLIP ViT-B (EasyNLP open_clip layout)",
        512,
        "en",
    ),
    _easynlp(
        "pai-clip-commercial-large-en",
        "alibaba-pai/pai-clip-commercial-large-en",
        "CLIP ViT-L (EasyNLP open_clip layout)",
        768,
        "en",
    ),
    _easynlp(
        "pai-clip-chinese-base",
        "alibaba-pai/clip_chinese_roberta_base_vit_base",
        "Chinese-CLIP RoBERTa-base + ViT-B (EasyNLP chinese_clip layout)",
        512,
        "zh",
    ),
    _easynlp(
        "pai-clip-chinese-large",
        "alibaba-pai/clip_chinese_roberta_base_vit_large",
        "Chinese-CLIP RoBERTa-base + ViT-L (EasyNLP chinese_clip layout)",
        768,
        "zh",
    ),
)

_BY_NAME = {spec.name: spec for spec in _MODELS}


def list_models() -> list[ModelSpec]:
    """Every named checkpoint, in table order."""
    return list(_MODELS)


def get_spec(name: str) -> ModelSpec | None:
    """The registry entry called ``name``, or None."""
    return _BY_NAME.get(name)


def package_path(source: str) -> Path | None:
    """The folder a ``package:<dir>`` source names inside the installed package, else None."""
    if not source.startswith("package:"):
        return None
    return Path(str(resources.files("fashionclip").joinpath(source[len("package:") :])))

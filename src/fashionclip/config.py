"""Frozen configuration records shared by preprocessing, loading and the registry."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

ResizeMode = Literal["shortest", "squash", "naflex"]
Interpolation = Literal["bicubic", "bilinear", "nearest", "lanczos", "box", "hamming"]

OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

# the numeric precisions a model can run at; each backend runs a subset (load_model says which)
PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "fp16", "int8")

# PIL resample ids, as stored in HF preprocessor_config.json ("resample": 3)
_PIL_RESAMPLE_NAMES = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}


@dataclass(frozen=True)
class PreprocessConfig:
    """How a checkpoint expects its inputs.

    ``resize`` is the target of the shortest edge (``resize_mode="shortest"``,
    CLIP's resize-then-centre-crop) or the square side (``"squash"``, SigLIP's
    plain resize); ``image_size`` is the square crop fed to the model.
    """

    image_size: int = 224
    resize: int = 224
    resize_mode: ResizeMode = "shortest"
    interpolation: Interpolation = "bicubic"
    mean: tuple[float, float, float] = OPENAI_CLIP_MEAN
    std: tuple[float, float, float] = OPENAI_CLIP_STD
    context_length: int = 77
    pad_to_context_length: bool = False
    # transformers floors the centre-crop offset, torchvision (open_clip) rounds it
    crop_offset: Literal["floor", "round"] = "floor"
    # SigLIP 2 NaFlex (resize_mode="naflex"): the image keeps its aspect ratio, resized so that it
    # cuts into at most ``max_patches`` squares of ``patch_size`` pixels
    patch_size: int = 16
    max_patches: int = 256

    def __post_init__(self) -> None:
        if self.image_size <= 0 or self.resize <= 0:
            raise ValueError(f"image sizes must be positive, got image_size={self.image_size}, resize={self.resize}")
        if self.resize_mode not in ("shortest", "squash", "naflex"):
            raise ValueError(f"resize_mode must be 'shortest', 'squash' or 'naflex', got {self.resize_mode!r}")
        if self.patch_size <= 0 or self.max_patches <= 0:
            raise ValueError(f"patch_size and max_patches must be positive, got {self.patch_size}, {self.max_patches}")
        if self.interpolation not in _PIL_RESAMPLE_NAMES.values():
            raise ValueError(
                f"interpolation must be one of {sorted(_PIL_RESAMPLE_NAMES.values())}, got {self.interpolation!r}"
            )
        if len(self.mean) != 3 or len(self.std) != 3 or any(s <= 0 for s in self.std):
            raise ValueError(f"mean and std need 3 values each (std > 0), got mean={self.mean}, std={self.std}")
        if self.crop_offset not in ("floor", "round"):
            raise ValueError(f"crop_offset must be 'floor' or 'round', got {self.crop_offset!r}")
        if self.context_length < 2:
            raise ValueError(f"context_length must be at least 2, got {self.context_length}")

    @property
    def pixel_shape(self) -> tuple[int, int, int] | tuple[int, int]:
        """The shape of one preprocessed image: (3, S, S), or for NaFlex (1 + max_patches,
        3 * patch_size**2): a header row holding the patch grid's height and width, then the
        patches, zero-padded."""
        if self.resize_mode == "naflex":
            return (1 + self.max_patches, 3 * self.patch_size**2)
        return (3, self.image_size, self.image_size)

    def with_hf_processor(self, processor: dict[str, Any]) -> PreprocessConfig:
        """This config overridden by a Hugging Face ``preprocessor_config.json`` dict.

        Understands both the transformers 4.x and 5.x spellings of sizes.
        """
        updates: dict[str, Any] = {}
        if "max_num_patches" in processor:  # SigLIP 2 NaFlex: no fixed size at all
            patch, most = int(processor.get("patch_size", self.patch_size)), int(processor["max_num_patches"])
            # the side of the square a NaFlex image is about as large as: what draft decoding aims at
            side = patch * max(1, int(most**0.5))
            updates.update(resize_mode="naflex", patch_size=patch, max_patches=most, resize=side, image_size=side)
            updates["interpolation"] = "bilinear"  # Siglip2ImageProcessor's default resample
        size = processor.get("size")
        if isinstance(size, int):
            updates["resize"] = size
        elif isinstance(size, dict):
            if "shortest_edge" in size:
                updates.update(resize=int(size["shortest_edge"]), resize_mode="shortest")
            elif "height" in size and "width" in size:
                if size["height"] != size["width"]:
                    raise ValueError(f"non-square resize {size} is not supported")
                updates.update(resize=int(size["height"]), resize_mode="squash")
        crop = processor.get("crop_size")
        if not processor.get("do_center_crop", crop is not None):
            # no crop: the model sees the resized image itself
            updates["image_size"] = updates.get("resize", self.resize)
        elif isinstance(crop, int):
            updates["image_size"] = crop
        elif isinstance(crop, dict) and "height" in crop:
            if crop["height"] != crop.get("width", crop["height"]):
                raise ValueError(f"non-square crop {crop} is not supported")
            updates["image_size"] = int(crop["height"])
        if "image_mean" in processor:
            updates["mean"] = tuple(float(v) for v in processor["image_mean"])
        if "image_std" in processor:
            updates["std"] = tuple(float(v) for v in processor["image_std"])
        resample = processor.get("resample")
        if isinstance(resample, int) and resample in _PIL_RESAMPLE_NAMES:
            updates["interpolation"] = _PIL_RESAMPLE_NAMES[resample]
        return replace(self, **updates)


@dataclass(frozen=True)
class ModelSpec:
    """One named checkpoint: where it lives, what it is, and how to feed it."""

    name: str
    source: str  # "hf-hub:org/repo", "local-dir:/path" or "package:relative/dir"
    format: Literal["hf", "open_clip"]
    family: str
    license: str
    description: str
    embedding_dim: int | None = None
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    prompt_template: str = "a photo of a {}"
    url: str | None = None
    # the languages its text tower was trained on: "en", "zh+en", "multilingual" ...
    languages: str = "en"

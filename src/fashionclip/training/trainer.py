"""The training loop: seeded batches, contrastive loss, checkpoints and exact resume.

Every random choice (epoch order, crop, caption) is a pure function of
``(seed, epoch, position)``, and the checkpoint holds model, optimizer and
scheduler state plus the position in the epoch. A run killed at any point and
resumed therefore replays the same batches from where it stopped.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fashionclip.errors import ImageLoadError
from fashionclip.io import is_remote
from fashionclip.loading import resolve
from fashionclip.preprocess.image import ImagePreprocessor, load_image
from fashionclip.training.augment import augment
from fashionclip.training.card import write_model_card
from fashionclip.training.config import TrainConfig, TrainConfigError
from fashionclip.training.data import (
    CaptionSampler,
    Example,
    batch_positives,
    batches,
    epoch_order,
    read_sources,
    rng_for,
    split_by_id,
)
from fashionclip.training.losses import clip_loss, siglip_loss
from fashionclip.training.model import (
    TrainableModel,
    build_from_architecture,
    freeze,
    image_features,
    load_checkpoint,
    save_hf,
    text_features,
)
from fashionclip.training.regions import crop_box
from fashionclip.training.validate import embed_pixels, live_encoder, validation_metrics

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint/state.pt"
METRICS = "metrics.jsonl"
RUN_CONFIG = "training_config.json"
_MAX_LOGIT_SCALE = math.log(100.0)


@dataclass
class TrainResult:
    """What a finished run produced."""

    output: Path
    epochs: int
    steps: int
    seconds: float
    validation: dict[str, float]
    history: list[dict[str, Any]] = field(default_factory=list)
    skipped_images: int = 0


def _load_example(example: Example, draft_size: int | None = None) -> Any:
    """Decode an example's image and crop its region. With ``draft_size``, large JPEGs are decoded
    at a reduced DCT scale that still covers twice that size over the region (augmentation
    does not need every pixel); without it, fully, as the encoder sees a photo."""
    from PIL import Image

    item, box = example.image, example.box
    image: Any = item
    if draft_size and isinstance(item, str) and not is_remote(item) and item.lower().endswith((".jpg", ".jpeg")):
        need = 2 * draft_size / (min(box[2] - box[0], box[3] - box[1]) if box else 1.0)
        try:
            image = Image.open(item)
            image.draft("RGB", (math.ceil(need), math.ceil(need)))
        except Exception:  # unreadable: load_image names the problem
            image = item
    image = load_image(image)
    return crop_box(image, box) if box else image


class _EpochBatches(torch.utils.data.Dataset):
    """Batch number -> (pixels, tokens, keys); decoding and augmentation run in DataLoader workers."""

    def __init__(
        self,
        examples: list[Example],
        batch_list: list[list[int]],
        offset: int,
        epoch: int,
        config: TrainConfig,
        sampler: CaptionSampler,
        trainable: TrainableModel,
    ) -> None:
        self.examples, self.batch_list, self.offset = examples, batch_list, offset
        self.epoch, self.config, self.sampler = epoch, config, sampler
        self.preprocess = trainable.preprocess
        self.tokenizer = trainable.tokenizer
        self.pixels = ImagePreprocessor(trainable.preprocess)

    def __len__(self) -> int:
        return len(self.batch_list)

    def __getitem__(self, b: int) -> dict[str, Any]:
        arrays, captions, items, colour_removed, failed = [], [], [], [], []
        for position_in_batch, index in enumerate(self.batch_list[b]):
            position = (self.offset + b) * self.config.batch_size + position_in_batch
            rng = rng_for(self.config.seed, self.epoch, position)
            example = self.examples[index]
            try:
                image = _load_example(example, self.preprocess.resize)
            except ImageLoadError as exc:
                failed.append(f"{example.id}: {exc.reason}")
                continue
            image, removed = augment(image, self.config.augment, self.preprocess, rng)
            arrays.append(self.pixels.pixels(image))
            captions.append(self.sampler.draw(example, rng, colour_free=removed))
            items.append(index)
            colour_removed.append(removed)
        tokens = self.tokenizer([c.text for c in captions])
        positives = batch_positives(self.sampler, self.examples, captions, items, colour_removed)
        return {
            "pixels": torch.from_numpy(np.stack(arrays)),
            "input_ids": torch.from_numpy(tokens.input_ids),
            "attention_mask": torch.from_numpy(tokens.attention_mask),
            "positives": torch.from_numpy(positives),
            "failed": failed,
        }


class Trainer:
    """Runs one :class:`TrainConfig`; ``train()`` returns a :class:`TrainResult`."""

    def __init__(
        self, config: TrainConfig, *, resume: bool = False, show_progress: bool = True, progress: bool | None = None
    ) -> None:
        show_progress = _progress_alias(show_progress, progress)
        if config.model is not None:
            resolve(config.model)  # an unknown name fails now, not after reading the data
        self.config = config
        self.output = Path(config.output).expanduser()
        self.resume = resume
        self.show_progress = show_progress
        checkpoint = self.output / CHECKPOINT
        if resume and not checkpoint.exists():
            raise TrainConfigError(f"nothing to resume: {checkpoint} does not exist")
        if not resume and checkpoint.exists():
            raise TrainConfigError(
                f"{self.output} already holds a training checkpoint; pass --resume to continue it "
                "or choose another output directory"
            )

    # ------------------------------------------------------------------ setup
    def _setup(self) -> None:
        c = self.config
        torch.manual_seed(c.seed)
        self.examples = read_sources(c.data)
        self.train_idx, self.val_idx = split_by_id(self.examples, c.val_fraction, [s.val_fraction for s in c.data])
        if len(self.train_idx) < c.batch_size:
            raise TrainConfigError(
                f"only {len(self.train_idx)} training pairs after the validation split; "
                f"lower batch_size (now {c.batch_size}) or add data"
            )
        if not self.val_idx:
            raise TrainConfigError("the validation split is empty; raise val_fraction or add data")
        self.weights = [c.data[self.examples[i].source].repeat for i in self.train_idx]
        self.sampler = CaptionSampler(c.data)
        if c.architecture is not None:
            self.trainable = build_from_architecture(c.architecture, c.seed)
        else:
            self.trainable = load_checkpoint(str(c.model))
        model = self.trainable.model
        freeze(model, c.freeze)
        self.device = c.device
        model.to(self.device).train()
        self.logit_bias = torch.nn.Parameter(torch.tensor(-10.0, device=self.device))
        if c.loss == "siglip" and c.architecture is not None:
            with torch.no_grad():  # SigLIP's initialisation: temperature 10, bias -10
                model.logit_scale.fill_(math.log(10.0))
        decay, no_decay = [], []
        for name, parameter in model.named_parameters():
            if not parameter.requires_grad:
                continue
            # biases, norms, embeddings and the temperature are not shrunk towards zero
            if parameter.ndim < 2 or "embedding" in name or "norm" in name:
                no_decay.append(parameter)
            else:
                decay.append(parameter)
        if c.loss == "siglip":
            no_decay.append(self.logit_bias)
        if not any(p.requires_grad for n, p in model.named_parameters() if n != "logit_scale"):
            raise TrainConfigError(f"freeze={c.freeze} leaves nothing to train but the temperature")
        self.optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": c.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=c.lr,
            betas=(0.9, 0.98),
            eps=1e-6,
        )
        self.batches_per_epoch = sum(self.weights) // c.batch_size
        self.steps_per_epoch = self.batches_per_epoch // c.grad_accumulation
        if self.steps_per_epoch < 1:
            raise TrainConfigError("fewer training pairs than one optimizer step needs; lower batch_size")
        self.total_steps = self.steps_per_epoch * c.epochs
        warmup = int(c.warmup * self.total_steps) if c.warmup < 1 else int(c.warmup)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, _warmup_cosine(warmup, self.total_steps, c.min_lr_ratio)
        )
        self.epoch, self.batch_in_epoch, self.step = 0, 0, 0
        self.skipped: Counter[str] = Counter()
        self._val_cache: tuple[np.ndarray, list[int]] | None = None

    def _load_state(self) -> None:
        state = torch.load(self.output / CHECKPOINT, map_location=self.device, weights_only=False)
        self.trainable.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.logit_bias.data.copy_(state["logit_bias"])
        self.epoch, self.batch_in_epoch, self.step = state["epoch"], state["batch_in_epoch"], state["step"]
        self.elapsed = state.get("elapsed", 0.0)
        self.skipped = Counter(state.get("skipped", {}))
        # drop log lines the interrupted run wrote after its last checkpoint
        log = self.output / METRICS
        if log.exists():
            kept = [line for line in log.read_text().splitlines() if line and json.loads(line)["step"] <= self.step]
            log.write_text("".join(line + "\n" for line in kept))

    def _save_state(self) -> None:
        path = self.output / CHECKPOINT
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {
            "model": self.trainable.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "logit_bias": self.logit_bias.detach().clone(),
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "step": self.step,
            "elapsed": self._elapsed(),
            "skipped": dict(self.skipped),
        }
        tmp = path.with_suffix(".tmp")
        torch.save(state, tmp)
        os.replace(tmp, path)  # a kill during the write leaves the previous checkpoint intact

    def _elapsed(self) -> float:
        return self.elapsed + (time.monotonic() - self._started)

    def _log(self, record: dict[str, Any]) -> None:
        with (self.output / METRICS).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    # ------------------------------------------------------------------- loop
    def train(self) -> TrainResult:
        """Train to the end (or from the checkpoint on), then write the model directory."""
        c = self.config
        self.output.mkdir(parents=True, exist_ok=True)
        self._setup()
        self.elapsed = 0.0
        if self.resume:
            self._load_state()
        else:
            (self.output / METRICS).unlink(missing_ok=True)
        (self.output / RUN_CONFIG).write_text(json.dumps(c.to_dict(), indent=2) + "\n", encoding="utf-8")
        self._started = time.monotonic()
        model = self.trainable.model
        last_val: dict[str, float] = {}
        while self.epoch < c.epochs:
            order = epoch_order(self.train_idx, self.weights, c.seed, self.epoch)
            batch_list = list(batches(order, c.batch_size))[: self.steps_per_epoch * c.grad_accumulation]
            pending = batch_list[self.batch_in_epoch :]
            dataset = _EpochBatches(
                self.examples, pending, self.batch_in_epoch, self.epoch, c, self.sampler, self.trainable
            )
            loader = torch.utils.data.DataLoader(
                dataset,
                batch_size=None,
                num_workers=c.workers,
                prefetch_factor=4 if c.workers else None,
                pin_memory=str(self.device).startswith("cuda"),
            )
            bar = self._bar(len(batch_list), self.batch_in_epoch)
            window_start, window_images, losses = time.monotonic(), 0, []
            for batch in loader:
                for failure in batch["failed"]:
                    if failure not in self.skipped:
                        log.warning("skipping unreadable image %s", failure)
                    self.skipped[failure] += 1
                loss = self._forward(batch) / c.grad_accumulation
                loss.backward()
                losses.append(float(loss.detach()) * c.grad_accumulation)
                window_images += len(batch["pixels"])
                self.batch_in_epoch += 1
                if self.batch_in_epoch % c.grad_accumulation:
                    continue
                self._optimizer_step()
                rate = window_images / max(time.monotonic() - window_start, 1e-9)
                if bar is not None:
                    bar.update(c.grad_accumulation)
                    bar.set_postfix(
                        loss=f"{losses[-1]:.3f}", lr=f"{self.scheduler.get_last_lr()[0]:.2e}", img_s=f"{rate:.0f}"
                    )
                if self.step % c.log_every == 0:
                    self._log(
                        {
                            "type": "train",
                            "epoch": self.epoch,
                            "step": self.step,
                            "loss": float(np.mean(losses)),
                            "lr": self.scheduler.get_last_lr()[0],
                            "logit_scale": float(model.logit_scale.detach().exp()),
                            "images_per_s": rate,
                            "elapsed_s": self._elapsed(),
                        }
                    )
                    window_start, window_images, losses = time.monotonic(), 0, []
                if self.step % c.checkpoint_every == 0 and self.batch_in_epoch < len(batch_list):
                    self._save_state()
            if bar is not None:
                bar.close()
            last_val = self.validate()
            self._log(
                {"type": "validation", "epoch": self.epoch, "step": self.step, **last_val, "elapsed_s": self._elapsed()}
            )
            log.info("epoch %d validation: %s", self.epoch, last_val)
            self.epoch, self.batch_in_epoch = self.epoch + 1, 0
            self._save_state()
        return self._finish(last_val)

    def _bar(self, total: int, done: int) -> Any:
        if not self.show_progress:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=total, initial=done, desc=f"epoch {self.epoch + 1}/{self.config.epochs}", unit="batch")

    def _forward(self, batch: dict[str, Any]) -> torch.Tensor:
        c, model = self.config, self.trainable.model
        pixels = batch["pixels"].to(self.device, non_blocking=True)
        ids = batch["input_ids"].to(self.device)
        mask = batch["attention_mask"].to(self.device)
        device_type = "cuda" if str(self.device).startswith("cuda") else "cpu"
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=c.precision == "bf16"):
            image = image_features(model, pixels)
            text = text_features(model, ids, mask)
        image, text = image.float(), text.float()
        positives = batch["positives"].to(self.device)
        if c.loss == "siglip":
            return siglip_loss(image, text, model.logit_scale, self.logit_bias, positives)
        return clip_loss(image, text, model.logit_scale, positives)

    def _optimizer_step(self) -> None:
        model = self.trainable.model
        torch.nn.utils.clip_grad_norm_([p for g in self.optimizer.param_groups for p in g["params"]], 1.0)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        with torch.no_grad():
            model.logit_scale.clamp_(0, _MAX_LOGIT_SCALE)
        self.step += 1

    # ------------------------------------------------------------- validation
    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Recall@1/5/10 both ways on the validation split, and zero-shot accuracy on ``val_attribute``."""
        c, model = self.config, self.trainable.model
        model.eval()
        try:
            if self._val_cache is None:
                self._val_cache = self._validation_pixels()
            pixels, kept = self._val_cache
            examples = [self.examples[i] for i in kept]
            encoder = live_encoder(self.trainable, device=self.device, name=c.model_name or Path(c.output).name)
            attribute = c.val_attribute
            metrics = validation_metrics(
                encoder,
                embed_pixels(encoder, pixels),
                [self.sampler.reference(e) for e in examples],
                attribute=attribute,
                labels=[e.attributes.get(attribute) or None for e in examples] if attribute else (),
                prompt=c.val_prompt,
            )
            metrics["val_items"] = len(examples)
        finally:
            model.train()
        return metrics

    def _validation_pixels(self) -> tuple[np.ndarray, list[int]]:
        limit = self.config.val_max_items
        # the first items by id hash: a fixed, unbiased subset
        candidates = self.val_idx if limit is None else self.val_idx[:limit]
        preprocessor = ImagePreprocessor(self.trainable.preprocess)
        arrays, kept = [], []
        for i in candidates:
            example = self.examples[i]
            try:
                arrays.append(preprocessor(_load_example(example)))
            except ImageLoadError as exc:
                log.warning("validation: skipping unreadable image %s: %s", example.id, exc.reason)
                continue
            kept.append(i)
        if not arrays:
            raise TrainConfigError("no validation image could be read")
        return np.stack(arrays), kept

    # ----------------------------------------------------------------- output
    def _finish(self, validation: dict[str, float]) -> TrainResult:
        c = self.config
        save_hf(self.trainable, self.output, dtype=c.save_dtype)
        history = [json.loads(line) for line in (self.output / METRICS).read_text().splitlines() if line]
        seconds = self._elapsed()
        write_model_card(
            self.output,
            config=c,
            examples=len(self.examples),
            train_items=len(self.train_idx),
            val_items=len(self.val_idx),
            validation=validation,
            seconds=seconds,
            start=self.trainable.source,
        )
        if self.skipped:
            log.warning("%d unreadable training images were skipped", len(self.skipped))
        return TrainResult(self.output, self.epoch, self.step, seconds, validation, history, len(self.skipped))


def _warmup_cosine(warmup: int, total: int, min_ratio: float):  # noqa: ANN202
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return factor


def finished(config: TrainConfig) -> bool:
    """Whether the run in ``config.output`` has already trained all its epochs."""
    path = Path(config.output) / CHECKPOINT
    if not path.is_file():
        return False
    state = torch.load(path, map_location="cpu", weights_only=False)
    return int(state["epoch"]) >= config.epochs


def train(
    config: TrainConfig, *, resume: bool = False, show_progress: bool = True, progress: bool | None = None
) -> TrainResult:
    """Train (or fine-tune) a CLIP model as ``config`` says; see :class:`TrainConfig`."""
    return Trainer(config, resume=resume, show_progress=_progress_alias(show_progress, progress)).train()


def _progress_alias(show_progress: bool, progress: bool | None) -> bool:
    """``progress=`` is the old name of ``show_progress=``, the one every other call uses."""
    if progress is None:
        return show_progress
    warnings.warn("progress= is deprecated; use show_progress=", DeprecationWarning, stacklevel=3)
    return progress

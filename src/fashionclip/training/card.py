"""The model card written next to a trained checkpoint (Hugging Face README.md layout)."""

from __future__ import annotations

import json
from pathlib import Path

from fashionclip.machine import cpu_name
from fashionclip.training.config import TrainConfig
from fashionclip.version import __version__


def write_model_card(
    output: Path,
    *,
    config: TrainConfig,
    examples: int,
    train_items: int,
    val_items: int,
    validation: dict[str, float],
    seconds: float,
    start: str,
) -> Path:
    """Write ``README.md``: data, split, hyper-parameters, measured metrics, license, intended use."""
    name = config.model_name or output.name
    sources = "\n".join(
        f"- `{s.path}` ({s.format}; captions: {', '.join(s.caption_columns) or '-'}"
        f"{'; templates: ' + '; '.join(repr(t) for t in s.templates) if s.templates else ''}"
        f"{'; aliases for ' + ', '.join(s.aliases) if s.aliases else ''}"
        f"{f'; repeated x{s.repeat}' if s.repeat > 1 else ''})"
        for s in config.data
    )
    metrics = "\n".join(
        f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in validation.items()
    )
    hyper = {k: v for k, v in config.to_dict().items() if k not in ("data", "output")}
    text = f"""---
license: {config.license.lower()}
library_name: transformers
tags: [clip, fashion, fashionclip, zero-shot-image-classification]
pipeline_tag: zero-shot-image-classification
---

# {name}

A CLIP model trained with `fashionclip train` (fashionclip {__version__}), starting from **{start}**.
It loads with `fashionclip.load_model("{output}")` and with
`transformers.CLIPModel.from_pretrained`.

## Data
{examples} image–caption pairs from:
{sources}

Split: deterministic by a hash of each item's id, {config.val_fraction:.0%} for validation
({train_items} training items, {val_items} validation items).

## Training
- loss: {config.loss}; precision: {config.precision}; epochs: {config.epochs}; batch size: {config.batch_size}
  (x{config.grad_accumulation} accumulation); peak lr {config.lr}; seed {config.seed}
- wall time: {seconds / 60:.1f} minutes on {cpu_name()} ({config.device})
- full run configuration: `training_config.json`; per-step and per-epoch metrics: `metrics.jsonl`

<details><summary>Hyper-parameters</summary>

```json
{json.dumps(hyper, indent=2)}
```
</details>

## Validation metrics (last epoch)
| metric | value |
|---|---|
{metrics}

Items sharing a caption count as matches in Recall@k.

## License and intended use
License: {config.license}. Intended for embedding, searching and tagging fashion product images.
It knows only what its training captions describe; check it on your own catalogue before relying on it.
"""
    path = output / "README.md"
    path.write_text(text, encoding="utf-8")
    return path

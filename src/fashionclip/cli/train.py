"""``fashionclip train``: contrastive training / fine-tuning of a CLIP checkpoint."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from fashionclip.cli._cleanup import removed_on_failure

_AUGMENT_PRESETS: dict[str, dict[str, float]] = {
    "none": {"crop_scale": 1.0, "flip": 0.0},
    "light": {"crop_scale": 0.8, "flip": 0.5},
    "strong": {
        "crop_scale": 0.7,
        "flip": 0.5,
        "background": 0.3,
        "greyscale": 0.1,
        "negative": 0.1,
        "low_resolution": 0.15,
    },
}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train or fine-tune a CLIP model on image–caption pairs",
        description=(
            "Contrastive training of a Hugging Face CLIP checkpoint on image–caption pairs: a catalogue file "
            "(CSV/JSONL/Parquet), an image folder with captions, or an EasyNLP TSV (text<TAB>base64 image). "
            "Writes an HF model directory with a model card, metrics.jsonl and a resumable checkpoint."
        ),
        epilog=(
            "examples:\n"
            "  fashionclip train pairs.csv --model fashion-clip --output my-model --freeze vision\n"
            "  fashionclip train --recipe fashion-clip-mini --data-root ../shared/data --output runs/mini\n"
            "  fashionclip train --resume --output runs/mini"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("data", nargs="*", help="catalogue file(s), image folder(s) or EasyNLP .tsv file(s)")
    parser.add_argument("-o", "--output", help="output directory (the model, card, metrics and checkpoint)")
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--model", help="checkpoint to fine-tune: registry name, HF id or directory")
    start.add_argument("--architecture", metavar="JSON", help="train from scratch: a JSON file or inline JSON of sizes")
    start.add_argument("--recipe", help="a bundled recipe name (fashion-clip-mini) or a JSON training config file")
    start.add_argument("--resume", action="store_true", help="continue the run whose checkpoint is in --output")
    parser.add_argument("--data-root", help="fills {data_root} in a recipe's data paths")

    data = parser.add_argument_group("data")
    data.add_argument("--format", default="auto", help="csv, jsonl, parquet, tsv or folder (default: from the path)")
    data.add_argument("--root", help="folder that relative image paths start from (default: the file's folder)")
    data.add_argument("--id-column", default="id", help="column holding a unique item id (default: id)")
    data.add_argument("--image-column", default="image", help="column of image paths or URLs (default: image)")
    data.add_argument("--image-template", help="build image paths from columns instead, e.g. 'images/{id}.jpg'")
    data.add_argument(
        "--caption-column", action="append", help="free-text caption column (repeatable; default: caption)"
    )
    data.add_argument(
        "--template",
        action="append",
        default=[],
        help="caption template over columns, e.g. 'a photo of a {colour} {type}'",
    )
    data.add_argument("--template-probability", type=float, default=0.5, help="chance of a template caption (0.5)")
    data.add_argument(
        "--captions-file", help="image folders: CSV/JSONL of image,caption (default: .txt beside each image)"
    )

    hp = parser.add_argument_group("optimisation")
    hp.add_argument("--epochs", type=int)
    hp.add_argument("--batch-size", type=int)
    hp.add_argument("--grad-accumulation", type=int)
    hp.add_argument("--lr", type=float, help="peak learning rate (default 1e-5 fine-tuning, 5e-4 from scratch)")
    hp.add_argument("--weight-decay", type=float)
    hp.add_argument("--warmup", type=float, help="warm-up: a fraction of all steps (< 1) or a number of steps")
    hp.add_argument("--loss", choices=("clip", "siglip"))
    hp.add_argument("--precision", choices=("fp32", "bf16"))
    hp.add_argument("--freeze", action="append", help="vision, vision-trunk, text, text-trunk or token-embedding")
    hp.add_argument("--augment", choices=sorted(_AUGMENT_PRESETS), help="augmentation preset (default light)")
    hp.add_argument("--seed", type=int)
    hp.add_argument("--workers", type=int, help="data-loading worker processes (default 2)")
    hp.add_argument("--device", help="cpu (default) or cuda")

    val = parser.add_argument_group("validation and output")
    val.add_argument("--val-fraction", type=float, help="share of ids held out for validation (default 0.1)")
    val.add_argument("--val-attribute", help="column for per-epoch zero-shot accuracy, e.g. articleType")
    val.add_argument("--val-prompt", help="zero-shot prompt with {} for the label (default 'a photo of a {}')")
    val.add_argument("--checkpoint-every", type=int, help="optimizer steps between checkpoints (default 200)")
    val.add_argument("--save-dtype", choices=("float32", "float16", "bfloat16"), help="how weights are stored")
    val.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(run=run)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    values = {
        "output": args.output,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "grad_accumulation": args.grad_accumulation,
        "lr": args.lr,
        "weight_decay": args.weight_decay,
        "warmup": args.warmup,
        "loss": args.loss,
        "precision": args.precision,
        "freeze": args.freeze,
        "seed": args.seed,
        "workers": args.workers,
        "device": args.device,
        "val_fraction": args.val_fraction,
        "val_attribute": args.val_attribute,
        "val_prompt": args.val_prompt,
        "checkpoint_every": args.checkpoint_every,
        "save_dtype": args.save_dtype,
    }
    if args.augment:
        values["augment"] = dict(_AUGMENT_PRESETS[args.augment])
    return {k: v for k, v in values.items() if v is not None}


def _architecture(text: str) -> dict[str, Any]:
    from fashionclip.training.config import TrainConfigError

    try:
        raw = Path(text).read_text(encoding="utf-8") if Path(text).is_file() else text
        value = json.loads(raw)
    except (OSError, json.JSONDecodeError) as exc:
        raise TrainConfigError(f"--architecture must be a JSON file or inline JSON object: {exc}") from None
    if not isinstance(value, dict):
        raise TrainConfigError("--architecture must be a JSON object of sizes, e.g. '{\"image_size\": 64}'")
    return value


def build_config(args: argparse.Namespace) -> Any:
    """The :class:`TrainConfig` the command line describes."""
    from fashionclip.training.config import DataSource, TrainConfig, TrainConfigError, load_recipe

    overrides = _overrides(args)
    if args.resume:
        if not args.output:
            raise TrainConfigError("--resume needs --output, the directory of the run to continue")
        saved = Path(args.output) / "training_config.json"
        if not saved.exists():
            raise TrainConfigError(f"nothing to resume: {saved} does not exist")
        return TrainConfig.from_json(saved)
    if args.recipe:
        if args.data:
            raise TrainConfigError("--recipe names its own data; drop the DATA arguments or use --model/--architecture")
        return load_recipe(args.recipe, data_root=args.data_root, **overrides)
    if not args.data:
        raise TrainConfigError("give the training data (a catalogue file, image folder or .tsv), or --recipe")
    if not args.output:
        raise TrainConfigError("--output is required")
    if not args.model and not args.architecture:
        raise TrainConfigError("give --model to fine-tune a checkpoint or --architecture to train from scratch")
    sources = [
        DataSource(
            path=path,
            format=args.format,
            root=args.root,
            id_column=args.id_column,
            image_column=args.image_column,
            image_template=args.image_template,
            caption_columns=args.caption_column or (["caption"] if not args.template else []),
            templates=args.template,
            template_probability=args.template_probability,
            captions_file=args.captions_file,
        )
        for path in args.data
    ]
    config: dict[str, Any] = {"data": sources, **overrides}
    if args.model:
        config["model"] = args.model
    else:
        config["architecture"] = _architecture(args.architecture)
        config.setdefault("lr", 5e-4)
    return TrainConfig.from_dict(config)


def run(args: argparse.Namespace) -> int:
    from fashionclip.training import train
    from fashionclip.training.trainer import finished

    config = build_config(args)
    if args.resume and finished(config):
        print(f"the run in {config.output} is already finished ({config.epochs} epochs): nothing to resume")
        return 0
    logging.getLogger("fashionclip").setLevel(logging.INFO)
    with removed_on_failure(None if args.resume else Path(config.output), empty=lambda: not _saved(config.output)):
        result = train(config, resume=args.resume, show_progress=not args.no_progress)
    summary = ", ".join(f"{k} {v:.3f}" for k, v in result.validation.items() if isinstance(v, float))
    print(f"trained {result.epochs} epochs ({result.steps} steps) in {result.seconds / 60:.1f} min")
    print(f"validation: {summary}")
    print(f"model written to {result.output} (load it with fashionclip.load_model({str(result.output)!r}))")
    return 0


def _saved(output: str) -> bool:
    """Whether a run wrote a checkpoint to resume from (then its folder is kept)."""
    from fashionclip.training.trainer import CHECKPOINT

    return (Path(output) / CHECKPOINT).is_file()

"""``fashionclip explain``: a heatmap of where a text concept is in an image, saved as a PNG overlay."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from fashionclip.errors import ExplainError
from fashionclip.explain import METHODS, explain
from fashionclip.loading import load_model
from fashionclip.registry import DEFAULT_MODEL


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "explain",
        help='heatmap of where a text ("the belt") is in an image, as a PNG overlay',
        description=(
            "Localise text concepts in an image: write the image with a heatmap over it (the peak circled). "
            "With several texts, -o OUT.png becomes OUT-<text>.png for each."
        ),
    )
    parser.add_argument("image", help="an image file or URL")
    parser.add_argument("texts", nargs="+", metavar="TEXT", help='what to find, e.g. "belt" or "cat print"')
    parser.add_argument("-o", "--output", required=True, help="OUT.png (or .jpg)")
    parser.add_argument(
        "--method", choices=METHODS, default="occlusion", help="how regions are scored (default occlusion)"
    )
    parser.add_argument(
        "--contrast",
        default="fashion",
        help="competitor texts: a bundled vocabulary ('fashion'), comma-separated texts, or 'none' (default fashion)",
    )
    parser.add_argument("--template", default=None, help="prompt template with {} (default: the model's)")
    parser.add_argument("--alpha", type=float, default=0.5, help="heat opacity, 0 to 1 (default 0.5)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"model (default {DEFAULT_MODEL})")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    output = Path(args.output)
    if output.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise ExplainError(f"--output {args.output!r} must end in .png or .jpg")
    if not 0.0 <= args.alpha <= 1.0:
        raise ExplainError(f"--alpha must be between 0 and 1, got {args.alpha}")
    if not output.parent.is_dir():
        raise ExplainError(f"--output {args.output!r}: folder {str(output.parent)!r} does not exist")
    contrast: str | list[str] | None = args.contrast
    if args.contrast == "none":
        contrast = None
    elif "," in args.contrast:
        contrast = [word.strip() for word in args.contrast.split(",") if word.strip()]
    encoder = load_model(args.model)
    heatmaps = explain(
        encoder, args.image, list(args.texts), method=args.method, contrast=contrast, template=args.template
    )
    for heatmap in heatmaps:
        path = output if len(heatmaps) == 1 else output.with_name(f"{output.stem}-{_slug(heatmap.text)}{output.suffix}")
        heatmap.save(path, args.image, alpha=args.alpha)
        x, y = heatmap.peak
        print(f"{heatmap.text!r}: peak at x={x} y={y} ({heatmap.method}, {heatmap.seconds:.2f} s) -> {path}")
    return 0


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "text"

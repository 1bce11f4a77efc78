"""``fashionclip convert easynlp SOURCE TARGET``: another toolkit's checkpoint -> a folder we load."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from fashionclip.convert.easynlp import EASYNLP_CHECKPOINTS

    parser = subparsers.add_parser(
        "convert",
        help="convert another toolkit's checkpoint into a folder fashionclip loads",
        description="Convert another toolkit's checkpoint into a Hugging Face folder that fashionclip loads.",
    )
    formats = parser.add_subparsers(dest="format", metavar="FORMAT", required=True)
    easynlp = formats.add_parser(
        "easynlp",
        help="an Alibaba EasyNLP CLIP checkpoint (open_clip or chinese_clip layout)",
        description=(
            "Convert an EasyNLP CLIP checkpoint folder (config.json, pytorch_model.bin, vocab.txt) into a "
            "Hugging Face CLIP / Chinese-CLIP folder: fashionclip.load_model(TARGET) then loads it."
        ),
        epilog="EasyNLP's model zoo (download, unpack, then convert the folder it unpacks):\n"
        + "".join(f"  {name}\n    {url}\n" for name, url in EASYNLP_CHECKPOINTS.items())
        + "example:\n  wget URL && tar xzf pai-clip-commercial-base-en.tgz\n"
        + "  fashionclip convert easynlp pai-clip-commercial-base-en ./pai-clip-commercial-base-en-hf",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    easynlp.add_argument("source", type=Path, metavar="SOURCE", help="the unpacked EasyNLP checkpoint folder")
    easynlp.add_argument("target", type=Path, metavar="TARGET", help="the folder to write; must not exist or be empty")
    # --debug after the format too, as after any other command
    easynlp.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    easynlp.set_defaults(run=run_easynlp)


def run_easynlp(args: argparse.Namespace) -> int:
    from fashionclip.convert.easynlp import convert_easynlp

    target = convert_easynlp(args.source, args.target)
    print(f"wrote {target}; load it with fashionclip.load_model({str(target)!r})")
    return 0

"""Entry point: parse arguments, dispatch, and turn failures into one-line messages.

Exit codes: 0 success, 1 failure (one line; the traceback only with --debug),
2 usage error (argparse).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from fashionclip import __version__
from fashionclip.cli import classify, demo, embed, explain, index, models, navigate, search, serve, train
from fashionclip.cli import eval as evaluate

_COMMANDS = (models, embed, index, search, navigate, classify, explain, evaluate, train, serve, demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fashionclip",
        description="CLIP-family embeddings for fashion catalogues.",
    )
    parser.add_argument("--version", action="version", version=f"fashionclip {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks and debug logs")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in _COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("fashionclip: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"fashionclip {args.command}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

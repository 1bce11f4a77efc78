"""Entry point: parse arguments, dispatch, and turn failures into one-line messages.

Exit codes: 0 success, 1 failure (one line; the traceback only with --debug),
2 usage error (argparse).
"""

from __future__ import annotations

import argparse
import difflib
import logging
import sys
from collections.abc import Sequence
from importlib import import_module

from fashionclip.version import __version__

# one module a command, imported only when its parser is built: `search` alone stays light
_COMMANDS = (
    "models",
    "embed",
    "index",
    "search",
    "navigate",
    "classify",
    "explain",
    "eval",
    "train",
    "serve",
    "demo",
    "convert",
)


def build_parser(only: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fashionclip",
        description="CLIP-family embeddings for fashion catalogues.",
    )
    parser.add_argument("--version", action="version", version=f"fashionclip {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks and debug logs")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _COMMANDS if only is None else only:
        import_module(f"fashionclip.cli.{name}").add_parser(subparsers)
    for sub in subparsers.choices.values():  # --debug before or after the command, as the README says
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Parse, answering a mistyped command or option with its command's usage and a suggestion."""
    commands = _commands(parser)
    given = next((a for a in argv if not a.startswith("-")), None)
    if given is not None and given not in commands:
        close = difflib.get_close_matches(given, commands, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        parser.error(f"unknown command {given!r}{hint}; commands: {', '.join(commands)}")
    args, extra = parser.parse_known_args(argv)
    if extra:
        command = commands[args.command]
        options = [o for action in command._actions for o in action.option_strings]
        hints = []
        for word in extra:
            close = difflib.get_close_matches(word.split("=")[0], options, n=1) if word.startswith("-") else []
            hints.append(f"{word} (did you mean {close[0]}?)" if close else word)
        command.error(f"unrecognized arguments: {' '.join(hints)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    given = next((w for w in words if not w.startswith("-")), None)
    # a search may be answered by a running server: then nothing heavy is imported at all
    parser = build_parser(only=["search"] if given == "search" else None)
    args = _parse(parser, words)
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

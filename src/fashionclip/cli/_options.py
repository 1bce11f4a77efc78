"""Command-line options shared by the commands that load a model."""

from __future__ import annotations

import argparse
from typing import Any

from fashionclip.config import PRECISIONS
from fashionclip.loading import BACKENDS


def add_precision_options(parser: argparse.ArgumentParser) -> None:
    """``--backend`` and ``--precision``; both default to the fastest faithful choice here."""
    parser.add_argument(
        "--backend", choices=BACKENDS, default=None, help="inference backend (default: automatic for this machine)"
    )
    parser.add_argument(
        "--precision", choices=PRECISIONS, default=None, help="numeric precision (default: automatic, see README)"
    )


def precision_options(args: argparse.Namespace) -> dict[str, Any]:
    """The load_model keyword arguments the user gave."""
    return {key: getattr(args, key) for key in ("backend", "precision") if getattr(args, key, None)}

"""A failed command leaves nothing it created behind."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def removed_on_failure(path: Path | None, *, empty: Callable[[], bool] = lambda: True) -> Iterator[None]:
    """Run the block; if it fails and ``path`` did not exist before it, remove ``path`` again, as
    long as ``empty()`` says nothing worth keeping was written there (a first indexing run that
    committed batches before it was interrupted keeps them, to resume from)."""
    existed = path is None or path.exists() or path.is_symlink()
    try:
        yield
    except BaseException:
        if not existed and path is not None and path.exists() and _safe(empty):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        raise


def _safe(empty: Callable[[], bool]) -> bool:
    try:
        return bool(empty())
    except Exception:  # what failed may fail again here: an unreadable leftover is not worth keeping
        return True

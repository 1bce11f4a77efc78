"""What identifies the model behind an index's vectors: the content of its checkpoint (weights,
config and tokenizer files), not the name it was loaded by. Two spellings of one folder, or the
same folder moved, are the same model; new weights in the same folder are another.

Each file is hashed once per version (its real path, size and modification time key a small
cache), so a 600 MB checkpoint costs its hashing time only the first time it is seen.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from fashionclip.config import ModelSpec
from fashionclip.io import cache_dir

# the files that decide what vectors a checkpoint makes; a model card or a training log do not
_CONTENT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".onnx")
_CONTENT_NAMES = {
    "config.json",
    "open_clip_config.json",
    "preprocessor_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.json",
    "vocab.txt",
    "merges.txt",
    "spiece.model",
    "tokenizer.model",
}


def checkpoint_id(folder: Path | None) -> str:
    """A key of the checkpoint's content (16 hex digits), or "" when there is no folder."""
    if folder is None or not Path(folder).is_dir():
        return ""
    files = sorted(
        f for f in Path(folder).iterdir() if f.is_file() and (f.suffix in _CONTENT_SUFFIXES or f.name in _CONTENT_NAMES)
    )
    if not files:
        return ""
    cache = _Cache()
    digest = hashlib.sha256()
    for file in files:
        digest.update(f"{file.name}:{cache.file_hash(file)};".encode())
    cache.save()
    return digest.hexdigest()[:16]


def portable_name(spec: ModelSpec) -> str:
    """The name an index records for a model: a local folder by its absolute path (so the index
    opens from any directory), a registry name or hub id as given."""
    if spec.source.startswith("local-dir:"):
        return str(Path(spec.source[len("local-dir:") :]).expanduser().resolve())
    return spec.name


class _Cache:
    """file version -> sha256 of its bytes, in ``$FASHIONCLIP_CACHE/identity/files.json``."""

    def __init__(self) -> None:
        self.path = cache_dir("identity") / "files.json"
        try:
            self.known: dict[str, str] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.known = {}
        self.changed = False

    def file_hash(self, file: Path) -> str:
        real = file.resolve()  # a hub cache's snapshot files are links to its blobs
        stat = real.stat()
        key = f"{real}:{stat.st_size}:{stat.st_mtime_ns}"
        if key not in self.known:
            digest = hashlib.sha256()
            with real.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            self.known[key] = digest.hexdigest()
            self.changed = True
        return self.known[key]

    def save(self) -> None:
        if not self.changed:
            return
        try:  # written whole or not at all; another process may be writing it too
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=self.path.parent, delete=False, suffix=".tmp") as handle:
                json.dump(self.known, handle)
            os.replace(handle.name, self.path)
        except OSError:
            pass  # a cache: the next run hashes again

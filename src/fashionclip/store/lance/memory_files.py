"""The saved in-memory index beside a LanceDB table: three files in ``memory-index/``, each
written atomically (a temporary file, then a rename), the state last, naming the table version
the others reflect. A folder that cannot be read, or of another format, reads as no saved index
(the index is then built from the table)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

IVF_FILE = "ivf.faiss"  # the FAISS index
SLOTS_FILE = "slots.arrow"  # per slot: id, content hash, live, in the spill
STATE_FILE = "state.json"
FORMAT = 2


def write_saved(folder: Path, write_ivf: Callable[[Path], None], slots: Any, meta: dict[str, Any]) -> None:
    """Save the FAISS index (written by ``write_ivf(path)``), the ``slots`` table and ``meta``."""
    import pyarrow as pa
    import pyarrow.ipc

    folder.mkdir(parents=True, exist_ok=True)
    _atomic(folder / IVF_FILE, write_ivf)

    def write_slots(path: Path) -> None:
        with pa.OSFile(str(path), "wb") as sink, pyarrow.ipc.new_file(sink, slots.schema) as writer:
            writer.write_table(slots)

    _atomic(folder / SLOTS_FILE, write_slots)
    _atomic(folder / STATE_FILE, lambda path: path.write_text(json.dumps({"format": FORMAT, **meta})))


def read_saved(folder: Path) -> tuple[dict[str, Any], Any, Any] | None:
    """``(meta, FAISS index, slots table)`` as saved, or None."""
    try:
        meta = json.loads((folder / STATE_FILE).read_text())
        if meta.get("format") != FORMAT:
            return None
        import faiss
        import pyarrow as pa
        import pyarrow.ipc

        ivf = faiss.read_index(str(folder / IVF_FILE))
        with pa.memory_map(str(folder / SLOTS_FILE)) as source:
            slots = pyarrow.ipc.open_file(source).read_all()
        return meta, ivf, slots
    except (OSError, ValueError, RuntimeError, KeyError):
        return None


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    write(temp)
    os.replace(temp, path)

"""Shared fixtures: tiny random checkpoints, a fake Hugging Face cache, sample images.

The hub is forced offline and pointed at an empty temporary cache before any
test imports huggingface_hub (it reads these variables at import time), so no
test can reach the network or the developer's own cache.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

_HF_HOME = Path(tempfile.mkdtemp(prefix="fashionclip-hf-home-"))
os.environ["HF_HOME"] = str(_HF_HOME)
os.environ["HF_HUB_CACHE"] = str(_HF_HOME / "hub")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.pop("HF_TOKEN", None)
# ONNX exports and embedding caches go to a temporary folder, never the developer's own
os.environ["FASHIONCLIP_CACHE"] = str(_HF_HOME / "fashionclip-cache")
# the automatic backend from the CPU's flags, not measured: measuring exports and times every
# candidate once per checkpoint, and the tests load many short-lived checkpoints.
# tests/test_tuning.py measures for real.
os.environ["FASHIONCLIP_AUTO"] = "rule"

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from fashionclip.sample import sample_catalog  # noqa: E402
from fashionclip.testing import write_tiny_clip  # noqa: E402

HF_CACHE = Path(os.environ["HF_HUB_CACHE"])


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random HF CLIP checkpoint directory (32 px images, 16-d embeddings)."""
    return write_tiny_clip(tmp_path_factory.mktemp("tiny-clip"), seed=0)


@pytest.fixture(scope="session")
def tiny_encoder(tiny_checkpoint: Path):
    from fashionclip import load_model

    # the exact path (torch fp32): parity tests compare it with transformers itself
    return load_model(str(tiny_checkpoint), backend="torch", precision="fp32")


def add_to_fake_hf_cache(repo_id: str, files_from: Path, commit: str = "0" * 40) -> Path:
    """Lay out ``files_from`` in the hub cache exactly as huggingface_hub does.

    ``models--org--name/blobs/<sha256>`` hold the bytes, ``snapshots/<commit>/``
    holds relative symlinks to them, and ``refs/main`` names the commit.
    """
    repo_dir = HF_CACHE / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo_dir / "snapshots" / commit
    (repo_dir / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    (repo_dir / "refs").mkdir(exist_ok=True)
    (repo_dir / "refs" / "main").write_text(commit)
    for source in files_from.iterdir():
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        blob = repo_dir / "blobs" / digest
        if not blob.exists():
            shutil.copyfile(source, blob)
        link = snapshot / source.name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(os.path.relpath(blob, snapshot))
    return snapshot


@pytest.fixture(scope="session")
def fake_fashion_clip_cache(tiny_checkpoint: Path) -> Path:
    """``patrickjohncyh/fashion-clip`` in the offline hub cache (tiny random weights)."""
    return add_to_fake_hf_cache("patrickjohncyh/fashion-clip", tiny_checkpoint)


@pytest.fixture(scope="session")
def sample_images() -> list[Path]:
    """Real 60x80 catalogue photos bundled with the package."""
    root, rows = sample_catalog()
    return [root / row["image"] for row in rows[::10]]


@pytest.fixture()
def photo_rgb() -> Image.Image:
    """A synthetic non-square RGB photo with structure in every channel."""
    y, x = np.mgrid[0:301, 0:217]
    array = np.stack([(x * 255 // 216), (y * 255 // 300), ((x + y) % 256)], axis=-1).astype(np.uint8)
    return Image.fromarray(array, "RGB")

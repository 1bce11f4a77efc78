"""Code written for the original fashion-clip package, with its own import paths, runs against
fashionclip.compat (the alias distribution in compat/fashion-clip-alias, installed by
scripts/setup.sh); where the original package is installed too, it keeps its names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import fashion_clip_alias  # noqa: F401  (installed by scripts/setup.sh; this suite needs it)

# what a user of the original wrote (its README's and demo notebook's calls), with the model name
# and paths changed: a local checkpoint, the sample photos
MIGRATED = """
import json, sys
import matplotlib
matplotlib.use("Agg")
import numpy as np
from fashion_clip.fashion_clip import FashionCLIP, FCLIPDataset
from fashion_clip.utils import display_images

model_dir, image_dir, names = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
catalog = [{"id": i, "image": name, "caption": f"product {i}", "short_description": f"item {i}"}
           for i, name in enumerate(names)]
dataset = FCLIPDataset("my_dataset", image_source_path=image_dir, image_source_type="local", catalog=catalog)
fclip = FashionCLIP(model_dir, dataset)

images = [f"{image_dir}/{name}" for name in names]
image_embeddings = fclip.encode_images(images, batch_size=32)
text_embeddings = fclip.encode_text(["a red dress", "a blue shirt"], batch_size=32)
image_embeddings = image_embeddings / np.linalg.norm(image_embeddings, ord=2, axis=-1, keepdims=True)
labels = fclip.zero_shot_classification(images, ["dress", "shirt", "shoes"])
found = fclip.retrieval(["red dress", "blue shirt"])
rows = dataset.catalog[found[0][:2]]
figure = dataset.display_products([str(r["id"]) for r in rows], fields=("id", "short_description"))
shown = display_images(images[:2])
print(json.dumps({
    "dims": [image_embeddings.shape[1], text_embeddings.shape[1]],
    "labels": labels,
    "found": found,
    "rows": [r["id"] for r in rows],
    "axes": [len(figure.axes), len(shown.axes)],
    "random_id": dataset.random_product_id() in set(dataset.ids),
}))
"""


def _run(code: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_the_original_packages_code_runs_unchanged(tiny_checkpoint, sample_images):
    folder = str(sample_images[0].parent)
    names = ",".join(p.name for p in sample_images)
    done = _run(MIGRATED, str(tiny_checkpoint), folder, names)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["dims"] == [16, 16] and len(result["labels"]) == len(sample_images)
    assert all(label in ("dress", "shirt", "shoes") for label in result["labels"])
    assert len(result["found"]) == 2 and all(len(row) == min(10, len(sample_images)) for row in result["found"])
    assert result["rows"] == result["found"][0][:2] and result["axes"] == [2, 2] and result["random_id"]


def test_an_installed_original_package_keeps_its_names(tmp_path):
    original = tmp_path / "site" / "fashion_clip"
    original.mkdir(parents=True)
    (original / "__init__.py").write_text("ORIGINAL = True\n")
    (original / "fashion_clip.py").write_text("FashionCLIP = 'the original'\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    done = _run(
        "import fashion_clip, fashion_clip.fashion_clip as f; print(fashion_clip.ORIGINAL, f.FashionCLIP)", env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "the", "original"]

"""Pixel and embedding fidelity of fashionclip's preprocessing against transformers.

Reference: transformers' PIL-based CLIP image processor (``CLIPImageProcessorPil``
in transformers 5, ``CLIPImageProcessor`` in 4.x), the pipeline the published
checkpoints were evaluated with. Where torchvision is importable, the default
transformers 5 ``CLIPImageProcessor`` (torchvision backend) is compared too.

With ``--embed``, both pipelines' pixels go through a ViT-B/32 with
FashionCLIP's exact architecture and RANDOM weights (no pretrained weights can
be downloaded here): the embedding numbers measure the pipelines, not a
trained model.

    python benchmarks/preprocess_fidelity.py --data ../shared/data --kagl 1000 --embed
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from fashionclip.config import PreprocessConfig
from fashionclip.preprocess.image import ImagePreprocessor


def _pil_reference():
    try:
        from transformers import CLIPImageProcessorPil
    except ImportError:
        from transformers import CLIPImageProcessor as CLIPImageProcessorPil
    return CLIPImageProcessorPil()


def _torchvision_reference():
    try:
        import torchvision  # noqa: F401
        from transformers import CLIPImageProcessor
    except Exception:
        return None
    processor = CLIPImageProcessor()
    return processor if "Pil" not in type(processor).__name__ else None


def _compare(name, paths, ours, reference):
    worst, ours_all, ref_all = 0.0, [], []
    start = time.perf_counter()
    for path in paths:
        mine = ours(path)
        theirs = reference(images=Image.open(path), return_tensors="np")["pixel_values"][0]
        worst = max(worst, float(np.abs(mine - theirs).max()))
        ours_all.append(mine)
        ref_all.append(theirs)
    print(f"  {name}: {len(paths)} photos, max abs pixel difference {worst:.3g} ({time.perf_counter() - start:.1f}s)")
    return np.stack(ours_all), np.stack(ref_all)


def _embed(pixels: np.ndarray, model) -> np.ndarray:
    import torch

    with torch.inference_mode():
        out = model.get_image_features(pixel_values=torch.from_numpy(pixels))
    out = out if isinstance(out, torch.Tensor) else out.pooler_output
    return torch.nn.functional.normalize(out, dim=-1).numpy()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--kagl", type=int, default=1000, help="number of kagl photos (sorted by id)")
    parser.add_argument("--embed", action="store_true", help="also compare ViT-B/32 (random weights) embeddings")
    args = parser.parse_args()

    hires = sorted((args.data / "hires" / "images").glob("*.jpg"))
    kagl = sorted((args.data / "kagl" / "images").glob("*.jpg"), key=lambda p: int(p.stem))[: args.kagl]
    if not hires or not kagl:
        print(f"no photos under {args.data}/hires/images or {args.data}/kagl/images", file=sys.stderr)
        return 1
    ours = ImagePreprocessor(PreprocessConfig())
    import transformers

    print(f"transformers {transformers.__version__}")
    print("fashionclip vs the PIL CLIP processor (the reference):")
    results = {
        name: _compare(name, paths, ours, _pil_reference()) for name, paths in (("hires", hires), ("kagl", kagl))
    }

    torchvision_processor = _torchvision_reference()
    tv_results = {}
    if torchvision_processor is None:
        print("transformers 5 default CLIPImageProcessor (torchvision backend): torchvision not importable, skipped")
    else:
        print("fashionclip vs transformers 5's default CLIPImageProcessor (torchvision backend):")
        for name, paths in (("hires", hires), ("kagl", kagl)):
            tv_results[name] = _compare(name, paths, ours, torchvision_processor)

    if args.embed:
        import torch
        from transformers import CLIPConfig, CLIPModel

        torch.manual_seed(0)
        model = CLIPModel(CLIPConfig()).eval()  # ViT-B/32, FashionCLIP's architecture, RANDOM weights
        print("embeddings, ViT-B/32 with RANDOM weights (pipeline check, not a trained model):")
        for name, (mine, reference) in results.items():
            a, b = _embed(mine, model), _embed(reference, model)
            print(
                f"  {name}: max abs embedding difference vs PIL reference {np.abs(a - b).max():.3g}, "
                f"min cosine {float((a * b).sum(1).min()):.6f}"
            )
        for name, (mine, reference) in tv_results.items():
            a, b = _embed(mine, model), _embed(reference, model)
            print(
                f"  {name}: vs torchvision-backend pixels, min cosine {float((a * b).sum(1).min()):.6f}, "
                f"mean cosine {float((a * b).sum(1).mean()):.6f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

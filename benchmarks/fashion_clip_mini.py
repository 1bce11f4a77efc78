"""Quality and speed of a model trained with the fashion-clip-mini recipe (issue 4's targets).

Quality, on the recipe's own validation split (same sources, same id hash):
zero-shot weighted F1 with "a photo of a {label}" on kagl articleType (40 most
frequent classes of the catalogue), baseColour (12 most frequent),
masterCategory and gender (every class present); Fashion-MNIST weighted F1;
ccp mean average precision of "a photo of a person wearing {tag}" over tags with
at least 20 validation photos, next to the expected AP of a random ranking.

Speed: images/s encoding 60x80 JPEG files end to end (decode included) with
``Encoder.encode_images``, next to the transformers reference pipeline (PIL +
CLIPImageProcessor + CLIPModel fp32) on the same checkpoint, in the same run.

    python benchmarks/fashion_clip_mini.py --model fashion-clip-mini --data ../shared/data
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from fashionclip import load_model
from fashionclip.evaluation.datasets.fmnist import CLASSES as FMNIST_CLASSES
from fashionclip.evaluation.metrics import classification_scores
from fashionclip.loading import local_checkpoint
from fashionclip.machine import cpu_name
from fashionclip.training.config import load_recipe
from fashionclip.training.data import read_sources, split_by_id

FMNIST_LABELS = list(FMNIST_CLASSES)


def zero_shot_f1(encoder, image_emb, truth, labels, prompt="a photo of a {}"):
    text = encoder.encode_texts([prompt.format(label) for label in labels])
    predicted = (image_emb @ text.T).argmax(1)
    index = {label: i for i, label in enumerate(labels)}
    scores = classification_scores([index[t] for t in truth], predicted, len(labels))
    f1, per_class = scores.weighted_f1, scores.f1
    return f1, dict(zip(labels, per_class.tolist(), strict=True))


def average_precision(scores: np.ndarray, relevant: np.ndarray) -> float:
    order = np.argsort(-scores, kind="stable")
    hits = relevant[order]
    if not hits.any():
        return 0.0
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision * hits).sum() / hits.sum())


def quality(encoder, data_root: Path, recipe: str, top_article: int, top_colour: int) -> dict:
    config = load_recipe(recipe, data_root=data_root, output="unused")
    examples = read_sources(config.data)
    _, val = split_by_id(examples, config.val_fraction, [s.val_fraction for s in config.data])
    kagl = [examples[i] for i in val if examples[i].source == 0]
    ccp = [examples[i] for i in val if examples[i].source == 1]
    everything = [e for e in examples if e.source == 0]
    results: dict = {"kagl_val_items": len(kagl), "ccp_val_photos": len(ccp)}

    kagl_emb = encoder.encode_images([e.image for e in kagl], show_progress=False)
    for column, top in (
        ("articleType", top_article),
        ("baseColour", top_colour),
        ("masterCategory", None),
        ("gender", None),
    ):
        counts = Counter(e.attributes[column] for e in everything if e.attributes.get(column))
        labels = [label for label, _ in counts.most_common(top)]
        keep = [i for i, e in enumerate(kagl) if e.attributes.get(column) in set(labels)]
        labels = sorted({kagl[i].attributes[column] for i in keep})
        f1, per_class = zero_shot_f1(encoder, kagl_emb[keep], [kagl[i].attributes[column] for i in keep], labels)
        results[column] = {"weighted_f1": f1, "classes": len(labels), "items": len(keep), "per_class_f1": per_class}

    with (data_root / "fmnist" / "fashion-mnist_test_sample.csv").open() as handle:
        rows = list(csv.reader(handle))[1:]
    images = [np.asarray(r[1:], dtype=np.uint8).reshape(28, 28) for r in rows]
    truth = [FMNIST_LABELS[int(r[0])] for r in rows]
    fm_emb = encoder.encode_images([np.repeat(im[:, :, None], 3, axis=2) for im in images], show_progress=False)
    f1, per_class = zero_shot_f1(encoder, fm_emb, truth, FMNIST_LABELS)
    results["fmnist"] = {"weighted_f1": f1, "items": len(images), "per_class_f1": per_class}

    ccp_emb = encoder.encode_images([e.image for e in ccp], show_progress=False)
    tags = [set(e.attributes["tags"].split()) for e in ccp]
    counts = Counter(t for s in tags for t in s)
    frequent = sorted(t for t, n in counts.items() if n >= 20)
    text = encoder.encode_texts([f"a photo of a person wearing {t}" for t in frequent])
    rng = np.random.default_rng(0)
    aps, random_aps = {}, {}
    for j, tag in enumerate(frequent):
        relevant = np.array([tag in s for s in tags])
        aps[tag] = average_precision(ccp_emb @ text[j], relevant)
        random_aps[tag] = float(np.mean([average_precision(rng.random(len(relevant)), relevant) for _ in range(200)]))
    results["ccp"] = {
        "mAP": float(np.mean(list(aps.values()))) if aps else float("nan"),
        "random_mAP": float(np.mean(list(random_aps.values()))) if aps else float("nan"),
        "tags": len(frequent),
        "per_tag_AP": aps,
    }
    return results


def speed(model: str, data_root: Path, n: int, batch_size: int) -> dict:
    import torch
    from transformers import CLIPModel

    try:
        from transformers import CLIPImageProcessorPil as Processor
    except ImportError:
        from transformers import CLIPImageProcessor as Processor
    from PIL import Image

    files = sorted((data_root / "kagl" / "images").glob("*.jpg"))[:n]
    encoder = load_model(model)
    encoder.encode_images(files[:64], batch_size=batch_size, show_progress=False)  # warm-up
    start = time.perf_counter()
    encoder.encode_images(files, batch_size=batch_size, show_progress=False)
    ours = len(files) / (time.perf_counter() - start)

    _, path = local_checkpoint(model)
    reference = CLIPModel.from_pretrained(path).eval()
    processor = Processor.from_pretrained(path)
    start = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(files), 32):
            images = [Image.open(f).convert("RGB") for f in files[i : i + 32]]
            pixels = processor(images=images, return_tensors="pt")["pixel_values"]
            reference.vision_model(pixel_values=pixels)
    ref = len(files) / (time.perf_counter() - start)
    return {
        "images": len(files),
        "ours_images_per_s": ours,
        "reference_images_per_s": ref,
        "ratio": ours / ref,
        "batch_size": batch_size,
        "threads": torch.get_num_threads(),
    }


_BEGIN, _END = "<!-- benchmark:begin -->", "<!-- benchmark:end -->"


def card_section(results: dict, command: str) -> str:
    """Markdown for the model card: every measured number and the command that measured it."""
    q = results["quality"]
    lines = [
        _BEGIN,
        "## Measured quality and speed",
        f"Measured by `{command}` on {results['cpu']}.",
        "",
        'Zero-shot weighted F1 with the prompt "a photo of a {label}" on the validation split of the recipe '
        "(items whose hashed id falls in the held-out share of their source, never trained on):",
        "",
        "| task | classes | items | weighted F1 |",
        "|---|---|---|---|",
    ]
    names = {
        "articleType": "kagl articleType (40 most frequent)",
        "baseColour": "kagl baseColour (12 most frequent)",
        "masterCategory": "kagl masterCategory",
        "gender": "kagl gender",
    }
    for key, title in names.items():
        lines.append(f"| {title} | {q[key]['classes']} | {q[key]['items']} | {q[key]['weighted_f1']:.3f} |")
    lines.append(
        f"| Fashion-MNIST sample (28x28 greyscale, out of domain) | 10 | {q['fmnist']['items']} | "
        f"{q['fmnist']['weighted_f1']:.3f} |"
    )
    c = q["ccp"]
    lines += [
        "",
        f"Street photos (ccp validation split, {q['ccp_val_photos']} photos): mean average precision of "
        f'"a photo of a person wearing {{tag}}" over the {c["tags"]} tags with at least 20 photos: '
        f"**{c['mAP']:.3f}**, against {c['random_mAP']:.3f} for a random ranking.",
        "",
        "Per-class F1, articleType: "
        + ", ".join(f"{k} {v:.2f}" for k, v in sorted(q["articleType"]["per_class_f1"].items(), key=lambda kv: -kv[1])),
        "",
        "Per-class F1, Fashion-MNIST: " + ", ".join(f"{k} {v:.2f}" for k, v in q["fmnist"]["per_class_f1"].items()),
    ]
    if "speed" in results:
        s = results["speed"]
        lines += [
            "",
            f"Speed: **{s['ours_images_per_s']:.0f} images/s** encoding {s['images']} 60x80 JPEG files end to end "
            f"(decode included, `Encoder.encode_images`, batch {s['batch_size']}, {s['threads']} threads); the "
            f"transformers reference pipeline (PIL + CLIPImageProcessor + CLIPModel, batch 32) on the same model: "
            f"{s['reference_images_per_s']:.0f} images/s ({s['ratio']:.2f}x).",
        ]
    lines.append(_END)
    return "\n".join(lines)


def update_card(card: Path, section: str) -> None:
    text = card.read_text(encoding="utf-8")
    if _BEGIN in text:
        text = text[: text.index(_BEGIN)] + section + text[text.index(_END) + len(_END) :]
    else:
        text = text.replace("\n## License and intended use", "\n" + section + "\n\n## License and intended use")
    card.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="fashion-clip-mini")
    parser.add_argument("--data", default="../shared/data", help="the shared data folder (kagl, fmnist, ccp)")
    parser.add_argument("--recipe", default="fashion-clip-mini", help="recipe whose validation split to use")
    parser.add_argument("--speed-images", type=int, default=4000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--update-card", metavar="README", help="write the results into this model card")
    args = parser.parse_args()
    data_root = Path(args.data)
    results = {"cpu": cpu_name(), "model": args.model}
    encoder = load_model(args.model)
    results["quality"] = quality(encoder, data_root, args.recipe, 40, 12)
    if not args.skip_speed:
        results["speed"] = speed(args.model, data_root, args.speed_images, args.batch_size)
    q = results["quality"]
    print(f"model {args.model} on {results['cpu']}")
    for key in ("articleType", "baseColour", "masterCategory", "gender", "fmnist"):
        print(f"  {key:15s} weighted F1 {q[key]['weighted_f1']:.3f}  ({q[key]['items']} items)")
    print(f"  ccp mAP {q['ccp']['mAP']:.3f} vs random {q['ccp']['random_mAP']:.3f} over {q['ccp']['tags']} tags")
    if "speed" in results:
        s = results["speed"]
        print(
            f"  speed: {s['ours_images_per_s']:.0f} images/s end to end; transformers reference "
            f"{s['reference_images_per_s']:.0f} images/s; ratio {s['ratio']:.2f}x"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    if args.update_card:
        shown = [a for a in sys.argv[1:] if a not in ("--update-card", args.update_card, "--json", args.json)]
        command = "python benchmarks/fashion_clip_mini.py " + " ".join(shown)
        update_card(Path(args.update_card), card_section(results, command.strip()))


if __name__ == "__main__":
    main()

"""Zero-shot quality of ZeroShotClassifier (issue 6, part 6), on data the bundled model did not
train on: the fashion-clip-mini recipe's validation split (same id hash as training).

kagl: weighted F1 for articleType (40 most frequent classes), baseColour (12) and gender,
with one template ("a photo of a {}", the classifier's default for the bundled model) against
the bundled "fashion" template ensemble.
ccp street photos: multi-label tagging of "a person wearing {tag}" for the tags with at
least 20 photos; per-tag thresholds fitted on the training photos, micro and macro F1 on
the held-out photos (and at the default 0.5, for comparison).

    python benchmarks/zero_shot_quality.py --data ../shared/data --output runs/zero_shot.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from fashionclip import ZeroShotClassifier, load_model
from fashionclip.evaluation.metrics import classification_scores
from fashionclip.machine import cpu_name
from fashionclip.training.config import load_recipe
from fashionclip.training.data import read_sources, split_by_id
from fashionclip.zeroshot import load_templates
from fashionclip.zeroshot.thresholds import fit_thresholds, multilabel_f1

TEMPLATES = {"single": ["a photo of a {}"], "ensemble": "fashion"}


def kagl(encoder, kagl_val, everything) -> dict:
    images = encoder.encode_images([e.image for e in kagl_val], show_progress=False)
    results = {}
    for column, top in (("articleType", 40), ("baseColour", 12), ("gender", None)):
        counts = Counter(e.attributes[column] for e in everything if e.attributes.get(column))
        labels = sorted(label for label, _ in counts.most_common(top))
        keep = [i for i, e in enumerate(kagl_val) if e.attributes.get(column) in set(labels)]
        truth = [labels.index(kagl_val[i].attributes[column]) for i in keep]
        row = {"classes": len(labels), "items": len(keep)}
        for name, templates in TEMPLATES.items():
            classifier = ZeroShotClassifier(encoder, labels, templates=templates)
            predicted = classifier.scores(images[keep]).argmax(axis=1)
            row[name] = classification_scores(truth, predicted, len(labels)).weighted_f1
        results[column] = row
    return results


def ccp(encoder, train, held_out) -> dict:
    tags_of = [set(e.attributes["tags"].split()) for e in train + held_out]
    counts = Counter(t for s in tags_of for t in s)
    labels = sorted(t for t, n in counts.items() if n >= 20)
    results = {"tags": len(labels), "fit_photos": len(train), "test_photos": len(held_out)}
    truth = {
        part: np.array([[t in set(e.attributes["tags"].split()) for t in labels] for e in photos])
        for part, photos in (("train", train), ("test", held_out))
    }
    emb = {
        part: encoder.encode_images([e.image for e in p], show_progress=False)
        for part, p in (("train", train), ("test", held_out))
    }
    for name, templates in TEMPLATES.items():
        # the tag goes into the person prompt of each template: "a photo of a person wearing {tag}"
        prompts = {t: [x.format(f"person wearing {t}") for x in load_templates(templates)] for t in labels}
        classifier = ZeroShotClassifier(
            encoder, labels, templates=templates, prompts=prompts, multi_label=True, negative="person"
        )
        fitted = fit_thresholds(classifier.scores(emb["train"]), truth["train"], labels)
        scores = classifier.scores(emb["test"])
        cut = np.array([fitted[t] for t in labels])
        results[name] = {
            "fitted_thresholds": multilabel_f1(scores >= cut, truth["test"]),
            "threshold_0.5": multilabel_f1(scores >= 0.5, truth["test"]),
        }
    prevalence = truth["train"].mean(axis=0)
    rng = np.random.default_rng(0)
    guesses = rng.random(truth["test"].shape) < prevalence  # tags guessed at their training frequency
    results["random_at_prevalence"] = multilabel_f1(guesses, truth["test"])
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="fashion-clip-mini")
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--recipe", default="fashion-clip-mini", help="recipe whose validation split to use")
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    config = load_recipe(args.recipe, data_root=Path(args.data), output="unused")
    examples = read_sources(config.data)
    train, val = split_by_id(examples, config.val_fraction, [s.val_fraction for s in config.data])
    encoder = load_model(args.model)
    results = {
        "cpu": cpu_name(),
        "model": args.model,
        "kagl": kagl(
            encoder, [examples[i] for i in val if examples[i].source == 0], [e for e in examples if e.source == 0]
        ),
        "ccp": ccp(
            encoder,
            [examples[i] for i in train if examples[i].source == 1],
            [examples[i] for i in val if examples[i].source == 1],
        ),
    }
    print(json.dumps(results, indent=2))
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

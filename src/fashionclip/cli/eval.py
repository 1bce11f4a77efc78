"""``fashionclip eval``: a leaderboard of models on fashion datasets, with confidence intervals."""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import parse_qsl

from fashionclip.cli._options import add_precision_options, precision_options
from fashionclip.evaluation.dataset import DatasetError, EvaluationError
from fashionclip.evaluation.tasks import TASKS, EvalOptions


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="evaluate models on datasets: zero-shot F1, retrieval R@k / MRR / mAP, linear probe, with 95%% CIs",
        description=(
            "Run evaluation tasks for every model on every dataset and write leaderboard.md, results.json "
            "and plots/*.png to --output. Datasets are LAYOUT:PATH (kagl, fmnist, ccp, fashiongen, catalog, "
            "deepfashion-inshop, fashion200k, polyvore, atlas, imaterialist) or a catalogue file, with options "
            "after '?': kagl:data/kagl?split=val&limit=2000&top_classes=40 (attribute, category, subcategory, prompt, "
            "top_classes and min_count there apply to that dataset only; name=... renames it in the "
            "leaderboard). Tasks that do not apply to a "
            "dataset are listed as such."
        ),
    )
    parser.add_argument("--models", required=True, help="comma-separated registry names or checkpoint folders")
    parser.add_argument(
        "--data", action="append", required=True, metavar="LAYOUT:PATH[?opts]", help="a dataset (repeatable)"
    )
    parser.add_argument("--tasks", default=None, help=f"comma-separated, default all: {', '.join(TASKS)}")
    parser.add_argument("-o", "--output", required=True, help="folder for leaderboard.md, results.json, plots/")
    parser.add_argument("--attribute", help="label column for zero-shot and the linear probe")
    parser.add_argument("--category", help="label column for category-to-product")
    parser.add_argument("--subcategory", help="label column for subcategory-to-product")
    parser.add_argument("--templates", help="zero-shot prompts: 'fashion' (ensemble), a file, or one template")
    parser.add_argument("--prompt", help="template with {} for class and tag queries (default: the model's)")
    parser.add_argument("--top-classes", type=int, help="keep only the N most frequent classes")
    parser.add_argument("--min-count", type=int, default=1, help="items a class or tag needs to count (default 1)")
    parser.add_argument("--k", default="1,5,10", help="cut-offs for R@k and P@k (default 1,5,10)")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (default 1000)")
    parser.add_argument("--limit", type=int, help="at most N items per dataset (a quick look)")
    parser.add_argument("--batch-size", type=int, default=64, help="images per batch (default 64)")
    parser.add_argument("--cache", help="embedding cache folder (default ~/.cache/fashionclip/embeddings)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write cached embeddings")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    add_precision_options(parser)
    parser.set_defaults(run=run)


TASK_OPTIONS = {
    "attribute": str,
    "category": str,
    "subcategory": str,
    "prompt": str,
    "top_classes": int,
    "min_count": int,
}


def parse_data(spec: str, limit: int | None) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """``LAYOUT:PATH?split=val&limit=100&top_classes=40`` -> (``LAYOUT:PATH``, loader options,
    task options for this dataset only: attribute, category, subcategory, prompt, top_classes, min_count)."""
    base, _, query = spec.partition("?")
    options: dict[str, Any] = {"limit": limit} if limit is not None else {}
    overrides: dict[str, Any] = {}
    for key, value in parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)):
        kind = int if key == "limit" else TASK_OPTIONS.get(key, str)
        try:
            parsed = kind(value)
        except ValueError:
            raise DatasetError(f"dataset {spec!r}: {key} must be an integer, got {value!r}") from None
        if key in TASK_OPTIONS:
            overrides[key] = parsed
        elif key.endswith("_columns"):
            options[key] = [v for v in value.split(",") if v]
        else:
            options[key] = parsed
    return base, options, overrides


def _positive(name: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise EvaluationError(f"--{name} must be a positive integer, got {value}")


def run(args: argparse.Namespace) -> int:
    from fashionclip.evaluation.datasets import load_dataset
    from fashionclip.evaluation.embeddings import EmbeddingCache, default_cache_dir
    from fashionclip.evaluation.report import markdown, write_report
    from fashionclip.evaluation.runner import check_tasks, evaluate
    from fashionclip.loading import load_model

    for name in ("top-classes", "min-count", "resamples", "limit", "batch-size"):
        _positive(name, getattr(args, name.replace("-", "_")))
    try:
        ks = tuple(int(k) for k in args.k.split(","))
    except ValueError:
        raise EvaluationError(f"--k must be comma-separated integers, got {args.k!r}") from None
    if not ks or min(ks) < 1:
        raise EvaluationError(f"--k must be positive integers, got {args.k!r}")
    tasks = check_tasks([t.strip() for t in args.tasks.split(",") if t.strip()] if args.tasks else None)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not models:
        raise EvaluationError("--models: give at least one model")
    datasets = []
    for spec in args.data:
        base, loader_options, overrides = parse_data(spec, args.limit)
        name = loader_options.pop("name", None)
        dataset = load_dataset(base, **loader_options)
        dataset.name = name or dataset.name
        dataset.task_options = overrides
        datasets.append(dataset)
    options = EvalOptions(
        attribute=args.attribute,
        category=args.category,
        subcategory=args.subcategory,
        templates=args.templates,
        prompt=args.prompt,
        top_classes=args.top_classes,
        min_count=args.min_count,
        ks=ks,
        resamples=args.resamples,
        batch_size=args.batch_size,
    )
    cache = EmbeddingCache(None if args.no_cache else (args.cache or default_cache_dir()))
    loaded = [load_model(name, **precision_options(args)) for name in models]
    evaluation = evaluate(
        loaded, datasets, tasks=tasks, options=options, cache=cache, show_progress=not args.no_progress
    )
    paths = write_report(evaluation, args.output, plots=not args.no_plots)
    print(markdown(evaluation))
    print(f"wrote {paths['markdown']} and {paths['json']}" + ("" if args.no_plots else " (plots in plots/)"))
    return 0

"""Leaderboard as markdown + JSON, with PNG plots beside it: confusion matrices, per-class F1
bars and Recall@k curves."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np

from fashionclip.evaluation.runner import Evaluation
from fashionclip.evaluation.tasks import TaskResult

_DESCRIPTIONS = {
    "hit@": "R@{k}",
    "precision@": "P@{k}",
    "ndcg@": "nDCG@{k}",
}


def metric_label(name: str) -> str:
    """``hit@10`` -> ``R@10`` (a query counts when any match is in its top k), ``map`` -> ``mAP``."""
    for prefix, label in _DESCRIPTIONS.items():
        if name.startswith(prefix):
            return label.format(k=name[len(prefix) :])
    return {"map": "mAP", "mrr": "MRR", "weighted_f1": "weighted F1", "macro_f1": "macro F1"}.get(name, name)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:80] or "x"


def _groups(evaluation: Evaluation) -> dict[tuple[str, str], list[TaskResult]]:
    groups: dict[tuple[str, str], list[TaskResult]] = defaultdict(list)
    for result in evaluation.results:
        groups[(result.dataset, result.task)].append(result)
    return groups


def markdown(evaluation: Evaluation, plots: dict[tuple[str, str], list[str]] | None = None) -> str:
    """The leaderboard: one table per (dataset, task), models best first on the task's main score."""
    options = evaluation.options
    lines = [
        "# Leaderboard",
        "",
        f"Scores with bootstrap 95% intervals ({options.resamples} resamples of the queries); n = queries. "
        "R@k: share of queries with a match in the top k. Ties count against the model.",
    ]
    for (dataset, task), results in _groups(evaluation).items():
        results = sorted(results, key=lambda r: -r.scores[r.main].value)
        first = results[0]
        about = []
        if "attribute" in first.details:
            about.append(f"`{first.details['attribute']}`")
        if "classes" in first.details:
            about.append(f"{len(first.details['classes'])} classes")
        names = [first.main] + [n for n in first.scores if n != first.main]
        lines += ["", f"## {dataset} · {task}" + (f" ({', '.join(about)})" if about else ""), ""]
        lines.append("| model | " + " | ".join(metric_label(n) for n in names) + " | n |")
        lines.append("|---|" + "---:|" * (len(names) + 1))
        for result in results:
            cells = []
            for name in names:
                score = result.scores[name]
                text = f"{score.value:.3f} [{score.low:.3f}, {score.high:.3f}]"
                cells.append(f"**{text}**" if name == first.main else text)
            lines.append(f"| {result.model} | " + " | ".join(cells) + f" | {result.queries} |")
        for path in (plots or {}).get((dataset, task), []):
            lines += ["", f"![{dataset} {task}]({path})"]
    if evaluation.skipped:
        lines += ["", "## Not applicable", ""]
        seen = set()
        for skip in evaluation.skipped:
            key = (skip["dataset"], skip["task"])
            if key not in seen:
                seen.add(key)
                lines.append(f"- {skip['dataset']} · {skip['reason']}")
    for where, failures in evaluation.unreadable.items():
        lines += ["", f"{where}: {len(failures)} unreadable image(s) left out, first: {failures[0]}"]
    return "\n".join(lines) + "\n"


def write_report(evaluation: Evaluation, folder: str | Path, *, plots: bool = True) -> dict[str, Path]:
    """Write ``leaderboard.md``, ``results.json`` and (with matplotlib) ``plots/*.png`` to ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    drawn = draw_plots(evaluation, folder / "plots") if plots else {}
    relative = {key: [str(Path("plots") / Path(p).name) for p in paths] for key, paths in drawn.items()}
    paths = {"markdown": folder / "leaderboard.md", "json": folder / "results.json"}
    paths["markdown"].write_text(markdown(evaluation, relative), encoding="utf-8")
    paths["json"].write_text(json.dumps(evaluation.to_dict(), indent=2), encoding="utf-8")
    return paths


def draw_plots(evaluation: Evaluation, folder: Path) -> dict[tuple[str, str], list[str]]:
    """PNG plots per (dataset, task): confusion matrices and per-class F1 for classification,
    R@k curves for retrieval. Returns the paths per (dataset, task)."""
    from fashionclip._extras import require

    require("matplotlib", "eval", feature="plots need matplotlib, which")
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):  # plots of an earlier run would be mistaken for this one's
        old.unlink()
    drawn: dict[tuple[str, str], list[str]] = defaultdict(list)
    for (dataset, task), results in _groups(evaluation).items():
        stem = f"{_slug(dataset)}-{_slug(task)}"
        if "confusion" in results[0].details:
            for result in results:
                path = folder / f"{stem}-{_slug(result.model)}-confusion.png"
                _confusion(plt, result, path)
                drawn[(dataset, task)].append(str(path))
            path = folder / f"{stem}-per-class-f1.png"
            _per_class(plt, results, path)
            drawn[(dataset, task)].append(str(path))
        elif "curve" in results[0].details:
            path = folder / f"{stem}-recall-at-k.png"
            _curves(plt, results, path)
            drawn[(dataset, task)].append(str(path))
    return dict(drawn)


def _save(plt, figure, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)  # pyplot keeps every open figure alive otherwise


def _confusion(plt, result: TaskResult, path: Path) -> None:
    classes = result.details["classes"]
    matrix = np.asarray(result.details["confusion"], dtype=np.float64)
    rows = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)  # recall per true class
    size = min(16, 3 + 0.3 * len(classes))
    figure, axes = plt.subplots(figsize=(size, size))
    image = axes.imshow(rows, cmap="viridis", vmin=0, vmax=1)
    axes.set_xticks(range(len(classes)), classes, rotation=90, fontsize=7)
    axes.set_yticks(range(len(classes)), classes, fontsize=7)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(f"{result.model} · {result.dataset} · {result.details.get('attribute', '')}")
    figure.colorbar(image, fraction=0.046)
    _save(plt, figure, path)


def _per_class(plt, results: list[TaskResult], path: Path) -> None:
    classes = results[0].details["classes"]
    width = 0.8 / len(results)
    figure, axes = plt.subplots(figsize=(max(6, 0.35 * len(classes) * max(1, len(results) / 2)), 4))
    for offset, result in enumerate(results):
        values = [result.details["per_class"].get(c, {}).get("f1", 0.0) for c in classes]
        axes.bar(np.arange(len(classes)) + offset * width, values, width, label=result.model)
    axes.set_xticks(np.arange(len(classes)) + 0.4 - width / 2, classes, rotation=90, fontsize=7)
    axes.set_ylabel("F1")
    axes.set_ylim(0, 1)
    axes.set_title(f"{results[0].dataset} · per-class F1 ({results[0].details.get('attribute', '')})")
    axes.legend(fontsize=8)
    _save(plt, figure, path)


def _curves(plt, results: list[TaskResult], path: Path) -> None:
    figure, axes = plt.subplots(figsize=(5, 4))
    for result in results:
        curve = {int(k): v for k, v in result.details["curve"].items()}
        ks = sorted(curve)
        axes.plot(ks, [curve[k] for k in ks], marker="o", label=result.model)
    axes.set_xscale("log")
    axes.set_xlabel("k")
    axes.set_ylabel("R@k")
    axes.set_ylim(0, 1)
    axes.set_title(f"{results[0].dataset} · {results[0].task}")
    axes.legend(fontsize=8)
    _save(plt, figure, path)

"""``fashionclip eval``: a leaderboard from the command line, and named errors."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from fashionclip.cli.eval import parse_data
from fashionclip.cli.main import main
from fashionclip.evaluation.dataset import DatasetError

CATALOG = str(resources.files("fashionclip") / "data" / "sample_catalog" / "catalog.csv")


def test_eval_writes_a_leaderboard_for_two_models(tiny_checkpoint, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "out"
    args = ["eval", "--models", f"{tiny_checkpoint},fashion-clip-mini", "--data", f"{CATALOG}?limit=30&name=sample"]
    args += ["-o", str(out), "--tasks", "zero-shot,text-to-image", "--resamples", "20", "--no-progress"]
    assert main([*args, "--cache", str(tmp_path / "cache"), "--top-classes", "5"]) == 0
    printed = capsys.readouterr().out
    assert "## sample · zero-shot (`articleType`, 5 classes)" in printed and "| fashion-clip-mini |" in printed
    results = json.loads((out / "results.json").read_text())["results"]
    assert {(r["model"], r["task"]) for r in results} == {
        (str(tiny_checkpoint), "zero-shot"),
        (str(tiny_checkpoint), "text-to-image"),
        ("fashion-clip-mini", "zero-shot"),
        ("fashion-clip-mini", "text-to-image"),
    }
    assert all(r["queries"] > 0 for r in results)
    assert (out / "plots" / "sample-text-to-image-recall-at-k.png").is_file()
    assert list((tmp_path / "cache").glob("*.npz"))


def test_parse_data_options():
    assert parse_data("kagl:data/kagl?split=val&limit=20&top_classes=40&attribute=gender", None) == (
        "kagl:data/kagl",
        {"split": "val", "limit": 20},
        {"top_classes": 40, "attribute": "gender"},
    )
    assert parse_data("shop.csv?label_columns=a,b", 5) == ("shop.csv", {"limit": 5, "label_columns": ["a", "b"]}, {})
    with pytest.raises(DatasetError, match="limit must be an integer, got 'x'"):
        parse_data("kagl:k?limit=x", None)
    with pytest.raises(DatasetError, match="top_classes must be an integer, got 'many'"):
        parse_data("kagl:k?top_classes=many", None)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--tasks", "zero_shot"], "unknown task\\(s\\) 'zero_shot'"),
        (["--k", "a,b"], "--k must be comma-separated integers"),
        (["--k", "0"], "--k must be positive"),
        (["--limit", "0"], "--limit must be a positive integer"),
        (["--resamples", "-1"], "--resamples must be a positive integer"),
    ],
)
def test_eval_names_bad_options(tiny_checkpoint, tmp_path, capsys, extra, message):
    args = ["eval", "--models", str(tiny_checkpoint), "--data", CATALOG, "-o", str(tmp_path), "--no-cache", *extra]
    assert main(args) == 1
    assert re.search(message, capsys.readouterr().err)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("nosuch:somewhere", "unknown layout 'nosuch'"),
        ("missing.csv", "does not exist"),
        ("kagl:", "give a path after kagl:"),
    ],
)
def test_eval_names_bad_datasets(tiny_checkpoint, tmp_path, capsys, monkeypatch, data, message):
    monkeypatch.chdir(tmp_path)
    assert main(["eval", "--models", str(tiny_checkpoint), "--data", data, "-o", "out", "--no-cache"]) == 1
    assert re.search(message, capsys.readouterr().err)


def test_eval_needs_a_model(tmp_path, capsys):
    assert main(["eval", "--models", ",", "--data", CATALOG, "-o", str(tmp_path)]) == 1
    assert "give at least one model" in capsys.readouterr().err

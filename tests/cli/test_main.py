import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fashionclip.cli.main import main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """The installed console entry point, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "fashionclip.cli.main", *args], capture_output=True, text=True, env=os.environ.copy()
    )


def test_models_prints_the_registry_table(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in ("fashion-clip-mini (default)", "openai-clip-vit-b-32", "marqo-fashion-siglip", "Apache-2.0"):
        assert name in out


def test_models_json(capsys):
    import json

    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["name"] == "fashion-clip" and rows[0]["preprocess"]["image_size"] == 224


@pytest.mark.parametrize("command", [[], ["models"], ["embed"], ["index"], ["search"], ["train"], ["demo"]])
def test_help_everywhere(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    assert "usage: fashionclip" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args", [[], ["nope"], ["embed", "-o", "x.npy"], ["embed", "--images", "a", "--texts", "b", "-o", "x.npy"]]
)
def test_usage_errors_exit_2(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2


def test_embed_an_image_folder_to_npy(tmp_path: Path, tiny_checkpoint: Path, sample_images, capsys):
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    for i, path in enumerate(sample_images[:4]):
        (folder / ("sub" if i % 2 else "") / path.name).write_bytes(path.read_bytes())
    out = tmp_path / "vectors.npy"
    assert main(["embed", "--model", str(tiny_checkpoint), "--images", str(folder), "-o", str(out)]) == 0
    vectors = np.load(out)
    ids = (tmp_path / "vectors.ids.txt").read_text().splitlines()
    assert vectors.shape == (4, 16) and len(ids) == 4
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert "wrote 4 embeddings" in capsys.readouterr().out


def test_embed_a_csv_column_to_parquet(tmp_path: Path, tiny_checkpoint: Path, sample_images):
    import pyarrow.parquet as pq

    catalog = tmp_path / "catalog.csv"
    with catalog.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "photo"])
        for i, path in enumerate(sample_images[:3]):
            (tmp_path / path.name).write_bytes(path.read_bytes())
            writer.writerow([i, path.name])  # relative to the CSV's folder
    out = tmp_path / "vectors.parquet"
    code = main(
        ["embed", "--model", str(tiny_checkpoint), "--images", str(catalog), "--column", "photo", "-o", str(out)]
    )
    assert code == 0
    table = pq.read_table(out)
    assert table.num_rows == 3 and len(table["embedding"][0].as_py()) == 16


def test_embed_texts(tmp_path: Path, tiny_checkpoint: Path):
    texts = tmp_path / "queries.txt"
    texts.write_text("light red midi dress\n\nblack leather boots\n")
    out = tmp_path / "texts.npy"
    assert main(["embed", "--model", str(tiny_checkpoint), "--texts", str(texts), "-o", str(out)]) == 0
    assert np.load(out).shape == (2, 16)
    assert (tmp_path / "texts.ids.txt").read_text().splitlines() == ["light red midi dress", "black leather boots"]


def test_bad_image_fails_with_one_line_and_skip_embeds_the_rest(tmp_path: Path, tiny_checkpoint: Path, sample_images):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(sample_images[0].read_bytes())
    (folder / "b.jpg").write_bytes(b"garbage")
    out = tmp_path / "v.npy"
    failed = run_cli("embed", "--model", str(tiny_checkpoint), "--images", str(folder), "-o", str(out))
    assert failed.returncode == 1
    last_line = failed.stderr.strip().splitlines()[-1]  # after the progress bar
    assert last_line.startswith("fashionclip embed: error: image #1") and "b.jpg" in last_line
    assert "Traceback" not in failed.stderr
    skipped = run_cli(
        "embed", "--model", str(tiny_checkpoint), "--images", str(folder), "-o", str(out), "--on-error", "skip"
    )
    assert skipped.returncode == 0, skipped.stderr
    assert "skipped image #1" in skipped.stderr and np.load(out).shape == (1, 16)


def test_failures_exit_1_with_one_line_and_debug_shows_the_traceback(tmp_path: Path):
    texts = tmp_path / "t.txt"
    texts.write_text("dress\n")
    result = run_cli("embed", "--model", "openai-clip-vit-b-32", "--texts", str(texts), "-o", str(tmp_path / "o.npy"))
    assert result.returncode == 1
    assert result.stderr.startswith("fashionclip embed: error: model 'openai-clip-vit-b-32'")
    assert "Traceback" not in result.stderr
    debug = run_cli("--debug", "embed", "--model", "nope!", "--texts", str(texts), "-o", str(tmp_path / "o.npy"))
    assert debug.returncode == 1 and "Traceback" in debug.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--images", "{missing}", "-o", "{out}"], "does not exist"),
        (["--images", "{empty}", "-o", "{out}"], "no image files"),
        (["--texts", "{texts}", "-o", "{tmp}/o.txt"], "must end in .npy or .parquet"),
        (["--texts", "{texts}", "--batch-size", "0", "-o", "{out}"], "--batch-size must be positive"),
        (["--texts", "{csv}", "--column", "caption", "-o", "{out}"], "no column 'caption'"),
    ],
)
def test_bad_embed_arguments_exit_1_with_a_clear_message(tmp_path: Path, tiny_checkpoint: Path, capsys, args, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "t.txt").write_text("dress\n")
    (tmp_path / "t.csv").write_text("text\ndress\n")
    values = dict(
        missing=tmp_path / "missing",
        empty=tmp_path / "empty",
        out=tmp_path / "o.npy",
        texts=tmp_path / "t.txt",
        csv=tmp_path / "t.csv",
        tmp=tmp_path,
    )
    argv = ["embed", "--model", str(tiny_checkpoint)] + [a.format(**values) for a in args]
    assert main(argv) == 1
    assert message in capsys.readouterr().err


def test_demo_runs_offline_with_the_bundled_model():
    result = run_cli("demo")
    assert result.returncode == 0, result.stderr
    assert "model: fashion-clip-mini" in result.stdout
    assert "indexed 120 product photos" in result.stdout and "120 added" in result.stdout
    for section in ("Text search", "Filtered search", "More like this", "Hybrid", "Zero-shot classification"):
        assert section in result.stdout


def test_demo_with_a_given_model(tiny_checkpoint: Path, tmp_path: Path, capsys):
    heat = tmp_path / "heat.png"
    assert main(["demo", "--model", str(tiny_checkpoint), "--top-k", "2", "--heatmap", str(heat)]) == 0
    out = capsys.readouterr().out
    assert f"model: {tiny_checkpoint}" in out and out.count("    2. ") == 7  # 4 text, filtered, like, hybrid
    assert "Where is 'handbag'" in out and heat.stat().st_size > 0


def test_demo_keeps_its_index_where_asked(tmp_path: Path, capsys):
    db = tmp_path / "demo.lance"
    assert main(["demo", "--db", str(db), "--top-k", "1"]) == 0
    assert "120 added" in capsys.readouterr().out
    assert main(["demo", "--db", str(db), "--top-k", "1"]) == 0
    assert "0 added, 0 re-embedded, 0 rows updated, 120 unchanged" in capsys.readouterr().out


@pytest.fixture
def empty_hub_cache(tmp_path, monkeypatch):
    """A hub cache without FashionCLIP: other tests put a fake one in the session's cache."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))


def test_demo_falls_back_to_the_bundled_model_when_the_hub_is_unreachable(empty_hub_cache):
    result = run_cli("demo", "--model", "fashion-clip")
    assert result.returncode == 0, result.stderr
    assert "HF_HUB_OFFLINE" in result.stderr and "falling back to the bundled fashion-clip-mini" in result.stderr
    assert "model: fashion-clip-mini" in result.stdout


def test_demo_without_fallback_fails_offline(empty_hub_cache, capsys):
    assert main(["demo", "--model", "fashion-clip", "--no-fallback"]) == 1
    assert "HF_HUB_OFFLINE" in capsys.readouterr().err


def test_embed_with_a_chosen_backend_and_precision(tmp_path: Path, tiny_checkpoint: Path, capsys):
    (tmp_path / "t.txt").write_text("red dress\nblue jeans\n")
    outputs = {}
    for backend, precision in (("torch", "fp32"), ("onnx", "int8")):
        out = tmp_path / f"{backend}.npy"
        args = ["embed", "--texts", str(tmp_path / "t.txt"), "-o", str(out), "--model", str(tiny_checkpoint)]
        assert main([*args, "--backend", backend, "--precision", precision]) == 0
        outputs[backend] = np.load(out)
    assert (outputs["torch"] * outputs["onnx"]).sum(axis=1).min() > 0.99
    args = ["embed", "--texts", str(tmp_path / "t.txt"), "-o", str(tmp_path / "x.npy"), "--model", str(tiny_checkpoint)]
    assert main([*args, "--backend", "torch", "--precision", "int8"]) == 1
    assert "int8 runs with backend='onnx'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*args, "--precision", "int4"])


def test_embed_names_rows_by_an_id_column_and_says_which_blank_lines_it_left_out(tmp_path, tiny_checkpoint, capsys):
    (tmp_path / "t.csv").write_text("sku,text\nA1,red dress\nB2,blue jeans\n")
    out = tmp_path / "t.npy"
    args = ["embed", "--model", str(tiny_checkpoint), "--backend", "torch", "--precision", "fp32", "--no-progress"]
    assert main([*args, "--texts", str(tmp_path / "t.csv"), "--id-column", "sku", "-o", str(out)]) == 0
    assert (tmp_path / "t.ids.txt").read_text().split() == ["A1", "B2"]
    (tmp_path / "t.txt").write_text("one\r\n\n two \n\n")
    assert main([*args, "--texts", str(tmp_path / "t.txt"), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "skipped 2 blank line(s) of" in err and "(line 2, 4)" in err
    assert np.load(out).shape[0] == 2
    assert main([*args, "--texts", str(tmp_path / "t.txt"), "--id-column", "sku", "-o", str(out)]) == 1
    assert "--id-column goes with a CSV file" in capsys.readouterr().err


def test_debug_goes_anywhere_and_typos_get_a_suggestion(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["serach", "--db", "x", "red"])
    assert caught.value.code == 2
    assert "unknown command 'serach' (did you mean 'search'?)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["search", "--db", "x", "red", "--whre", "gender=Men"])
    err = capsys.readouterr().err
    assert "usage: fashionclip search" in err and "--whre (did you mean --where?)" in err
    # --debug after the command is taken (the error then comes with its traceback)
    with pytest.raises(FileNotFoundError, match="no index at"):
        main(["search", "--db", "/nonexistent/db", "red", "--debug"])
    assert main(["search", "--db", "/nonexistent/db", "red"]) == 1  # without it: one line

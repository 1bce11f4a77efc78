import csv
import json
from pathlib import Path

import numpy as np
import pytest

from fashionclip.cli.main import main
from fashionclip.sample import sample_catalog
from tests.cli.test_main import run_cli

TINY = '{"image_size": 32, "vision_width": 64, "vision_layers": 2, "text_width": 64, "text_layers": 2, "embed_dim": 32}'


@pytest.fixture()
def pairs(tmp_path: Path) -> Path:
    """A user's own CSV: absolute image paths and a caption column."""
    root, rows = sample_catalog()
    path = tmp_path / "pairs.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "image", "caption", "articleType"])
        for row in rows:
            writer.writerow([row["id"], str(root / row["image"]), row["title"], row["articleType"]])
    return path


def test_fine_tune_a_local_checkpoint_from_a_csv_then_resume_finished_run(pairs, tmp_path, tiny_checkpoint):
    out = tmp_path / "my-model"
    done = run_cli(
        "train",
        str(pairs),
        "--model",
        str(tiny_checkpoint),
        "--output",
        str(out),
        "--epochs",
        "1",
        "--batch-size",
        "16",
        "--freeze",
        "vision",
        "--val-attribute",
        "articleType",
        "--workers",
        "1",
        "--no-progress",
    )
    assert done.returncode == 0, done.stderr
    assert "model written to" in done.stdout and "text_to_image_R@1" in done.stdout
    saved = json.loads((out / "training_config.json").read_text())
    assert saved["freeze"] == ["vision"] and saved["model"] == str(tiny_checkpoint)
    assert (out / "model.safetensors").stat().st_mode & 0o044 == 0o044  # readable by others, as a model is shared
    # resuming a finished run says so and changes nothing
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.is_file()}
    again = run_cli("train", "--resume", "--output", str(out), "--no-progress")
    assert again.returncode == 0, again.stderr
    assert "already finished (1 epochs): nothing to resume" in again.stdout
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.is_file()} == before
    assert fashionclip_license(out) == "MIT"  # read from the model card it wrote
    (tmp_path / "t.txt").write_text("a red dress\n")
    embedded = run_cli("embed", "--texts", str(tmp_path / "t.txt"), "-o", str(tmp_path / "t.npy"), "--model", str(out))
    assert embedded.returncode == 0, embedded.stderr
    assert np.load(tmp_path / "t.npy").shape == (1, 16)


def test_train_from_scratch_with_templates(pairs, tmp_path, capsys):
    out = tmp_path / "scratch"
    code = main(
        [
            "train",
            str(pairs),
            "--architecture",
            TINY,
            "--output",
            str(out),
            "--epochs",
            "1",
            "--batch-size",
            "16",
            "--caption-column",
            "caption",
            "--template",
            "a photo of a {articleType}",
            "--augment",
            "strong",
            "--workers",
            "0",
            "--no-progress",
        ]
    )
    assert code == 0
    saved = json.loads((out / "training_config.json").read_text())
    assert saved["data"][0]["templates"] == ["a photo of a {articleType}"] and saved["augment"]["negative"] == 0.1
    assert saved["lr"] == 5e-4


@pytest.mark.parametrize(
    "args,message",
    [
        (["--output", "x", "--model", "m"], "give the training data"),
        (["{pairs}", "--model", "m"], "--output is required"),
        (["{pairs}", "--output", "x"], "give --model to fine-tune"),
        (["--recipe", "no-such-recipe"], "unknown recipe 'no-such-recipe'"),
        (["--recipe", "fashion-clip-mini"], "pass --data-root"),
        (["{pairs}", "--recipe", "fashion-clip-mini"], "--recipe names its own data"),
        (["{pairs}", "--output", "x", "--architecture", "{not json"], "--architecture must be a JSON"),
        (["{pairs}", "--output", "x", "--architecture", "[1, 2]"], "--architecture must be a JSON object"),
        (["{pairs}", "--output", "x", "--architecture", TINY, "--lr", "-1"], "lr must be > 0"),
        (["{pairs}", "--output", "x", "--architecture", TINY, "--freeze", "wings"], "cannot freeze"),
        (["{pairs}", "--output", "x", "--architecture", TINY, "--image-column", "photo"], "no image column 'photo'"),
        (["--resume"], "--resume needs --output"),
        (["--resume", "--output", "{tmp}/none"], "nothing to resume"),
        (["{tmp}/missing.csv", "--output", "x", "--architecture", TINY], "does not exist"),
    ],
)
def test_bad_train_arguments_exit_1_with_a_clear_message(pairs, tmp_path, capsys, args, message):
    args = [a.replace("{pairs}", str(pairs)).replace("{tmp}", str(tmp_path)) for a in args]
    args = [str(tmp_path / a) if a == "x" else a for a in args]
    assert main(["train", *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fashionclip train: error:") and message in err, err


def test_unknown_model_to_fine_tune(pairs, tmp_path, capsys):
    assert main(["train", str(pairs), "--output", str(tmp_path / "o"), "--model", "no-such-model"]) == 1
    assert "unknown model 'no-such-model'" in capsys.readouterr().err


def test_a_run_that_fails_before_training_leaves_no_output_folder(pairs, tmp_path, capsys):
    out = tmp_path / "ft"
    # offline (the tests set HF_HUB_OFFLINE) and not cached: the hub checkpoint cannot load
    args = ["--model", "fashion-clip", "--batch-size", "16", "--epochs", "1", "--no-progress"]
    assert main(["train", str(pairs), *args, "--output", str(out)]) == 1
    assert "fashion-clip" in capsys.readouterr().err
    assert not out.exists()
    existing = tmp_path / "mine"
    existing.mkdir()
    (existing / "notes.txt").write_text("my own file")
    assert main(["train", str(pairs), *args, "--output", str(existing)]) == 1
    assert (existing / "notes.txt").read_text() == "my own file"  # a folder that was there stays


def fashionclip_license(folder: Path) -> str:
    from fashionclip import load_model

    return load_model(str(folder), backend="torch", precision="fp32").license

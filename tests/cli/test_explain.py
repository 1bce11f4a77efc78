"""``fashionclip explain``: PNG overlays, one per text, and named errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from fashionclip.cli.main import main


@pytest.fixture()
def image(tmp_path) -> str:
    array = np.full((120, 90, 3), 128, dtype=np.uint8)
    array[60:100, 40:80] = (200, 30, 30)
    path = tmp_path / "photo.jpg"
    Image.fromarray(array).save(path)
    return str(path)


def test_explain_writes_an_overlay_per_text(tiny_checkpoint, image, tmp_path, capsys):
    out = tmp_path / "heat.png"
    assert main(["explain", image, "belt", "-o", str(out), "--model", str(tiny_checkpoint)]) == 0
    assert Image.open(out).size == (90, 120)
    assert "'belt': peak at x=" in capsys.readouterr().out
    args = ["explain", image, "the belt", "cat print", "-o", str(out), "--model", str(tiny_checkpoint)]
    assert main([*args, "--method", "crops", "--contrast", "dress,shirt", "--alpha", "0.7"]) == 0
    assert (tmp_path / "heat-the-belt.png").is_file() and (tmp_path / "heat-cat-print.png").is_file()
    assert main([*args, "--method", "patch", "--contrast", "none", "--template", "{}"]) == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["-o", "heat.gif"], "must end in .png or .jpg"),
        (["-o", "missing/heat.png"], "folder .*missing' does not exist"),
        (["-o", "heat.png", "--alpha", "2"], "--alpha must be between 0 and 1"),
        (["-o", "heat.png", "--contrast", "nope"], "vocabulary 'nope'"),
        (["-o", "heat.png", "--template", "no braces"], "must contain exactly one {}"),
        (["-o", "heat.png", "--template", "a {} {0.__class__}"], "field {0.__class__} is not allowed"),
    ],
)
def test_explain_names_bad_options(tiny_checkpoint, image, tmp_path, capsys, monkeypatch, extra, message):
    monkeypatch.chdir(tmp_path)
    assert main(["explain", image, "belt", "--model", str(tiny_checkpoint), *extra]) == 1
    assert re.search(message, capsys.readouterr().err)


def test_explain_names_a_missing_image(tiny_checkpoint, tmp_path, capsys):
    args = ["explain", str(tmp_path / "nope.jpg"), "belt", "-o", str(tmp_path / "h.png")]
    assert main([*args, "--model", str(tiny_checkpoint)]) == 1
    assert "nope.jpg: file not found" in capsys.readouterr().err

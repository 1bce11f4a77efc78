"""``fashionclip models --explain-backend``: what the automatic choice measured, and why."""

from __future__ import annotations

import pytest

from fashionclip.cli.main import main


def test_explain_backend_measures_once_and_says_why(tiny_checkpoint, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("FASHIONCLIP_CACHE", str(tmp_path))
    assert main(["models", "--explain-backend", str(tiny_checkpoint)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{tiny_checkpoint}: on ") and "chosen: " in out and "-> " in out
    assert "torch fp32:" in out and "onnx int8:" in out and "img/s" in out
    import fashionclip.tuning as tuning

    monkeypatch.setattr(tuning, "measure", lambda *a, **k: pytest.fail("measured again"))
    assert main(["models", "--explain-backend", str(tiny_checkpoint)]) == 0
    assert capsys.readouterr().out == out  # read from the cache, the same answer


def test_explain_backend_of_an_unknown_model_names_it(capsys):
    assert main(["models", "--explain-backend", "no-such-model"]) == 1
    assert "no-such-model" in capsys.readouterr().err

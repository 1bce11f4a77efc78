"""Helpers for tests and benchmarks: the checkpoint a benchmark measures."""

from __future__ import annotations

from pathlib import Path

import pytest

import fashionclip.testing as testing
from fashionclip.errors import UnknownModelError


def test_a_benchmark_measures_a_random_vit_b32_written_into_its_folder(monkeypatch, tmp_path: Path) -> None:
    written = []
    monkeypatch.setattr(testing, "write_vit_b32", lambda path: written.append(path) or path)
    assert testing.benchmark_checkpoint("vit-b-32", tmp_path) == tmp_path / "vit-b-32" and written


def test_a_benchmark_finds_a_registry_model_as_load_model_does(tmp_path: Path) -> None:
    folder = testing.benchmark_checkpoint("fashion-clip-mini", tmp_path)
    assert (folder / "config.json").is_file() and not any(tmp_path.iterdir())


def test_an_unknown_benchmark_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnknownModelError):
        testing.benchmark_checkpoint("no-such-model-anywhere", tmp_path)

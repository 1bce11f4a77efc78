"""``fashionclip embed``: the options that changed name (``--dtype`` -> ``--precision``)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from fashionclip.cli.main import main


def test_dtype_is_a_hidden_alias_that_still_works(tmp_path: Path, tiny_checkpoint: Path, sample_images, capsys):
    with pytest.raises(SystemExit):
        main(["embed", "--help"])
    assert "--dtype" not in capsys.readouterr().out
    out = tmp_path / "vectors.npy"
    args = ["--model", str(tiny_checkpoint), "--images", *map(str, sample_images[:2]), "-o", str(out), "--no-progress"]
    assert main(["embed", *args, "--dtype", "float32"]) == 0
    assert "--dtype is deprecated; use --precision (fp32, bf16, fp16, int8)" in capsys.readouterr().err
    assert np.load(out).shape == (2, 16)


def test_skip_embeds_the_readable_images_through_the_report(tmp_path: Path, tiny_checkpoint: Path, sample_images):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    out = tmp_path / "vectors.npy"
    args = ["--model", str(tiny_checkpoint), "--images", str(sample_images[0]), str(broken), "-o", str(out)]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert main(["embed", *args, "--on-error", "skip", "--no-progress"]) == 0
    assert not [w for w in seen if issubclass(w.category, DeprecationWarning) and "on_error" in str(w.message)]
    assert np.load(out).shape == (1, 16)

from pathlib import Path

import tomllib

import fashionclip
from fashionclip.version import __version__


def test_one_version_everywhere():
    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert __version__ == fashionclip.__version__ == pyproject["project"]["version"]

import pytest

from fashionclip._extras import require
from fashionclip.errors import MissingExtraError


def test_present_module_is_returned():
    assert require("json", "dev").dumps([1]) == "[1]"


def test_missing_module_names_the_exact_pip_command():
    with pytest.raises(ImportError) as info:
        require("surely_not_installed_module", "parquet", feature="writing Parquet needs pyarrow, which")
    assert isinstance(info.value, MissingExtraError)
    assert "pip install 'fashionclip[parquet]'" in str(info.value)
    assert str(info.value).startswith("writing Parquet needs pyarrow, which is not installed")

import pytest

from fashionclip.errors import ClassificationError
from fashionclip.zeroshot import load_templates


def test_the_bundled_fashion_set_is_an_ensemble_of_label_templates():
    templates = load_templates("fashion")
    assert len(templates) >= 5 and templates[0] == "a photo of a {}"
    assert all(t.count("{}") == 1 and not t.startswith("#") for t in templates)


def test_a_file_a_list_and_a_single_template(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("# my shop's prompts\n\nitem: {}\n  a picture of {}  \n")
    assert load_templates(path) == ["item: {}", "a picture of {}"]
    assert load_templates(str(path)) == ["item: {}", "a picture of {}"]
    assert load_templates(["{}", "a {} photo"]) == ["{}", "a {} photo"]
    assert load_templates("a photo of {}") == ["a photo of {}"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no-such-set", "not a bundled set"),
        (["a photo"], "exactly one {}"),
        (["{} and {}"], "exactly one {}"),
        ([], "no templates"),
        (["{}", "{}"], "listed twice"),
        ([3], "exactly one {}"),
    ],
)
def test_bad_templates_are_named(spec, message):
    with pytest.raises(ClassificationError, match=message):
        load_templates(spec)


def test_an_empty_file_is_refused(tmp_path):
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(ClassificationError, match="no templates"):
        load_templates(tmp_path / "empty.txt")

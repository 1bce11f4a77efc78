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
        ([3], "template 3 must be a string"),
        ("{} {", "Single '{' encountered"),
        ("a {} }", "Single '}' encountered"),
        ("{}{x}", "exactly one {}"),
        ("{}{0}", r"field \{0\} is not allowed"),
        ("{} {.__class__}", r"field \{.__class__\} is not allowed"),
        ("{0.__class__.__init__.__globals__}", "is not allowed"),
        ("{!r}", r"field \{!r\} is not allowed"),
        ("{:>99999999}", "is not allowed"),
        (5, "give a bundled set's name, a template, or a list"),
        ({"a": "{}"}, "give a bundled set.s name"),
        (b"{}", "give a bundled set's name"),
    ],
)
def test_bad_templates_are_named(spec, message):
    with pytest.raises(ClassificationError, match=message):
        load_templates(spec)


def test_an_empty_file_is_refused(tmp_path):
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(ClassificationError, match="no templates"):
        load_templates(tmp_path / "empty.txt")


def test_a_string_from_a_client_is_never_a_path(tmp_path, monkeypatch):
    """``files=False`` (what the server uses): a file's content never comes back, and a missing
    file answers as an existing one does, so nothing can be learnt about the server's files."""
    canary = tmp_path / "canary.txt"
    canary.write_text("CANARY-7f3a {}\n")
    monkeypatch.chdir(tmp_path)
    answers = set()
    for spec in (
        str(canary),
        "canary.txt",
        "./canary.txt",
        "../" + tmp_path.name + "/canary.txt",
        "/etc/passwd",
        "/no/such/file",
        "missing.txt",
    ):
        with pytest.raises(ClassificationError) as caught:
            load_templates(spec, files=False)
        assert "CANARY" not in str(caught.value) and "root:" not in str(caught.value)
        answers.add(str(caught.value).rsplit(": ", 1)[-1])  # the reason, after the (shortened) path
    assert len(answers) == 1, answers
    assert load_templates("canary.txt") == ["CANARY-7f3a {}"]  # the library's own convenience stays
    assert load_templates("fashion", files=False) == load_templates("fashion")

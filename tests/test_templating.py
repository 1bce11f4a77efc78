import pytest

from fashionclip.errors import TemplateError
from fashionclip.templating import check_label_template, check_named_template, template_fields


def test_plain_fields_are_listed_in_order():
    assert template_fields("a photo of a {}") == [""]
    assert template_fields("images/{gender}/{id}.jpg") == ["gender", "id"]
    assert template_fields("{{literal}} braces and {}") == [""]
    assert template_fields("no fields") == []
    assert template_fields("{image link}") == ["image link"]  # a column name with a space


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{} {", "Single '{' encountered"),
        ("a {} }", "Single '}' encountered"),
        ("{0}", r"field \{0\} is not allowed"),
        ("{.__class__}", r"field \{.__class__\} is not allowed"),
        ("{id.__class__.__mro__}", "is not allowed"),
        ("{id[0]}", "is not allowed"),
        ("{id!r}", r"field \{id!r\} is not allowed"),
        ("{id:>10}", r"field \{id:>10\} is not allowed"),
        ("{id:{width}}", "is not allowed"),
        (3, "must be a string"),
        (None, "must be a string"),
    ],
)
def test_anything_but_plain_fields_is_refused(template, message):
    with pytest.raises(TemplateError, match=message):
        template_fields(template)


def test_a_label_template_has_one_empty_field():
    assert check_label_template("a {} on a model") == "a {} on a model"
    for bad in ("no field", "{} and {}", "{label}", "{}{x}"):
        with pytest.raises(TemplateError, match="exactly one {}"):
            check_label_template(bad)


def test_a_path_template_names_its_columns():
    assert check_named_template("images/{id}.jpg") == ["id"]
    for bad in ("images/{}.jpg", "images/a.jpg"):
        with pytest.raises(TemplateError, match="must name the columns"):
            check_named_template(bad)

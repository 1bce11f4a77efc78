import pytest

from fashionclip.errors import StoreError
from fashionclip.store.filters import Condition, parse_filter

COLUMNS = {"gender": "text", "articleType": "text", "price": "numeric"}


def test_dict_and_string_forms_parse_to_the_same_conditions():
    from_dict = parse_filter(
        {"gender": "Men", "articleType": ["Shirts", "Tshirts"], "price": {">=": 10, "<": 100}}, COLUMNS
    )
    from_strings = parse_filter(["gender=Men", "articleType in Shirts, Tshirts", "price>=10", "price < 100"], COLUMNS)
    assert (
        from_dict
        == from_strings
        == [
            Condition("gender", "=", "Men"),
            Condition("articleType", "in", ("Shirts", "Tshirts")),
            Condition("price", ">=", 10.0),
            Condition("price", "<", 100.0),
        ]
    )
    assert parse_filter("gender != Women", COLUMNS) == [Condition("gender", "!=", "Women")]
    assert parse_filter(None, COLUMNS) == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"colour": "Red"}, "unknown column 'colour'; filterable columns: articleType, gender, price"),
        ("price<cheap", "'cheap' is not a number"),
        ({"price": {"<": True}}, "True is not a number"),
        ({"price": {"<": float("nan")}}, "nan is not a finite number"),
        ("price<inf", "'inf' is not a finite number"),
        ("price>-inf", "'-inf' is not a finite number"),
        ("price<1e309", "'1e309' is not a finite number"),
        ("price<Infinity", "'Infinity' is not a finite number"),
        ({"price": {"<": float("inf")}}, "inf is not a finite number"),
        ({"price": {"<": 10**400}}, "is not a number"),
        ({"price": ["1", "nan"]}, "'nan' is not a finite number"),
        ("gender<M", "'gender' is a text column"),
        ("gender ~ Men", "expected 'column=value'"),
        ({"price": {"~": 3}}, "unknown operator '~'"),
        ({"gender": []}, "give at least one value"),
        ([3], "expected a string"),
        ("1col=3", "expected 'column=value'"),
    ],
)
def test_bad_filters_name_the_problem(spec, message):
    with pytest.raises(StoreError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        parse_filter(spec, COLUMNS)

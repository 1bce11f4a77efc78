from fashionclip.store.filters import ids_in, parse_filter, to_sql
from tests.store.filters.test_parse import COLUMNS


def test_sql_quotes_values_and_columns():
    sql = to_sql(parse_filter({"gender": "Men's", "articleType": ["A", "B"], "price": {"<=": 5}}, COLUMNS))
    assert sql == "`gender` = 'Men''s' AND `articleType` IN ('A', 'B') AND `price` <= 5.0"
    assert to_sql([]) is None


def test_ids_and_hostile_values_stay_string_literals():
    assert ids_in(["a", "b'); DROP TABLE items; --"]) == "id IN ('a', 'b''); DROP TABLE items; --')"
    sql = to_sql(parse_filter({"gender": "x' OR '1'='1"}, COLUMNS))
    assert sql == "`gender` = 'x'' OR ''1''=''1'"

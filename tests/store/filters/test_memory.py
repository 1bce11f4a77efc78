import numpy as np

from fashionclip.store.filters import parse_filter, to_mask
from tests.store.filters.test_parse import COLUMNS


def test_mask_follows_sql_semantics_for_missing_numbers():
    table = {
        "gender": np.array(["Men", "Women", "Men"], dtype=object),
        "articleType": np.array(["Shirts", "Dresses", "Tshirts"], dtype=object),
        "price": np.array([10.0, np.nan, 50.0]),
    }
    mask = to_mask(parse_filter({"gender": "Men", "price": {"<": 20}}, COLUMNS), table, 3)
    assert mask.tolist() == [True, False, False]
    assert to_mask(parse_filter("price != 10", COLUMNS), table, 3).tolist() == [False, False, True]  # NaN: no
    assert to_mask(parse_filter("articleType in Shirts,Tshirts", COLUMNS), table, 3).tolist() == [True, False, True]

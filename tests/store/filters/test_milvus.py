from fashionclip.store.filters import parse_filter, to_milvus


def test_filter_expressions_quote_values() -> None:
    conditions = parse_filter(
        {"gender": 'Wo"men\\', "price": {"<": 10}, "tag": ["a", "b"], "colour": {"!=": "red"}},
        {"gender": "text", "price": "numeric", "tag": "text", "colour": "text"},
    )
    assert to_milvus(conditions) == (
        'gender == "Wo\\"men\\\\" and price < 10.0 and tag in ["a", "b"] and colour != "red"'
    )
    assert to_milvus([]) == ""


def test_the_old_import_place_still_works():
    from fashionclip.store.milvus import to_milvus as kept

    assert kept is to_milvus

import pytest

from fashionclip.catalog.splits import in_validation, split_keys


def test_the_split_is_deterministic_and_each_key_keeps_its_side_when_the_catalogue_grows():
    keys = [f"0:{i}" for i in range(1000)]
    train, val = split_keys(keys, 0.1)
    assert sorted(train + val) == list(range(1000))
    assert 60 < len(val) < 140  # a hash, not an exact count
    grown = list(reversed(keys)) + [f"0:{i}" for i in range(1000, 1500)]
    _, grown_val = split_keys(grown, 0.1)
    assert {grown[i] for i in grown_val} >= {keys[i] for i in val}


def test_a_fraction_per_key_and_a_salt_change_the_sides():
    keys = [f"k{i}" for i in range(200)]
    assert split_keys(keys, [0.0] * 100 + [1.0] * 100) == (list(range(100)), list(range(100, 200)))
    assert split_keys(keys, 0.5, salt="a") != split_keys(keys, 0.5, salt="b")
    assert in_validation("k1", 1.0) and not in_validation("k1", 0.0)


def test_a_fraction_list_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="3 keys but 2 fractions"):
        split_keys(["a", "b", "c"], [0.1, 0.2])

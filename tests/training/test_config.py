import dataclasses
import json

import pytest

from fashionclip.training.config import (
    Augment,
    DataSource,
    TrainConfig,
    TrainConfigError,
    load_recipe,
    recipe_path,
)


def test_config_round_trips_through_json(tmp_path):
    config = TrainConfig(
        data=[{"path": "a.csv", "templates": ["a {x}"]}],
        output="out",
        model="fashion-clip",
        augment={"greyscale": 0.2},
    )
    assert isinstance(config.data[0], DataSource) and isinstance(config.augment, Augment)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config.to_dict()))
    assert TrainConfig.from_json(path) == config


def test_bundled_recipe_fills_the_data_root_and_takes_overrides(tmp_path):
    config = load_recipe("fashion-clip-mini", data_root=tmp_path, output=str(tmp_path / "run"), epochs=1)
    assert config.epochs == 1 and config.output == str(tmp_path / "run")
    assert config.data[0].path == str(tmp_path / "kagl" / "styles.csv")
    assert config.architecture["image_size"] == 48 and config.model is None
    assert recipe_path("fashion-clip-mini").name == "fashion-clip-mini.json"


def test_a_recipe_file_path_works(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"data": [{"path": "{data_root}/x.csv"}], "model": "fashion-clip"}))
    assert load_recipe(str(path), data_root="/data").data[0].path == "/data/x.csv"


def test_bad_recipes_and_config_files(tmp_path):
    with pytest.raises(TrainConfigError, match="unknown recipe"):
        load_recipe("nope")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(TrainConfigError, match="cannot read recipe"):
        load_recipe(str(broken))
    with pytest.raises(TrainConfigError, match="cannot read training config"):
        TrainConfig.from_json(broken)
    with pytest.raises(TrainConfigError, match="must be a JSON object"):
        TrainConfig.from_dict([1])  # type: ignore[arg-type]
    with pytest.raises(TrainConfigError, match=r"data source: unknown option\(s\) \['colour'\]"):
        TrainConfig.from_dict({"data": [{"path": "a.csv", "colour": 1}], "output": "o", "model": "m"})
    with pytest.raises(TrainConfigError, match="repeat must be >= 1"):
        TrainConfig.from_dict({"data": [{"path": "a.csv", "repeat": 0}], "output": "o", "model": "m"})
    with pytest.raises(TrainConfigError, match="val_fraction must be within"):
        TrainConfig.from_dict({"data": [{"path": "a.csv", "val_fraction": 1.5}], "output": "o", "model": "m"})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"alias_probability": 1.5}, "alias_probability must be within"),
        ({"aliases": ["pullover"]}, "aliases must map a column"),
        ({"aliases": {"type": ["pullover"]}}, "aliases of column 'type' must map a value"),
        ({"aliases": {"type": {"Sweaters": "pullover"}}}, r"aliases of type='Sweaters' must be a non-empty list"),
        ({"aliases": {"type": {"Sweaters": []}}}, r"aliases of type='Sweaters' must be a non-empty list"),
        ({"aliases": {"type": {"Sweaters": ["pullover", " "]}}}, r"aliases of type='Sweaters' must be a non-empty"),
    ],
)
def test_bad_aliases_are_named(change, message):
    with pytest.raises(TrainConfigError, match=message):
        TrainConfig.from_dict({"data": [{"path": "a.csv", **change}], "output": "o", "model": "m"})


def test_the_bundled_model_was_trained_on_the_split_its_recipe_defines():
    # evaluation reads the held-out split from the model's training_config.json, the trainer
    # from the recipe: the two must name the same sources, fractions and groups
    from fashionclip.registry import BUNDLED_MODEL, get_spec, package_path

    shipped = TrainConfig.from_json(package_path(get_spec(BUNDLED_MODEL).source) / "training_config.json")
    recipe = load_recipe(BUNDLED_MODEL, data_root="/data")
    assert shipped.val_fraction == recipe.val_fraction
    assert [(s.val_fraction, s.split_group) for s in shipped.data] == [
        (s.val_fraction, s.split_group) for s in recipe.data
    ]
    assert [s.path.split("/")[-2] for s in shipped.data] == [s.path.split("/")[-2] for s in recipe.data]


def test_a_config_is_checked_when_built_and_cannot_be_changed_afterwards():
    with pytest.raises(TrainConfigError, match="lr must be > 0"):
        TrainConfig(data=[{"path": "a.csv"}], output="out", model="fashion-clip", lr=0)
    with pytest.raises(TrainConfigError, match="repeat must be >= 1"):
        DataSource("a.csv", repeat=0)
    with pytest.raises(TrainConfigError, match="augment.flip"):
        Augment(flip=2.0)
    with pytest.raises(TrainConfigError, match="freeze must be a list"):
        TrainConfig(data=[{"path": "a.csv"}], output="out", model="fashion-clip", freeze="vision")
    config = TrainConfig(data=[{"path": "a.csv", "templates": ["a {x}"]}], output="out", model="fashion-clip")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.lr = 1.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.data[0].templates = ()  # type: ignore[misc]
    assert isinstance(config.data, tuple) and isinstance(config.data[0].templates, tuple)
    with pytest.raises(TrainConfigError, match="lr must be > 0"):
        dataclasses.replace(config, lr=-1.0)  # a changed copy is checked again

import numpy as np
import pytest

from fashionclip.errors import ClassificationError
from fashionclip.testing import KeywordEncoder
from fashionclip.zeroshot.taxonomy import Tagger, Taxonomy

YAML = """
templates: ["{}"]
attributes:
  kind:
    labels: [dress, shirt, shoes]
  style:
    parent: kind
    labels:
      dress: [midi dress, black dress]
      shirt: [white shirt, blue shirt]
  colour:
    labels: [red, blue, green, black, white]
    multi_label: true
    thresholds: {red: 0.6}
"""


def test_a_yaml_taxonomy_loads_parents_first(tmp_path):
    path = tmp_path / "taxonomy.yaml"
    path.write_text(YAML)
    taxonomy = Taxonomy.load(path)
    names = [a.name for a in taxonomy.attributes]
    assert names.index("kind") < names.index("style")
    style = next(a for a in taxonomy.attributes if a.name == "style")
    assert style.labels == ["midi dress", "black dress", "white shirt", "blue shirt"]
    assert style.children["shirt"] == ["white shirt", "blue shirt"]


def test_a_child_is_chosen_only_under_its_predicted_parent():
    encoder = KeywordEncoder()
    tagger = Tagger(encoder, Taxonomy.from_dict(__import__("yaml").safe_load(YAML)))
    words = encoder.encode_texts(["shirt", "black", "blue", "shoes"])
    # a blue shirt that is a little black: "black dress" must not win although "black" matches
    shirt = words[0] + 0.3 * words[1] + 0.5 * words[2]
    shoes = words[3] + 0.2 * words[2]
    tags = tagger.tag_embeddings(np.stack([shirt, shoes]) / 1.0, k=2)
    assert tags[0]["kind"][0].label == "shirt"
    assert [p.label for p in tags[0]["style"]] == ["blue shirt", "white shirt"]
    assert sum(p.score for p in tags[0]["style"]) == pytest.approx(1.0)  # renormalised over the allowed two
    assert tags[1]["kind"][0].label == "shoes" and tags[1]["style"] == []  # no styles listed under shoes
    assert [p.label for p in tags[0]["colour"]][:1] == ["blue"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "expected a mapping with 'attributes"),
        ({"attributes": {"a": [1, 2]}}, "expected a mapping with 'labels'"),
        ({"attributes": {"a": {"labels": "dress"}}}, "non-empty list"),
        ({"attributes": {"a": {"labels": ["x"], "colour": 1}}}, "unknown keys"),
        ({"attributes": {"a": {"labels": ["x"], "multi_label": "yes"}}}, "true or false"),
        ({"attributes": {"a": {"labels": {"x": ["y"]}, "parent": "b"}}}, "unknown parent 'b'"),
        ({"attributes": {"p": {"labels": ["x"]}, "c": {"labels": ["y"], "parent": "p"}}}, "maps each parent label"),
        ({"attributes": {"p": {"labels": ["x"]}, "c": {"labels": {"z": ["y"]}, "parent": "p"}}}, "not labels of 'p'"),
        (
            {"attributes": {"p": {"labels": ["x"], "multi_label": True}, "c": {"labels": {"x": ["y"]}, "parent": "p"}}},
            "must be single-label",
        ),
        (
            {
                "attributes": {
                    "a": {"labels": {"y": ["x"]}, "parent": "b"},
                    "b": {"labels": {"x": ["y"]}, "parent": "a"},
                }
            },
            "cycle",
        ),
    ],
)
def test_bad_taxonomies_are_named(data, message):
    with pytest.raises(ClassificationError, match=message):
        Taxonomy.from_dict(data)


def test_unreadable_and_invalid_files_are_named(tmp_path):
    with pytest.raises(ClassificationError, match="cannot read"):
        Taxonomy.load(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("attributes: [unclosed\n")
    with pytest.raises(ClassificationError, match="not valid YAML"):
        Taxonomy.load(tmp_path / "bad.yaml")

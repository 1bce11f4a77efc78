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
        ({"attributes": {"a": {"labels": ["x"]}}, "attribute": {}}, r"unknown keys \['attribute'\]"),
        ({"attributes": {"a": {"labels": ["x", {"y": 1}]}}}, "label {'y': 1} must be a text"),
        ({"attributes": {"a": {"labels": ["x", None]}}}, "label None must be a text"),
        ({"attributes": {"a": {"labels": ["x"], "parent": ["p"]}}}, "parent must be an attribute's name"),
        ({"attributes": {"a": {"labels": ["x"], "prompts": "abc"}}}, "'prompts' must map labels"),
        ({"attributes": {"a": {"labels": ["x"], "prompts": 5}}}, "'prompts' must map labels"),
        ({"attributes": {"a": {"labels": ["x"], "prompts": {"x": 5}}}}, "prompts for 'x' must be a text or a list"),
        ({"attributes": {"a": {"labels": ["x"], "prompts": {"x": [""]}}}}, "prompts for 'x' must be a text or a list"),
        ({"templates": 5, "attributes": {"a": {"labels": ["x"]}}}, "templates 5: give a bundled set's name"),
        ({"templates": "{} {", "attributes": {"a": {"labels": ["x"]}}}, "Single '{' encountered"),
        ({"attributes": {"a": {"labels": ["x"], "templates": ["{}{0}"]}}}, r"attribute 'a'.*field \{0\} is not"),
        # a string is never a path in a taxonomy that did not come from a file
        ({"templates": "/etc/passwd", "attributes": {"a": {"labels": ["x"]}}}, "not a bundled set"),
        ({"attributes": {"a": {"labels": ["x"], "templates": "/etc/passwd"}}}, "not a bundled set"),
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


def test_only_a_taxonomy_file_may_name_a_template_file(tmp_path):
    (tmp_path / "mine.txt").write_text("CANARY {}\n")
    data = {"templates": str(tmp_path / "mine.txt"), "attributes": {"a": {"labels": ["x", "y"]}}}
    with pytest.raises(ClassificationError) as caught:
        Taxonomy.from_dict(data)
    assert "CANARY" not in str(caught.value)
    (tmp_path / "taxonomy.yaml").write_text(__import__("yaml").safe_dump(data))
    assert Taxonomy.load(tmp_path / "taxonomy.yaml").attributes[0].templates == ["CANARY {}"]


def test_templates_and_prompts_are_resolved_when_the_taxonomy_is_read():
    taxonomy = Taxonomy.from_dict(
        {
            "templates": "fashion",
            "attributes": {
                "a": {"labels": ["x", 38], "prompts": {"x": "an x"}},
                "b": {"labels": ["y"], "templates": "a {} item"},
            },
        }
    )
    first, second = taxonomy.attributes
    assert first.labels == ["x", "38"] and first.prompts == {"x": ["an x"]}
    assert first.templates and first.templates[0] == "a photo of a {}"
    assert second.templates == ["a {} item"]


@pytest.mark.parametrize(
    ("attribute", "message"),
    [
        ({"labels": ["red"], "thresholds": [1]}, r"attribute 'colour': threshold for 'red' must be a number"),
        ({"labels": ["red"], "prompts": {"blue": ["a blue one"]}}, r"attribute 'colour': prompts for labels that"),
    ],
)
def test_a_tagger_names_the_attribute_it_cannot_build(attribute, message):
    taxonomy = Taxonomy.from_dict({"attributes": {"colour": attribute}})
    with pytest.raises(ClassificationError, match=message):
        Tagger(KeywordEncoder(), taxonomy)

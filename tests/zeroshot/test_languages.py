"""Labels in other languages: their script picks the bundled template set, a taxonomy may name
its labels per language, and a language is only ever a key of the table of known ones."""

import numpy as np
import pytest
from PIL import Image

from fashionclip.errors import ClassificationError
from fashionclip.testing import KeywordEncoder
from fashionclip.zeroshot.classifier import ZeroShotClassifier
from fashionclip.zeroshot.languages import LANGUAGES, check_language, detect_language
from fashionclip.zeroshot.taxonomy import Tagger, Taxonomy
from fashionclip.zeroshot.templates import load_templates


@pytest.mark.parametrize(
    ("texts", "language"),
    [
        (["连衣裙", "牛仔裤"], "zh"),
        (["ワンピース", "ジーンズ"], "ja"),
        (["黒いドレス"], "ja"),  # kanji with kana is Japanese
        (["원피스", "청바지"], "ko"),
        (["dress", "jeans"], "en"),
        (["robe", "jean"], "en"),  # a Latin script does not tell French from English
        (["T恤", "polo衫"], "zh"),
        ([], "en"),
    ],
)
def test_the_labels_script_says_their_language(texts, language):
    assert detect_language(texts) == language


def test_every_language_has_a_bundled_template_set_with_one_slot_each():
    for language in LANGUAGES:
        templates = load_templates({"en": "fashion"}.get(language, language))
        assert len(templates) >= 6 and all(t.count("{}") == 1 for t in templates)


@pytest.mark.parametrize("value", ["xx", "../../etc/passwd", "{}", "zh\x00", "__proto__", 3, ["zh"], "zh; DROP"])
def test_a_language_is_only_ever_a_known_code(value):
    with pytest.raises(ClassificationError, match="language must be one of"):
        check_language(value)


def test_chinese_labels_are_prompted_with_the_chinese_templates_and_classify_photos(tmp_path):
    encoder = KeywordEncoder()
    classifier = ZeroShotClassifier(encoder, ["红色", "蓝色", "白色"])
    assert classifier.language == "zh"
    assert classifier.templates == load_templates("zh")
    assert classifier.prompts["红色"][0] == "一张红色的照片"
    photos = []
    for colour in ("blue", "red", "white"):
        photos.append(Image.new("RGB", (8, 8), KeywordEncoder.COLOURS[colour]))
    assert [p[0].label for p in classifier.predict(photos)] == ["蓝色", "红色", "白色"]
    # the multi-label neutral noun is in the labels' language too
    assert ZeroShotClassifier(encoder, ["红色"], multi_label=True).negative == "服装"


def test_english_labels_keep_the_models_own_template():
    classifier = ZeroShotClassifier(KeywordEncoder(), ["red", "blue"])
    assert classifier.language == "en" and classifier.templates == ["a photo of a {}"]
    assert ZeroShotClassifier(KeywordEncoder(), ["red"], language="fr").templates == load_templates("fr")


TAXONOMY = {
    "attributes": {
        "colour": {
            "labels": ["red", "blue", "white"],
            "names": {"zh": {"red": "红色", "blue": "蓝色", "white": "白色"}},
            "thresholds": {"red": 0.4},
        },
        "category": {"labels": ["dress", "jeans"]},
    }
}


def test_a_tagger_in_another_language_prompts_with_the_names_and_answers_with_the_labels():
    encoder = KeywordEncoder()
    taxonomy = Taxonomy.from_dict(TAXONOMY)
    assert taxonomy.attributes[0].names == {"zh": {"red": "红色", "blue": "蓝色", "white": "白色"}}
    tagger = Tagger(encoder, taxonomy, language="zh")
    colour = tagger.classifiers["colour"]
    assert colour.labels == ["红色", "蓝色", "白色"] and colour.prompts["红色"][0] == "一张红色的照片"
    # an attribute without Chinese names keeps its own labels and their own (English) prompt
    assert tagger.classifiers["category"].labels == ["dress", "jeans"]
    assert tagger.classifiers["category"].templates == ["a photo of a {}"]
    red = encoder.encode_images([Image.new("RGB", (8, 8), KeywordEncoder.COLOURS["red"])])
    assert tagger.tag_embeddings(np.atleast_2d(red))[0]["colour"][0].label == "red"
    english = Tagger(encoder, taxonomy)
    assert english.classifiers["colour"].labels == ["red", "blue", "white"]


def test_a_taxonomy_written_in_chinese_is_prompted_in_chinese():
    taxonomy = Taxonomy.from_dict({"language": "zh", "attributes": {"颜色": {"labels": ["红色", "蓝色"]}}})
    tagger = Tagger(KeywordEncoder(), taxonomy)
    assert taxonomy.language == "zh" and tagger.classifiers["颜色"].templates == load_templates("zh")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"names": ["红色"]}, "'names' must map a language"),
        ({"names": {"xx": {"red": "r"}}}, "names: language must be one of"),
        ({"names": {"zh": ["红色"]}}, "names for 'zh' must map labels to names"),
        ({"names": {"zh": {"green": "绿色"}}}, "name labels that are not listed: \\['green'\\]"),
        ({"names": {"zh": {"red": ""}}}, "the 'zh' name of 'red' must be a non-empty text"),
        ({"names": {"zh": {"red": 3}}}, "the 'zh' name of 'red' must be a non-empty text"),
    ],
)
def test_bad_names_are_named(change, message):
    data = {"attributes": {"colour": {"labels": ["red", "blue"], **change}}}
    with pytest.raises(ClassificationError, match=message):
        Taxonomy.from_dict(data)


def test_a_bad_taxonomy_language_and_clashing_names_are_named():
    with pytest.raises(ClassificationError, match="language must be one of"):
        Taxonomy.from_dict({"language": "klingon", "attributes": {"c": {"labels": ["red"]}}})
    clash = Taxonomy.from_dict(
        {"attributes": {"c": {"labels": ["red", "crimson"], "names": {"zh": {"red": "红色", "crimson": "红色"}}}}}
    )
    with pytest.raises(ClassificationError, match="two labels share one 'zh' name"):
        Tagger(KeywordEncoder(), clash, language="zh")

"""``POST /classify`` with ``language``: Chinese labels and taxonomies on the keyword stand-in
encoder (a photo's colour is its direction, and its Chinese words name the same directions), a
language that is only ever one of the known codes, and one cached classifier per language."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from fashionclip.search import Catalog
from fashionclip.server.schemas import ClassifyRequest, Language
from fashionclip.testing import KeywordEncoder
from fashionclip.zeroshot import ZeroShotClassifier
from fashionclip.zeroshot.languages import LANGUAGES
from fashionclip.zeroshot.taxonomy import Tagger
from tests.server.conftest import make_client

PRODUCTS = {"p-red": "red", "p-blue": "blue", "p-white": "white"}
CHINESE = {"red": "红色", "blue": "蓝色", "white": "白色"}
CODES = {"red": "C1", "blue": "C2", "white": "C3"}
# labels that mean nothing to the model: only their Chinese names make them recognisable
CODED = {
    "attributes": {
        "colour": {"labels": ["C1", "C2", "C3"], "names": {"zh": {"C1": "红色", "C2": "蓝色", "C3": "白色"}}}
    }
}


def _photo(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), KeywordEncoder.COLOURS[colour]).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def keyword_catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    folder: Path = tmp_path_factory.mktemp("classify-language")
    lines = ["id,image,title"]
    for product_id, colour in PRODUCTS.items():
        (folder / f"{product_id}.png").write_bytes(_photo(colour))
        lines.append(f"{product_id},{product_id}.png,{colour} shirt")
    (folder / "catalog.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    catalog = Catalog.open(folder / "shop.lance", model=KeywordEncoder())
    catalog.index(folder / "catalog.csv")
    return catalog


@pytest.fixture()
def client(keyword_catalog: Catalog):
    with make_client(keyword_catalog) as test_client:
        yield test_client


def _classify(client, **body: Any) -> list[dict[str, Any]]:  # noqa: ANN001
    """The best label per input: the photos (red, blue, white), then the products by id."""
    images = [base64.b64encode(_photo(c)).decode() for c in ("red", "blue", "white")]
    response = client.post("/classify", json={"images": images, "ids": list(PRODUCTS), "k": 1, **body})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _expected(names: dict[str, str]) -> list[str]:
    return [names[c] for c in ("red", "blue", "white")] + [names[c] for c in PRODUCTS.values()]


@pytest.mark.parametrize("language", ["zh", "auto", None])
def test_chinese_labels_get_the_right_chinese_label(client, language) -> None:
    body = {"labels": ["红色", "蓝色", "白色"]} | ({"language": language} if language else {})
    items = _classify(client, **body)
    assert [item["labels"][0]["label"] for item in items] == _expected(CHINESE)
    classifier = client.app.state.fashionclip.classifier(ClassifyRequest(**body))
    assert classifier.language == "zh" and classifier.prompts["红色"][0] == "一张红色的照片"


def test_a_chinese_inline_taxonomy(client) -> None:
    taxonomy = {"language": "zh", "attributes": {"颜色": {"labels": ["红色", "蓝色", "白色"]}}}
    items = _classify(client, taxonomy=taxonomy)
    assert [item["颜色"][0]["label"] for item in items] == _expected(CHINESE)


def test_a_taxonomy_with_chinese_names_answers_with_its_own_labels(client) -> None:
    items = _classify(client, taxonomy=CODED, language="zh")
    assert [item["colour"][0]["label"] for item in items] == _expected(CODES)
    # without the language the codes are prompted as they are: every label scores alike
    plain = _classify(client, taxonomy=CODED)
    assert {item["colour"][0]["score"] for item in plain} == {0.3333}


HOSTILE = ["../../etc/passwd", "{0.__class__}", "zh' OR 1=1", "x" * 10_000, "", "ZH", "zh ", 5, True, ["zh"], {"zh": 1}]


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v)[:20])
@pytest.mark.parametrize("what", ["labels", "taxonomy"])
def test_a_bad_language_is_a_clear_422_that_echoes_nothing(client, value, what) -> None:
    body = {"labels": ["红色", "蓝色"]} if what == "labels" else {"taxonomy": CODED}
    response = client.post("/classify", json={**body, "ids": ["p-red"], "language": value})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["message"].startswith("language: ") and "'zh'" in error["message"]
    assert len(response.text) < 2000
    if isinstance(value, str) and len(value) > 3:
        assert value not in response.text
    assert not client.app.state.fashionclip._classifiers  # refused before any classifier is made


def test_the_schema_lists_every_language_and_only_those() -> None:
    assert set(Language.__args__) == {"auto", *LANGUAGES}


def test_the_same_labels_in_two_languages_are_two_cached_classifiers(client) -> None:
    state = client.app.state.fashionclip
    encoder: KeywordEncoder = state.encoder  # type: ignore[assignment]
    labels = ["红色", "蓝色", "白色"]
    _classify(client, labels=labels, language="zh")
    _classify(client, labels=labels, language="en")
    zh = state.classifier(ClassifyRequest(labels=labels, language="zh"))
    en = state.classifier(ClassifyRequest(labels=labels, language="en"))
    assert isinstance(zh, ZeroShotClassifier) and isinstance(en, ZeroShotClassifier) and zh is not en
    assert (zh.language, en.language) == ("zh", "en")
    assert zh.prompts["红色"][0] == "一张红色的照片" and en.prompts["红色"][0] == "a photo of a 红色"
    before = encoder.calls
    _classify(client, labels=labels, language="en")  # a cache hit: only the photos are embedded
    assert encoder.calls - before == 3
    # a taxonomy too: its names are used in one language and not in the other
    tagged = state.classifier(ClassifyRequest(taxonomy=CODED, language="zh"))
    plain = state.classifier(ClassifyRequest(taxonomy=CODED))
    assert isinstance(tagged, Tagger) and isinstance(plain, Tagger) and tagged is not plain
    assert tagged.classifiers["colour"].labels == ["红色", "蓝色", "白色"]
    assert plain.classifiers["colour"].labels == ["C1", "C2", "C3"]

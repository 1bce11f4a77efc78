"""``fashionclip classify --language``: labels and taxonomies in other languages, on the keyword
stand-in encoder (its Chinese words name the same directions as its English ones, and a photo's
colour is its direction), so the right label is known for every photo."""

import csv

import pytest
from PIL import Image

import fashionclip.cli.classify as classify_cli
from fashionclip.cli.main import main
from fashionclip.testing import KeywordEncoder

PHOTOS = {"p-red": "red", "p-blue": "blue", "p-white": "white"}
CHINESE = {"red": "红色", "blue": "蓝色", "white": "白色"}


class RecordingEncoder(KeywordEncoder):
    """Remembers every text it embedded: the prompts show which language's templates were used."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def encode_texts(self, texts, **kwargs):  # noqa: ANN001, ANN003, ANN201
        self.texts.extend([texts] if isinstance(texts, str) else list(texts))
        return super().encode_texts(texts, **kwargs)


@pytest.fixture()
def encoder(monkeypatch) -> RecordingEncoder:
    made = RecordingEncoder()
    monkeypatch.setattr(classify_cli, "load_model", lambda name: made)
    return made


@pytest.fixture()
def photos(tmp_path) -> str:
    folder = tmp_path / "photos"
    folder.mkdir()
    for name, colour in PHOTOS.items():
        Image.new("RGB", (8, 8), KeywordEncoder.COLOURS[colour]).save(folder / f"{name}.png")
    return str(folder)


def _classify(photos: str, out, *args: str) -> dict[str, dict[str, str]]:  # noqa: ANN001
    assert main(["classify", photos, *args, "-o", str(out), "--no-progress"]) == 0
    with open(out, newline="", encoding="utf-8") as handle:
        return {row["id"]: row for row in csv.DictReader(handle)}


@pytest.mark.parametrize("language", ["zh", "auto", None])
def test_chinese_labels_get_the_right_chinese_label(encoder, photos, tmp_path, language):
    args = ["--labels", "红色,蓝色,白色"] + (["--language", language] if language else [])
    rows = _classify(photos, tmp_path / "labels.csv", *args)
    assert {i: r["label"] for i, r in rows.items()} == {i: CHINESE[c] for i, c in PHOTOS.items()}
    assert "一张红色的照片" in encoder.texts  # prompted with the Chinese template set


def test_the_language_named_picks_the_templates(encoder, photos, tmp_path):
    """--language en on Chinese labels: English templates, told apart from the detected zh."""
    rows = _classify(photos, tmp_path / "labels.csv", "--labels", "红色,蓝色,白色", "--language", "en")
    assert rows["p-red"]["label"] == "红色"
    assert "一张红色的照片" not in encoder.texts and any(t.startswith("a photo of") for t in encoder.texts)


def test_a_chinese_taxonomy_file(encoder, photos, tmp_path):
    taxonomy = tmp_path / "zh.yaml"
    taxonomy.write_text("language: zh\nattributes:\n  颜色:\n    labels: [红色, 蓝色, 白色]\n", encoding="utf-8")
    rows = _classify(photos, tmp_path / "tags.csv", "--taxonomy", str(taxonomy))
    assert {i: r["颜色"] for i, r in rows.items()} == {i: CHINESE[c] for i, c in PHOTOS.items()}
    assert "一张白色的照片" in encoder.texts


def test_an_english_taxonomy_with_chinese_names_answers_with_its_own_labels(encoder, photos, tmp_path):
    """Labels that mean nothing to the model (codes) become recognisable only through their
    Chinese names: --language zh is what makes the answer right, in the file's own labels."""
    taxonomy = tmp_path / "codes.yaml"
    taxonomy.write_text(
        "attributes:\n  colour:\n    labels: [C1, C2, C3]\n    names:\n      zh: {C1: 红色, C2: 蓝色, C3: 白色}\n",
        encoding="utf-8",
    )
    codes = {"red": "C1", "blue": "C2", "white": "C3"}
    rows = _classify(photos, tmp_path / "zh.csv", "--taxonomy", str(taxonomy), "--language", "zh")
    assert {i: r["colour"] for i, r in rows.items()} == {i: codes[c] for i, c in PHOTOS.items()}
    # without the language the codes are prompted as they are: all three score alike
    plain = _classify(photos, tmp_path / "plain.csv", "--taxonomy", str(taxonomy))
    assert {r["colour"] for r in plain.values()} == {"C1"}
    assert {r["colour_score"] for r in plain.values()} == {"0.3333"}


@pytest.mark.parametrize(
    "value", ["../../etc/passwd", "{0.__class__}", "zh' OR 1=1", "x" * 10_000, "", "zh\x00", "chinese"]
)
def test_a_bad_language_is_a_one_line_usage_error(encoder, photos, tmp_path, capsys, value):
    with pytest.raises(SystemExit) as caught:
        main(["classify", photos, "--labels", "红色,蓝色", "--language", value, "-o", str(tmp_path / "o.csv")])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    error = [line for line in err.splitlines() if "error:" in line]
    assert len(error) == 1 and "--language: language must be one of en, zh, ja, ko, fr, de, es, auto" in error[0]
    assert len(err) < 1000  # the value is quoted shortened, never whole
    assert not encoder.texts and not (tmp_path / "o.csv").exists()


def test_a_language_in_capitals_is_accepted(encoder, photos, tmp_path):
    rows = _classify(photos, tmp_path / "labels.csv", "--labels", "红色,蓝色,白色", "--language", "ZH")
    assert rows["p-blue"]["label"] == "蓝色"

import base64
import csv
import json
import logging
import random
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from fashionclip.sample import sample_catalog
from fashionclip.training.config import DataSource, TrainConfigError
from fashionclip.training.data import (
    Caption,
    CaptionSampler,
    Example,
    batch_positives,
    batches,
    epoch_order,
    read_source,
    read_sources,
    split_by_id,
)


def _write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture()
def rows() -> list[dict]:
    root, rows = sample_catalog()
    return [{**r, "image": str(root / r["image"])} for r in rows[:12]]


def test_csv_jsonl_and_parquet_give_the_same_examples(tmp_path, rows):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    csv_path = _write_csv(tmp_path / "pairs.csv", rows)
    jsonl_path = tmp_path / "pairs.jsonl"
    jsonl_path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    parquet_path = tmp_path / "pairs.parquet"
    pq.write_table(pa.Table.from_pylist(rows), parquet_path)
    got = [read_source(DataSource(str(p), caption_columns=["title"])) for p in (csv_path, jsonl_path, parquet_path)]
    assert got[0] == got[1] == got[2]
    assert got[0][0].id == rows[0]["id"] and got[0][0].captions == (rows[0]["title"],)
    assert got[0][0].attributes["articleType"] == rows[0]["articleType"]


def test_relative_images_resolve_against_the_file_folder_or_root(tmp_path):
    root, rows = sample_catalog()
    relative = _write_csv(tmp_path / "rel.csv", rows[:3])
    examples = read_source(DataSource(str(relative), caption_columns=["title"], root=str(root)))
    assert all(Path(e.image).exists() for e in examples)
    bundled = read_source(DataSource(str(root / "catalog.csv"), caption_columns=["title"]))
    assert Path(bundled[0].image) == root / rows[0]["image"]


def test_image_template_builds_paths_from_columns(tmp_path, rows):
    path = _write_csv(tmp_path / "styles.csv", [{"id": r["id"], "name": r["title"]} for r in rows])
    examples = read_source(DataSource(str(path), image_template="images/{id}.jpg", caption_columns=["name"]))
    assert examples[0].image == str(tmp_path / "images" / f"{rows[0]['id']}.jpg")


def test_easynlp_tsv_reads_text_and_base64_image(tmp_path, rows):
    lines = []
    for r in rows[:3]:
        lines.append(r["title"] + "\t" + base64.b64encode(Path(r["image"]).read_bytes()).decode())
    path = tmp_path / "train.tsv"
    path.write_text("\n".join(lines) + "\n\n")
    examples = read_source(DataSource(str(path)))
    assert [e.captions[0] for e in examples] == [r["title"] for r in rows[:3]]
    assert examples[0].image == Path(rows[0]["image"]).read_bytes()


def test_image_folder_with_sidecar_captions_and_with_a_captions_file(tmp_path, rows):
    folder = tmp_path / "photos"
    folder.mkdir()
    for r in rows[:4]:
        target = folder / Path(r["image"]).name
        target.write_bytes(Path(r["image"]).read_bytes())
        target.with_suffix(".txt").write_text(r["title"] + "\n")
    (folder / "no_caption.jpg").write_bytes(Path(rows[5]["image"]).read_bytes())
    sidecars = read_source(DataSource(str(folder)))
    assert sorted(e.captions[0] for e in sidecars) == sorted(r["title"] for r in rows[:4])
    _write_csv(folder / "captions.csv", [{"image": Path(r["image"]).name, "caption": r["title"]} for r in rows[:2]])
    listed = read_source(DataSource(str(folder), captions_file="captions.csv"))
    assert [e.captions[0] for e in listed] == [r["title"] for r in rows[:2]]
    assert Path(listed[0].image).parent == folder


def test_templates_fill_attributes_and_skip_empty_fields():
    source = DataSource(
        "x.csv",
        caption_columns=["title"],
        templates=["a {colour} {type}", "a {pattern} {type}"],
        template_probability=1.0,
    )
    sampler = CaptionSampler([source])
    example = Example("1", "x.jpg", ("Nike Tee",), {"colour": "Red", "type": "Tshirts", "pattern": ""})
    drawn = {sampler.sample(example, random.Random(s)) for s in range(30)}
    assert drawn == {"a Red Tshirts"}
    half = CaptionSampler([DataSource("x.csv", caption_columns=["title"], templates=["a {colour} {type}"])])
    assert {half.sample(example, random.Random(s)) for s in range(60)} == {"a Red Tshirts", "Nike Tee"}
    assert sampler.reference(example) == "Nike Tee"


def test_colour_free_captions_avoid_colour_columns_and_names():
    source = DataSource(
        "x.csv",
        caption_columns=["title"],
        templates=["a {colour} {type}", "a {type}"],
        colour_columns=["colour"],
        template_probability=0.5,
    )
    sampler = CaptionSampler([source])
    example = Example("1", "x.jpg", ("Nike Red Tee",), {"colour": "Red", "type": "Tshirts"})
    assert {sampler.sample(example, random.Random(s), colour_free=True) for s in range(40)} == {"a Tshirts"}


def test_list_columns_take_a_random_subset_joined_in_english():
    source = DataSource(
        "tags.csv",
        caption_columns=[],
        templates=["a person wearing {tags}"],
        list_columns={"tags": " "},
        max_list_items=2,
    )
    sampler = CaptionSampler([source])
    example = Example("p1", "p1.jpg", (), {"tags": "shoes bag coat"})
    drawn = {sampler.sample(example, random.Random(s)) for s in range(200)}
    singles = {f"a person wearing {t}" for t in ("shoes", "bag", "coat")}
    assert singles <= drawn
    assert any(" and " in d for d in drawn)
    assert all(d.count(" and ") <= 1 and "," not in d for d in drawn)  # at most 2 items


def test_aliases_name_a_value_another_way_and_keep_its_facts():
    source = DataSource(
        "x.csv",
        caption_columns=[],
        templates=["a photo of a {type}"],
        aliases={"type": {"Sweaters": ["pullover", "jumper"]}},
        alias_probability=0.5,
    )
    sampler = CaptionSampler([source])
    example = Example("1", "x.jpg", (), {"type": "Sweaters"})
    drawn = [sampler.draw(example, random.Random(s)) for s in range(200)]
    texts = Counter(c.text for c in drawn)
    assert set(texts) == {"a photo of a Sweaters", "a photo of a pullover", "a photo of a jumper"}
    assert 70 < texts["a photo of a Sweaters"] < 130  # about half keep the catalogue's own label
    assert {c.facts for c in drawn} == {(("type", "Sweaters"),)}
    assert sampler.fill("a photo of a {type}", example) == "a photo of a Sweaters"  # no rng: no alias
    never = CaptionSampler([replace(source, alias_probability=0.0)])
    assert {never.sample(example, random.Random(s)) for s in range(50)} == {"a photo of a Sweaters"}


def test_facts_of_a_caption_and_whether_an_item_holds_them():
    source = DataSource(
        "x.csv",
        caption_columns=["title"],
        templates=["a {colour} {type} with {tags}"],
        list_columns={"tags": " "},
        colour_columns=["colour"],
        template_probability=1.0,
    )
    sampler = CaptionSampler([source])
    blue_tee = Example("1", "1.jpg", ("Nike Tee",), {"colour": "Blue", "type": "Tshirts", "tags": "logo stripes"})
    caption = sampler.draw(blue_tee, random.Random(3))
    assert caption.facts[:2] == (("colour", "Blue"), ("type", "Tshirts"))
    assert {f for f in caption.facts[2:]} <= {("tags", "logo"), ("tags", "stripes")}
    other_blue_tee = Example("2", "2.jpg", (), {"colour": "Blue", "type": "Tshirts", "tags": "stripes logo pocket"})
    red_tee = Example("3", "3.jpg", (), {"colour": "Red", "type": "Tshirts", "tags": "logo stripes"})
    facts = (("colour", "Blue"), ("type", "Tshirts"), ("tags", "logo"))
    assert sampler.holds(other_blue_tee, facts)
    assert not sampler.holds(red_tee, facts)
    assert not sampler.holds(other_blue_tee, facts, colour_removed=True)  # a grey image shows no blue
    assert sampler.holds(other_blue_tee, (("type", "Tshirts"),), colour_removed=True)
    assert not sampler.holds(other_blue_tee, (("tags", "log"),))  # whole list items, not substrings
    free = CaptionSampler([replace(source, template_probability=0.0)]).draw(blue_tee, random.Random(0))
    assert free == Caption("Nike Tee", None)


def test_batch_positives_join_own_items_equal_captions_and_true_facts():
    source = DataSource("x.csv", caption_columns=["title"], templates=["a {colour} {type}"], colour_columns=["colour"])
    sampler = CaptionSampler([source])
    examples = [
        Example("0", "0.jpg", ("Nike Tee",), {"colour": "Blue", "type": "Tshirts"}),
        Example("1", "1.jpg", ("Puma Tee",), {"colour": "Blue", "type": "Tshirts"}),
        Example("2", "2.jpg", ("Red Dress",), {"colour": "Red", "type": "Dresses"}),
    ]
    captions = [
        Caption("a Blue Tshirts", (("colour", "Blue"), ("type", "Tshirts"))),
        Caption("Puma Tee"),
        Caption("red dress"),
        Caption("Red Dress"),  # the same text as caption 2, case aside
    ]
    items = [0, 1, 2, 2]  # item 2 drawn twice
    expected = np.array(
        [
            [1, 0, 0, 0],
            [1, 1, 0, 0],  # the Puma tee is blue too: "a Blue Tshirts" is true of it
            [0, 0, 1, 1],
            [0, 0, 1, 1],
        ],
        dtype=bool,
    )
    assert np.array_equal(batch_positives(sampler, examples, captions, items, [False] * 4), expected)
    # once item 1 is greyscale, the colour fact no longer holds for it
    grey = batch_positives(sampler, examples, captions, items, [False, True, False, False])
    assert not grey[1, 0] and grey[1, 1]


def test_items_without_any_caption_are_left_out(tmp_path, rows, caplog):
    data = [{"id": "a", "image": rows[0]["image"], "tags": "shoes"}, {"id": "b", "image": rows[1]["image"], "tags": ""}]
    path = _write_csv(tmp_path / "tags.csv", data)
    source = DataSource(str(path), caption_columns=[], templates=["wearing {tags}"], list_columns={"tags": " "})
    with caplog.at_level(logging.WARNING, logger="fashionclip.training.data"):
        examples = read_sources([source])
    assert [e.id for e in examples] == ["a"]
    assert "'b'" in caplog.text


def test_split_by_id_is_deterministic_and_stable_when_the_catalogue_grows():
    examples = [Example(str(i), f"{i}.jpg", ("c",)) for i in range(2000)]
    train, val = split_by_id(examples, 0.1)
    assert 150 < len(val) < 250 and not set(train) & set(val)
    assert split_by_id(examples, 0.1) == (train, val)
    grown = examples + [Example(f"new{i}", "n.jpg", ("c",)) for i in range(500)]
    _, val_grown = split_by_id(list(reversed(grown)), 0.1)
    val_ids = {examples[i].id for i in val}
    assert val_ids <= {list(reversed(grown))[i].id for i in val_grown}


def test_a_source_can_hold_out_a_different_share():
    examples = [Example(str(i), f"{i}.jpg", ("c",), source=i % 2) for i in range(4000)]
    _, val = split_by_id(examples, 0.1, [None, 0.5])
    share = [sum(examples[i].source == s for i in val) / 2000 for s in (0, 1)]
    assert 0.07 < share[0] < 0.13 and 0.45 < share[1] < 0.55
    assert split_by_id(examples, 0.1, [None, None]) == split_by_id(examples, 0.1)


def test_epoch_order_repeats_weighted_items_and_changes_per_epoch():
    order = epoch_order([0, 1, 2], [1, 3, 1], seed=0, epoch=0)
    assert sorted(order) == [0, 1, 1, 1, 2]
    assert epoch_order([0, 1, 2], [1, 3, 1], seed=0, epoch=0) == order
    orders = {tuple(epoch_order(list(range(20)), [1] * 20, seed=0, epoch=e)) for e in range(5)}
    assert len(orders) == 5
    assert list(batches(list(range(10)), 4)) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert list(batches(list(range(10)), 4, start=1)) == [[4, 5, 6, 7]]


# ---------------------------------------------------------------- bad inputs
def test_missing_file(tmp_path):
    with pytest.raises(TrainConfigError, match="does not exist"):
        read_source(DataSource(str(tmp_path / "nope.csv")))


def test_unknown_suffix(tmp_path):
    path = tmp_path / "pairs.xlsx"
    path.write_text("x")
    with pytest.raises(TrainConfigError, match="cannot tell the format"):
        read_source(DataSource(str(path)))


def test_unknown_explicit_format(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("id,image,caption\n")
    with pytest.raises(TrainConfigError, match="unknown format 'xml'"):
        read_source(DataSource(str(path), format="xml"))


def test_missing_columns_are_named(tmp_path, rows):
    path = _write_csv(tmp_path / "pairs.csv", rows)
    with pytest.raises(TrainConfigError, match=r"missing column\(s\) \['caption'\]"):
        read_source(DataSource(str(path)))
    with pytest.raises(TrainConfigError, match="no image column 'photo'"):
        read_source(DataSource(str(path), image_column="photo", caption_columns=["title"]))
    with pytest.raises(TrainConfigError, match=r"\['fabric'\]"):
        read_source(DataSource(str(path), caption_columns=["title"], templates=["a {fabric} shirt"]))


def test_duplicate_and_empty_ids_and_empty_images_name_the_row(tmp_path, rows):
    dup = _write_csv(tmp_path / "dup.csv", [rows[0], rows[1], rows[0]])
    with pytest.raises(TrainConfigError, match=rf"row 3: duplicate id '{rows[0]['id']}'"):
        read_source(DataSource(str(dup), caption_columns=["title"]))
    empty_id = _write_csv(tmp_path / "eid.csv", [rows[0], {**rows[1], "id": ""}])
    with pytest.raises(TrainConfigError, match="row 2: empty id"):
        read_source(DataSource(str(empty_id), caption_columns=["title"]))
    empty_image = _write_csv(tmp_path / "eim.csv", [{**rows[0], "image": ""}])
    with pytest.raises(TrainConfigError, match="row 1 .*empty image"):
        read_source(DataSource(str(empty_image), caption_columns=["title"]))


def test_no_caption_source_at_all(tmp_path, rows):
    path = _write_csv(tmp_path / "pairs.csv", rows)
    with pytest.raises(TrainConfigError, match="caption_columns, templates or both"):
        read_source(DataSource(str(path), caption_columns=[]))
    empty = _write_csv(tmp_path / "empty.csv", [{**r, "title": ""} for r in rows[:2]])
    with pytest.raises(TrainConfigError, match="no item has a caption"):
        read_sources([DataSource(str(empty), caption_columns=["title"])])


def test_bad_jsonl_lines_are_located(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text('{"id": 1, "image": "a.jpg", "caption": "x"}\n{not json\n')
    with pytest.raises(TrainConfigError, match="pairs.jsonl:2: not valid JSON"):
        read_source(DataSource(str(path)))
    path.write_text('["a list"]\n')
    with pytest.raises(TrainConfigError, match="pairs.jsonl:1: expected a JSON object"):
        read_source(DataSource(str(path)))


def test_bad_tsv_lines_are_located(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text("a caption without an image\n")
    with pytest.raises(TrainConfigError, match=r"train.tsv:1: expected 'text<TAB>base64-image', found 1"):
        read_source(DataSource(str(path)))
    path.write_text("caption\tnot base64 !!\n")
    with pytest.raises(TrainConfigError, match="train.tsv:1: the image field is not valid base64"):
        read_source(DataSource(str(path)))


def test_folder_without_captions(tmp_path, rows):
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(Path(rows[0]["image"]).read_bytes())
    with pytest.raises(TrainConfigError, match=r"add a \.txt file beside each image"):
        read_source(DataSource(str(folder)))
    with pytest.raises(TrainConfigError, match="captions file .* not found"):
        read_source(DataSource(str(folder), captions_file="missing.csv"))


def test_empty_catalogue(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("id,image,caption\n")
    with pytest.raises(TrainConfigError, match="no usable image–caption pairs"):
        read_source(DataSource(str(path)))

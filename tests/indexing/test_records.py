"""Store records from planned steps."""

from __future__ import annotations

import numpy as np

from fashionclip.catalog.reader import CatalogItem
from fashionclip.indexing.plan import EMBED, REWRITE, Step
from fashionclip.indexing.records import build_records


def test_records_hold_one_row_per_step_in_order() -> None:
    steps = [
        Step(CatalogItem("b", "img/b.png", "blue shirt", {"price": 30}), EMBED, "e1:r1"),
        Step(CatalogItem("a", None, "red boots", {"gender": "Men"}), REWRITE, "e2:r2"),
    ]
    vectors = {"a": np.ones(4, dtype=np.float64), "b": np.zeros(4, dtype=np.float32), "unused": np.ones(4)}
    records = build_records(steps, vectors)
    assert records.ids == ["b", "a"]
    assert records.vectors.dtype == np.float32 and records.vectors.tolist() == [[0.0] * 4, [1.0] * 4]
    assert (records.images, records.texts, records.hashes) == (
        ["img/b.png", None],
        ["blue shirt", "red boots"],
        ["e1:r1", "e2:r2"],
    )
    assert records.metadata == {"price": [30, None], "gender": [None, "Men"]}  # every column, None where absent
    assert records.vector_sources == ["image", "text"]

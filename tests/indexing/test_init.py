"""The one entry, ``index_catalog``: the engine it runs, and the ModelRef the Ray engine gets."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest

import fashionclip.indexing as indexing
from fashionclip.catalog import read_catalog
from fashionclip.indexing import ModelRef, RayOptions, index_catalog, index_info
from fashionclip.store import ExactStore
from fashionclip.testing import KeywordEncoder
from tests.search.conftest import ROWS, write_catalog


def test_the_local_engine_indexes_here(tmp_path) -> None:
    store, encoder = ExactStore(), KeywordEncoder()
    report = index_catalog(store, encoder, read_catalog(write_catalog(tmp_path)), batch_size=3)
    assert (report.added, report.total, encoder.calls) == (len(ROWS), len(ROWS), len(ROWS))


def test_an_unknown_engine_is_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="engine must be 'local' or 'ray', got 'spark'"):
        index_catalog(ExactStore(), KeywordEncoder(), read_catalog(write_catalog(tmp_path)), engine="spark")


def test_the_ray_engine_gets_the_encoders_model_ref(tmp_path, tiny_encoder, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(indexing, "index_catalog_ray", lambda *args, **kwargs: calls.append((args, kwargs)))
    store, catalog = ExactStore(), read_catalog(write_catalog(tmp_path))
    index_catalog(store, tiny_encoder, catalog, engine="ray", batch_size=1000, delete_missing=False)
    index_catalog(store, tiny_encoder, catalog, engine="ray", ray=RayOptions(workers=3))
    (first, first_options), (second, second_options) = calls
    assert first[:3] == (store, ModelRef.of(tiny_encoder), catalog)
    assert first[3] == RayOptions(batch_size=256) and first_options == {"delete_missing": False}
    assert second[3] == RayOptions(workers=3) and second_options == {"delete_missing": True}


def test_a_model_ref_loads_the_same_model_with_the_same_backend_and_precision(tiny_encoder) -> None:
    ref = ModelRef.of(tiny_encoder)
    assert ref.name == tiny_encoder.spec.name  # a folder's name resolves to the folder itself
    assert ref.options == (("backend", "torch"), ("precision", "fp32"))
    assert ref.info == index_info(tiny_encoder)
    assert (ref.preprocess, ref.limits) == (tiny_encoder.preprocess, tiny_encoder.image_preprocessor.limits)


def test_a_model_whose_name_no_longer_resolves_is_loaded_by_its_source(tiny_encoder) -> None:
    renamed = copy.copy(tiny_encoder)
    renamed.spec = replace(tiny_encoder.spec, name="a-name-nobody-knows")
    assert ModelRef.of(renamed).name == tiny_encoder.spec.source


def test_an_onnx_encoder_says_so_in_its_load_options(tiny_checkpoint) -> None:
    from fashionclip import load_model

    encoder = load_model(str(tiny_checkpoint), backend="onnx", precision="fp32")
    assert encoder.load_options == {"backend": "onnx", "precision": "fp32"}
    assert ModelRef.of(encoder).options == (("backend", "onnx"), ("precision", "fp32"))

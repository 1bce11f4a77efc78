"""The automatic backend is chosen by measuring: the selection rule with injected timings and
fidelities, the candidates of each machine kind, the cache, and a real measurement at load."""

from __future__ import annotations

import json

import numpy as np
import pytest

import fashionclip.tuning as tuning
from fashionclip import load_model
from fashionclip.tuning import Measurement, candidates, choice_key, choose, mode
from tests.machine_kinds import KINDS

RNG = np.random.default_rng(0)
BATCH = (RNG.standard_normal((4, 3, 8, 8)).astype(np.float32), np.ones((4, 5), np.int64), np.ones((4, 5), np.int64))


class Runner:
    """A stand-in backend: embeddings at a chosen distance from the reference, and a speed."""

    def __init__(self, seconds: float, noise: float = 0.0) -> None:
        self.seconds, self.noise = seconds, noise

    def encode_pixels(self, pixels: np.ndarray) -> np.ndarray:
        base = pixels.reshape(len(pixels), -1)[:, :16].astype(np.float64)
        return base + self.noise * np.random.default_rng(1).standard_normal(base.shape)

    def encode_tokens(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.tile(np.arange(1.0, 9.0), (len(ids), 1)) + self.noise * np.random.default_rng(2).standard_normal(
            (len(ids), 8)
        )


@pytest.fixture
def timed(monkeypatch):
    """Timings from the runner being timed, not from the clock (a busy CI machine must not
    change the choice these tests check)."""
    current: dict[str, Runner] = {}
    real_measure = tuning.measure

    def measure(backend, precision, runner, reference, batch):
        current["runner"] = runner
        return real_measure(backend, precision, runner, reference, batch)

    monkeypatch.setattr(tuning, "measure", measure)
    monkeypatch.setattr(tuning, "_timed", lambda call: (call(), current["runner"].seconds)[1])


def test_the_fastest_faithful_candidate_wins(tmp_path, timed):
    runners = {
        ("onnx", "int8"): Runner(0.010, noise=0.05),  # fast and faithful enough for 8-bit
        ("openvino", "int8"): Runner(0.005, noise=3.0),  # fastest, but far from fp32: not chosen
        ("openvino", "bf16"): Runner(0.008, noise=0.05),  # faster than onnx int8, but bf16 must keep 0.999
        ("torch", "bf16"): Runner(0.020),
    }

    def build(backend, precision):
        if (backend, precision) == ("onnx", "fp32"):
            raise RuntimeError("no onnx here")
        return runners[backend, precision]

    pairs = [
        ("torch", "fp32"),
        ("torch", "bf16"),
        ("onnx", "fp32"),
        ("onnx", "int8"),
        ("openvino", "bf16"),
        ("openvino", "int8"),
    ]
    choice = choose("k", pairs, build, Runner(0.040), lambda: BATCH, "test CPU", store=tmp_path / "c.json")
    assert (choice.backend, choice.precision) == ("onnx", "int8")
    by_pair = {(m.backend, m.precision): m for m in choice.measurements}
    assert by_pair["onnx", "fp32"].error == "RuntimeError: no onnx here" and not by_pair["onnx", "fp32"].faithful
    assert not by_pair["openvino", "int8"].faithful and not by_pair["openvino", "bf16"].faithful
    assert by_pair["onnx", "int8"].images_per_s == pytest.approx(4 / 0.010)
    explained = choice.explain()
    assert "-> onnx int8" in explained and "not faithful (< 0.99)" in explained and "not available" in explained


def test_a_choice_is_measured_once_then_read_from_the_cache(tmp_path, timed):
    store = tmp_path / "choices.json"
    first = choose("k1", [("torch", "fp32")], None, Runner(0.01), lambda: BATCH, "cpu", store=store)

    def never(*args):
        raise AssertionError("measured again")

    again = choose("k1", [("torch", "fp32"), ("onnx", "int8")], never, Runner(0.01), never, "cpu", store=store)
    assert again == first and list(json.loads(store.read_text())) == ["k1"]
    choose("k2", [("torch", "fp32")], None, Runner(0.01), lambda: BATCH, "cpu", store=store)
    assert sorted(json.loads(store.read_text())) == ["k1", "k2"]  # another checkpoint's choice kept


def test_with_nothing_faithful_torch_fp32_is_the_choice(tmp_path, timed):
    choice = choose(
        "k",
        [("onnx", "int8")],
        lambda b, p: Runner(0.001, noise=5.0),
        Runner(0.1),
        lambda: BATCH,
        "cpu",
        store=tmp_path / "c",
    )
    assert (choice.backend, choice.precision) == ("torch", "fp32")


@pytest.mark.parametrize("name", sorted(KINDS))
def test_each_machine_kind_measures_what_can_be_fast_there(name):
    kind = KINDS[name]
    pairs = candidates(kind.flags, available=lambda engine: True)
    # torch bf16 is emulated, several times slower than fp32, where the CPU lacks native bf16
    assert (("torch", "bf16") in pairs) == bool({"amx_bf16", "avx512_bf16"} & set(kind.flags))
    assert {("torch", "fp32"), ("onnx", "int8"), ("openvino", "int8"), ("openvino", "bf16")} <= set(pairs)
    assert ("openvino", "int8") not in candidates(kind.flags, available=lambda engine: engine != "openvino")


def test_the_key_changes_with_the_checkpoint_the_cpu_and_its_flags():
    key = choice_key("abc", "AMD EPYC", {"avx2"})
    assert key == choice_key("abc", "AMD EPYC", ["avx2"])
    assert (
        len(
            {
                key,
                choice_key("abd", "AMD EPYC", {"avx2"}),
                choice_key("abc", "Xeon", {"avx2"}),
                choice_key("abc", "AMD EPYC", {"avx2", "avx512_bf16"}),
            }
        )
        == 4
    )


def test_the_mode_is_measure_by_default_and_a_bad_value_is_refused(monkeypatch):
    monkeypatch.delenv("FASHIONCLIP_AUTO")
    assert mode() == "measure"
    monkeypatch.setenv("FASHIONCLIP_AUTO", "guess")
    with pytest.raises(ValueError, match="FASHIONCLIP_AUTO must be one of measure, rule, got 'guess'"):
        mode()


def test_load_model_measures_on_first_use_and_then_reuses_the_choice(tiny_checkpoint, monkeypatch, tmp_path):
    monkeypatch.setenv("FASHIONCLIP_AUTO", "measure")
    monkeypatch.setenv("FASHIONCLIP_CACHE", str(tmp_path))
    encoder = load_model(str(tiny_checkpoint))
    [choice] = json.loads((tmp_path / "tuning" / "choices.json").read_text()).values()
    measured = {(m["backend"], m["precision"]) for m in choice["measurements"]}
    assert measured == set(candidates(tuning_flags()))  # every installed candidate was timed
    assert encoder.load_options.get("backend", "torch") == choice["backend"]
    assert all(m["error"] or m["images_per_s"] > 0 for m in choice["measurements"])
    chosen = Measurement(
        **next(
            m
            for m in choice["measurements"]
            if (m["backend"], m["precision"]) == (choice["backend"], choice["precision"])
        )
    )
    assert chosen.faithful

    def never(*args, **kwargs):
        raise AssertionError("measured again")

    monkeypatch.setattr(tuning, "measure", never)
    assert load_model(str(tiny_checkpoint)).load_options == encoder.load_options
    # asked for explicitly, a backend and precision are what runs: nothing is measured
    assert load_model(str(tiny_checkpoint), backend="torch", precision="fp32").backend.precision == "fp32"


def tuning_flags() -> set[str]:
    from fashionclip.machine import cpu_flags

    return cpu_flags()

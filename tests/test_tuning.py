"""The automatic backend is chosen by measuring: the selection rule with injected timings and
fidelities, the candidates of each machine kind, the cache, and a real measurement at load."""

from __future__ import annotations

import json
from contextlib import contextmanager

import numpy as np
import pytest

import fashionclip.tuning as tuning
from fashionclip import load_model
from fashionclip.tuning import Measurement, candidates, choice_key, choose, mode
from tests.machine_kinds import KINDS

RNG = np.random.default_rng(0)
BATCH = (RNG.standard_normal((4, 3, 8, 8)).astype(np.float32), np.ones((4, 5), np.int64), np.ones((4, 5), np.int64))


LAST: dict = {"sharing": False}  # the runner called last, what it ran, and whether work ran beside it


class Runner:
    """A stand-in backend: embeddings at a chosen distance from the reference, and the seconds a
    batch of images takes alone and beside decoding (``shared``, the same unless given) and a
    text query takes (``text``, the same as images unless given). ``slow_first`` adds to its
    image timings of the first round (a burst of load from another process while it was timed)."""

    def __init__(
        self,
        seconds: float,
        noise: float = 0.0,
        shared: float | None = None,
        text: float | None = None,
        slow_first: float = 0.0,
    ) -> None:
        self.seconds, self.noise, self.shared = seconds, noise, shared or seconds
        self.text, self.slow_first, self.slowed = text or seconds, slow_first, 3  # the first round times 3 passes

    def encode_pixels(self, pixels: np.ndarray) -> np.ndarray:
        LAST.update(runner=self, tower="image")
        base = pixels.reshape(len(pixels), -1)[:, :16].astype(np.float64)
        return base + self.noise * np.random.default_rng(1).standard_normal(base.shape)

    def encode_tokens(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        LAST.update(runner=self, tower="text")
        return np.tile(np.arange(1.0, 9.0), (len(ids), 1)) + self.noise * np.random.default_rng(2).standard_normal(
            (len(ids), 8)
        )

    def clock(self, tower: str) -> float:
        if tower == "text":
            return self.text
        seconds = self.shared if LAST["sharing"] else self.seconds
        if self.slowed:
            self.slowed -= 1
            return seconds + self.slow_first
        return seconds


@pytest.fixture
def timed(monkeypatch):
    """Timings from the runner being timed, not from the clock (a busy CI machine must not
    change the choice these tests check)."""

    @contextmanager
    def sharing(work):
        work()
        LAST["sharing"] = True
        try:
            yield
        finally:
            LAST["sharing"] = False

    def clock(call):
        call()
        return LAST["runner"].clock(LAST["tower"])

    monkeypatch.setattr(tuning, "sharing", sharing)
    monkeypatch.setattr(tuning, "_timed", clock)


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


def test_the_choice_goes_by_the_speed_beside_decoding(tmp_path, timed):
    runners = {
        ("torch", "bf16"): Runner(0.008, shared=0.030),  # fastest alone, collapses when the CPU is shared
        ("onnx", "int8"): Runner(0.010, noise=0.05, shared=0.012),
    }
    decoded = []
    choice = choose(
        "k",
        [("torch", "fp32"), *runners],
        lambda backend, precision: runners[backend, precision],
        Runner(0.040),
        lambda: BATCH,
        "test CPU",
        store=tmp_path / "c.json",
        load=lambda: lambda: decoded.append(1),
    )
    assert (choice.backend, choice.precision) == ("onnx", "int8") and decoded  # the load ran beside each
    by_pair = {(m.backend, m.precision): m for m in choice.measurements}
    assert by_pair["torch", "bf16"].images_per_s == pytest.approx(4 / 0.008)
    assert by_pair["torch", "bf16"].shared_images_per_s == pytest.approx(4 / 0.030)
    assert "-> onnx int8: 400.0 img/s (333.3 beside decoding)" in choice.explain()


def test_the_final_round_times_the_best_again_so_a_burst_of_load_does_not_decide(tmp_path, timed):
    # onnx int8 is faster, but another process was busy during its first timing
    runners = {
        ("onnx", "int8"): Runner(0.010, noise=0.05, slow_first=0.005),
        ("openvino", "int8"): Runner(0.012, noise=0.05),
        ("torch", "bf16"): Runner(0.030),
    }
    choice = choose(
        "k",
        [("torch", "fp32"), *runners],
        lambda backend, precision: runners[backend, precision],
        Runner(0.040),
        lambda: BATCH,
        "cpu",
        store=tmp_path / "c.json",
    )
    by_pair = {(m.backend, m.precision): m for m in choice.measurements}
    assert by_pair["onnx", "int8"].images_per_s < by_pair["openvino", "int8"].images_per_s  # lost the first round
    assert by_pair["onnx", "int8"].final_images_per_s == pytest.approx(4 / 0.010)  # in the final, timed again
    assert by_pair["torch", "bf16"].final_images_per_s == 0  # not a finalist
    assert (choice.backend, choice.precision) == ("onnx", "int8")
    assert "final round: 400.0 img/s" in choice.explain()


def test_texts_go_to_another_engine_only_where_its_query_is_clearly_faster(tmp_path, timed):
    def chosen(text_latency: float) -> tuple[str, str]:
        runners = {
            ("openvino", "int8"): Runner(0.005, noise=0.05, text=0.008),  # fastest images
            ("onnx", "int8"): Runner(0.010, noise=0.05, text=text_latency),
        }
        choice = choose(
            "k",
            [("torch", "fp32"), *runners],
            lambda backend, precision: runners[backend, precision],
            Runner(0.040),
            lambda: BATCH,
            "cpu",
            store=tmp_path / f"{text_latency}.json",
        )
        assert (choice.backend, choice.precision) == ("openvino", "int8")
        return choice.text_pair, choice.explain()

    pair, explained = chosen(0.004)  # half the image choice's own: worth a second engine
    assert pair == ("onnx", "int8") and "texts: onnx int8" in explained and "<- texts" in explained
    pair, explained = chosen(0.007)  # 12% faster: not worth its memory
    assert pair == ("openvino", "int8") and "texts:" not in explained


def test_sharing_runs_the_work_while_the_block_runs_and_stops_after():
    import threading
    import time

    runs, started = [], threading.Event()

    def work():
        runs.append(1)
        started.set()
        time.sleep(0.001)

    with tuning.sharing(work):
        assert started.wait(5)
    stopped_at = len(runs)
    time.sleep(0.05)
    assert stopped_at >= 1 and len(runs) == stopped_at  # the thread was joined: no run after the block
    assert not [t for t in threading.enumerate() if t.name == "fashionclip-tuning-load"]


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
    # each timed alone and beside a decoding thread
    assert all(m["error"] or min(m["images_per_s"], m["shared_images_per_s"]) > 0 for m in choice["measurements"])
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

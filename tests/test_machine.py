import numpy as np
import pytest

from fashionclip import load_model, machine
from fashionclip.machine import cpu_name
from tests.machine_kinds import KINDS


def test_cpu_name_is_a_readable_string():
    name = cpu_name()
    assert isinstance(name, str) and name.strip() and "\n" not in name


# what each kind gets, from the speed measurements in the README's speed section
EXPECTED = {
    "xeon-amx": ("torch", "bf16"),
    "epyc-avx512-bf16": ("torch", "bf16"),
    "epyc-avx2": ("onnx", "int8"),
}


def _on(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make this process see ``kind``'s CPU flags, whatever machine runs the test."""
    monkeypatch.setattr("fashionclip.machine.cpu_flags", lambda: set(KINDS[kind].flags))


def test_every_kind_has_an_expected_choice():
    assert set(EXPECTED) == set(KINDS)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_policy_picks_each_kinds_fastest_path(kind, monkeypatch):
    _on(kind, monkeypatch)
    assert machine.cpu_flags() == set(KINDS[kind].flags)
    assert machine.default_precision() == EXPECTED[kind]
    assert machine.default_precision("cuda") == ("torch", "fp16")  # a GPU decides, not the CPU


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_automatic_loading_on_each_kind_runs_its_path_faithfully(
    kind, monkeypatch, tiny_checkpoint, tiny_encoder, sample_images
):
    """The whole automatic load (not only the policy) for each kind's flags, on this machine: the
    backend and precision the kind gets, with embeddings close to the fp32 reference. bf16 runs
    here even without native bf16 (slowly, emulated), so every kind's branch is checked anywhere."""
    _on(kind, monkeypatch)
    encoder = load_model(str(tiny_checkpoint))
    backend, precision = EXPECTED[kind]
    assert type(encoder.backend).__name__ == {"torch": "TorchHFBackend", "onnx": "OnnxBackend"}[backend]
    assert encoder.backend.precision == precision
    texts = ["a photo of a red dress", "navy blue slim fit jeans", ""]
    for ours, reference in (
        (encoder.encode_images(sample_images), tiny_encoder.encode_images(sample_images)),
        (encoder.encode_texts(texts), tiny_encoder.encode_texts(texts)),
    ):
        cosine = np.sum(ours * reference, axis=1)  # both unit vectors
        assert cosine.min() > 0.99, (kind, cosine)

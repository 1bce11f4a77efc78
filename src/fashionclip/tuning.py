"""The automatic backend and precision, chosen by measuring them on this machine.

On a checkpoint's first automatic load on a machine, every installed candidate (torch fp32 and
bf16, ONNX Runtime fp32 and int8, OpenVINO fp32, bf16 and int8) embeds a calibration batch of
real product photos and titles; a candidate is faithful when its mean cosine to torch fp32 is
at least 0.999 (float paths) or 0.99 (8-bit), and the fastest faithful one by image throughput
wins. The choice and every measurement are kept in ``$FASHIONCLIP_CACHE/tuning/choices.json``,
keyed by the checkpoint's fingerprint, the CPU (name and flags) and the engines' versions, so
the cost (the exports plus a few seconds of timing) is paid once per machine and checkpoint.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from fashionclip.io import cache_dir

log = logging.getLogger(__name__)

# mean cosine to torch fp32 a path must keep to be chosen
FAITHFUL = {"fp32": 0.999, "bf16": 0.999, "fp16": 0.999, "int8": 0.99}
CANDIDATES: tuple[tuple[str, str], ...] = (
    ("torch", "fp32"),
    ("torch", "bf16"),
    ("onnx", "fp32"),
    ("onnx", "int8"),
    ("openvino", "fp32"),
    ("openvino", "bf16"),
    ("openvino", "int8"),
)
ENGINES = {"torch": "torch", "onnx": "onnxruntime", "openvino": "openvino"}
Batch = tuple[np.ndarray, np.ndarray, np.ndarray]  # pixels, token ids, attention mask
MODES = ("measure", "rule")
# the best candidates of each tower timed again, in alternation, so that a burst of load from
# another process on a shared machine hits them alike
FINALISTS = 2
# a second engine for texts only where its query is this much faster (it costs its memory)
TEXT_GAIN = 0.2


def mode() -> str:
    """``FASHIONCLIP_AUTO``: "measure" (the default: time the candidates once per machine and
    checkpoint) or "rule" (pick from the CPU's flags alone, :func:`fashionclip.machine.default_precision`,
    with no exports or timing: what the test suite uses for speed)."""
    value = os.environ.get("FASHIONCLIP_AUTO", "measure").strip().lower() or "measure"
    if value not in MODES:
        raise ValueError(f"FASHIONCLIP_AUTO must be one of {', '.join(MODES)}, got {value!r}")
    return value


@dataclass(frozen=True)
class Measurement:
    """One candidate on this machine: images per second through the image tower (a batch of
    the calibration photos) alone and with decoding beside it (``shared_images_per_s``), one
    text query's latency, and its mean cosine to torch fp32 per tower. The ``final_`` numbers
    come from the final round, where the best candidates of each tower were timed again in
    alternation (0 where a candidate was not in it, or a number was not measured)."""

    backend: str
    precision: str
    images_per_s: float = 0.0
    text_ms: float = 0.0
    image_cosine: float = 0.0
    text_cosine: float = 0.0
    error: str = ""
    shared_images_per_s: float = 0.0
    final_images_per_s: float = 0.0
    final_text_ms: float = 0.0

    @property
    def image_faithful(self) -> bool:
        return not self.error and self.image_cosine >= FAITHFUL[self.precision]

    @property
    def text_faithful(self) -> bool:
        return not self.error and self.text_cosine >= FAITHFUL[self.precision]

    @property
    def faithful(self) -> bool:
        return self.image_faithful and self.text_faithful

    @property
    def speed(self) -> float:
        """What the image choice goes by: the final round's speed, else the speed beside decoding,
        else alone."""
        return self.final_images_per_s or self.shared_images_per_s or self.images_per_s

    @property
    def latency_ms(self) -> float:
        """What the text choice goes by: the final round's latency, else the first."""
        return self.final_text_ms or self.text_ms


@dataclass(frozen=True)
class Choice:
    """The chosen ``backend`` and ``precision`` (for images), the text tower's where another
    candidate answers a query clearly faster (``text_backend``, ``text_precision``; empty: the
    same), and what was measured to choose them."""

    backend: str
    precision: str
    measurements: tuple[Measurement, ...]
    cpu: str
    seconds: float
    text_backend: str = ""
    text_precision: str = ""

    @property
    def text_pair(self) -> tuple[str, str]:
        return (self.text_backend or self.backend, self.text_precision or self.precision)

    def explain(self) -> str:
        """The measurements as a table, and why the choice won."""
        lines = [f"on {self.cpu} (measured once, {self.seconds:.0f} s):"]
        for m in sorted(self.measurements, key=lambda m: -m.speed):
            pair = (m.backend, m.precision)
            mark = "->" if pair == (self.backend, self.precision) else "  "
            if m.error:
                lines.append(f"{mark} {m.backend} {m.precision}: not available ({m.error})")
                continue
            verdict = "" if m.faithful else f"  not faithful (< {FAITHFUL[m.precision]})"
            shared = f" ({m.shared_images_per_s:.1f} beside decoding)" if m.shared_images_per_s else ""
            final = ""
            if m.final_images_per_s or m.final_text_ms:
                parts = [f"{m.final_images_per_s:.1f} img/s"] if m.final_images_per_s else []
                parts += [f"text {m.final_text_ms:.1f} ms"] if m.final_text_ms else []
                final = f"; final round: {', '.join(parts)}"
            text_mark = (
                "  <- texts" if pair == self.text_pair and self.text_pair != (self.backend, self.precision) else ""
            )
            lines.append(
                f"{mark} {m.backend} {m.precision}: {m.images_per_s:.1f} img/s{shared}, text {m.text_ms:.1f} ms, "
                f"cosine to fp32 {m.image_cosine:.5f} / {m.text_cosine:.5f}{final}{verdict}{text_mark}"
            )
        lines.append(f"chosen: {self.backend} {self.precision}, the fastest faithful image tower beside decoding")
        if self.text_pair != (self.backend, self.precision):
            lines.append(
                f"texts: {' '.join(self.text_pair)}, whose single query is at least {TEXT_GAIN:.0%} faster "
                "than the image choice's own text tower"
            )
        return "\n".join(lines)


def installed(backend: str) -> bool:
    """Whether the engine behind ``backend`` can be imported here."""
    try:
        metadata.version(ENGINES[backend])
    except metadata.PackageNotFoundError:
        return False
    return True


def candidates(flags: Iterable[str], available: Callable[[str], bool] = installed) -> list[tuple[str, str]]:
    """The pairs worth measuring: each installed engine's precisions; torch bf16 only where the
    CPU multiplies bf16 natively (emulated, it is several times slower than fp32)."""
    native_bf16 = bool({"amx_bf16", "avx512_bf16"} & set(flags))
    return [
        (backend, precision)
        for backend, precision in CANDIDATES
        if available(backend) and not (backend == "torch" and precision == "bf16" and not native_bf16)
    ]


def choice_key(fingerprint: str, cpu: str, flags: Iterable[str]) -> str:
    """One key per checkpoint, CPU and engine versions: a new engine release measures again."""
    versions = []
    for engine in sorted(set(ENGINES.values())):
        try:
            versions.append(f"{engine}={metadata.version(engine)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{engine}=absent")
    text = "|".join([fingerprint, cpu, " ".join(sorted(flags)), *versions])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def measure(
    backend: str, precision: str, runner: Any, reference: Any, batch: Batch, load: Callable[[], Any] | None = None
) -> Measurement:
    """Time ``runner``'s towers on ``batch`` (best of three after a warm-up), its image tower
    again with ``load`` running beside it where given (:func:`sharing`), and compare its
    embeddings with ``reference`` (torch fp32)."""
    pixels, ids, mask = batch
    ours, theirs = runner.encode_pixels(pixels), reference.encode_pixels(pixels)
    texts, text_reference = runner.encode_tokens(ids, mask), reference.encode_tokens(ids, mask)
    seconds = min(_timed(lambda: runner.encode_pixels(pixels)) for _ in range(3))
    shared = 0.0
    if load is not None:
        with sharing(load):
            shared = len(pixels) / min(_timed(lambda: runner.encode_pixels(pixels)) for _ in range(3))
    text_s = sorted(_timed(lambda i=i: runner.encode_tokens(ids[i : i + 1], mask[i : i + 1])) for i in range(9))[4]
    return Measurement(
        backend,
        precision,
        images_per_s=len(pixels) / seconds,
        text_ms=1000 * text_s,
        image_cosine=_mean_cosine(ours, theirs),
        text_cosine=_mean_cosine(texts, text_reference),
        shared_images_per_s=shared,
    )


@contextmanager
def sharing(work: Callable[[], Any]) -> Iterator[None]:
    """Run ``work`` over and over on another thread for as long as the block runs."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            work()

    thread = threading.Thread(target=loop, name="fashionclip-tuning-load", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def choose(
    key: str,
    pairs: Iterable[tuple[str, str]],
    build: Callable[[str, str], Any],
    reference: Any,
    batch: Callable[[], Batch],
    cpu: str,
    *,
    store: Path | None = None,
    load: Callable[[], Callable[[], Any]] | None = None,
) -> Choice:
    """The cached choice for ``key``, else measure each pair on ``batch()`` (``build(backend,
    precision)`` makes its runner; one that fails to build is recorded with its error) and keep
    the fastest faithful one. ``load()`` gives the work timed beside each image tower (decoding
    a photo). Torch fp32 (``reference``) is always faithful, so there is always a choice."""
    store = store or cache_dir("tuning") / "choices.json"
    found = _read(store).get(key)
    if found is not None:
        return _choice(found)
    started = time.perf_counter()
    calibration = batch()
    work = load() if load is not None else None
    results = []
    for backend, precision in pairs:
        try:
            runner = reference if (backend, precision) == ("torch", "fp32") else build(backend, precision)
            results.append(measure(backend, precision, runner, reference, calibration, load=work))
        except Exception as exc:  # an engine that cannot run this checkpoint here is one fewer candidate
            log.info("%s %s cannot be measured here: %s", backend, precision, exc)
            results.append(Measurement(backend, precision, error=f"{type(exc).__name__}: {exc}"[:300]))
    results = final_round(results, build, reference, calibration, work)
    fallback = [Measurement("torch", "fp32", 1.0, 0.0, 1.0, 1.0)]
    best = max([m for m in results if m.image_faithful] or fallback, key=lambda m: m.speed)
    own = best.latency_ms if best.text_faithful else float("inf")
    quickest = min([m for m in results if m.text_faithful] or fallback, key=lambda m: m.latency_ms)
    text = ("", "")
    if (quickest.backend, quickest.precision) != (best.backend, best.precision) and (
        quickest.latency_ms <= (1 - TEXT_GAIN) * own
    ):
        text = (quickest.backend, quickest.precision)
    choice = Choice(best.backend, best.precision, tuple(results), cpu, time.perf_counter() - started, *text)
    _write(store, key, choice)
    return choice


def final_round(
    results: list[Measurement],
    build: Callable[[str, str], Any],
    reference: Any,
    batch: Batch,
    work: Callable[[], Any] | None,
) -> list[Measurement]:
    """Time the :data:`FINALISTS` fastest faithful image towers (beside ``work``) and text towers
    again, in alternation, and add those numbers to their measurements: timed one after
    another, a candidate that ran while another process was busy would lose by chance."""
    images = sorted((m for m in results if m.image_faithful), key=lambda m: -m.speed)[:FINALISTS]
    texts = sorted((m for m in results if m.text_faithful), key=lambda m: m.latency_ms)[:FINALISTS]
    if len(images) < 2 and len(texts) < 2:
        return results
    runners: dict[tuple[str, str], Any] = {}
    for m in dict.fromkeys((m.backend, m.precision) for m in images + texts):
        try:
            runners[m] = reference if m == ("torch", "fp32") else build(*m)
        except Exception as exc:  # built once already; if not now, it keeps its first numbers
            log.info("%s %s cannot be built again: %s", *m, exc)
    pixels, ids, mask = batch
    seconds: dict[tuple[str, str], list[float]] = {(m.backend, m.precision): [] for m in images}
    latency: dict[tuple[str, str], list[float]] = {(m.backend, m.precision): [] for m in texts}
    with sharing(work) if work is not None else contextlib.nullcontext():
        for _ in range(3):
            for pair, times in seconds.items():
                if pair in runners:
                    times.append(_timed(lambda pair=pair: runners[pair].encode_pixels(pixels)))
    for i in range(min(len(ids), 32)):
        query = (ids[i : i + 1], mask[i : i + 1])
        for pair, times in latency.items():
            if pair in runners:
                times.append(_timed(lambda pair=pair, query=query: runners[pair].encode_tokens(*query)))
    final = []
    for m in results:
        pair = (m.backend, m.precision)
        if seconds.get(pair):
            m = replace(m, final_images_per_s=len(pixels) / min(seconds[pair]))
        if latency.get(pair):
            m = replace(m, final_text_ms=1000 * float(np.median(latency[pair])))
        final.append(m)
    return final


def _timed(call: Callable[[], Any]) -> float:
    began = time.perf_counter()
    call()
    return time.perf_counter() - began


def _mean_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(((a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)).mean())


def _read(store: Path) -> dict[str, Any]:
    try:
        found = json.loads(store.read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _write(store: Path, key: str, choice: Choice) -> None:
    """Add the choice to the store, replaced whole (another process's choices are kept)."""
    store.parent.mkdir(parents=True, exist_ok=True)
    choices = _read(store)
    choices[key] = asdict(choice)
    partial = store.with_name(f".{store.name}.{os.getpid()}")
    partial.write_text(json.dumps(choices, indent=1))
    os.replace(partial, store)


def _choice(data: dict[str, Any]) -> Choice:
    measurements = tuple(Measurement(**m) for m in data["measurements"])
    text = (data.get("text_backend", ""), data.get("text_precision", ""))
    return Choice(data["backend"], data["precision"], measurements, data["cpu"], data["seconds"], *text)

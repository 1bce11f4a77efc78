"""Model name -> checkpoint files on disk -> :class:`Encoder`.

Names resolve in this order: a registry entry; ``local-dir:PATH`` or an
existing directory; ``hf-hub:ORG/REPO`` or a bare ``ORG/REPO`` Hugging Face id.
Hub checkpoints come through ``huggingface_hub``, so its cache and
``HF_HUB_OFFLINE=1`` work as users expect.
"""

from __future__ import annotations

import difflib
import functools
import io
import json
import logging
import os
import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fashionclip._extras import require
from fashionclip.backends.torch_hf import TorchHFBackend
from fashionclip.calibration import check_batch, quantisation_key, quantisation_photos
from fashionclip.config import PRECISIONS, ModelSpec, PreprocessConfig
from fashionclip.encoder import Encoder
from fashionclip.errors import ModelNotAvailableError, UnknownModelError
from fashionclip.io import cache_dir
from fashionclip.preprocess.image import ImageLimits
from fashionclip.preprocess.text import TextTokenizer, clip_tokenizer
from fashionclip.registry import DEFAULT_MODEL, get_spec, list_models, package_path

log = logging.getLogger(__name__)

_HF_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")
_CONFIG_FILES = ["*.json", "*.txt", "*.model", "*.safetensors"]
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "open_clip_model.safetensors", "open_clip_pytorch_model.bin")
# the transformers model types loaded here: each has get_image_features / get_text_features
_HF_MODEL_TYPES = ("clip", "siglip", "siglip2", "chinese_clip", "altclip")
# models whose text tower pools the last token, trained on texts padded to the full length
_FIXED_LENGTH_TEXT = ("siglip", "siglip2")
_DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
}


@dataclass(frozen=True)
class Resolved:
    """Where a model name points: a registry entry (or an ad-hoc one) and a hub id or a path."""

    spec: ModelSpec
    hub_id: str | None = None
    path: Path | None = None


def resolve(name: str) -> Resolved:
    """Map a model name to its spec and location, without touching the network."""
    if not isinstance(name, str) or not name.strip():
        raise UnknownModelError(f"model name must be a non-empty string, got {name!r}")
    spec = get_spec(name)
    source = spec.source if spec else name
    bundled = package_path(source)
    if bundled is not None:
        return Resolved(spec or _adhoc(name, source), path=bundled)
    if source.startswith("local-dir:"):
        path = Path(source[len("local-dir:") :]).expanduser()
        if not path.is_dir():
            how = f"; {spec.description}" if spec and spec.name == name else ""
            raise ModelNotAvailableError(f"model {name!r}: local directory {str(path)!r} does not exist{how}")
        return Resolved(spec or _adhoc(name, source), path=path)
    if source.startswith("hf-hub:"):
        return Resolved(spec or _adhoc(name, source), hub_id=source[len("hf-hub:") :])
    candidate = Path(source).expanduser()
    if candidate.is_dir():
        return Resolved(_adhoc(name, f"local-dir:{candidate}"), path=candidate)
    if _HF_ID.match(source):
        return Resolved(_adhoc(name, f"hf-hub:{source}"), hub_id=source)
    names = [s.name for s in list_models()]
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise UnknownModelError(
        f"unknown model {name!r}: not a registry name ({', '.join(names)}), not an existing directory, "
        f"and not a Hugging Face id like 'org/name'{hint}"
    )


def card_license(folder: Path) -> str | None:
    """The ``license:`` of a model card's front matter (``README.md``, as the hub and
    ``fashionclip train`` write it), upper-cased as SPDX ids mostly are; None where there is none."""
    try:
        text = (folder / "README.md").read_text(encoding="utf-8")
    except OSError:
        return None
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return None
    for line in lines[1:]:
        if line.strip() == "---":
            break
        key, _, value = line.partition(":")
        if key.strip() == "license" and value.strip():
            found = value.strip().strip("'\"")
            return found.upper() if found.lower() in ("mit", "bsd-3-clause", "bsd-2-clause") else found
    return None


def local_checkpoint(name: str) -> tuple[Resolved, Path]:
    """Resolve ``name`` and give its local directory, downloading a hub checkpoint once."""
    resolved = resolve(name)
    return resolved, resolved.path if resolved.path is not None else _download(resolved)


def _adhoc(name: str, source: str) -> ModelSpec:
    return ModelSpec(
        name=name,
        source=source,
        format="hf",
        family="unknown",
        license="unknown (see the checkpoint's card)",
        description="checkpoint loaded by id or path",
    )


def _download(resolved: Resolved) -> Path:
    """The local snapshot of a hub checkpoint: weights as safetensors when the repo has them."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import RepositoryNotFoundError

    repo = resolved.hub_id
    name = resolved.spec.name
    try:
        path = Path(snapshot_download(repo, allow_patterns=_CONFIG_FILES))
        if not any((path / f).exists() for f in _WEIGHT_FILES):
            # only older repos lack safetensors; fetch the pickle weights then
            path = Path(snapshot_download(repo, allow_patterns=["*.bin"]))
    except RepositoryNotFoundError as exc:
        raise UnknownModelError(f"model {name!r}: Hugging Face repository {repo!r} does not exist") from exc
    except Exception as exc:  # offline, no cache, network errors, gated repos ...
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
        detail = " ".join(str(exc).split())
        why = "HF_HUB_OFFLINE is set and it is not in the local cache" if offline else f"download failed ({detail})"
        raise ModelNotAvailableError(
            f"model {name!r} (Hugging Face {repo!r}) is not available: {why}. "
            f"Download it once where the hub is reachable (`hf download {repo}`, "
            "then copy ~/.cache/huggingface), or pass a local checkpoint directory."
        ) from None
    return path


def _dtype(value: torch.dtype | str | None) -> torch.dtype:
    if value is None:
        return torch.float32
    if isinstance(value, torch.dtype):
        return value
    if isinstance(value, str) and value.lower() in _DTYPES:
        return _DTYPES[value.lower()]
    raise ValueError(f"dtype must be one of {sorted(_DTYPES)} or a torch.dtype, got {value!r}")


def _device(value: str | torch.device | None) -> str:
    if value is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    text = str(value)
    try:
        torch.device(text)
    except RuntimeError as exc:
        raise ValueError(f"device {text!r} is not a valid torch device ({exc})") from None
    if text.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {text!r} requested but CUDA is not available on this machine")
    return text


BACKENDS = ("torch", "onnx", "openvino")
# the backends that run an export of the torch model, and what their messages call them
EXPORTING = {"onnx": "ONNX", "openvino": "OpenVINO"}
# int8 is kept by the automatic choice only where its embeddings stay this close to fp32's
INT8_FLOOR = 0.99


def load_model(
    name: str = DEFAULT_MODEL,
    *,
    device: str | torch.device | None = None,
    backend: str | None = None,
    precision: str | None = None,
    limits: ImageLimits | None = None,
    dtype: torch.dtype | str | None = None,
) -> Encoder:
    """Load a checkpoint by registry name, Hugging Face id or local directory.

    ``backend`` ("torch", "onnx" or "openvino") and ``precision`` ("fp32", "bf16", "fp16" on
    CUDA, "int8" with ONNX or OpenVINO) default to the fastest faithful choice for this machine,
    measured on the checkpoint's first automatic load here and cached (:mod:`fashionclip.tuning`;
    ``FASHIONCLIP_AUTO=rule`` picks from the CPU's flags instead,
    :func:`fashionclip.machine.default_precision`). Exports are cached in
    ``~/.cache/fashionclip/onnx`` and ``.../openvino`` (OpenVINO int8: the image tower by NNCF,
    calibrated on the bundled sample's photos). ``precision="fp32", backend="torch"`` reproduces
    transformers exactly. ``dtype`` (deprecated: use ``precision``) casts the torch weights
    themselves ("float32", "bfloat16", "float16" or a torch.dtype; implies torch).

    Raises :class:`UnknownModelError` for a name that points nowhere and
    :class:`ModelNotAvailableError` when a known checkpoint cannot be loaded
    here (offline and not cached, missing or broken files).
    """
    if dtype is not None:
        warnings.warn(
            "load_model(dtype=...) is deprecated; use precision= (one of "
            f"{', '.join(PRECISIONS)}), which picks the backend and number type together",
            DeprecationWarning,
            stacklevel=2,
        )
    device_str = _device(device)
    if backend not in (None, "auto", *BACKENDS):
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)} (or None for automatic), got {backend!r}")
    if precision not in (None, "auto", *PRECISIONS):
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)} (or None for automatic), got {precision!r}")
    if dtype is not None and (backend not in (None, "auto", "torch") or precision not in (None, "auto")):
        raise ValueError("dtype casts the torch weights; give either dtype or backend/precision, not both")
    torch_dtype = _dtype(dtype)
    resolved, path = local_checkpoint(name)
    spec = resolved.spec
    if spec.license.startswith("unknown"):
        spec = replace(spec, license=card_license(path) or spec.license)
    open_clip = is_open_clip(path, spec)
    if open_clip:
        from fashionclip.backends.open_clip import load_open_clip

        runner, tokenizer, preprocess = load_open_clip(path, spec, device=device_str, dtype=torch_dtype)
    else:
        runner, tokenizer, preprocess = load_hf(path, spec, device=device_str, dtype=torch_dtype)
    torch_runner = runner
    if dtype is None:
        only = _torch_only(runner, open_clip)
        runner = _with_precision(runner, path, spec, preprocess, tokenizer, device_str, backend, precision, only)
    # an exported model holds no torch model: what needs one (patch and gradient heatmaps) loads it then
    load_torch = None if runner is torch_runner else partial(_torch_backend, path, spec, device_str)
    # the spec of a loaded encoder describes the checkpoint actually loaded
    spec = replace(spec, embedding_dim=runner.embedding_dim)
    return Encoder(
        spec, runner, tokenizer, preprocess, limits=limits or ImageLimits(), checkpoint=path, load_torch=load_torch
    )


def _torch_backend(path: Path, spec: ModelSpec, device: str) -> TorchHFBackend:
    """The fp32 torch backend of a transformers checkpoint (what an ONNX encoder falls back to)."""
    return load_hf(path, spec, device=device, dtype=torch.float32)[0]


def _with_precision(
    runner: Any,
    path: Path,
    spec: ModelSpec,
    preprocess: PreprocessConfig,
    tokenizer: TextTokenizer,
    device: str,
    backend: str | None,
    precision: str | None,
    torch_only: str | None,
) -> Any:
    """The runner for the asked (or automatic) backend and precision, with a clear error for
    combinations that cannot run. ``torch_only`` says why no engine exports this model (None: they do)."""
    from fashionclip.machine import default_precision
    from fashionclip.tuning import mode

    automatic_pair = backend in (None, "auto") and precision in (None, "auto")
    if automatic_pair and device == "cpu" and not torch_only and mode() == "measure":
        choice = measured_choice(runner, path, preprocess, tokenizer)
        backend, precision = choice.backend, choice.precision
        if choice.text_pair != (backend, precision):  # another engine answers queries clearly faster
            from fashionclip.backends.paired import PairedBackend

            images = _candidate(backend, precision, runner, path, preprocess, tokenizer)
            return PairedBackend(images, _candidate(*choice.text_pair, runner, path, preprocess, tokenizer))
    auto_backend, auto_precision = default_precision(device)
    if torch_only and auto_backend == "onnx":
        auto_backend, auto_precision = "torch", "fp32"
    if backend in (None, "auto"):
        # a precision asked for picks the backend that runs it
        backend = {"int8": "onnx", "bf16": "torch", "fp16": "torch"}.get(str(precision), auto_backend)
    automatic = precision in (None, "auto")
    if automatic:
        # an exporting engine: int8, kept only if faithful; torch: the machine's fast float type
        exporting = backend in EXPORTING
        precision = "int8" if exporting else (auto_precision if auto_backend == "torch" else "fp32")
    if backend in EXPORTING:
        engine = EXPORTING[backend]
        if torch_only:
            raise ValueError(f"model {spec.name!r} is {torch_only}: the {engine} backend does not export it; use torch")
        if device != "cpu":
            raise ValueError(f"the {engine} backend runs on the CPU; use backend='torch' on CUDA")
        return _exported(backend, runner, path, preprocess, tokenizer, precision, automatic)
    if precision == "int8":
        raise ValueError("int8 runs with backend='onnx' or backend='openvino'")
    if precision == "fp16" and not device.startswith("cuda"):
        raise ValueError("fp16 needs a CUDA device; use bf16 or fp32 on the CPU")
    if precision in ("bf16", "fp16"):
        runner.autocast = torch.bfloat16 if precision == "bf16" else torch.float16
    return runner


def _torch_only(runner: Any, open_clip: bool) -> str | None:
    """Why only torch runs this model (what it is), or None where ONNX and OpenVINO export it."""
    if open_clip:
        return "an open_clip checkpoint"
    if getattr(runner, "naflex", False):
        # its image tower takes a variable number of patches with a mask: traced at one size only
        return "a SigLIP 2 NaFlex checkpoint"
    return None


def backend_choice(name: str = DEFAULT_MODEL) -> Any:
    """The measured :class:`~fashionclip.tuning.Choice` for checkpoint ``name`` on this machine
    (measured now if it never was here): what an automatic ``load_model`` runs, and why."""
    resolved, path = local_checkpoint(name)
    if is_open_clip(path, resolved.spec):
        raise ValueError(f"model {name!r} is an open_clip checkpoint: it runs on torch only, nothing to measure")
    runner, tokenizer, preprocess = load_hf(path, resolved.spec, device="cpu", dtype=torch.float32)
    only = _torch_only(runner, False)
    if only:
        raise ValueError(f"model {name!r} is {only}: it runs on torch only, nothing to measure")
    return measured_choice(runner, path, preprocess, tokenizer)


def measured_choice(runner: Any, path: Path, preprocess: PreprocessConfig, tokenizer: TextTokenizer) -> Any:
    """The fastest faithful backend and precision for this transformers checkpoint on this
    machine (:mod:`fashionclip.tuning`): measured on its first automatic load here, then read
    from the cache. ``runner`` is its torch fp32 backend, the reference."""
    from fashionclip.encoder import checkpoint_fingerprint
    from fashionclip.machine import cpu_flags, cpu_name
    from fashionclip.tuning import candidates, choice_key, choose

    flags = cpu_flags()
    key = choice_key(checkpoint_fingerprint(path), cpu_name(), flags)

    def build(backend: str, precision: str) -> Any:
        return _candidate(backend, precision, runner, path, preprocess, tokenizer)

    def batch() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        log.warning(
            "measuring which backend runs %s fastest on this CPU, faithfully (once per machine and "
            "checkpoint; exports included, up to a few minutes for a ViT-B/32; FASHIONCLIP_AUTO=rule skips it)",
            path,
        )
        return check_batch(preprocess, tokenizer)

    return choose(key, candidates(flags), build, runner, batch, cpu_name(), load=lambda: _decoding(preprocess))


def _candidate(
    backend: str, precision: str, runner: Any, path: Path, preprocess: PreprocessConfig, tokenizer: TextTokenizer
) -> Any:
    """A measured candidate's runner, made from ``runner`` (the checkpoint's torch fp32 backend):
    itself, bf16 autocast over the same weights, or an export."""
    if backend == "torch":
        if precision == "fp32":
            return runner
        return TorchHFBackend(runner.model, device="cpu", dtype=runner.dtype, autocast=torch.bfloat16)
    return _exported(backend, runner, path, preprocess, tokenizer, precision, automatic=False)


def onnx_cache_dir() -> Path:
    """``$FASHIONCLIP_CACHE/onnx``, else ``~/.cache/fashionclip/onnx``."""
    return cache_dir("onnx")


def _exported(
    backend: str,
    runner: Any,
    path: Path,
    preprocess: PreprocessConfig,
    tokenizer: TextTokenizer,
    precision: str,
    automatic: bool,
) -> Any:
    """The ONNX or OpenVINO backend of ``runner``'s checkpoint at ``precision``, exported on first
    use into ``$FASHIONCLIP_CACHE/<backend>``; an automatic int8 is kept only when faithful
    (else the same engine's fp32)."""
    from fashionclip.encoder import checkpoint_fingerprint

    if backend == "onnx":
        from fashionclip.backends.onnx import check_precision
        from fashionclip.backends.onnx import load_onnx as load
    else:
        from fashionclip.backends.openvino import check_precision
        from fashionclip.backends.openvino import load_openvino as load
    check_precision(precision)
    key = checkpoint_fingerprint(path)

    calibration = functools.partial(check_batch, preprocess, tokenizer)
    if backend == "openvino" and precision == "int8":
        # int8 calibrated on the user's own photos is an export of its own
        calibrated = "_".join(filter(None, [key, quantisation_key()]))
        photos = functools.partial(quantisation_photos, preprocess)
        exported = load(runner, calibrated, precision, cache_dir(backend), calibration, quantise_on=photos)
    else:
        exported = load(runner, key, precision, cache_dir(backend), calibration)
    if automatic and precision == "int8" and exported.fidelity < INT8_FLOOR:
        log.warning(
            "%s int8 embeddings of %s are at cosine %.4f to fp32 (< %.2f); using %s fp32",
            EXPORTING[backend],
            path,
            exported.fidelity,
            INT8_FLOOR,
            EXPORTING[backend],
        )
        exported = load(runner, key, "fp32", cache_dir(backend), calibration)
    return exported


def _decoding(preprocess: PreprocessConfig) -> Callable[[], Any]:
    """The work :meth:`Encoder.encode_images` runs beside the model, for the measured choice to time
    each image tower next to: decoding and preprocessing one catalogue-size JPEG (a photo of the
    bundled sample enlarged to 1800x2400)."""
    from PIL import Image

    from fashionclip.preprocess.image import ImagePreprocessor
    from fashionclip.sample import sample_catalog

    root, rows = sample_catalog()
    with Image.open(root / rows[0]["image"]) as photo:
        large = photo.convert("RGB").resize((1800, 2400), Image.Resampling.BICUBIC)
    encoded = io.BytesIO()
    large.save(encoded, "JPEG", quality=90)
    data, images = encoded.getvalue(), ImagePreprocessor(preprocess)
    return lambda: images(data)


def is_open_clip(path: Path, spec: ModelSpec) -> bool:
    """Registry says so, or the folder has open_clip's config and no HF CLIP/SigLIP config."""
    if spec.format == "open_clip":
        return True
    if not (path / "open_clip_config.json").exists():
        return False
    if not (path / "config.json").exists():
        return True
    # some repos (Marqo's) also ship a config.json for custom HF code
    return _read_json(path / "config.json", spec.name).get("model_type") not in _HF_MODEL_TYPES


def _read_json(path: Path, name: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelNotAvailableError(f"model {name!r}: cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ModelNotAvailableError(f"model {name!r}: {path} does not hold a JSON object")
    return data


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """No per-tensor progress bar from transformers while we load a model."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


def load_hf(
    path: Path, spec: ModelSpec, *, device: str, dtype: torch.dtype
) -> tuple[TorchHFBackend, TextTokenizer, PreprocessConfig]:
    """The torch backend, tokenizer and preprocessing of a Hugging Face CLIP / SigLIP checkpoint
    folder; :class:`ModelNotAvailableError` for a folder that is not one."""
    from transformers import AutoModel, AutoTokenizer

    name = spec.name
    if not (path / "config.json").exists():
        raise ModelNotAvailableError(
            f"model {name!r}: {path} is not a Hugging Face checkpoint directory (no config.json)"
        )
    if not list(path.glob("*.safetensors")) and not (path / "pytorch_model.bin").exists():
        raise ModelNotAvailableError(f"model {name!r}: no weights in {path} (expected model.safetensors)")
    config = _read_json(path / "config.json", name)
    model_type = config.get("model_type")
    if model_type not in _HF_MODEL_TYPES:
        raise ModelNotAvailableError(
            f"model {name!r}: {path} holds a {model_type!r} model; supported model types: {', '.join(_HF_MODEL_TYPES)}"
        )
    try:
        with quiet_transformers():
            model = AutoModel.from_pretrained(path)  # float32; the backend casts to ``dtype``
    except Exception as exc:  # transformers raises many types for broken files
        raise ModelNotAvailableError(f"model {name!r}: cannot load weights from {path}: {exc}") from None

    preprocess = spec.preprocess
    text_config = config.get("text_config") or {}
    preprocess = replace(
        preprocess,
        context_length=int(text_config.get("max_position_embeddings", preprocess.context_length)),
        pad_to_context_length=model_type in _FIXED_LENGTH_TEXT,
    )
    if (path / "preprocessor_config.json").exists():
        try:
            preprocess = preprocess.with_hf_processor(_read_json(path / "preprocessor_config.json", name))
        except ValueError as exc:
            raise ModelNotAvailableError(f"model {name!r}: unsupported preprocessor_config.json: {exc}") from None

    has_tokenizer = any(
        (path / f).exists() for f in ("tokenizer.json", "vocab.json", "vocab.txt", "spiece.model", "tokenizer.model")
    )
    if has_tokenizer:
        if (path / "spiece.model").exists() and not (path / "tokenizer.json").exists():
            # SigLIP's and XLM-R's own SentencePiece files: only the sentencepiece package reads them
            require(
                "sentencepiece", "multilingual", feature=f"model {name!r} has a SentencePiece tokenizer; sentencepiece"
            )
        try:
            hf_tokenizer = AutoTokenizer.from_pretrained(path)
        except Exception as exc:
            raise ModelNotAvailableError(f"model {name!r}: cannot load the tokenizer in {path}: {exc}") from None
    elif model_type == "clip":
        log.info("%s has no tokenizer files; using the bundled CLIP BPE tokenizer", path)
        hf_tokenizer = clip_tokenizer()
    else:
        raise ModelNotAvailableError(f"model {name!r}: {path} has no tokenizer files")
    # RoBERTa-style towers (AltCLIP) have two position slots more than the tokens they take; the
    # tokenizer's own limit is the one that holds
    most = getattr(hf_tokenizer, "model_max_length", None)
    if isinstance(most, int) and 1 < most < preprocess.context_length:
        preprocess = replace(preprocess, context_length=most)
    tokenizer = TextTokenizer(
        hf_tokenizer, preprocess.context_length, pad_to_context_length=preprocess.pad_to_context_length
    )
    return TorchHFBackend(model, device=device, dtype=dtype), tokenizer, preprocess

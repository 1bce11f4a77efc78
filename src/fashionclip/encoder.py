"""The one door to a model: :class:`EncoderProtocol`, what every consumer types its model as, and
:class:`Encoder`, which implements it: inputs in, float32 embeddings out, batched."""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, overload, runtime_checkable

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from fashionclip.backends.base import Backend, ModelInternals
from fashionclip.config import ModelSpec, PreprocessConfig
from fashionclip.errors import ImageLoadError
from fashionclip.preprocess.image import ImageInput, ImageLimits, ImagePreprocessor
from fashionclip.preprocess.text import Tokenizer, check_texts

log = logging.getLogger(__name__)

OnError = Literal["raise", "skip"]


@dataclass(frozen=True)
class FailedItem:
    """An input that could not be embedded: its position, a description and why."""

    index: int
    item: str
    reason: str


@dataclass(frozen=True)
class EncodeResult:
    """What :meth:`Encoder.encode_images_report` returns: embeddings of the readable items only.

    ``embeddings[i]`` belongs to input number ``indices[i]``; every other input
    is listed in ``failed`` with its reason.
    """

    embeddings: np.ndarray
    indices: list[int]
    failed: list[FailedItem] = field(default_factory=list)


@runtime_checkable
class EncoderProtocol(Protocol):
    """What a consumer of a model (zero-shot classifier, evaluation tasks, indexing, server,
    explain) may use; :class:`Encoder` implements it, and so do the stand-ins of
    :mod:`fashionclip.testing`. Nothing reaches past it into a backend.

    ``preprocess`` and ``image_preprocessor`` say how images become the pixels
    :meth:`encode_pixels` takes; ``patch_size`` is the vision tower's patch side where the
    checkpoint says it; :meth:`internals` gives heatmaps patch tokens and gradients (None where
    the model has none).
    """

    @property
    def name(self) -> str: ...

    @property
    def spec(self) -> ModelSpec: ...

    @property
    def embedding_dim(self) -> int: ...

    @property
    def logit_scale(self) -> float: ...

    @property
    def checkpoint_id(self) -> str: ...

    @property
    def preprocess(self) -> PreprocessConfig: ...

    @property
    def image_preprocessor(self) -> ImagePreprocessor: ...

    @property
    def patch_size(self) -> int | None: ...

    def encode_texts(
        self,
        texts: str | Sequence[str],
        *,
        batch_size: int = ...,
        normalize: bool = ...,
        show_progress: bool | None = ...,
    ) -> np.ndarray: ...

    def encode_images(
        self,
        items: ImageInput | Iterable[ImageInput],
        *,
        batch_size: int = ...,
        normalize: bool = ...,
        show_progress: bool | None = ...,
    ) -> np.ndarray: ...

    def encode_images_report(
        self,
        items: ImageInput | Iterable[ImageInput],
        *,
        batch_size: int = ...,
        normalize: bool = ...,
        show_progress: bool | None = ...,
    ) -> EncodeResult: ...

    def encode_pixels(self, pixels: np.ndarray, *, normalize: bool = ...) -> np.ndarray: ...

    def internals(self) -> ModelInternals | None: ...


def is_single_image(items: Any) -> bool:
    if isinstance(items, (str, os.PathLike, bytes, bytearray, memoryview, Image.Image)):
        return True
    return isinstance(items, np.ndarray) and items.ndim in (2, 3)


def checkpoint_fingerprint(folder: Path | None) -> str:
    """A short key of a checkpoint folder: the name, size and modification time of each file
    (a re-trained checkpoint at the same path gets a new key)."""
    digest = hashlib.sha256()
    if folder is not None and Path(folder).is_dir():
        for file in sorted(Path(folder).iterdir()):
            if file.is_file():
                stat = file.stat()
                digest.update(f"{file.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (all-zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _chunks(items: Sequence[Any], size: int) -> Iterator[tuple[int, Sequence[Any]]]:
    for start in range(0, len(items), size):
        yield start, items[start : start + size]


def _check_batch_size(batch_size: int) -> None:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")


class Encoder:
    """A loaded checkpoint that embeds images and texts into one space.

    Obtain one with :func:`fashionclip.load_model`. Attributes: ``name``,
    ``embedding_dim``, ``license``, ``logit_scale`` (the checkpoint's learned
    temperature, already exponentiated), ``preprocess`` and ``spec``.
    ``load_torch`` loads the torch backend of the same checkpoint, for what the
    running backend cannot give (:meth:`internals`); it is called once, when needed.
    """

    def __init__(
        self,
        spec: ModelSpec,
        backend: Backend,
        tokenizer: Tokenizer,
        preprocess: PreprocessConfig,
        *,
        limits: ImageLimits = ImageLimits(),
        num_workers: int | None = None,
        checkpoint: Path | None = None,
        load_torch: Callable[[], Backend] | None = None,
    ) -> None:
        self.spec = spec
        self.checkpoint = checkpoint
        self._checkpoint_id: str | None = None
        self.backend = backend
        self._load_torch = load_torch
        self._torch_backend: Backend | None = None
        self.tokenizer = tokenizer
        self.preprocess = preprocess
        self.image_preprocessor = ImagePreprocessor(preprocess, limits)
        # decoding and resizing release the GIL, so threads overlap them with inference
        self.num_workers = num_workers if num_workers is not None else min(4, os.cpu_count() or 1)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def license(self) -> str:
        return self.spec.license

    @property
    def embedding_dim(self) -> int:
        return self.backend.embedding_dim

    @property
    def logit_scale(self) -> float:
        return self.backend.logit_scale

    @property
    def device(self) -> str:
        return self.backend.device

    @property
    def load_options(self) -> dict[str, str]:
        """The ``backend`` and ``precision`` that :func:`fashionclip.load_model` takes to load this
        model to run as it does here; empty for a backend that does not say its precision."""
        precision = getattr(self.backend, "precision", None)
        engine = getattr(self.backend, "engine", "torch")  # exporting backends name their engine
        if engine != "torch":
            return {"backend": engine, "precision": precision}
        return {"backend": "torch", "precision": precision} if precision else {}

    @property
    def patch_size(self) -> int | None:
        """The vision tower's patch side in pixels where the checkpoint says it (ViTs), else None."""
        # backends written before the protocol named it have none
        return getattr(self.backend, "patch_size", None)

    def internals(self) -> ModelInternals | None:
        """Patch tokens and gradients for heatmaps: from the running backend when it has them,
        else from the torch backend of the same checkpoint, loaded now and kept (an ONNX encoder
        holds no torch model until a heatmap needs one). None where neither can give them."""
        own = getattr(self.backend, "internals", None)  # backends written before the capability existed
        found = own() if own is not None else None
        if found is not None or self._load_torch is None:
            return found
        if self._torch_backend is None:  # no lock: it keeps the encoder picklable; a race loads twice, harmlessly
            log.info(
                "loading the torch model of %s for its internals (%s has none)", self.name, type(self.backend).__name__
            )
            self._torch_backend = self._load_torch()
        return self._torch_backend.internals()

    def __repr__(self) -> str:
        return f"Encoder(name={self.name!r}, dim={self.embedding_dim}, device={self.device!r})"

    @property
    def checkpoint_id(self) -> str:
        """The checkpoint's content key (:func:`fashionclip.identity.checkpoint_id`), computed once."""
        if self._checkpoint_id is None:
            from fashionclip.identity import checkpoint_id

            self._checkpoint_id = checkpoint_id(self.checkpoint)
        return self._checkpoint_id

    def fingerprint(self) -> str:
        """A short key for caches of this encoder's outputs: the checkpoint's files (see
        :func:`checkpoint_fingerprint`), the model's name and source, its preprocessing, and the
        backend and precision it runs with."""
        digest = hashlib.sha256(repr((self.spec.name, self.spec.source, self.preprocess)).encode())
        digest.update(f"{type(self.backend).__name__}:{getattr(self.backend, 'precision', '')}".encode())
        digest.update(getattr(self.backend, "towers", "").encode())  # a paired backend's two engines
        digest.update(checkpoint_fingerprint(self.checkpoint).encode())
        return digest.hexdigest()[:16]

    # ---------------------------------------------------------------- images
    @overload
    def encode_images(
        self,
        items: ImageInput | Iterable[ImageInput],
        *,
        batch_size: int = ...,
        normalize: bool = ...,
        show_progress: bool | None = ...,
        on_error: Literal["raise"] = ...,
    ) -> np.ndarray: ...

    @overload
    def encode_images(
        self,
        items: ImageInput | Iterable[ImageInput],
        *,
        batch_size: int = ...,
        normalize: bool = ...,
        show_progress: bool | None = ...,
        on_error: Literal["skip"],
    ) -> EncodeResult: ...

    def encode_images(
        self,
        items: ImageInput | Iterable[ImageInput],
        *,
        batch_size: int = 32,
        normalize: bool = True,
        show_progress: bool | None = None,
        on_error: OnError = "raise",
    ) -> np.ndarray | EncodeResult:
        """Embed images: paths, URLs, bytes, PIL images or HxWxC uint8 arrays.

        Returns float32 ``(N, D)`` (``(D,)`` for a single input), L2-normalised
        unless ``normalize=False``. The first bad image raises
        :class:`ImageLoadError` naming its index and source; to embed the readable
        images and hear about the others, use :meth:`encode_images_report`
        (``on_error="skip"`` still does that here, deprecated).
        """
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        options = dict(batch_size=batch_size, normalize=normalize, show_progress=show_progress)
        if on_error == "skip":
            warnings.warn(
                "encode_images(on_error='skip') is deprecated; use encode_images_report(), which returns the "
                "same EncodeResult (encode_images always returns an array)",
                DeprecationWarning,
                stacklevel=2,
            )
            return self.encode_images_report(items, **options)
        single = is_single_image(items)
        embeddings = self._encode_images([items] if single else list(items), skip=False, **options).embeddings
        return embeddings[0] if single else embeddings

    def encode_images_report(
        self,
        items: ImageInput | Iterable[ImageInput],
        *,
        batch_size: int = 32,
        normalize: bool = True,
        show_progress: bool | None = None,
    ) -> EncodeResult:
        """Embed the images that can be read, and say which could not: an :class:`EncodeResult`
        whose ``embeddings[i]`` (float32, ``(n, D)`` even for a single input) belongs to input
        number ``indices[i]``, every other input listed in ``failed`` with its reason."""
        single = is_single_image(items)
        return self._encode_images(
            [items] if single else list(items),  # type: ignore[list-item]
            skip=True,
            batch_size=batch_size,
            normalize=normalize,
            show_progress=show_progress,
        )

    def _encode_images(
        self, batch: Sequence[Any], *, skip: bool, batch_size: int, normalize: bool, show_progress: bool | None
    ) -> EncodeResult:
        _check_batch_size(batch_size)
        outputs: list[np.ndarray] = []
        indices: list[int] = []
        failed: list[FailedItem] = []
        progress = tqdm(
            total=len(batch), unit="img", desc=f"embedding images ({self.name})", disable=_quiet(show_progress, batch)
        )
        with progress, ThreadPoolExecutor(max_workers=self.num_workers) as pool:
            for start, futures in self._prefetch(pool, batch, batch_size):
                pixels, good = [], []
                for offset, future in enumerate(futures):
                    index = start + offset
                    try:
                        pixels.append(future.result())
                    except ImageLoadError as exc:
                        if not skip:
                            pool.shutdown(wait=False, cancel_futures=True)
                            raise exc.at(index) from exc
                        failed.append(FailedItem(index, exc.item, exc.reason))
                        continue
                    good.append(index)
                if pixels:
                    outputs.append(self.backend.encode_pixels(np.stack(pixels)))  # (B, D)
                    indices.extend(good)
                progress.update(len(futures))
        return EncodeResult(self._finish(outputs, normalize), indices, failed)

    def _prefetch(
        self, pool: ThreadPoolExecutor, items: Sequence[Any], batch_size: int
    ) -> Iterator[tuple[int, list[Future[np.ndarray]]]]:
        """Yield batches of preprocessing futures, keeping the next batch in flight."""

        def submit(chunk: tuple[int, Sequence[Any]]) -> tuple[int, list[Future[np.ndarray]]]:
            return chunk[0], [pool.submit(self.image_preprocessor, item) for item in chunk[1]]

        chunks = _chunks(items, batch_size)
        in_flight = deque(submit(chunk) for chunk in itertools.islice(chunks, 2))
        while in_flight:
            current = in_flight.popleft()
            following = next(chunks, None)
            if following is not None:
                in_flight.append(submit(following))
            yield current

    def encode_pixels(self, pixels: np.ndarray, *, normalize: bool = True) -> np.ndarray:
        """Embed already preprocessed pixels, float32 ``(B, 3, H, W)`` from :attr:`image_preprocessor`,
        as one forward pass: float32 ``(B, D)``. For callers that decode images themselves (a server
        decoding each request in its own thread, then batching requests together)."""
        pixels = np.asarray(pixels, dtype=np.float32)
        shape = self.preprocess.pixel_shape
        if pixels.ndim != 1 + len(shape) or pixels.shape[1:] != shape:
            raise ValueError(f"pixels of shape {pixels.shape}; expected (B, {', '.join(map(str, shape))})")
        return self._finish([self.backend.encode_pixels(pixels)], normalize)

    # ----------------------------------------------------------------- texts
    def encode_texts(
        self,
        texts: str | Sequence[str],
        *,
        batch_size: int = 256,
        normalize: bool = True,
        show_progress: bool | None = None,
    ) -> np.ndarray:
        """Embed texts; float32 ``(N, D)`` (``(D,)`` for one string), L2-normalised by default.

        Texts longer than the context length are truncated; empty strings are
        allowed; a non-string raises TypeError naming its position.
        """
        _check_batch_size(batch_size)
        single = isinstance(texts, str)
        if not single and (isinstance(texts, (bytes, bytearray, dict)) or not isinstance(texts, Iterable)):
            raise TypeError(f"texts must be a string or a list of strings, got {type(texts).__name__}")
        items = check_texts([texts] if single else texts)
        # similar lengths in one batch waste less padding; the order is restored below
        order = sorted(range(len(items)), key=lambda i: len(items[i]))
        outputs = []
        with tqdm(
            total=len(items), unit="text", desc=f"embedding texts ({self.name})", disable=_quiet(show_progress, items)
        ) as progress:
            for _, chunk in _chunks(order, batch_size):
                tokens = self.tokenizer([items[i] for i in chunk])
                outputs.append(self.backend.encode_tokens(tokens.input_ids, tokens.attention_mask))
                progress.update(len(chunk))
        sorted_embeddings = self._finish(outputs, normalize)
        embeddings = np.empty_like(sorted_embeddings)
        embeddings[np.asarray(order, dtype=np.int64)] = sorted_embeddings
        return embeddings[0] if single else embeddings

    # ------------------------------------------------------------ similarity
    def similarity(self, a: np.ndarray, b: np.ndarray, *, scale: bool = True) -> np.ndarray:
        """Cosine similarities ``(Na, Nb)`` between two sets of embeddings.

        With ``scale=True`` they are multiplied by the checkpoint's logit
        scale, giving CLIP's logits: ``softmax`` over them is zero-shot
        probabilities. Both sides are L2-normalised here, whatever was passed.
        """
        a2 = l2_normalize(np.atleast_2d(np.asarray(a, dtype=np.float32)))
        b2 = l2_normalize(np.atleast_2d(np.asarray(b, dtype=np.float32)))
        if a2.shape[1] != b2.shape[1]:
            raise ValueError(f"embedding sizes differ: {a2.shape[1]} vs {b2.shape[1]}")
        sims = a2 @ b2.T
        return sims * np.float32(self.logit_scale) if scale else sims

    def _finish(self, outputs: list[np.ndarray], normalize: bool) -> np.ndarray:
        if not outputs:
            return np.zeros((0, self.embedding_dim), dtype=np.float32)
        vectors = np.concatenate(outputs).astype(np.float32, copy=False)
        return l2_normalize(vectors) if normalize else vectors


def _quiet(show_progress: bool | None, items: Sequence[Any]) -> bool:
    """tqdm's ``disable`` flag: by default a bar only for more than one batch-worth of work."""
    if show_progress is None:
        return len(items) < 256
    return not show_progress

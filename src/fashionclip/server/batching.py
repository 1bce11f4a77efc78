"""Micro-batching: concurrent requests share one forward pass.

Each request thread hands its texts (or its decoded pixels) to a :class:`MicroBatcher`, whose one
worker thread runs whatever has queued up as a single batch. Nothing waits for a batch to fill:
at low load a request runs alone at once, and under load the requests that arrive during one
forward pass form the next batch, which is where batching pays.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from typing import Any

import numpy as np

from fashionclip.encoder import Encoder, EncodeResult, FailedItem, is_single_image
from fashionclip.errors import ImageLoadError
from fashionclip.preprocess.image import ImageInput
from fashionclip.preprocess.text import check_texts

_STOP = object()


class MicroBatcher:
    """Runs ``run(items) -> (N, D) array`` on one worker thread over the items of every request
    queued at that moment (up to ``max_batch``), and gives each request its own rows back.

    The worker starts with the first request and stops at :meth:`close`, after the queued requests;
    a request after that starts a new one (an app's lifespan may run more than once: test clients
    start and stop it around every request)."""

    def __init__(
        self,
        run: Callable[[list[Any]], np.ndarray],
        *,
        max_batch: int = 64,
        max_wait: float = 0.0,
        name: str = "batcher",
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be positive, got {max_batch}")
        if max_wait < 0:
            raise ValueError(f"max_wait must not be negative, got {max_wait}")
        self._run = run
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._on_batch = on_batch
        self._name = f"fashionclip-{name}"
        self._lock = threading.Lock()
        # each worker has its own queue, so a stopping worker and its successor never share jobs
        self._current: tuple[queue.Queue[Any], threading.Thread] | None = None

    def submit(self, items: Sequence[Any]) -> np.ndarray:
        """The rows of ``run`` for ``items``, computed in a shared batch; blocks until done."""
        future: Future[np.ndarray] = Future()
        with self._lock:
            if self._current is None:
                jobs: queue.Queue[Any] = queue.Queue()
                worker = threading.Thread(target=self._loop, args=(jobs,), name=self._name, daemon=True)
                worker.start()
                self._current = (jobs, worker)
            self._current[0].put((list(items), future))
        return future.result()

    def close(self) -> None:
        """Finish the queued requests, then stop the worker."""
        with self._lock:
            current, self._current = self._current, None
        if current is not None:
            jobs, worker = current
            jobs.put(_STOP)
            worker.join()

    def _loop(self, queued: queue.Queue[Any]) -> None:
        while True:
            first = queued.get()
            if first is _STOP:
                return
            jobs, size, stop = [first], len(first[0]), False
            deadline = time.monotonic() + self.max_wait
            while size < self.max_batch:
                try:
                    remaining = deadline - time.monotonic()
                    job = queued.get(timeout=remaining) if remaining > 0 else queued.get_nowait()
                except queue.Empty:
                    break
                if job is _STOP:
                    stop = True
                    break
                jobs.append(job)
                size += len(job[0])
            self._execute(jobs)
            if stop:
                return

    def _execute(self, jobs: list[tuple[list[Any], Future[np.ndarray]]]) -> None:
        items = [item for batch, _ in jobs for item in batch]
        started = time.perf_counter()
        try:
            rows = self._run(items)
        except BaseException as exc:  # every waiting request learns of the failure
            for _, future in jobs:
                future.set_exception(exc)
            return
        if self._on_batch is not None:
            self._on_batch(len(items), time.perf_counter() - started)
        start = 0
        for batch, future in jobs:
            future.set_result(rows[start : start + len(batch)])
            start += len(batch)


class BatchingEncoder:
    """An :class:`~fashionclip.encoder.Encoder` whose ``encode_texts`` and ``encode_images`` calls from
    many threads are micro-batched. Images are decoded in the calling thread (decoding releases the
    GIL, so requests decode in parallel); only the forward passes are shared. Every other attribute
    is the wrapped encoder's."""

    def __init__(
        self,
        encoder: Encoder,
        *,
        max_batch: int = 64,
        max_wait: float = 0.0,
        on_batch: Callable[[str, int, float], None] | None = None,
    ) -> None:
        self.encoder = encoder

        def report(kind: str) -> Callable[[int, float], None] | None:
            return None if on_batch is None else lambda size, seconds: on_batch(kind, size, seconds)

        self._texts = MicroBatcher(
            encoder.encode_texts, max_batch=max_batch, max_wait=max_wait, name="texts", on_batch=report("text")
        )
        self._images = MicroBatcher(
            lambda pixels: encoder.encode_pixels(np.stack(pixels)),
            max_batch=max_batch,
            max_wait=max_wait,
            name="images",
            on_batch=report("image"),
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self.encoder, name)

    def encode_texts(self, texts: str | Sequence[str], **options: Any) -> np.ndarray:
        """Like :meth:`Encoder.encode_texts`; calls with default options are batched with others."""
        if options and options != {"normalize": True}:
            return self.encoder.encode_texts(texts, **options)
        single = isinstance(texts, str)
        items = check_texts([texts] if single else list(texts))  # a bad text fails its own request only
        rows = self._texts.submit(items) if items else self.encoder.encode_texts(items)
        return rows[0] if single else rows

    def encode_images(self, items: ImageInput | Iterable[ImageInput], **options: Any) -> np.ndarray:
        """Like :meth:`Encoder.encode_images` (``on_error="raise"``); the forward pass is batched."""
        if options and options != {"normalize": True}:
            return self.encoder.encode_images(items, **options)
        single = is_single_image(items)
        batch = [items] if single else list(items)  # type: ignore[arg-type]
        pixels = []
        for index, item in enumerate(batch):
            try:
                pixels.append(self.encoder.image_preprocessor(item))
            except ImageLoadError as exc:
                raise (exc if single else exc.at(index)) from exc
        rows = self._images.submit(pixels) if pixels else np.zeros((0, self.encoder.embedding_dim), np.float32)
        return rows[0] if single else rows

    def encode_images_report(self, items: ImageInput | Iterable[ImageInput], **options: Any) -> EncodeResult:
        """Like :meth:`Encoder.encode_images_report`: the readable images embedded (the forward
        pass batched with other requests), every other one listed with its reason."""
        if options and options != {"normalize": True}:
            return self.encoder.encode_images_report(items, **options)
        batch = [items] if is_single_image(items) else list(items)  # type: ignore[arg-type]
        pixels: list[np.ndarray] = []
        indices: list[int] = []
        failed: list[FailedItem] = []
        for index, item in enumerate(batch):
            try:
                pixels.append(self.encoder.image_preprocessor(item))
                indices.append(index)
            except ImageLoadError as exc:
                failed.append(FailedItem(index, exc.item, exc.reason))
        rows = self._images.submit(pixels) if pixels else np.zeros((0, self.encoder.embedding_dim), np.float32)
        return EncodeResult(rows, indices, failed)

    def close(self) -> None:
        """Finish queued requests and stop both workers."""
        self._texts.close()
        self._images.close()

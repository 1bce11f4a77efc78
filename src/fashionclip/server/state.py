"""What the routes share: the catalogue (its encoder batching requests), the settings, the metrics
and the caches (classifiers, facets, image folders, the page's configuration)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from fashionclip.encoder import Encoder, EncoderProtocol
from fashionclip.search import Catalog
from fashionclip.server.batching import BatchingEncoder
from fashionclip.server.config import ServerConfig
from fashionclip.server.errors import ApiError
from fashionclip.server.images import ImageFolders
from fashionclip.server.metrics import Metrics
from fashionclip.server.page_config import page_config
from fashionclip.server.schemas import MAX_TEXT, ClassifyRequest, PageConfig
from fashionclip.store.base import browsable
from fashionclip.zeroshot import ZeroShotClassifier, load_templates
from fashionclip.zeroshot.taxonomy import Tagger, Taxonomy

DEFAULT_TAXONOMY = Path(str(resources.files("fashionclip").joinpath("data/taxonomies/fashion.yaml")))
_CLASSIFIERS_KEPT = 32
T = TypeVar("T")


class State:
    """The shared state of one app (``app.state.fashionclip``; routes get it from
    :func:`fashionclip.server.deps.get_state`)."""

    def __init__(self, catalog: Catalog, config: ServerConfig, metrics: Metrics) -> None:
        self.config = config
        self.metrics = metrics
        encoder = catalog.encoder
        self.batching = (
            BatchingEncoder(encoder, max_batch=config.max_batch, max_wait=config.max_wait, on_batch=metrics.batch)
            if isinstance(encoder, Encoder)
            else None
        )
        self.catalog = Catalog(catalog.store, self.batching or encoder)
        self._lock = threading.Lock()
        self._writing = threading.Lock()  # one write at a time: each reads what the last one wrote
        self.writes = 0  # writes made through this server, for the caches of what the index holds
        self._tagger: Tagger | None = None
        self._classifiers: OrderedDict[str, Any] = OrderedDict()
        # caches keyed by (writes, product count): a write here (a price change keeps the count)
        # or an index that grows or shrinks under another writer is read again
        self._facets: tuple[tuple[int, int], dict[str, Any]] | None = None
        self._page: tuple[tuple[int, int], PageConfig] | None = None
        self._folders: tuple[tuple[int, int], ImageFolders] | None = None

    @property
    def encoder(self) -> EncoderProtocol:
        return self.catalog.encoder

    def tagger(self) -> Tagger:
        """The tagger of the server's taxonomy (product tags), made on first use."""
        with self._lock:
            if self._tagger is None:
                self._tagger = Tagger(self.encoder, Taxonomy.load(self.config.taxonomy or DEFAULT_TAXONOMY))
            return self._tagger

    def classifier(self, request: ClassifyRequest) -> Any:
        """A label classifier or taxonomy tagger, kept for the next request with the same labels
        (their embeddings are the expensive part)."""
        # the language changes the prompts, so the same labels in two languages are two classifiers
        key = request.model_dump_json(include={"labels", "taxonomy", "templates", "multi_label", "language"})
        with self._lock:
            if key in self._classifiers:
                self._classifiers.move_to_end(key)
                return self._classifiers[key]
        # what a client sends is inline data only: no template or taxonomy string is a path here
        if request.taxonomy is not None:
            taxonomy = Taxonomy.from_dict(request.taxonomy, "taxonomy", files=False)
            check_taxonomy_size(taxonomy)
            made: Any = Tagger(self.encoder, taxonomy, language=request.language)
        else:
            templates = None if request.templates is None else load_templates(request.templates, files=False)
            made = ZeroShotClassifier(
                self.encoder,
                request.labels or [],
                templates=templates,
                multi_label=request.multi_label,
                language=request.language,
            )
        with self._lock:
            self._classifiers[key] = made
            while len(self._classifiers) > _CLASSIFIERS_KEPT:
                self._classifiers.popitem(last=False)
        return made

    def write(self, change: Callable[[Catalog], T]) -> T:
        """Run ``change`` on the catalogue, one write at a time; the caches of what the index
        holds are read again afterwards (also after a write that failed part way)."""
        with self._writing:
            try:
                return change(self.catalog)
            finally:
                self.writes += 1

    def _key(self) -> tuple[int, int]:
        # writes first: a write that ends while the count is read makes the next request read again
        return self.writes, self.catalog.store.count()

    def facets(self) -> dict[str, Any]:
        """Each metadata column's values or range (``Facet.to_dict``), by column."""
        key = self._key()
        if self._facets is None or self._facets[0] != key:
            found = browsable(self.catalog.store).facets(self.config.facet_values)
            self._facets = (key, {name: facet.to_dict() for name, facet in found.items()})
        return self._facets[1]

    def page(self) -> PageConfig:
        """The page's card fields and example queries, from the settings or the index's columns."""
        key = self._key()
        if self._page is None or self._page[0] != key:
            config = page_config(self.facets(), key[1], self.config.card_fields, self.config.examples)
            self._page = (key, config)
        return self._page[1]

    def folders(self) -> ImageFolders:
        """The folders product images may be served from."""
        if self.config.image_roots:
            return ImageFolders(self.config.image_roots)
        key = self._key()
        if self._folders is None or self._folders[0] != key:
            self._folders = (key, ImageFolders(Path(f) for f in browsable(self.catalog.store).image_folders()))
        return self._folders[1]

    def close(self) -> None:
        if self.batching is not None:
            self.batching.close()


def check_taxonomy_size(taxonomy: Taxonomy) -> None:
    """A client's taxonomy stays within what a labels request may hold."""
    texts = [
        text
        for a in taxonomy.attributes
        for text in (*a.labels, *(a.templates or ()), *(p for prompts in a.prompts.values() for p in prompts))
    ]
    if sum(len(a.labels) for a in taxonomy.attributes) > 1000:
        raise ApiError(400, "taxonomy: more than 1000 labels in all")
    if len(texts) > 10_000 or any(len(text) > MAX_TEXT for text in texts):
        raise ApiError(400, f"taxonomy: a label, template or prompt over {MAX_TEXT} characters, or too many of them")

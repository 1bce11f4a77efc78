"""The HTTP app: the API over a :class:`~fashionclip.search.Catalog`, and the search page."""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from collections import OrderedDict
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import numpy as np
from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError

from fashionclip.version import __version__
from fashionclip.encoder import Encoder, EncoderProtocol
from fashionclip.search import Catalog
from fashionclip.server import errors
from fashionclip.server.batching import BatchingEncoder
from fashionclip.server.config import ServerConfig
from fashionclip.server.errors import ApiError, BodyLimit
from fashionclip.server.images import IMAGE_MEDIA, ImageFolders, check_image, image_bytes, image_media_type
from fashionclip.server.metrics import Metrics, MetricsMiddleware
from fashionclip.server.schemas import (
    MAX_TEXT,
    ClassifyRequest,
    ClassifyResponse,
    EmbedRequest,
    EmbedResponse,
    Product,
    SearchRequest,
    SearchResponse,
    Text,
    UploadForm,
    error_responses,
)
from fashionclip.store.base import Hit, shown_value
from fashionclip.zeroshot import ZeroShotClassifier, load_templates
from fashionclip.zeroshot.taxonomy import Tagger, Taxonomy

log = logging.getLogger(__name__)
STATIC = Path(str(resources.files("fashionclip").joinpath("server/static")))
DEFAULT_TAXONOMY = Path(str(resources.files("fashionclip").joinpath("data/taxonomies/fashion.yaml")))
_BINARY = {"type": "string", "format": "binary"}
_MAX_DEPTH = 10_000  # k + offset: deeper pages cost the store more than any page needs


class State:
    """What the routes share: the catalogue (its encoder batching requests), settings, caches."""

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
        self._tagger: Tagger | None = None
        self._classifiers: OrderedDict[str, Any] = OrderedDict()
        self._facets: tuple[int, dict[str, Any]] | None = None
        self._folders: tuple[int, ImageFolders] | None = None

    @property
    def encoder(self) -> EncoderProtocol:
        return self.catalog.encoder

    def tagger(self) -> Tagger:
        with self._lock:
            if self._tagger is None:
                self._tagger = Tagger(self.encoder, Taxonomy.load(self.config.taxonomy or DEFAULT_TAXONOMY))
            return self._tagger

    def classifier(self, request: ClassifyRequest) -> Any:
        """A label classifier or taxonomy tagger, kept for the next request with the same labels
        (their embeddings are the expensive part)."""
        key = request.model_dump_json(include={"labels", "taxonomy", "templates", "multi_label"})
        with self._lock:
            if key in self._classifiers:
                self._classifiers.move_to_end(key)
                return self._classifiers[key]
        # what a client sends is inline data only: no template or taxonomy string is a path here
        if request.taxonomy is not None:
            taxonomy = Taxonomy.from_dict(request.taxonomy, "taxonomy", files=False)
            _check_taxonomy_size(taxonomy)
            made: Any = Tagger(self.encoder, taxonomy)
        else:
            templates = None if request.templates is None else load_templates(request.templates, files=False)
            made = ZeroShotClassifier(
                self.encoder, request.labels or [], templates=templates, multi_label=request.multi_label
            )
        with self._lock:
            self._classifiers[key] = made
            while len(self._classifiers) > 32:
                self._classifiers.popitem(last=False)
        return made

    def facets(self) -> dict[str, Any]:
        count = self.catalog.store.count()
        if self._facets is None or self._facets[0] != count:
            found = self.catalog.store.facets(self.config.facet_values)
            self._facets = (count, {name: facet.to_dict() for name, facet in found.items()})
        return self._facets[1]

    def folders(self) -> ImageFolders:
        if self.config.image_roots:
            return ImageFolders(self.config.image_roots)
        count = self.catalog.store.count()
        if self._folders is None or self._folders[0] != count:
            self._folders = (count, ImageFolders(Path(f) for f in self.catalog.store.image_folders()))
        return self._folders[1]

    def close(self) -> None:
        if self.batching is not None:
            self.batching.close()


def create_app(catalog: Catalog, config: ServerConfig = ServerConfig()) -> FastAPI:
    """The FastAPI app serving ``catalog``. Run it with uvicorn (``fashionclip serve`` does)."""
    metrics = Metrics()
    state = State(catalog, config, metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        try:
            yield
        finally:  # uvicorn lets in-flight requests finish first, then the batch workers stop
            state.close()

    app = FastAPI(
        title="fashionclip",
        version=__version__,
        description="Search, embed and tag a fashion catalogue with CLIP-family models.",
        lifespan=lifespan,
    )
    app.state.fashionclip = state
    errors.install(app)
    app.add_middleware(BodyLimit, limit=config.max_upload_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    def require_key(request: Request) -> None:
        if config.api_key is None:
            return
        given = request.headers.get("x-api-key") or ""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if not given and scheme.lower() == "bearer":
            given = token.strip()
        if not given or not hmac.compare_digest(given.encode(), config.api_key.encode()):
            raise ApiError(401, "a valid API key is needed (X-API-Key header or Authorization: Bearer)")

    api = APIRouter(dependencies=[Depends(require_key)])

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", _Revalidated(directory=STATIC), name="static")

    @app.get("/health", responses=error_responses())
    def health() -> dict[str, Any]:
        """Liveness and what is served (no API key needed)."""
        count = state.catalog.store.count()
        metrics.products.set(count)
        return {
            "status": "ok",
            "model": state.encoder.name,
            "dim": state.encoder.embedding_dim,
            "products": count,
            "api_key_required": config.api_key is not None,
        }

    @api.get(
        "/metrics",
        response_class=Response,
        responses={
            200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text format"},
            **error_responses(401),
        },
    )
    def prometheus() -> Response:
        metrics.products.set(state.catalog.store.count())
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    @api.get("/facets", responses=error_responses(401))
    def facets() -> dict[str, Any]:
        """Each metadata column's values (text) or range (numeric), for filter controls."""
        return {"facets": state.facets()}

    @api.post("/embed", response_model=EmbedResponse, responses=error_responses(401, 415, 422))
    def embed(body: EmbedRequest) -> EmbedResponse:
        """Embeddings of texts and images (base64, or URLs where allowed), in one space."""
        texts = state.encoder.encode_texts(body.texts, normalize=body.normalize) if body.texts else np.zeros((0, 0))
        images = _client_images(body.images, state) if body.images else []
        image_vectors = state.encoder.encode_images(images, normalize=body.normalize) if images else np.zeros((0, 0))
        return EmbedResponse(
            model=state.encoder.name,
            dim=state.encoder.embedding_dim,
            texts=np.asarray(texts).tolist(),
            images=np.asarray(image_vectors).tolist(),
        )

    @api.get("/search", response_model=SearchResponse, responses=error_responses(401, 404, 422))
    def search_get(
        q: Annotated[str | None, Query(max_length=MAX_TEXT, description="text query")] = None,
        like: Annotated[str | None, Query(max_length=MAX_TEXT, description="product id: more like this")] = None,
        filters: Annotated[list[Text] | None, Query(alias="filter", description="e.g. gender=Women, price<100")] = None,
        keyword_weight: Annotated[float, Query(ge=0, le=1)] = 0.0,
        k: Annotated[int, Query(ge=1)] = 10,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> SearchResponse:
        """Search with query parameters (a storefront's simplest call)."""
        request = _request(
            text=q, like=like, filters=_query_filters(filters), keyword_weight=keyword_weight, k=k, offset=offset
        )
        return _search(state, request)

    @api.post("/search", response_model=SearchResponse, responses=error_responses(401, 404, 415, 422))
    def search_post(body: SearchRequest) -> SearchResponse:
        """Text, image (base64 or URL), product (``like``), or text and image composed; filters,
        hybrid keyword weight, diversity, paging."""
        return _search(state, body)

    @api.post("/search/upload", response_model=SearchResponse, responses=error_responses(401, 415, 422))
    def search_upload(form: Annotated[UploadForm, Form(media_type="multipart/form-data")]) -> SearchResponse:
        """Search by an uploaded photo (multipart), optionally composed with a text."""
        image = form.image
        data = check_image(image.file.read(config.max_upload_bytes + 1), config, f"upload {image.filename!r}")
        request = _request(
            text=form.text or None,
            image_weight=form.image_weight,
            filters=_json_filters(form.filters),
            keyword_weight=form.keyword_weight,
            k=form.k,
            offset=form.offset,
        )
        return _search(state, request, image=data)

    @api.get("/products/{product_id}", response_model=Product, responses=error_responses(401, 404, 422))
    def product(product_id: str, tags: bool = False) -> Product:
        """One product; with ``tags=true``, its zero-shot tags from the server's taxonomy."""
        hit = _product(state, product_id, with_vector=tags)
        out = _to_product(hit, score=False)
        if tags:
            found = state.tagger().tag_embeddings(hit.vector[None, :], k=3)[0]  # type: ignore[index]
            out.tags = {
                name: [{"label": p.label, "score": round(p.score, 4)} for p in preds] for name, preds in found.items()
            }
        return out

    @api.get("/products/{product_id}/similar", response_model=SearchResponse, responses=error_responses(401, 404, 422))
    def similar(
        product_id: str,
        filters: Annotated[list[Text] | None, Query(alias="filter", description="e.g. gender=Women")] = None,
        k: Annotated[int, Query(ge=1)] = 10,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> SearchResponse:
        """Products that look like this one (the product itself left out)."""
        _product(state, product_id)
        return _search(state, _request(like=product_id, filters=_query_filters(filters), k=k, offset=offset))

    @api.get(
        "/products/{product_id}/image",
        response_class=Response,
        responses={
            200: {
                "content": {media: {"schema": _BINARY} for media in IMAGE_MEDIA.values()},
                "description": "the photo, from the catalogue's own image folders",
            },
            307: {"description": "the product's own image URL (Location header)"},
            **error_responses(401, 404, 422),
        },
    )
    def product_image(product_id: str) -> Response:
        """The product's photo, only from the catalogue's own image folders (or its own URL), and
        only when it is an image in an accepted format."""
        hit = _product(state, product_id)
        if not hit.image:
            raise ApiError(404, f"product {product_id!r} has no image")
        if hit.image.lower().startswith(("http://", "https://")):
            return RedirectResponse(hit.image, status_code=307)
        path = state.folders().resolve(hit.image)
        if path is None:
            raise ApiError(404, f"product {product_id!r}: its image is not in the catalogue's image folders")
        media = image_media_type(path)
        if media is None:
            raise ApiError(404, f"product {product_id!r}: its image file is not in an accepted image format")
        return FileResponse(
            path, media_type=media, headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"}
        )

    @api.post("/classify", response_model=ClassifyResponse, responses=error_responses(401, 404, 415, 422))
    def classify(body: ClassifyRequest) -> ClassifyResponse:
        """Zero-shot labels (``labels``) or a taxonomy's attributes for images and/or stored products."""
        if (body.labels is None) == (body.taxonomy is None):
            raise ApiError(422, "give exactly one of labels or taxonomy", "invalid_request")
        if not body.images and not body.ids:
            raise ApiError(422, "give images or product ids to classify", "invalid_request")
        vectors = []
        if body.images:
            vectors.append(np.atleast_2d(state.encoder.encode_images(_client_images(body.images, state))))
        if body.ids:
            found = {h.id: h for h in state.catalog.store.get(body.ids, with_vectors=True)}
            missing = [i for i in body.ids if i not in found]
            if missing:
                raise ApiError(404, f"no product with id {missing[0]!r} in the index")
            vectors.append(np.stack([found[i].vector for i in body.ids]))  # type: ignore[misc]
        embeddings = np.concatenate(vectors).astype(np.float32)
        names = [f"image #{i}" for i in range(len(body.images))] + list(body.ids)
        model = state.classifier(body)
        items: list[dict[str, Any]] = []
        if isinstance(model, Tagger):
            for name, tags in zip(names, model.tag_embeddings(embeddings, k=body.k), strict=True):
                items.append({"input": name, **{a: _predictions(p) for a, p in tags.items()}})
        else:
            for name, predictions in zip(names, model.predict_embeddings(embeddings, k=body.k), strict=True):
                items.append({"input": name, "labels": _predictions(predictions)})
        return ClassifyResponse(model=state.encoder.name, items=items)

    app.include_router(api)
    return app


# ---------------------------------------------------------------------------- helpers
class _Revalidated(StaticFiles):
    """The page's assets, revalidated on every load (cheap: ETags), so an upgraded server never
    runs a cached old app.js against its new page."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


def _search(state: State, request: SearchRequest, image: bytes | None = None) -> SearchResponse:
    config = state.config
    if request.k > config.max_k:
        raise ApiError(400, f"k must be at most {config.max_k}, got {request.k}")
    if request.k + request.offset > _MAX_DEPTH:
        raise ApiError(400, f"k + offset must be at most {_MAX_DEPTH}")
    if image is None and request.image is not None:
        image = check_image(image_bytes(request.image, config), config)
    if request.like is not None:
        _product(state, request.like)
    started = time.perf_counter()
    hits = state.catalog.search(
        request.text,
        image=image,
        like=request.like,
        image_weight=request.image_weight,
        where=request.filters,
        k=request.k + 1,  # one more than asked tells whether there is a next page
        offset=request.offset,
        keyword_weight=request.keyword_weight,
        diversity=request.diversity,
        dedupe=request.dedupe,
    )
    took = (time.perf_counter() - started) * 1000
    return SearchResponse(
        results=[_to_product(h) for h in hits[: request.k]],
        k=request.k,
        offset=request.offset,
        has_more=len(hits) > request.k,
        took_ms=round(took, 2),
    )


def _product(state: State, product_id: str, with_vector: bool = False) -> Hit:
    found = state.catalog.store.get([product_id], with_vectors=with_vector)
    if not found:
        raise ApiError(404, f"no product with id {product_id!r} in the index")
    return found[0]


def _to_product(hit: Hit, score: bool = True) -> Product:
    if not hit.image:
        url = None
    elif hit.image.lower().startswith(("http://", "https://")):
        url = hit.image
    else:
        url = f"/products/{quote(hit.id, safe='')}/image"
    return Product(
        id=hit.id,
        score=round(hit.score, 6) if score else None,
        text=hit.text,
        image_url=url,
        metadata={k: shown_value(v) for k, v in hit.metadata.items()},
    )


def _client_images(refs: list[str], state: State) -> list[bytes]:
    return [
        check_image(image_bytes(ref, state.config, f"image #{i}"), state.config, f"image #{i}")
        for i, ref in enumerate(refs)
    ]


def _query_filters(filters: list[str] | None) -> list[str] | None:
    """Query-string filters with blank ones (``?filter=``) dropped: a blank filter is no filter."""
    kept = [f for f in filters or [] if f.strip()]
    return kept or None


def _request(**fields: Any) -> SearchRequest:
    """A search request from query or form fields, with the same 422 as a JSON body when one does
    not fit (never a 500 from a model built by hand)."""
    try:
        return SearchRequest.model_validate(fields)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_input=False, include_url=False)) from None


def _check_taxonomy_size(taxonomy: Taxonomy) -> None:
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


def _json_filters(text: str | None) -> Any:
    if text is None or not text.strip():
        return None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(422, f"filters: not valid JSON ({exc.msg})", "invalid_request") from None
    if not isinstance(parsed, (dict, list)):
        raise ApiError(422, "filters: expected a JSON object or a list of expressions", "invalid_request")
    return parsed


def _predictions(predictions: list[Any]) -> list[dict[str, Any]]:
    return [{"label": p.label, "score": round(float(p.score), 4)} for p in predictions]

"""Request and response bodies of the HTTP API (pydantic; they make the OpenAPI docs)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import UploadFile
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

MAX_TEXT = 1000  # characters in one query, text, label, template or prompt: far past any CLIP context
Text = Annotated[str, Field(max_length=MAX_TEXT)]
# filters: {"gender": "Women", "price": {"<": 100}, "articleType": ["Shirts", "Tshirts"]}
# or expressions: ["gender=Women", "price<100"]
Filters = dict[str, Any] | list[Text] | None
# the deprecated spellings of `where` stay accepted: clients written against them keep working
DEPRECATED_FILTERS = {"deprecated": True, "description": "deprecated alias of `where`"}
WHERE_DESCRIPTION = 'metadata filter: {"gender": "Women", "price": {"<": 100}} or ["gender=Women", "price<100"]'
ImageRef = str  # base64 (optionally a data: URL) or, where the server allows it, an http(s) URL
# the codes of fashionclip.zeroshot.languages.LANGUAGES, spelled out so the OpenAPI schema lists them
Language = Literal["auto", "en", "zh", "ja", "ko", "fr", "de", "es"]


class Strict(BaseModel):
    """A request body: unknown fields refused, and no coercion (``0`` is no boolean, ``false`` no
    integer), so what the schema says is what is accepted."""

    model_config = ConfigDict(extra="forbid", strict=True)


class EmbedRequest(Strict):
    texts: list[Text] = Field(default_factory=list, max_length=256)
    images: list[ImageRef] = Field(default_factory=list, max_length=32)
    normalize: bool = True


class EmbedResponse(BaseModel):
    model: str
    dim: int
    texts: list[list[float]]
    images: list[list[float]]


class SearchRequest(Strict):
    text: str | None = Field(default=None, max_length=MAX_TEXT, examples=["light red midi dress"])
    image: ImageRef | None = None
    like: str | None = Field(default=None, max_length=MAX_TEXT, description="a product id: more like this one")
    image_weight: float = Field(default=0.5, ge=0, le=1)
    where: Filters = Field(default=None, description=WHERE_DESCRIPTION)
    filters: Filters = Field(default=None, json_schema_extra=DEPRECATED_FILTERS)
    keyword_weight: float = Field(default=0.0, ge=0, le=1)
    diversity: float = Field(default=0.0, ge=0, le=1)
    dedupe: float | None = Field(default=None, gt=0, le=1)
    k: int = Field(default=10, ge=1)
    offset: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _one_where(self) -> SearchRequest:
        """``filters`` (deprecated) is read as ``where``; both with different values is refused."""
        if self.filters is not None:
            if self.where is not None and self.where != self.filters:
                raise PydanticCustomError(
                    "where_conflict", "where and its deprecated alias filters differ: send only where"
                )
            self.where, self.filters = self.filters, None
        return self


class UploadForm(BaseModel):
    """``POST /search/upload``: a photo and the search's options as multipart form fields
    (strings, converted; unknown fields refused)."""

    model_config = ConfigDict(extra="forbid")

    # "format: binary" tells clients (and generated ones) to send it as a file part
    image: UploadFile = Field(description="a product photo", json_schema_extra={"format": "binary"})
    text: str | None = Field(default=None, max_length=MAX_TEXT)
    image_weight: float = Field(default=0.5, ge=0, le=1)
    where: str | None = Field(default=None, description='JSON: {"gender": "Women"} or ["price<100"]')
    filters: str | None = Field(default=None, json_schema_extra=DEPRECATED_FILTERS)
    keyword_weight: float = Field(default=0.0, ge=0, le=1)
    k: int = Field(default=10, ge=1)
    offset: int = Field(default=0, ge=0)


class Product(BaseModel):
    id: str
    score: float | None = None
    text: str
    image_url: str | None
    metadata: dict[str, Any]
    tags: dict[str, list[dict[str, Any]]] | None = None


class SearchResponse(BaseModel):
    results: list[Product]
    k: int
    offset: int
    has_more: bool = Field(description="whether the next page (offset + k) has results")
    took_ms: float


class ClassifyRequest(Strict):
    labels: list[Text] | None = Field(default=None, max_length=1000)
    taxonomy: dict[str, Any] | None = Field(
        default=None,
        description="a taxonomy, as its YAML file reads; its templates are inline or the bundled set 'fashion'",
    )
    templates: Text | Annotated[list[Text], Field(max_length=100)] | None = Field(
        default=None,
        description="the bundled set 'fashion', one template or a list, each with one {} for the label "
        "(never a file name)",
    )
    multi_label: bool = False
    language: Language | None = Field(
        default=None,
        description="labels: their language (its bundled templates); taxonomy: prompt with the attributes' "
        "names in it where the taxonomy gives them; auto (default): the labels' script, or the taxonomy's language",
    )
    images: list[ImageRef] = Field(default_factory=list, max_length=32)
    ids: list[Text] = Field(default_factory=list, max_length=256)
    k: int = Field(default=3, ge=1, le=100)


class ClassifyResponse(BaseModel):
    model: str
    # one entry per image, then per id: attribute -> [{label, score}] ("labels" for a label list)
    items: list[dict[str, Any]]


class PageConfig(BaseModel):
    """What the search page shows, from the index's own columns (or the server's settings)."""

    card_fields: list[str] = Field(description="metadata columns shown on each result card")
    examples: list[str] = Field(description="example queries the page offers")


MAX_UPDATES = 1000  # rows, and ids to delete, in one update request
MAX_ID = 512  # characters in a product id
MAX_VALUE = 10_000  # characters in one value of a row (a long description fits)
MAX_COLUMNS = 100  # columns in one row
ProductId = Annotated[str, Field(min_length=1, max_length=MAX_ID)]
# a value of a row: a text, a finite number, or null (empty); never a list, an object or a boolean
Cell = Annotated[str, Field(max_length=MAX_VALUE)] | int | Annotated[float, Field(allow_inf_nan=False)] | None
Row = Annotated[dict[Annotated[str, Field(max_length=64)], Cell], Field(min_length=1, max_length=MAX_COLUMNS)]


class UpdateRequest(Strict):
    rows: list[Row] = Field(
        default_factory=list,
        max_length=MAX_UPDATES,
        description='products keyed by "id": a stored product changes the columns given (the others stay; '
        "no image or new text: nothing is embedded); a new id adds a product from its text (title). Images "
        "are not named over HTTP",
        examples=[[{"id": "1163", "price": 19.5, "stock": 3}]],
    )
    delete: list[ProductId] = Field(
        default_factory=list, max_length=MAX_UPDATES, description="ids of products to remove"
    )


class UpdateResponse(BaseModel):
    added: int
    reembedded: int
    rows_updated: int = Field(description="rows rewritten with their stored vector (metadata only)")
    unchanged: int
    deleted: int
    total: int = Field(description="products in the index afterwards")
    problems: list[str] = Field(description="rows skipped (an image that could not be read), and why")
    took_ms: float


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[Any] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


_MEANING = {
    400: "a bad request: a filter, query, image reference or option that cannot be used, or a malformed header",
    401: "no API key, or a wrong one (only on servers started with a key; writes: the write key)",
    403: "writes are disabled: the server was started without a write key",
    404: "no product with that id (or no image for it)",
    413: "the body, or an image in it, is over the server's limits",
    415: "not an image in an accepted format (JPEG, PNG, WebP, GIF, BMP, TIFF)",
    422: "the request does not fit this schema",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error statuses a route can answer: each a JSON
    :class:`ErrorResponse`. Every route can answer 400 (a malformed Content-Length) and 413 (a
    body over the limit)."""
    return {
        status: {"model": ErrorResponse, "description": _MEANING[status]} for status in sorted({400, 413, *statuses})
    }

"""Request and response bodies of the HTTP API (pydantic; they make the OpenAPI docs)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# filters: {"gender": "Women", "price": {"<": 100}, "articleType": ["Shirts", "Tshirts"]}
# or expressions: ["gender=Women", "price<100"]
Filters = dict[str, Any] | list[str] | None
ImageRef = str  # base64 (optionally a data: URL) or, where the server allows it, an http(s) URL


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmbedRequest(Strict):
    texts: list[str] = Field(default_factory=list, max_length=256)
    images: list[ImageRef] = Field(default_factory=list, max_length=32)
    normalize: bool = True


class EmbedResponse(BaseModel):
    model: str
    dim: int
    texts: list[list[float]]
    images: list[list[float]]


class SearchRequest(Strict):
    text: str | None = Field(default=None, max_length=1000, examples=["light red midi dress"])
    image: ImageRef | None = None
    like: str | None = Field(default=None, description="a product id: more like this one")
    image_weight: float = Field(default=0.5, ge=0, le=1)
    filters: Filters = None
    keyword_weight: float = Field(default=0.0, ge=0, le=1)
    diversity: float = Field(default=0.0, ge=0, le=1)
    dedupe: float | None = Field(default=None, gt=0, le=1)
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
    labels: list[str] | None = Field(default=None, max_length=1000)
    taxonomy: dict[str, Any] | None = Field(default=None, description="a taxonomy, as its YAML file reads")
    templates: str | list[str] | None = None
    multi_label: bool = False
    images: list[ImageRef] = Field(default_factory=list, max_length=32)
    ids: list[str] = Field(default_factory=list, max_length=256)
    k: int = Field(default=3, ge=1, le=100)


class ClassifyResponse(BaseModel):
    model: str
    # one entry per image, then per id: attribute -> [{label, score}] ("labels" for a label list)
    items: list[dict[str, Any]]


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[Any] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody

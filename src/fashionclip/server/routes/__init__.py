"""The API's routers, one per resource; ``create_app`` includes them in this order (the order of
the OpenAPI document)."""

from fashionclip.server.routes import classify, embed, meta, products, search, updates

ROUTERS = (
    meta.public,
    meta.router,
    embed.router,
    search.router,
    updates.router,
    products.router,
    classify.router,
)

__all__ = ["ROUTERS"]

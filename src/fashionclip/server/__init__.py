"""HTTP API and search page: ``create_app(catalog, ServerConfig(...))``, served by ``fashionclip serve``."""

from fashionclip.server.app import create_app
from fashionclip.server.config import ServerConfig

__all__ = ["ServerConfig", "create_app"]

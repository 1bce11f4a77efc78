"""The routers' shared dependencies: any router that asks for the state gets its app's, and the
API key check is a dependency a router opts into."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from fashionclip.server import ServerConfig, create_app
from fashionclip.server.deps import KEY_REQUIRED, StateDep
from fashionclip.server.errors import install
from fashionclip.server.metrics import Metrics
from fashionclip.server.state import State


def test_a_router_gets_the_state_of_the_app_it_is_in(catalog) -> None:
    router = APIRouter(dependencies=KEY_REQUIRED)

    @router.get("/count")
    def count(state: StateDep) -> dict[str, int]:
        return {"count": state.catalog.store.count(), "max_k": state.config.max_k}

    app = FastAPI()
    install(app)
    app.state.fashionclip = State(catalog, ServerConfig(max_k=7, api_key="a-long-key"), Metrics())
    app.include_router(router)
    with TestClient(app) as client:
        assert client.get("/count").status_code == 401
        answer = client.get("/count", headers={"Authorization": "Bearer a-long-key"})
        assert answer.json() == {"count": catalog.store.count(), "max_k": 7}


def test_each_app_has_its_own_state(catalog) -> None:
    first, second = create_app(catalog, ServerConfig(max_k=3)), create_app(catalog, ServerConfig(max_k=5))
    assert first.state.fashionclip is not second.state.fashionclip
    with TestClient(first) as one, TestClient(second) as two:
        assert one.get("/search", params={"q": "bag", "k": 4}).status_code == 400
        assert two.get("/search", params={"q": "bag", "k": 4}).status_code == 200

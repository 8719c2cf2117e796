"""The application factory: routers mounted, OpenAPI served, oversized bodies refused everywhere."""

from __future__ import annotations

from fastapi.testclient import TestClient

from patentlab.web.app import create_app
from patentlab.web.settings import WebSettings


def test_home_health_and_openapi():
    client = TestClient(create_app(WebSettings()))
    assert client.get("/healthz").json()["status"] == "ok"
    home = client.get("/")
    assert home.status_code == 200 and "/search" in home.text and "/review" in home.text
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/search", "/api/doc/{doc_id}", "/api/similar/{doc_id}"} <= set(paths)


def test_oversized_bodies_are_refused_on_every_route():
    client = TestClient(create_app(WebSettings(max_body_bytes=1024)))
    for path in ("/review/login", "/review/api/decisions", "/api/search", "/no-such-route"):
        response = client.post(path, content=b"x" * 4096, headers={"content-type": "text/plain"})
        assert response.status_code == 413, path
        assert "1024 bytes" in response.json()["detail"]
    assert client.post("/review/login", content=b"x" * 10).status_code != 413

"""The search API and pages: JSON shapes, errors, escaping, stable URLs, and a real browser."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from patentlab.index import SearchIndex, read_documents
from patentlab.web.app import create_app
from patentlab.web.search import canonical_query, highlight
from patentlab.web.settings import WebSettings

CHROMIUM = Path("/usr/bin/chromium")
ATTACK = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def docs(demo_corpus):
    docs = list(read_documents([demo_corpus / "corpus.parquet"]))
    sample = [d for d in docs if d.green == 1][:30] + [d for d in docs if d.title][:50]
    sample += [d for d in docs if d.green == 0 and d.date][:30]
    # A published invention whose text tries to inject markup: it must come back escaped.
    base = sample[40]
    hostile = replace(
        base,
        id="PLOI-00000000000000000BAD",
        title=f"{base.title} {ATTACK}",
        claims=[f"{base.claim1} {ATTACK}"],
        doc_type="generated",
        p_green=0.7,
        green=1,
    )
    return [*sample, hostile]


@pytest.fixture(scope="module")
def index(docs, tmp_path_factory):
    idx = SearchIndex.create(tmp_path_factory.mktemp("web") / "index")
    idx.add(docs)
    yield idx
    idx.close()


@pytest.fixture(scope="module")
def app(index):
    app = create_app(WebSettings(search_index=index.path))
    app.state.search_index = index  # share the loaded encoder instead of opening a second copy
    return app


@pytest.fixture(scope="module")
def client(app):
    return TestClient(app)


def test_api_search_returns_scored_hits_with_snippets(client):
    r = client.get("/api/search", params={"q": "battery charging", "k": 5})
    assert r.status_code == 200
    body = r.json()
    assert body["mode"] == "hybrid" and len(body["hits"]) == 5
    hit = body["hits"][0]
    assert {"id", "score", "snippet", "highlights", "doc_type", "green", "date", "keyword_rank"} <= set(hit)
    for hit in body["hits"]:
        for start, end in hit["highlights"]:
            assert 0 <= start < end <= len(hit["snippet"])


def test_api_filters_apply(client):
    r = client.get("/api/search", params={"q": "device", "k": 50, "green": "true", "source": "granted"})
    hits = r.json()["hits"]
    assert hits and all(h["green"] and h["doc_type"] == "granted" for h in hits)
    r = client.get("/api/search", params={"q": "device", "source": "generated"})
    assert [h["id"] for h in r.json()["hits"]] == ["PLOI-00000000000000000BAD"]


def test_api_errors_are_clean(client):
    assert client.get("/api/search", params={"q": "x", "y02": "Y99"}).status_code == 422
    assert client.get("/api/search", params={"q": "x", "k": 0}).status_code == 422
    assert client.get("/api/search", params={"q": "x", "mode": "magic"}).status_code == 422
    assert client.get("/api/search", params={"q": "x", "date_from": "soon"}).status_code == 422
    assert client.get("/api/doc/nope").status_code == 404
    assert client.get("/api/similar/nope").status_code == 404
    r = client.get("/api/search", params={"q": ""})
    assert r.status_code == 200 and r.json()["hits"] == []
    r = client.get("/api/search", params={"q": "電池 🔋 " + "claim " * 5000})
    assert r.status_code == 200


def test_api_doc_and_similar(client, docs):
    doc = docs[35]
    r = client.get(f"/api/doc/{doc.id}")
    assert r.status_code == 200 and r.json()["claims"] == doc.claims
    r = client.get(f"/api/similar/{doc.id}", params={"k": 4})
    ids = [h["id"] for h in r.json()["hits"]]
    assert len(ids) == 4 and doc.id not in ids and r.json()["like"] == doc.id


def test_openapi_lists_the_search_api(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/search", "/api/doc/{doc_id}", "/api/similar/{doc_id}"} <= set(paths)


def test_pages_escape_patent_text(client):
    r = client.get("/search", params={"q": "script alert onerror", "source": "generated"})
    assert r.status_code == 200
    assert "<script>alert" not in r.text and "<img src=x" not in r.text
    assert "&lt;script&gt;" in r.text and "<mark>" in r.text
    r = client.get("/search/doc/PLOI-00000000000000000BAD")
    assert r.status_code == 200 and "<script>alert" not in r.text and "&lt;img src=x" in r.text


def test_pages_show_errors_and_missing_documents(client):
    assert client.get("/search", params={"q": "x", "cpc": "!!"}).status_code == 400
    assert client.get("/search/doc/nope").status_code == 404
    assert client.get("/search", params={"like": "nope"}).status_code == 404
    assert client.get("/search").status_code == 200


def test_highlight_escapes_around_marks():
    html = str(highlight("a <b> solar & cell", [(6, 11)]))
    assert html == "a &lt;b&gt; <mark>solar</mark> &amp; cell"


def test_canonical_query_is_stable():
    a = canonical_query({"q": "solar cell", "k": "10", "green": "true", "source": ["granted"], "cpc": ""})
    b = canonical_query({"green": "true", "source": ["granted"], "q": "solar cell", "mode": "hybrid"})
    assert a == b == "q=solar+cell&source=granted&green=true"


def test_unconfigured_app_says_what_to_do():
    client = TestClient(create_app(WebSettings()))
    r = client.get("/api/search", params={"q": "x"})
    assert r.status_code == 503 and "--index" in r.json()["detail"]
    assert client.get("/search", params={"q": "x"}).status_code == 503


# -- a real browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(app, live_server):
    with live_server(app) as url:
        yield url


@pytest.fixture(scope="module")
def page(server):
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=args)
        page = browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.dialogs = dialogs
        yield page
        browser.close()


def test_browser_search_filter_open_and_find_similar(server, page):
    page.goto(f"{server}/search")
    page.fill("textarea[name=q]", "battery charging vehicle")
    page.click("button[type=submit]")
    page.wait_for_selector("li.hit")
    assert page.locator("li.hit").count() == 10
    assert "q=battery+charging+vehicle" in page.url

    # Filter: green documents only; every result carries the green badge and the URL says so.
    page.select_option("select[name=green]", "true")
    page.click("button[type=submit]")
    page.wait_for_selector("li.hit")
    hits = page.locator("li.hit")
    assert hits.count() > 0
    assert page.locator("li.hit [data-testid=badge-green]").count() == hits.count()
    assert "green=true" in page.url
    permalink = page.get_attribute("[data-testid=permalink]", "href")
    assert permalink.startswith("/search?") and "green=true" in permalink

    # Open the first result, then ask for similar documents.
    first_id = hits.first.get_attribute("data-id")
    hits.first.locator("a.hit-title").click()
    page.wait_for_selector("article.doc")
    assert first_id in page.inner_text("dl.facts")
    page.click("[data-testid=find-similar]")
    page.wait_for_selector("li.hit")
    assert f"like={first_id}" in page.url
    similar_ids = page.locator("li.hit").evaluate_all("els => els.map(e => e.dataset.id)")
    assert similar_ids and first_id not in similar_ids

    # Hostile patent text stays text: no script ran.
    page.goto(f"{server}/search?q=alert+onerror&source=generated")
    page.wait_for_selector("li.hit")
    assert "<script>" in page.inner_text("li.hit")
    assert page.dialogs == []

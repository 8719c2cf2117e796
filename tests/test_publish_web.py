"""Published inventions in ``patentlab serve`` (browse, page, JSON API, home link) and, in real
headless Chromium, an invention page with its Highwire meta tags and its linked obviousness map."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from publish_data import META, load_records, novelty_index, vet

from patentlab.generate.formats import format_patent, prompt
from patentlab.generate.generations import write_generations
from patentlab.publish.log import PublicationLog
from patentlab.publish.merkle import verify_inclusion
from patentlab.publish.publish import publish
from patentlab.vet.vetting import vet_generations
from patentlab.web.app import create_app
from patentlab.web.settings import WebSettings

EVIL = '<script>alert("x")</script> & <img src=x onerror="y">'
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    records = load_records()
    index = novelty_index(records)
    tmp = tmp_path_factory.mktemp("web")
    evil = dict(records[2], title=EVIL)
    gens = write_generations(
        tmp / "evil.jsonl",
        [{"text": format_patent(evil), "prompt": prompt(), "finished": True, "seed": 2}],
        META,
    )
    vet_generations(gens, index, tmp / "evil", show_progress=False, coherence=False)
    out = tmp / "pub"
    publish(vet(tmp, records, index, [0, 1], "a"), out, published_at="2026-03-01T00:00:00Z")
    publish(tmp / "evil", out, published_at="2026-03-02T00:00:00Z")
    return out


def test_published_pages_and_api(published):
    client = TestClient(create_app(WebSettings(published=published)))
    assert 'href="/published"' in client.get("/").text
    log = PublicationLog.read(published)
    browse = client.get("/published")
    assert browse.status_code == 200 and all(e.id in browse.text for e in log.entries)
    assert browse.text.index("2026-03-02") < browse.text.index("2026-03-01")  # newest day first
    assert "unclassified" in client.get("/published?by=cpc").text

    first = log.entries[0]
    page = client.get(f"/published/{first.id}").text
    assert f'<meta name="citation_technical_report_number" content="{first.id}">' in page
    assert '<meta name="citation_publication_date" content="2026/03/01">' in page
    assert 'id="inclusion-proof"' in page and log.head.root_hash in page

    api = client.get(f"/api/inventions/{first.id}").json()
    assert api["invention"]["id"] == first.id and api["proof"]["leaf_index"] == first.index
    proof = api["proof"]
    verify_inclusion(
        bytes.fromhex(proof["leaf_hash"]),
        proof["leaf_index"],
        proof["tree_size"],
        [bytes.fromhex(h) for h in proof["audit_path"]],
        bytes.fromhex(proof["tree_head"]["root_hash"]),
    )
    assert client.get("/api/inventions/PLOI-00000000000000000000").status_code == 404
    listed = client.get("/api/inventions?date=2026-03-01").json()["inventions"]
    assert [r["id"] for r in listed] == [e.id for e in reversed(log.entries) if e.published_at < "2026-03-02"]
    assert len(listed) == 2

    evil = next(e for e in log.entries if e.record["title"] == EVIL)
    html = client.get(f"/published/{evil.id}").text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert 'content="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img' in html
    assert TestClient(create_app(WebSettings())).get("/published").status_code == 503


# -- a real obviousness map, served and opened in Chromium ------------------------------------------


@pytest.fixture(scope="module")
def served_map(tmp_path_factory, live_server):
    """A claim built from clauses of three real patents, vetted in full against a real index
    (obvious combination), published, and served with that index so the cited links resolve."""
    from patentlab.data import sample_path
    from patentlab.generate.data import iter_full_records
    from patentlab.index import SearchIndex, read_documents
    from patentlab.vet.novelty import NoveltyConfig, NoveltyIndex, load_training_documents
    from patentlab.vet.obviousness import split_elements

    tmp = tmp_path_factory.mktemp("map")
    docs = {d.id: d for d in read_documents([sample_path("full_records_334.jsonl")])}
    sources = ["06837063", "06837151", "06836899"]
    index = SearchIndex.create(tmp / "index")
    index.add(
        [docs[i] for i in sources] + [d for i, d in list(docs.items())[:60] if i not in sources],
        progress=None,
    )
    cooling, cooker, napkin = (docs[i] for i in sources)
    preamble, *cooling_clauses = split_elements(cooling.claim1)[:3]
    full = {r["id"]: r for r in iter_full_records([str(sample_path("full_records_334.jsonl"))])}
    combined = {
        **full["06837063"],
        "claims": [
            f"1. {preamble} comprising: {'; '.join(cooling_clauses)}; {split_elements(cooker.claim1)[4]};"
            f" and {split_elements(napkin.claim1)[1]}."
        ],
    }
    gens = write_generations(
        tmp / "g.jsonl",
        [{"text": format_patent(combined), "prompt": prompt(), "finished": True, "seed": 0}],
        META,
    )
    train = [d for d in load_training_documents(sample_path("full_records_334.jsonl")) if d.id not in sources]
    novelty = NoveltyIndex(NoveltyConfig(encoder=None)).fit(train, show_progress=False)
    vet_generations(gens, novelty, tmp / "vetted", index=index, show_progress=False)
    out = tmp / "pub"
    report = publish(tmp / "vetted", out)
    assert report.new == 1, "the three-patent claim was not accepted"
    index.close()

    app = create_app(WebSettings(published=out, search_index=tmp / "index"))
    with live_server(app) as url:
        yield url, out, report.new_ids[0], sources


@pytest.mark.heavy  # builds a real hybrid index (MiniLM) and runs the full vet with the map
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install chromium")
def test_chromium_finds_the_meta_tags_and_the_linked_map(served_map):
    from playwright.sync_api import sync_playwright
    from test_review_browser import ARGS

    base, out, invention, sources = served_map
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page()
        for url in (
            f"{base}/published/{invention}",
            (out / "site" / "inventions" / f"{invention}.html").as_uri(),
        ):
            page.goto(url)
            meta = page.evaluate(
                "() => Object.fromEntries([...document.querySelectorAll('meta[name^=citation_]')]"
                ".map(m => [m.name, m.content]))"
            )
            assert meta["citation_technical_report_number"] == invention
            assert meta["citation_title"] and meta["citation_abstract_html_url"]
            assert meta["citation_publication_date"].count("/") == 2
            assert page.locator("#obviousness-map .ob-class").inner_text() == "obvious combination"
            cited = page.locator("#obviousness-map a.cited")
            hrefs = {cited.nth(i).get_attribute("href") for i in range(cited.count())}
            assert {f"/search/doc/{d}" for d in sources} <= hrefs
            assert page.locator("#inclusion-proof").count() == 1
        page.goto(f"{base}/published/{invention}")
        page.locator(f'#obviousness-map a.cited[href="/search/doc/{sources[1]}"]').first.click()
        page.wait_for_url(f"{base}/search/doc/{sources[1]}")
        assert sources[1] in page.locator("dl.facts").inner_text()
        browser.close()

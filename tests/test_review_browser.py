"""The review app in real headless Chromium (Debian's, driven by Playwright): keyboard review,
undo, admin export, and a claim full of script that must stay inert text."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from patentlab.data import sample_path
from patentlab.review import ReviewStore
from patentlab.web.app import create_app
from patentlab.web.settings import WebSettings

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install chromium"
)
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
XSS_TEXT = (
    '1. A solar roof tile <script>window.__xss = "script ran"; alert("script")</script>'
    "<img src=\"/nope.png\" onerror=\"window.__xss = 'onerror ran'; alert('onerror')\">"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory, live_server):
    """A real uvicorn server on a free 127.0.0.1 port, in a thread, stopped after the module."""
    import patentlab.review.passwords as passwords

    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'review.db'}"
    cost, passwords.SCRYPT_N = passwords.SCRYPT_N, 2**10
    with ReviewStore(url) as store:
        store.import_queue(sample_path("hitl_gold_100.csv"))
        store.import_queue(
            pd.DataFrame(
                {
                    "id": ["xss"],
                    "text": [XSS_TEXT],
                    "p_green": [0.5],
                    "skeptic": ["<img src=x onerror=alert('skeptic')>"],
                    "judge_label": [1],
                    "judge_rationale": ["</p><script>alert('rationale')</script>"],
                }
            )
        )
        store.add_reviewer("alice", password="alice-password")
        store.add_reviewer("root", role="admin", password="root-password")
    passwords.SCRYPT_N = cost
    app = create_app(WebSettings(review_db_url=url, secret_key="browser-test-" + "k" * 40))
    # A second connection pool, to check what the server wrote.
    with live_server(app) as base, ReviewStore(url) as store:
        yield base, store


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def log_in(browser, base: str, name: str):
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.goto(f"{base}/review")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", f"{name}-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/review")
    return page


def test_review_three_claims_by_keyboard_undo_one_then_admin_exports(server, browser, tmp_path):
    from playwright.sync_api import expect

    base, store = server
    page = log_in(browser, base, "alice")
    visible = page.locator("article.rv-claim:visible")
    ids = [visible.get_attribute("data-id")]
    expect(page.locator('#progress [data-k="done"]')).to_have_text("0")

    page.keyboard.press("j")  # move on and back
    expect(visible).not_to_have_attribute("data-id", ids[0])
    page.keyboard.press("k")
    expect(visible).to_have_attribute("data-id", ids[0])

    for key, word in (("g", "green"), ("n", "not green"), ("g", "green")):
        claim = visible.get_attribute("data-id")
        if claim != ids[-1]:
            ids.append(claim)
        page.keyboard.press(key)
        expect(page.locator("#status")).to_have_text(f"Recorded {word} for claim {claim}.")
    assert len(ids) == 3
    expect(page.locator('#progress [data-k="done"]')).to_have_text("3")

    page.keyboard.press("u")
    expect(page.locator("#status")).to_have_text(f"Undid your label on claim {ids[2]}.")
    expect(visible).to_have_attribute("data-id", ids[2])
    expect(page.locator('#progress [data-k="done"]')).to_have_text("2")

    decisions = store.decisions().query("reviewer == 'alice'").set_index("claim_id")["label"].to_dict()
    assert decisions == {ids[0]: 1, ids[1]: 0}
    assert list(store.audit_log().query("reviewer == 'alice'")["action"]) == ["label"] * 3 + ["undo"]

    page.fill("textarea[name=note]:visible", "typing g and n here is a note, not a label")
    expect(page.locator('#progress [data-k="done"]')).to_have_text("2")
    page.keyboard.press("Escape")
    page.keyboard.press("n")
    expect(page.locator("#status")).to_have_text(f"Recorded not green for claim {ids[2]}.")
    assert (
        store.decisions()
        .set_index(["reviewer", "claim_id"])
        .loc[("alice", ids[2]), "note"]
        .startswith("typing")
    )

    admin = log_in(browser, base, "root")
    admin.goto(f"{base}/review/agreement")
    expect(admin.locator("#per-reviewer")).to_contain_text("alice")
    with admin.expect_download() as info:
        admin.click("text=Export CSV")
    path = tmp_path / "gold.csv"
    info.value.save_as(path)
    gold = pd.read_csv(path, dtype={"doc_id": str}).set_index("doc_id")
    assert gold["is_green_human"].to_dict() == {ids[0]: 1, ids[1]: 0, ids[2]: 0}
    assert set(gold["reviewers"]) == {f"alice={v}" for v in (0, 1)}
    assert gold["llm_rationale"].notna().all() and gold["decided_at"].str.endswith("+00:00").all()


def test_script_in_claim_text_stays_inert(server, browser):
    base, _ = server
    page = log_in(browser, base, "alice")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{base}/review?claim=xss")
    card = page.locator("article.rv-claim:visible")
    assert card.get_attribute("data-id") == "xss"
    assert "<script>window.__xss" in card.locator("blockquote").inner_text()
    assert "onerror=" in card.locator("blockquote").inner_text()
    page.wait_for_timeout(500)  # time for an image error or a script to fire, if any could
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert dialogs == []
    assert card.locator("img").count() == 0 and card.locator("script").count() == 0

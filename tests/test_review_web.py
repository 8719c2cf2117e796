"""Review pages and API through HTTP: auth, CSRF, acting-as-self, size limits, escaping, export."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from patentlab.data import sample_path
from patentlab.review import ReviewStore
from patentlab.web import auth
from patentlab.web.app import create_app
from patentlab.web.settings import WebSettings

SECRET = "test-secret-" + "x" * 40
XSS_TEXT = '1. A solar panel <script>window.__xss = 1; alert(1)</script><img src=x onerror="alert(2)">'


@pytest.fixture(scope="module")
def app_and_tokens(tmp_path_factory):
    import patentlab.review.passwords as passwords

    cost, passwords.SCRYPT_N = passwords.SCRYPT_N, 2**10  # fast hashes for the test users
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'review.db'}"
    with ReviewStore(url) as store:
        store.import_queue(
            pd.DataFrame(
                {
                    "id": ["xss"],
                    "text": [XSS_TEXT],
                    "p_green": [0.5],
                    "advocate": ["<b>bold</b> claim"],
                    "judge_label": [1],
                    "judge_rationale": ['"><script>alert(3)</script>'],
                }
            )
        )
        store.import_queue(sample_path("hitl_gold_100.csv"))
        for name in ("alice", "bob"):
            store.add_reviewer(name, password=f"{name}-password")
        store.add_reviewer("root", role="admin", password="root-password")
        tokens = {"carol": store.add_reviewer("carol", token=True)}
    passwords.SCRYPT_N = cost
    app = create_app(WebSettings(review_db_url=url, secret_key=SECRET, max_body_bytes=8 * 1024))
    yield app, tokens
    app.state.review_store.close()


@pytest.fixture
def app(app_and_tokens):
    return app_and_tokens[0]


def login(app, name: str) -> tuple[TestClient, str]:
    """A client logged in as ``name``, and its CSRF token."""
    client = TestClient(app)
    page = client.get("/review/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/review/login",
        data={"name": name, "password": f"{name}-password", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    queue = client.get("/review")
    return client, re.search(r'name="csrf_token" value="([^"]+)"', queue.text).group(1)


def test_pages_need_login(app):
    client = TestClient(app)
    response = client.get("/review?claim=xss", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/review/login?next=")
    assert client.get("/review/api/queue").status_code == 401
    assert client.get("/review/export.csv").status_code == 401


def test_wrong_password_and_missing_login_csrf_are_refused(app):
    client = TestClient(app)
    page = client.get("/review/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    bad = client.post("/review/login", data={"name": "alice", "password": "nope-nope", "csrf_token": token})
    assert bad.status_code == 401 and "Wrong name or password" in bad.text
    forged = TestClient(app).post(
        "/review/login", data={"name": "alice", "password": "alice-password", "csrf_token": token}
    )
    assert forged.status_code == 403  # a token without its pre-login cookie
    assert auth.SESSION_COOKIE not in forged.cookies


def test_writes_without_auth_or_with_a_bad_csrf_token_are_rejected(app):
    body = {"claim_id": "xss", "label": 1}
    assert TestClient(app).post("/review/api/decisions", json=body).status_code == 401
    client, csrf = login(app, "alice")
    assert client.post("/review/api/decisions", json=body).status_code == 403
    assert (
        client.post(
            "/review/api/decisions", json=body, headers={"X-CSRF-Token": csrf[:-2] + "xx"}
        ).status_code
        == 403
    )
    _, bobs_csrf = login(app, "bob")
    assert (
        client.post("/review/api/decisions", json=body, headers={"X-CSRF-Token": bobs_csrf}).status_code
        == 403
    )
    form = {"claim_id": "xss", "label": "1", "csrf_token": "wrong"}
    assert client.post("/review/decide", data=form).status_code == 403
    forged = auth.sign("another-secret", "session", {"r": "alice", "n": "nonce", "e": 2**40})
    mallory = TestClient(app, cookies={auth.SESSION_COOKIE: forged})
    headers = {"X-CSRF-Token": auth.csrf_token("another-secret", "nonce")}
    assert mallory.post("/review/api/decisions", json=body, headers=headers).status_code == 401
    assert app.state.review_store.audit_log().query("claim_id == 'xss'").empty


def test_a_reviewer_cannot_act_for_another(app):
    client, csrf = login(app, "alice")
    headers = {"X-CSRF-Token": csrf}
    response = client.post(
        "/review/api/decisions", json={"claim_id": "xss", "label": 1, "reviewer": "bob"}, headers=headers
    )
    assert response.status_code == 403
    assert client.post("/review/api/undo", json={"reviewer": "bob"}, headers=headers).status_code == 403
    form = {"claim_id": "xss", "label": "1", "csrf_token": csrf, "reviewer": "bob"}
    assert client.post("/review/decide", data=form).status_code == 403
    assert "bob" not in set(app.state.review_store.audit_log()["reviewer"])


def test_decide_retry_and_undo_through_the_api(app):
    client, csrf = login(app, "bob")
    headers = {"X-CSRF-Token": csrf}
    queue = client.get("/review/api/queue?limit=3").json()
    claim = queue["claims"][1]["id"]
    body = {"claim_id": claim, "label": 0, "note": "packaging", "request_id": "bob-1"}
    first = client.post("/review/api/decisions", json=body, headers=headers)
    retry = client.post("/review/api/decisions", json=body, headers=headers)
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json()["duplicate"] and retry.json()["event_id"] == first.json()["event_id"]
    assert first.json()["progress"]["done"] == queue["progress"]["done"] + 1
    undone = client.post("/review/api/undo", json={}, headers=headers).json()["undone"]
    assert undone == {"event_id": undone["event_id"], "claim_id": claim, "label": None, "duplicate": False}
    assert client.post("/review/api/undo", json={}, headers=headers).json()["undone"] is None


def test_plain_form_post_records_and_redirects(app):
    client, csrf = login(app, "alice")
    claim = client.get("/review/api/queue?limit=5").json()["claims"][-1]["id"]
    response = client.post(
        "/review/decide",
        data={"claim_id": claim, "label": "green", "note": "wind", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    decisions = app.state.review_store.decisions().query("reviewer == 'alice'")
    assert decisions.set_index("claim_id").loc[claim, "note"] == "wind"


def test_api_token_writes_without_csrf_but_only_as_its_owner(app_and_tokens):
    app, tokens = app_and_tokens
    client = TestClient(app, headers={"Authorization": f"Bearer {tokens['carol']}"})
    claim = client.get("/review/api/queue?limit=1").json()["claims"][0]["id"]
    assert client.post("/review/api/decisions", json={"claim_id": claim, "label": 1}).status_code == 201
    body = {"claim_id": claim, "label": 1, "reviewer": "alice"}
    assert client.post("/review/api/decisions", json=body).status_code == 403
    wrong = TestClient(app, headers={"Authorization": "Bearer not-a-token"})
    assert wrong.post("/review/api/decisions", json={"claim_id": claim, "label": 1}).status_code == 401


def test_size_limits_and_field_validation(app):
    client, csrf = login(app, "alice")
    headers = {"X-CSRF-Token": csrf}
    big = client.post(
        "/review/api/decisions",
        content=b"{" + b" " * 9000 + b"}",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert big.status_code == 413

    def chunks():  # no Content-Length: the limit must hold on a streamed body too
        for _ in range(10):
            yield b" " * 1024

    assert client.post("/review/api/decisions", content=chunks(), headers=headers).status_code == 413
    cases = [
        ({"claim_id": "xss", "label": 1, "note": "x" * 2001}, 422),
        ({"claim_id": "x" * 129, "label": 1}, 422),
        ({"claim_id": "xss", "label": 7}, 422),
        ({"claim_id": "xss", "label": True}, 422),
        ({"claim_id": ["xss"], "label": 1}, 422),
        ({"claim_id": "no-such-claim", "label": 1}, 404),
        ({"label": 1}, 422),
    ]
    for body, status in cases:
        assert client.post("/review/api/decisions", json=body, headers=headers).status_code == status, body
    assert client.post("/review/api/decisions", content=b"[1, 2]", headers=headers).status_code == 422
    assert client.post("/review/api/decisions", content=b"{nope", headers=headers).status_code == 400
    long_login = TestClient(app).post(
        "/review/login", data={"name": "a" * 65, "password": "x", "csrf_token": "y"}
    )
    assert long_login.status_code == 422


def test_claim_text_and_agent_text_are_escaped(app):
    client, _ = login(app, "alice")
    page = client.get("/review?claim=xss")
    assert "&lt;script&gt;window.__xss" in page.text
    assert "onerror=&#34;alert(2)&#34;" in page.text or "onerror=&quot;alert(2)&quot;" in page.text
    assert "&lt;b&gt;bold&lt;/b&gt;" in page.text
    assert "<script>window.__xss" not in page.text and "<img src=x" not in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'nonce-" in policy and "unsafe-inline" not in policy


def test_login_redirect_stays_inside_the_app(app):
    client = TestClient(app)
    page = client.get("/review/login?next=https://evil.example/")
    assert 'name="next" value="/review"' in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/review/login",
        data={"name": "alice", "password": "alice-password", "csrf_token": token, "next": "//evil.example"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/review"


def test_agreement_and_admin_only_export(app):
    alice, alice_csrf = login(app, "alice")
    root, root_csrf = login(app, "root")
    claim = "9686855"
    for client, csrf, label in ((alice, alice_csrf, 1), (root, root_csrf, 0)):
        body = {"claim_id": claim, "label": label}
        assert (
            client.post("/review/api/decisions", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
        )
    report = alice.get("/review/api/agreement").json()
    assert report["claims_reviewed_twice"] >= 1 and any(
        p["reviewers"] == "alice / root" for p in report["pairs"]
    )
    page = alice.get("/review/agreement")
    assert page.status_code == 200 and "Cohen" in page.text
    assert alice.get("/review/export.csv").status_code == 403
    exported = root.get("/review/export.csv")
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    gold = pd.read_csv(io.StringIO(exported.text), dtype={"doc_id": str}).set_index("doc_id")
    assert gold.loc[claim, "is_green_human"] == 0 and gold.loc[claim, "resolution"] == "admin"
    assert gold.loc[claim, "reviewers"] == "alice=1;root=0"
    parquet = pd.read_parquet(io.BytesIO(root.get("/review/export.parquet").content))
    assert len(parquet) == len(gold)
    assert root.get("/review/export.xlsx").status_code == 404
    assert root.get("/review/export.csv?policy=coin").status_code == 422


def test_unconfigured_app_says_what_to_do(monkeypatch):
    monkeypatch.delenv("PATENTLAB_REVIEW_DB", raising=False)
    client = TestClient(create_app(WebSettings(secret_key=SECRET)))
    page = client.get("/review")
    assert page.status_code == 503 and "patentlab serve --db" in page.text
    assert client.post("/review/api/decisions", json={}).status_code == 503

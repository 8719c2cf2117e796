"""Classify in the web app: ``POST /api/classify`` and the ``/classify`` page, over real HTTP on
127.0.0.1 and in real headless Chromium, with a frozen MiniLM baseline trained on real claims."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from patentlab.cpc import y02_entries
from patentlab.data import sample_path
from patentlab.web.app import create_app
from patentlab.web.settings import WebSettings

CHROMIUM = Path("/usr/bin/chromium")
ATTACK = '<script>alert("x")</script><img src=x onerror=alert(1)>'
Y02_CODES = {e.code for e in y02_entries()}


@pytest.fixture(scope="module")
def claims() -> pd.DataFrame:
    frame = pd.read_csv(sample_path("y02_claims_1100.csv"))
    return frame[frame["split"] == "test"].sort_values("is_green", ascending=False).head(6)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A real frozen baseline: MiniLM + balanced LR on the CPC-labelled training claims."""
    from patentlab.classify.baseline import FrozenEncoderClassifier

    frame = pd.read_csv(sample_path("y02_claims_1100.csv"))
    train = frame[frame["split"] == "train"]
    train = pd.concat([train[train["is_green"] == 1], train[train["is_green"] == 0].head(150)])
    clf = FrozenEncoderClassifier("minilm", class_weight="balanced")
    clf.fit(train["text"].tolist(), train["is_green"].tolist())
    return clf.save_pretrained(tmp_path_factory.mktemp("classify") / "baseline")


@pytest.fixture(scope="module")
def app(model_dir):
    return create_app(WebSettings(classifier_model=model_dir))


@pytest.fixture(scope="module")
def server(app, live_server):
    with live_server(app) as url:
        yield url


def test_without_a_model_the_api_and_page_say_so():
    client = TestClient(create_app(WebSettings()))
    r = client.post("/api/classify", json={"text": "1. A photovoltaic module."})
    assert r.status_code == 503 and "no classifier is loaded" in r.json()["detail"]
    assert "--model" in r.json()["detail"]
    page = client.get("/classify")
    assert page.status_code == 200 and "No model is loaded" in page.text and "--model" in page.text
    assert client.post("/classify", data={"text": "1. A valve."}).status_code == 503
    assert 'href="/classify"' in client.get("/").text  # the home page links to it


def test_a_wrong_model_folder_is_a_503_that_names_it(tmp_path):
    client = TestClient(create_app(WebSettings(classifier_model=tmp_path)))
    r = client.post("/api/classify", json={"text": "1. A valve."})
    assert r.status_code == 503 and "not a classifier folder" in r.json()["detail"]


def test_serve_refuses_a_wrong_model_folder_in_one_line(tmp_path):
    run = subprocess.run(
        [str(Path(sys.executable).parent / "patentlab"), "serve", "--model", str(tmp_path), "--port", "1"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode != 0 and "not a classifier folder" in run.stderr
    assert "Traceback" not in run.stderr


def test_api_classifies_one_text_or_many_over_http(server, claims):
    texts = claims["text"].tolist()
    r = httpx.post(f"{server}/api/classify", json={"texts": texts}, timeout=120)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["threshold"] == 0.5 and body["model"].endswith("baseline")
    assert len(body["predictions"]) == len(texts)
    for pred in body["predictions"]:
        assert 0.0 <= pred["p_green"] <= 1.0 and pred["label"] == int(pred["p_green"] >= 0.5)
        assert pred["y02"] is None  # a frozen baseline has no Y02 head
        assert len(pred["definitions"]) == 3
        assert all(d["code"].replace(" ", "") in Y02_CODES and d["title"] for d in pred["definitions"])
    # One text gives the same answer as the same text in a list.
    one = httpx.post(f"{server}/api/classify", json={"text": texts[0]}, timeout=120).json()
    assert one["predictions"][0]["p_green"] == pytest.approx(body["predictions"][0]["p_green"], abs=1e-5)


def test_api_refuses_bad_bodies(server):
    bad_bodies = [
        {}, {"text": "a", "texts": ["b"]}, {"text": "   "}, {"texts": []}, {"texts": [""]},
        {"texts": ["x"] * 33}, {"text": "x" * 20_001}, {"text": 5},
    ]  # fmt: skip
    for bad in bad_bodies:
        r = httpx.post(f"{server}/api/classify", json=bad, timeout=30)
        assert r.status_code == 422, (bad, r.status_code)
    headers = {"content-type": "application/json"}
    r = httpx.post(f"{server}/api/classify", content=b"not json", headers=headers)
    assert r.status_code == 422


def test_openapi_describes_the_classify_api(server):
    spec = httpx.get(f"{server}/openapi.json").json()
    op = spec["paths"]["/api/classify"]["post"]
    assert "503" in op["responses"] and "200" in op["responses"]
    assert {"text", "texts"} <= set(spec["components"]["schemas"]["ClassifyRequest"]["properties"])
    assert {"p_green", "label", "y02", "definitions"} <= set(
        spec["components"]["schemas"]["PredictionOut"]["properties"]
    )


def test_page_escapes_pasted_text(server, claims):
    text = f"{claims['text'].iloc[0]} {ATTACK}"
    r = httpx.post(f"{server}/classify", data={"text": text}, timeout=120)
    assert r.status_code == 200
    assert "<script>alert" not in r.text and "<img src=x" not in r.text
    assert "&lt;script&gt;" in r.text and 'data-testid="definitions"' in r.text
    assert httpx.post(f"{server}/classify", data={"text": "  "}).status_code == 400


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


def test_browser_pastes_a_claim_and_sees_the_result(server, page, claims):
    page.goto(f"{server}/")
    page.click("main a[href='/classify']")
    page.wait_for_selector("textarea[name=text]")
    assert "baseline" in page.inner_text("[data-testid=model]")
    green = claims[claims["is_green"] == 1]["text"].iloc[0]
    page.fill("textarea[name=text]", f"{green} {ATTACK}")
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=result]", timeout=120_000)
    assert page.inner_text("[data-testid=label]") in ("green", "not green")
    p = float(page.inner_text("[data-testid=p-green]"))
    api = httpx.post(f"{server}/api/classify", json={"text": f"{green} {ATTACK}"}, timeout=120).json()
    assert p == pytest.approx(api["predictions"][0]["p_green"], abs=1e-3)
    items = page.locator("[data-testid=definitions] li")
    assert items.count() == 3
    assert api["predictions"][0]["definitions"][0]["code"] in items.first.inner_text()
    # The pasted script stays text in the box and never runs.
    assert ATTACK in page.input_value("textarea[name=text]")
    assert page.dialogs == []


@pytest.mark.heavy
def test_a_fine_tuned_model_with_the_y02_head_reports_categories(tmp_path, claims):
    """One short epoch of real fine-tuning with the multi-label Y02 head; the API and page show it."""
    import numpy as np

    from patentlab.classify.data import LabeledTexts
    from patentlab.classify.train import TrainConfig, train
    from patentlab.corpus.schema import Y02_CATEGORIES

    frame = pd.read_csv(sample_path("y02_claims_1100.csv"))
    train_rows = frame[frame["split"] == "train"]
    rows = pd.concat(
        [train_rows[train_rows["is_green"] == 1].head(16), train_rows[train_rows["is_green"] == 0].head(16)]
    )
    data = LabeledTexts(
        texts=rows["text"].tolist(), labels=rows["is_green"].to_numpy(), ids=rows["id"].astype(str).tolist(),
        y02=rows[list(Y02_CATEGORIES)].to_numpy(dtype=np.int8),
    )  # fmt: skip
    config = TrainConfig(epochs=1, batch_size=8, warmup_steps=0, max_length=128, y02_head=True)
    result = train(data, tmp_path / "ft", config, show_progress=False)
    client = TestClient(create_app(WebSettings(classifier_model=result.model_dir)))
    r = client.post("/api/classify", json={"text": claims["text"].iloc[0]})
    assert r.status_code == 200, r.text
    pred = r.json()["predictions"][0]
    assert set(pred["y02"]) == set(Y02_CATEGORIES) and all(0 <= v <= 1 for v in pred["y02"].values())
    page = client.post("/classify", data={"text": claims["text"].iloc[0]})
    assert 'data-testid="y02"' in page.text and "Y02E" in page.text


def test_the_model_card_with_intervals_is_on_the_page_and_the_api(model_dir, tmp_path):
    """A folder kept by the selection protocol carries model_card.json; page and API show it."""
    import shutil

    from patentlab.classify.baseline import FrozenEncoderClassifier
    from patentlab.classify.data import load_gold
    from patentlab.classify.intervals import with_intervals
    from patentlab.classify.protocol import MODEL_CARD_JSON
    from patentlab.storage import write_json

    folder = shutil.copytree(model_dir, tmp_path / "selected")
    gold = load_gold(sample_path("hitl_gold_100.csv"), weight=1.0)
    p = FrozenEncoderClassifier.from_pretrained(folder).predict_proba(gold.texts, show_progress=False)[:, 1]
    test = {"name": "hitl_gold_100", **with_intervals(gold.labels, p, n_boot=200)}
    card = {"format": "patentlab-model-card/1", "model": "frozen encoder + LR (baseline)", "test": test}
    write_json(folder / MODEL_CARD_JSON, card)
    client = TestClient(create_app(WebSettings(classifier_model=folder)))
    body = client.get("/api/classify/model").json()
    assert body["card"]["test"]["auc"] == pytest.approx(test["auc"]) and body["model"].endswith("selected")
    page = client.get("/classify").text
    assert 'data-testid="model-card"' in page and "hitl_gold_100" in page
    assert f"{test['auc']:.3f} [{test['auc_ci'][0]:.2f}, {test['auc_ci'][1]:.2f}]" in page
    # A folder without a card (an older model) serves as before, with no card section.
    plain = TestClient(create_app(WebSettings(classifier_model=model_dir)))
    assert plain.get("/api/classify/model").json()["card"] is None
    assert 'data-testid="model-card"' not in plain.get("/classify").text

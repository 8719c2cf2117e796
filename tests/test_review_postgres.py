"""The review store on a real PostgreSQL server that this module starts (Debian's postgresql)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from patentlab.data import sample_path
from patentlab.review import ReviewStore, agreement_report, export_gold


def _server_binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pg_server():
    """A throwaway PostgreSQL server on 127.0.0.1; initdb refuses root, so it runs as 'postgres'."""
    bindir = _server_binaries()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries missing: apt-get install -y postgresql")
    root = Path(tempfile.mkdtemp(prefix="patentlab-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server as")
        os.chown(root, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    run = lambda *args: subprocess.run([*prefix, *map(str, args)], check=True, capture_output=True)  # noqa: E731
    try:
        run(bindir / "initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        run(
            bindir / "pg_ctl", "-D", data, "-l", root / "server.log", "-w", "-t", "60", "-o", options, "start"
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def store(pg_server):
    import patentlab.review.passwords as passwords

    with ReviewStore(pg_server) as s, s.engine.begin() as conn:  # a clean schema per test
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    cost, passwords.SCRYPT_N = passwords.SCRYPT_N, 2**10
    with ReviewStore(pg_server) as s:
        s.import_queue(sample_path("hitl_gold_100.csv"))
        s.add_reviewer("alice", password="alice-password")
        s.add_reviewer("root", role="admin", password="root-password")
        passwords.SCRYPT_N = cost
        yield s


def test_runs_on_postgresql_with_psycopg(store):
    assert store.engine.dialect.name == "postgresql" and store.engine.dialect.driver == "psycopg"
    assert store.authenticate("alice", "alice-password").name == "alice"


def test_decide_undo_export_on_postgresql(store, tmp_path):
    a, b = (c.id for c in store.pending("alice", limit=2))
    store.decide("alice", a, 1, note="solar", request_id="r-1")
    assert store.decide("alice", a, 1, note="solar", request_id="r-1").duplicate
    store.decide("alice", b, 0)
    store.decide("root", b, 1)
    assert store.undo("alice").claim_id == b
    store.decide("alice", b, 0)
    rows, conflicts = export_gold(store, tmp_path / "gold.parquet")
    gold = pd.read_parquet(tmp_path / "gold.parquet").set_index("doc_id")
    assert (rows, conflicts) == (2, [])
    assert gold.loc[b, "resolution"] == "admin" and gold.loc[b, "is_green_human"] == 1
    report = agreement_report(store.decisions())
    assert report["claims_reviewed_twice"] == 1 and report["pairs"][0]["agreement"] == 0.0
    assert list(store.audit_log()["action"]) == ["label", "label", "label", "undo", "label"]


def test_audit_log_is_append_only_on_postgresql(store):
    store.decide("alice", store.pending("alice", limit=1)[0].id, 1)
    for statement in ("UPDATE audit_log SET label = 0", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(statement))


def test_concurrent_writers_never_duplicate_a_decision(store):
    claims = [c.id for c in store.pending("alice", limit=40)]
    # Each decision is sent three times at once with the same request id, as retrying clients do.
    jobs = [(cid, i % 2, f"req-{cid}") for i, cid in enumerate(claims) for _ in range(3)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda j: store.decide("alice", j[0], j[1], request_id=j[2]), jobs))
    log = store.audit_log()
    assert len(log) == len(claims) and log["request_id"].is_unique
    assert sum(not r.duplicate for r in results) == len(claims)
    assert len(store.decisions()) == len(claims)


def test_web_app_on_postgresql(store, pg_server):
    import re

    from fastapi.testclient import TestClient

    from patentlab.web.app import create_app
    from patentlab.web.settings import WebSettings

    client = TestClient(create_app(WebSettings(review_db_url=pg_server, secret_key="s" * 40)))
    page = client.get("/review/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    client.post("/review/login", data={"name": "alice", "password": "alice-password", "csrf_token": token})
    queue = client.get("/review")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', queue.text).group(1)
    claim = re.search(r'data-id="([^"]+)"', queue.text).group(1)
    response = client.post(
        "/review/api/decisions", json={"claim_id": claim, "label": 1}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 201
    assert store.decisions().set_index("claim_id").loc[claim, "reviewer"] == "alice"
    client.app.state.review_store.close()

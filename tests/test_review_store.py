"""The review store on SQLite: queue import, decisions and undo, audit log, agreement, gold export."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import text

from patentlab.cli import main
from patentlab.data import sample_path
from patentlab.errors import PatentlabError
from patentlab.review import ReviewStore, agreement_report, cohen_kappa, export_gold, gold_labels, resolve
from patentlab.review.store import NotFound

GOLD = sample_path("hitl_gold_100.csv")


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch):
    """A lower scrypt cost keeps tests fast; the cost is stored with each hash, so checks still work."""
    monkeypatch.setattr("patentlab.review.passwords.SCRYPT_N", 2**10)


@pytest.fixture
def store(tmp_path):
    with ReviewStore(tmp_path / "review.db") as s:
        s.import_queue(GOLD)
        s.add_reviewer("alice", password="alice-password")
        s.add_reviewer("bob", password="bob-password")
        s.add_reviewer("root", role="admin", password="root-password")
        yield s


def test_import_reads_the_llm_suggestion_and_keeps_order(store):
    frame = pd.read_csv(GOLD)
    queue = store.claims()
    assert len(queue) == 100
    assert list(queue["id"]) == [str(i) for i in frame["doc_id"]]
    assert list(queue["suggestion"].astype(int)) == list(frame["llm_green_suggested"])
    assert queue["rationale"].iloc[0] == frame["llm_rationale"].iloc[0]
    again = store.import_queue(GOLD)
    assert (again.added, again.updated, again.total) == (0, 100, 100)


def test_import_reads_the_agents_human_queue(tmp_path):
    # The columns of patentlab.agents' labels.parquet / human_queue.parquet.
    frame = pd.DataFrame(
        {
            "id": ["a", "b"],
            "text": ["1. A wind turbine blade.", "1. A stapler."],
            "p_green_baseline": [0.51, 0.49],
            "u": [0.99, 0.98],
            "round": [1, 1],
            "agent_label": [1.0, None],
            "p_green_llm": [0.7, 0.5],
            "route": ["human", "human"],
            "confidence": [0.8123, None],
            "rationale": ["wind power", None],
            "advocate_argument": ["renewable energy", "n/a"],
            "skeptic_argument": ["just a blade", "office tool"],
        }
    )
    with ReviewStore(tmp_path / "r.db") as s:
        s.import_queue(frame)
        first, second = s.claim("a"), s.claim("b")
    assert (first.p_green, first.u, first.round) == (0.51, 0.99, 1)
    assert (first.advocate, first.skeptic) == ("renewable energy", "just a blade")
    assert (first.suggestion, first.rationale, first.confidence) == (1, "wind power", "0.81")
    assert (second.suggestion, second.rationale, second.confidence) == (None, None, None)


def test_import_joins_lists_of_arguments(tmp_path):
    frame = pd.DataFrame({"id": ["a"], "text": ["1. A heat pump."], "advocate": [["saves energy", "Y02B"]]})
    with ReviewStore(tmp_path / "r.db") as s:
        s.import_queue(frame)
        assert s.claim("a").advocate == "saves energy\nY02B"


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"text": ["x"]}), "needs a id column"),
        (pd.DataFrame({"id": ["a", "a"], "text": ["x", "y"]}), "row 2"),
        (pd.DataFrame({"id": ["a"], "text": ["  "]}), "empty claim text"),
        (pd.DataFrame({"id": ["a"], "text": ["x"], "judge_label": ["maybe"]}), "row 1"),
    ],
)
def test_import_rejects_bad_queues(tmp_path, frame, message):
    with ReviewStore(tmp_path / "r.db") as s, pytest.raises(PatentlabError, match=message):
        s.import_queue(frame)


def test_passwords_are_hashed_and_checked(store):
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM reviewers WHERE name='alice'")).scalar()
    assert stored.startswith("scrypt$") and "alice-password" not in stored
    assert store.authenticate("alice", "alice-password").name == "alice"
    assert store.authenticate("alice", "bob-password") is None
    assert store.authenticate("nobody", "alice-password") is None
    token = store.add_reviewer("carol", token=True)
    assert store.reviewer_for_token(token).name == "carol"
    assert store.reviewer_for_token(token + "x") is None
    with pytest.raises(PatentlabError, match="8-256"):
        store.add_reviewer("dave", password="short")


def test_decide_undo_walks_back_newest_first(store):
    a, b, c = (claim.id for claim in store.pending("alice", limit=3))
    store.decide("alice", a, 1)
    store.decide("alice", b, 0, note="a stapler")
    store.decide("alice", a, 0)  # relabel
    assert store.progress("alice")["done"] == 2
    assert store.undo("alice").claim_id == a and store.decisions().set_index("claim_id").loc[a, "label"] == 1
    assert store.undo("alice").claim_id == b
    undone = store.undo("alice")
    assert (undone.claim_id, undone.label) == (a, None)
    assert store.undo("alice") is None
    assert store.pending("alice", limit=3)[0].id == a  # back in the queue
    log = store.audit_log()
    assert list(log["action"]) == ["label", "label", "label", "undo", "undo", "undo"]
    assert c not in set(log["claim_id"])


def test_request_id_makes_retries_idempotent(store):
    claim = store.pending("alice", limit=1)[0].id
    first = store.decide("alice", claim, 1, request_id="req-1")
    again = store.decide("alice", claim, 1, request_id="req-1")
    assert again.duplicate and again.event_id == first.event_id
    assert len(store.audit_log()) == 1
    with pytest.raises(PatentlabError, match="already used"):
        store.decide("bob", claim, 1, request_id="req-1")


def test_bad_decisions_are_refused(store):
    claim = store.pending("alice", limit=1)[0].id
    with pytest.raises(PatentlabError, match="label"):
        store.decide("alice", claim, 2)
    with pytest.raises(PatentlabError, match="at most 2000"):
        store.decide("alice", claim, 1, note="x" * 2001)
    with pytest.raises(NotFound):
        store.decide("alice", "no-such-claim", 1)
    with pytest.raises(NotFound):
        store.decide("mallory", claim, 1)


def test_audit_log_is_append_only(store):
    store.decide("alice", store.pending("alice", limit=1)[0].id, 1)
    for statement in ("UPDATE audit_log SET label = 0", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(statement))
    assert len(store.audit_log()) == 1


def test_queue_offers_each_claim_to_wanted_reviewers_only(store):
    for name in ("alice", "bob"):
        for claim in store.pending(name, limit=2):
            store.decide(name, claim.id, 1)
    assert {c.id for c in store.pending("root", limit=100)}.isdisjoint(set(store.decisions()["claim_id"]))
    assert store.progress("root")["remaining"] == 98
    assert store.progress("root")["complete"] == 2


def test_cohen_kappa_on_a_textbook_table():
    # 50 items: both yes 20, only the first rater yes 5, only the second yes 10, both no 15.
    # po = 0.7; pe = 0.5 * 0.6 + 0.5 * 0.4 = 0.5; kappa = (0.7 - 0.5) / 0.5 = 0.4.
    a = [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(a, a) == pytest.approx(1.0)
    assert cohen_kappa([1, 0], [0, 1]) == pytest.approx(-1.0)
    assert cohen_kappa([1, 1], [1, 1]) is None  # chance agreement is 1: undefined
    assert cohen_kappa([], []) is None


def test_agreement_report_counts_overrides_and_pairs(store):
    claims = [c.id for c in store.pending("alice", limit=4)]
    suggestion = store.claims().set_index("id")["suggestion"]
    for cid in claims:
        store.decide("alice", cid, int(suggestion[cid]))
        store.decide("bob", cid, 1 - int(suggestion[cid]) if cid == claims[0] else int(suggestion[cid]))
    report = agreement_report(store.decisions())
    assert report["claims_reviewed_twice"] == 4
    assert report["overrides"] == 1 and report["override_rate"] == pytest.approx(1 / 8)
    (pair,) = report["pairs"]
    assert pair["reviewers"] == "alice / bob" and pair["agreement"] == pytest.approx(0.75)
    by_name = {r["reviewer"]: r for r in report["per_reviewer"]}
    assert by_name["bob"]["overrides"] == 1 and by_name["alice"]["decisions"] == 4


def test_conflict_policies():
    two_way = [("alice", "reviewer", 1), ("bob", "reviewer", 0)]
    assert resolve(two_way, "majority") == (None, "conflict")
    assert resolve([*two_way, ("root", "admin", 0)], "admin") == (0, "admin")
    assert resolve([*two_way, ("carol", "reviewer", 1)], "majority") == (1, "majority")
    assert resolve([*two_way, ("carol", "reviewer", 1)], "unanimous") == (None, "conflict")
    assert resolve([("alice", "reviewer", 1)], "unanimous") == (1, "single")
    with pytest.raises(PatentlabError):
        resolve(two_way, "coin-flip")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_round_trips_into_classify_gold(store, tmp_path, suffix):
    from patentlab.classify.data import load_gold

    claims = [c.id for c in store.pending("alice", limit=3)]
    store.decide("alice", claims[0], 1, note="solar")
    store.decide("alice", claims[1], 0)
    store.decide("alice", claims[2], 1)
    store.decide("bob", claims[2], 0)  # a conflict: left out until an admin settles it
    out = tmp_path / f"gold{suffix}"
    rows, conflicts = export_gold(store, out)
    assert (rows, conflicts) == (2, [claims[2]])
    frame = pd.read_csv(out, dtype={"doc_id": str}) if suffix == ".csv" else pd.read_parquet(out)
    assert list(frame["doc_id"]) == claims[:2]
    assert list(frame["is_green_human"]) == [1, 0]
    assert frame["reviewers"].iloc[0] == "alice=1" and frame["human_notes"].iloc[0] == "alice: solar"
    assert frame["decided_at"].iloc[0].endswith("+00:00")
    gold = load_gold(out, weight=5.0)
    assert list(gold.labels) == [1, 0] and set(gold.weights) == {5.0}
    store.decide("root", claims[2], 0)
    assert gold_labels(store)[0].set_index("doc_id").loc[claims[2], "resolution"] == "admin"


def test_gold_through_review_keeps_the_human_labels(tmp_path):
    from patentlab.review.final_model import BUNDLED_REVIEWER, gold_through_review

    path = gold_through_review(GOLD, tmp_path)
    again = gold_through_review(GOLD, tmp_path)  # a re-run records nothing new
    source = pd.read_csv(GOLD)
    gold = pd.read_parquet(again)
    assert path == again and len(gold) == 100
    assert list(gold["is_green_human"]) == list(source["is_green_human"])
    assert int(gold["override"].sum()) == int(
        (source["is_green_human"] != source["llm_green_suggested"]).sum()
    )
    assert set(gold["reviewers"].str.split("=").str[0]) == {BUNDLED_REVIEWER}
    with ReviewStore(tmp_path / "review.db") as s:
        assert len(s.audit_log()) == 100


def test_cli_add_user_import_export_agreement(tmp_path, monkeypatch, capsys):
    import io

    db = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
    assert main(["review", "add-user", "alice", "--db", db, "--password-stdin"]) == 0
    assert main(["review", "add-user", "root", "--db", db, "--admin", "--token"]) == 0
    assert "API token (shown once)" in capsys.readouterr().out
    assert main(["review", "import", str(GOLD), "--db", db]) == 0
    with ReviewStore(db) as s:
        assert s.authenticate("alice", "a-long-password") is not None
        s.decide("alice", s.pending("alice", limit=1)[0].id, 1)
    out = tmp_path / "gold.csv"
    assert main(["review", "export", str(out), "--db", db]) == 0
    assert len(pd.read_csv(out)) == 1
    assert main(["review", "agreement", "--db", db]) == 0
    assert "Per reviewer" in capsys.readouterr().out
    assert main(["review", "audit", str(tmp_path / "audit.parquet"), "--db", db]) == 0
    assert main(["review", "import", str(tmp_path / "missing.csv"), "--db", db]) == 2
    assert main(["review", "export", str(tmp_path / "gold.xlsx"), "--db", db]) == 2

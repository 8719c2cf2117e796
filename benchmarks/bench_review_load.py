"""Review app under load, then killed with SIGKILL mid-load: nothing acknowledged may be lost.

A real ``patentlab serve`` subprocess on 127.0.0.1 with a SQLite review store (WAL) holding the
bundled real claims. Each simulated reviewer logs in through the login form, then loops: fetch
its queue, post a label with a fresh request id (about one in ten followed by an undo), retrying
a request with the same id on a connection error. Every phase is bounded in time and in
concurrency (one thread per reviewer, a 10 s timeout per request).

1. baseline: one reviewer alone for ``--baseline-seconds``;
2. load: ``--reviewers`` reviewers at once for ``--seconds``;
3. crash: the same load again; ``kill -9`` the server halfway, restart it at once, carry on.

After each phase the database is checked against the clients' own record: every acknowledged
decision and undo is in the audit log exactly once, and each reviewer's current labels are what
their acknowledged actions add up to.

    .venv/bin/python benchmarks/bench_review_load.py [--reviewers 20 --seconds 60]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pandas as pd
from _report import machine, now, update_section

from patentlab.data import sample_path
from patentlab.review import ReviewStore

PATENTLAB = str(Path(sys.executable).with_name("patentlab"))
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class ClientLog:
    """What one reviewer's client saw: acknowledged actions in order, statuses, latencies."""

    name: str
    actions: list[tuple[str, str, str, int | None]] = field(default_factory=list)  # (kind, rid, claim, label)
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    retries: int = 0
    duplicates_answered: int = 0


class Server:
    def __init__(self, db: str, port: int, log: Path) -> None:
        self.db, self.port, self.log, self.proc = db, port, log, None

    def start(self) -> float:
        t0 = time.perf_counter()
        env = {**os.environ, "PATENTLAB_SECRET_KEY": "bench-review-load-" + "k" * 32}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [PATENTLAB, "serve", "--db", self.db, "--port", str(self.port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        while time.perf_counter() - t0 < 60:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return time.perf_counter() - t0
            except httpx.HTTPError:
                time.sleep(0.05)
        raise SystemExit(f"the server did not start; see {self.log}")

    def kill9(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)


def reviewer_loop(base: str, name: str, deadline: float, log: ClientLog, seed: int) -> None:
    import random

    rng = random.Random(seed)
    with httpx.Client(base_url=base, timeout=10.0) as client:

        def call(method: str, url: str, **kwargs) -> httpx.Response:
            # Retry through connection errors (the server may be down for a moment): same request
            # body, same request id, so the server can recognise a repeat.
            while True:
                t0 = time.perf_counter()
                try:
                    response = client.request(method, url, **kwargs)
                except httpx.TransportError:
                    log.retries += 1
                    if time.monotonic() > deadline + 60:
                        raise
                    time.sleep(0.2)
                    continue
                log.latencies.append(time.perf_counter() - t0)
                log.statuses[response.status_code] = log.statuses.get(response.status_code, 0) + 1
                return response

        token = CSRF.search(call("GET", "/review/login").text).group(1)
        call(
            "POST", "/review/login", data={"name": name, "password": f"{name}-password", "csrf_token": token}
        )
        csrf = CSRF.search(call("GET", "/review").text).group(1)
        headers = {"X-CSRF-Token": csrf}
        while time.monotonic() < deadline:
            claims = call("GET", "/review/api/queue?limit=5").json()["claims"]
            if not claims:
                return
            for claim in claims:
                if time.monotonic() >= deadline:
                    return
                rid, label = uuid.uuid4().hex, rng.randint(0, 1)
                body = {"claim_id": claim["id"], "label": label, "request_id": rid}
                response = call("POST", "/review/api/decisions", json=body, headers=headers)
                if response.status_code in (200, 201):
                    log.duplicates_answered += response.json()["duplicate"]
                    log.actions.append(("label", rid, claim["id"], label))
                if rng.random() < 0.1:
                    rid = uuid.uuid4().hex
                    response = call("POST", "/review/api/undo", json={"request_id": rid}, headers=headers)
                    if response.status_code == 200 and response.json()["undone"]:
                        log.actions.append(("undo", rid, response.json()["undone"]["claim_id"], None))


def expected_labels(actions) -> dict[str, int]:
    """A reviewer's current labels, replaying their acknowledged actions (undo pops the latest)."""
    history: dict[str, list[int]] = {}
    stack: list[str] = []
    for kind, _, claim, label in actions:
        if kind == "label":
            history.setdefault(claim, []).append(label)
            stack.append(claim)
        else:
            assert stack and stack[-1] == claim, "undo must take back the latest label in effect"
            stack.pop()
            history[claim].pop()
    return {claim: labels[-1] for claim, labels in history.items() if labels}


def verify(db: str, logs: list[ClientLog], history: dict[str, list]) -> dict:
    """Check this phase's acknowledged requests, and every reviewer's labels against all phases."""
    for log in logs:
        history.setdefault(log.name, []).extend(log.actions)
    with ReviewStore(db) as store:
        audit = store.audit_log()
        decisions = store.decisions()
    counts = audit["request_id"].value_counts()
    acked = [(log.name, a) for log in logs for a in log.actions]
    lost = int(sum(counts.get(a[1], 0) == 0 for _, a in acked))
    duplicated = int((counts > 1).sum())
    state_mismatch = 0
    for name, actions in history.items():
        mine = decisions[decisions["reviewer"] == name]
        actual = dict(zip(mine["claim_id"], mine["label"].astype(int), strict=True))
        expected = expected_labels(actions)
        state_mismatch += len(set(actual.items()) ^ set(expected.items()))
    return {
        "acked": len(acked),
        "lost": lost,
        "duplicated": duplicated,
        "state_mismatch": state_mismatch,
        "audit_events": len(audit),
    }


def run_phase(base: str, names: list[str], seconds: float, on_half=None) -> tuple[list[ClientLog], float]:
    logs = [ClientLog(n) for n in names]
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(target=reviewer_loop, args=(base, n, deadline, log, i))
        for i, (n, log) in enumerate(zip(names, logs, strict=True))
    ]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    if on_half is not None:
        time.sleep(seconds / 2)
        on_half()
    for t in threads:
        t.join()
    return logs, time.perf_counter() - t0


def summarise(logs: list[ClientLog], wall: float) -> dict:
    latencies = sorted(x for log in logs for x in log.latencies)
    statuses: dict[int, int] = {}
    for log in logs:
        for code, n in log.statuses.items():
            statuses[code] = statuses.get(code, 0) + n
    decisions = sum(a[0] == "label" for log in logs for a in log.actions)
    return {
        "requests": len(latencies),
        "decisions": decisions,
        "undos": sum(a[0] == "undo" for log in logs for a in log.actions),
        "per_s": decisions / wall,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else 0.0,
        "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))] if latencies else 0.0,
        "5xx": sum(n for code, n in statuses.items() if code >= 500),
        "4xx": sum(n for code, n in statuses.items() if 400 <= code < 500),
        "retries": sum(log.retries for log in logs),
        "replayed": sum(log.duplicates_answered for log in logs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reviewers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--baseline-seconds", type=float, default=15.0)
    parser.add_argument("--crash-seconds", type=float, default=30.0)
    parser.add_argument("--no-report", action="store_true", help="Print only; leave BENCHMARKS.md alone.")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-review-"))
    db = f"sqlite:///{work / 'review.db'}"
    claims = pd.concat(
        [
            pd.read_csv(sample_path("y02_claims_1100.csv"), usecols=["id", "text"], dtype=str),
            pd.read_csv(
                sample_path("cpc_group_claims_1411.csv"), usecols=["patent_id", "text"], dtype=str
            ).rename(columns={"patent_id": "id"}),
        ]
    ).drop_duplicates("id")
    names = [f"reviewer{i:02d}" for i in range(args.reviewers)]
    with ReviewStore(db) as store:
        store.import_queue(claims, wanted_reviews=min(args.reviewers + 1, 20), source_name="bundled claims")
        for name in names:
            store.add_reviewer(name, password=f"{name}-password")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    server = Server(db, port, work / "server.log")
    results: dict[str, dict] = {}
    history: dict[str, list] = {}
    try:
        server.start()
        print(
            f"{len(claims):,} real claims queued; baseline: 1 reviewer for {args.baseline_seconds:g} s",
            flush=True,
        )
        logs, wall = run_phase(base, names[:1], args.baseline_seconds)
        results["baseline"] = {**summarise(logs, wall), **verify(db, logs, history)}
        print(results["baseline"], flush=True)

        print(f"load: {args.reviewers} reviewers for {args.seconds:g} s", flush=True)
        logs, wall = run_phase(base, names, args.seconds)
        results["load"] = {
            **summarise(logs, wall),
            **verify(db, logs, history),
            "load_avg": os.getloadavg()[0],
        }
        print(results["load"], flush=True)

        restart: dict[str, float] = {}

        def crash() -> None:
            server.kill9()
            restart["seconds"] = server.start()

        print(
            f"crash: {args.reviewers} reviewers for {args.crash_seconds:g} s, kill -9 at the half", flush=True
        )
        logs, wall = run_phase(base, names, args.crash_seconds, on_half=crash)
        results["crash"] = {
            **summarise(logs, wall),
            **verify(db, logs, history),
            "restart_s": restart["seconds"],
        }
        print(results["crash"], flush=True)
    finally:
        server.stop()
    if not args.no_report:
        write_report(args, results, len(claims))


def write_report(args, r: dict, n_claims: int) -> None:
    def row(label: str, x: dict) -> str:
        return (
            f"| {label} | {x['decisions']:,} | {x['undos']:,} | {x['per_s']:.1f} | {x['p50_ms']:.0f} | "
            f"{x['p95_ms']:.0f} | {x['5xx']} | {x['lost']} | {x['duplicated']} | {x['state_mismatch']} |"
        )

    cmd = "benchmarks/bench_review_load.py"
    if (args.reviewers, args.seconds) != (20, 60.0):
        cmd += f" --reviewers {args.reviewers} --seconds {args.seconds:g}"
    crash = r["crash"]
    update_section(
        "review",
        f"""
## Review app: {args.reviewers} concurrent reviewers, then kill -9 mid-load (issue 5)

`.venv/bin/python {cmd}` on {machine()}, {now()}.
A real `patentlab serve` subprocess on 127.0.0.1, SQLite store in WAL mode with `synchronous=FULL`,
{n_claims:,} real bundled claims. Each reviewer logs in through the form (scrypt, CSRF) and loops:
fetch queue, post a label (about 1 in 10 followed by an undo), retrying with the same request id on
connection errors. Latency covers every request (queue, label, undo). The machine was shared
with other jobs (1-minute load average {r["load"]["load_avg"]:.1f} on {os.cpu_count()} cores during the
load phase), so the rates are a floor; the correctness columns are what this benchmark is for.

| phase | decisions acked | undos | decisions/s | p50 ms | p95 ms | 5xx | lost | duplicated | mismatches |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|
{row(f"baseline: 1 reviewer, {args.baseline_seconds:g} s", r["baseline"])}
{row(f"{args.reviewers} reviewers, {args.seconds:g} s", r["load"])}
{row(f"{args.reviewers} reviewers, {args.crash_seconds:g} s, kill -9 at {args.crash_seconds / 2:g} s", crash)}

Crash phase: the server was killed with SIGKILL and restarted ({crash["restart_s"]:.1f} s until it answered
again); clients retried {crash["retries"]:,} times through the outage and {crash["replayed"]:,} retried
requests turned out to have been committed before the kill (answered as duplicates, not recorded
twice). *Lost* counts acknowledged requests missing from the audit log; *duplicated* counts request
ids recorded more than once; *state mismatches* compare each reviewer's current labels with the
replay of what the server acknowledged to them.
""",
    )


if __name__ == "__main__":
    main()

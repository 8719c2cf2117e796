"""``patentlab review …``: reviewers, the queue, agreement and the export of gold labels."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from patentlab import console

app = typer.Typer(
    help="Human review of agent suggestions: reviewers, queue, agreement, gold-label export.",
    no_args_is_help=True,
)

DEFAULT_DB = "sqlite:///runs/review.db"
DB_OPTION = typer.Option(
    DEFAULT_DB, "--db", envvar="PATENTLAB_REVIEW_DB", help="Database URL or SQLite file path."
)


def _store(db: str):
    from patentlab.review.store import ReviewStore

    return ReviewStore(db)


@app.command("add-user")
def add_user(
    name: str = typer.Argument(..., help="Login name (letters, digits, _ . @ -)."),
    db: str = DB_OPTION,
    admin: bool = typer.Option(False, "--admin", help="May export gold labels and settle conflicts."),
    token: bool = typer.Option(
        False, "--token", help="Create an API token (printed once) instead of a password."
    ),
    password_stdin: bool = typer.Option(False, help="Read the password from stdin (for scripts)."),
) -> None:
    """Add a reviewer (or reset their password/token). Passwords are stored as scrypt hashes."""
    password = None
    if not token:
        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with _store(db) as store:
        plain = store.add_reviewer(
            name, role="admin" if admin else "reviewer", password=password, token=token
        )
    role = "admin" if admin else "reviewer"
    if plain:
        console.out.print(f"{role} '{name}' added; API token (shown once): {plain}")
    else:
        console.out.print(f"{role} '{name}' added")


@app.command("import")
def import_queue(
    queue: Path = typer.Argument(..., help="Queue: agents' output, an active-learning queue, or a gold CSV."),
    db: str = DB_OPTION,
    reviews_per_claim: int = typer.Option(2, help="Reviewers wanted per claim (2 gives Cohen's kappa)."),
) -> None:
    """Add claims to the review queue (id, text, p_green, u, advocate, skeptic, judge fields)."""
    with _store(db) as store:
        report = store.import_queue(queue, wanted_reviews=reviews_per_claim)
    console.out.print(f"{report.added} claims added, {report.updated} updated; {report.total} in the queue")


@app.command()
def export(
    out: Path = typer.Argument(..., help="Gold labels file: .csv or .parquet."),
    db: str = DB_OPTION,
    policy: str = typer.Option("admin", help="Conflict policy: admin, majority or unanimous."),
) -> None:
    """Export gold labels with provenance (reviewers, time, the agents' suggestion)."""
    from patentlab.review.gold import export_gold

    with _store(db) as store:
        rows, conflicts = export_gold(store, out, policy=policy)
    console.out.print(f"{rows} gold labels written to {out}")
    if conflicts:
        console.err.print(
            f"{len(conflicts)} claims left out as unresolved conflicts: {', '.join(conflicts[:10])}"
        )


@app.command()
def agreement(db: str = DB_OPTION) -> None:
    """Cohen's kappa on claims reviewed twice, LLM override rate, per-reviewer counts."""
    from patentlab.review.agreement import agreement_report

    with _store(db) as store:
        report = agreement_report(store.decisions())
    print_agreement(report)


@app.command()
def audit(
    out: Path = typer.Argument(..., help="Audit log file: .csv or .parquet."), db: str = DB_OPTION
) -> None:
    """Write the append-only audit log (every label and undo) to a file."""
    from patentlab.errors import PatentlabError
    from patentlab.storage import atomic_path

    if out.suffix.lower() not in (".csv", ".parquet"):
        raise PatentlabError("write the audit log to a .csv or .parquet file", path=out)
    with _store(db) as store:
        log = store.audit_log()
    with atomic_path(out) as tmp:
        log.to_csv(tmp, index=False) if out.suffix.lower() == ".csv" else log.to_parquet(tmp, index=False)
    console.out.print(f"{len(log)} audit events written to {out}")


def _fmt(value: float | None, pattern: str = "{:.3f}") -> str:
    return "n/a" if value is None else pattern.format(value)


def print_agreement(report: dict) -> None:
    console.out.print(
        f"{report['decisions']} decisions on {report['claims_reviewed']} claims; "
        f"{report['claims_reviewed_twice']} reviewed by two or more; pooled Cohen's kappa "
        f"{_fmt(report['pooled_kappa'])}; humans overrode the LLM on {report['overrides']} of "
        f"{report['decisions_with_suggestion']} ({_fmt(report['override_rate'], '{:.1%}')})"
    )
    if report["pairs"]:
        rows = [[p["reviewers"], p["n"], f"{p['agreement']:.1%}", _fmt(p["kappa"])] for p in report["pairs"]]
        console.out.print(
            console.table("Agreement per pair", ["reviewers", "shared claims", "agree", "kappa"], rows)
        )
    rows = [
        [
            r["reviewer"],
            r["role"],
            r["decisions"],
            r["green"],
            r["not_green"],
            r["overrides"],
            _fmt(r["override_rate"], "{:.1%}"),
        ]
        for r in report["per_reviewer"]
    ]
    header = ["reviewer", "role", "decisions", "green", "not green", "overrides", "override rate"]
    console.out.print(console.table("Per reviewer", header, rows))

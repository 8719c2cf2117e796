"""``patentlab publish …`` and ``patentlab contribute …``: prior art in a signed, verifiable log."""

from __future__ import annotations

from pathlib import Path

import typer

from patentlab import console
from patentlab.errors import PatentlabError


def _fail(message: str) -> PatentlabError:
    """A one-line failure with exit status 1 (the checks ran; something did not pass)."""
    error = PatentlabError(message)
    error.exit_code = 1
    return error


app = typer.Typer(
    help="Publish accepted inventions as searchable, verifiable prior art.", no_args_is_help=True
)
contribute_app = typer.Typer(
    help="Contribute generations from anywhere: make a key, pack a signed bundle.", no_args_is_help=True
)

KeyOption = typer.Option(
    None, "--key", help="The publisher's Ed25519 key (PEM; made on first use). Default: <out>.publisher.key."
)


@app.command("run")
def run_cmd(
    vetted: Path = typer.Argument(..., help="A `patentlab vet run` output folder."),
    out: Path = typer.Option(Path("published"), help="The publication folder (created or extended)."),
    title: str = typer.Option(None, help="The site's title."),
    key: Path = KeyOption,
    base_url: str = typer.Option(None, help="The site's public address, for the sitemap and meta tags."),
    doc_url: str = typer.Option(None, help="Link to a cited document, with {id} (default /search/doc/{id})."),
) -> None:
    """Log accepted inventions (ids, timestamps, provenance), sign a tree head, rebuild the site."""
    from patentlab.publish.publish import SITE_DIR, publish

    report = publish(vetted, out, title=title, key=key, base_url=base_url, doc_url=doc_url)
    head = report.tree_head or {}
    console.out.print(
        f"published {report.new} new of {report.accepted} accepted "
        f"({report.already_published} already published); {report.total} in {out}; "
        f"tree head: size {head.get('tree_size', 0)}, root {str(head.get('root_hash', ''))[:16]}…; "
        f"site: {out / SITE_DIR / 'index.html'}"
    )


@app.command("verify")
def verify_cmd(
    folder: Path = typer.Argument(Path("published"), help="A publication folder."),
    invention: list[str] = typer.Option(
        [], "--id", help="Check this invention's inclusion proof (repeatable)."
    ),
    since: Path = typer.Option(None, help="A tree head saved earlier (JSON) that the log must extend."),
    trusted_key: str = typer.Option(None, help="The publisher's public key (hex) to trust."),
    files: bool = typer.Option(True, help="Also rebuild and compare the site and exports."),
) -> None:
    """Check inclusion proofs, consistency between tree heads, signatures and every published byte."""
    from patentlab.publish.verify import verify_publication

    report = verify_publication(folder, ids=invention, since=since, trusted_key=trusted_key, files=files)
    for note in report.notes:
        console.out.print(f"note: {note}")
    for invention_id in report.proven:
        console.out.print(f"inclusion proof OK: {invention_id}")
    if report.problems:
        for problem in report.problems:
            typer.secho(f"altered: {problem}", err=True, fg=typer.colors.RED)
        raise _fail(f"{folder}: verification failed ({len(report.problems)} problems above)")
    console.out.print(
        f"OK: {report.signed} entries under {report.heads} signed tree heads; signatures, "
        "consistency and derived files verified"
    )


@app.command("accept")
def accept_cmd(
    bundles: list[Path] = typer.Argument(..., help="Contributor bundles (from `patentlab contribute pack`)."),
    out: Path = typer.Option(Path("published"), help="The publication folder."),
    training: str = typer.Option(
        None, help="Novelty data: the generator's training data (default: the bundled full records)."
    ),
    index: Path = typer.Option(None, help="A search index for the obviousness map, when vet supports it."),
    key: Path = KeyOption,
) -> None:
    """Verify each bundle's signature, re-vet it, de-duplicate, and publish what passes."""
    from patentlab.publish.accept import accept_bundles

    report = accept_bundles(bundles, out, training=training, index=index, key=key)
    for b in report.bundles:
        if b.reason:
            typer.secho(f"rejected bundle {b.path}: {b.reason}", err=True, fg=typer.colors.RED)
            continue
        console.out.print(f"bundle {b.path}: {b.accepted} accepted, {len(b.rejected)} rejected")
        for row, (invention, reason) in sorted(b.rejected.items()):
            console.out.print(f"  rejected {b.path} generation {row} ({invention or 'unparsed'}): {reason}")
    console.out.print(f"published {report.published} new inventions into {out}")
    refused = [b.path for b in report.bundles if b.reason]
    if refused:
        raise _fail(f"{len(refused)} of {len(report.bundles)} bundles refused: {', '.join(refused)}")


@contribute_app.command("keygen")
def keygen_cmd(
    out: Path = typer.Argument(Path("contributor.key"), help="Where to write the private key (PEM)."),
) -> None:
    """Make an Ed25519 key pair: OUT (private, mode 0600) and OUT.pub (public, hex)."""
    from patentlab.publish.keys import generate_key, public_hex

    key = generate_key(out)
    console.out.print(f"wrote {out} and {out}.pub; public key {public_hex(key)}")


@contribute_app.command("pack")
def pack_cmd(
    generations: Path = typer.Argument(..., help="A generations file (.jsonl with its .meta.json)."),
    key: Path = typer.Option(..., "--key", help="Your private key (from `patentlab contribute keygen`)."),
    out: Path = typer.Option(None, help="The bundle file (default: <generations stem>.bundle.json)."),
    model: Path = typer.Option(
        None, help="The model folder, to hash its weights when the metadata lacks it."
    ),
) -> None:
    """Write a signed bundle: generations, weights hash, sampling parameters, seeds, your public key."""
    from patentlab.publish.contribute import pack_bundle

    out = out or generations.with_name(generations.name.removesuffix(".jsonl") + ".bundle.json")
    bundle = pack_bundle(generations, key, out, model=model)
    console.out.print(f"wrote {out}: {bundle['n']} generations, bundle id {bundle['bundle_id'][:16]}…")

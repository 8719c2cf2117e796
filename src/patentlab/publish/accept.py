"""``patentlab publish accept``: publish contributors' bundles after checking everything again.

For each bundle, in order: read it (a corrupted file is refused), check the contributor's
signature and every generation against its signed hash (bad signature, tampered content), refuse
a bundle whose acceptance already finished, drop generations already published or repeated
inside the bundle, re-run the vet step (:func:`patentlab.vet.vetting.vet_generations`: structure,
novelty against the same training data, and the obviousness map when vet makes one), and
publish what passes with the contributor and bundle recorded in the log.

Each invention is one log line, so acceptance is all or nothing per invention; a bundle is
marked finished only after its entries and tree head are durable, so a run killed midway is
completed by running it again (what it already logged counts as accepted, nothing twice).
"""

from __future__ import annotations

import inspect
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patentlab import console
from patentlab.generate.generations import read_generations, write_generations
from patentlab.generate.parse import parse_patent
from patentlab.publish.contribute import BundleRejected, bundle_generations, read_bundle
from patentlab.publish.ids import content_id
from patentlab.publish.log import PublicationLog
from patentlab.publish.publish import publish_records, to_published, utc_now
from patentlab.vet.novelty import NoveltyConfig, NoveltyIndex, load_training_documents
from patentlab.vet.vetting import drop_cut_claim, read_vetted, vet_generations

OBVIOUS = "obvious_combination"


@dataclass
class BundleOutcome:
    """What happened to one bundle: a bundle-level ``reason``, or per-generation decisions."""

    path: str
    bundle_id: str | None = None
    contributor: str | None = None
    reason: str | None = None
    accepted_ids: list[str] = field(default_factory=list)
    #: generation row -> (invention id or None, reason)
    rejected: dict[int, tuple[str | None, str]] = field(default_factory=dict)

    @property
    def accepted(self) -> int:
        return len(self.accepted_ids)


@dataclass
class AcceptReport:
    bundles: list[BundleOutcome]
    published: int


def obviousness_reason(obviousness: dict[str, Any] | None) -> str | None:
    """Why an invention is not an obvious combination (None when it is, or when no map was made)."""
    if not obviousness:
        return None
    cls = obviousness.get("class")
    if cls == OBVIOUS:
        return None
    docs = ", ".join(str(d) for d in obviousness.get("combination") or [])
    if cls == "anticipated":
        return f"not obvious: anticipated by {docs or 'one real document'} (not novel)"
    if cls == "unsupported":
        return "not obvious: an element of claim 1 has no support in the corpus (unsupported)"
    return f"not obvious: class {cls!r}"


def _vet_reason(row: dict[str, Any]) -> str | None:
    failures = row.get("failures") or {}
    if "reproduction" in failures:
        return f"reproduction: {failures['reproduction']}"
    if failures:
        code, message = next(iter(failures.items()))
        return f"failed check '{code}': {message}"
    return obviousness_reason(row.get("obviousness"))


def _vet_kwargs(index: Any, options: dict[str, Any] | None) -> dict[str, Any]:
    """The search index (the obviousness map against the corpus) and options, as far as vet takes them."""
    accepted = inspect.signature(vet_generations).parameters
    kwargs = {k: v for k, v in (options or {}).items() if k in accepted}
    if index is not None and "index" in accepted:
        kwargs["index"] = index
    return kwargs


def accept_bundle(
    path: str | Path,
    out_dir: str | Path,
    novelty: NoveltyIndex,
    *,
    index: Any = None,
    key: str | Path | None = None,
    timestamp: str | None = None,
    vet_options: dict[str, Any] | None = None,
) -> BundleOutcome:
    """Check, re-vet and publish one bundle; see the module docstring for the order of checks."""
    outcome = BundleOutcome(path=str(path))
    try:
        bundle = read_bundle(path)
    except BundleRejected as exc:
        outcome.reason = str(exc)
        return outcome
    manifest = bundle["manifest"]
    outcome.bundle_id, outcome.contributor = bundle["bundle_id"], manifest["contributor"]
    log = PublicationLog.read(out_dir)
    if outcome.bundle_id in log.finished_bundles():
        outcome.reason = f"bundle already accepted (bundle id {outcome.bundle_id[:16]}…)"
        return outcome
    published = log.ids()
    now = timestamp or utc_now()
    with tempfile.TemporaryDirectory(prefix="patentlab-accept-") as tmp:
        rows, meta = read_generations(bundle_generations(bundle, Path(tmp) / "bundle.jsonl"))
        first_of: dict[str, int] = {}
        mine: list[str] = []  # logged by an interrupted run of this same bundle
        unique: list[int] = []
        # Rows vetted for context only: already published, they are vetted with the rest so that
        # the batch-level gates (realism) judge the bundle as it was generated, not a remnant.
        context: list[int] = []
        same_text: dict[str, int] = {}  # exact copies are caught before parsing: big bundles stay cheap
        id_of: dict[int, str | None] = {}
        for i, row in enumerate(rows):
            if row.text in same_text:
                j = same_text[row.text]
                outcome.rejected[i] = (id_of[j], f"duplicate of generation {j} in this bundle")
                continue
            same_text[row.text] = i
            parsed = drop_cut_claim(parse_patent(row.text, finished=row.finished))
            invention = content_id(parsed.title, parsed.abstract, parsed.claims) if parsed.claims else None
            id_of[i] = invention
            if invention and invention in published:
                context.append(i)
                entry = published[invention]
                if entry.bundle == outcome.bundle_id:
                    mine.append(invention)
                else:
                    outcome.rejected[i] = (
                        invention,
                        f"already published as {invention} at {entry.published_at}",
                    )
            elif invention and invention in first_of:
                outcome.rejected[i] = (
                    invention,
                    f"duplicate of generation {first_of[invention]} in this bundle",
                )
            else:
                if invention:
                    first_of[invention] = i
                unique.append(i)
        records = []
        if unique:
            vetted_rows = sorted(unique + context)
            gens = write_generations(
                Path(tmp) / "unique.jsonl",
                [bundle["generations"][i] for i in vetted_rows],
                bundle["manifest"]["meta"] or {},
            )
            vet_generations(
                gens, novelty, Path(tmp) / "vetted", show_progress=False, **_vet_kwargs(index, vet_options)
            )
            vetted, summary = read_vetted(Path(tmp) / "vetted")
            generation = summary.get("generation") or meta
            new = set(unique)
            for row_no, row in zip(vetted_rows, vetted, strict=True):
                if row_no not in new:
                    continue
                reason = _vet_reason(row)
                record = (
                    to_published(row, generation, now, contributor=outcome.contributor)
                    if row["parsed"]["claims"]
                    else None
                )
                if reason or record is None:
                    outcome.rejected[row_no] = (record["id"] if record else None, reason or "no claims")
                else:
                    record["provenance"]["row"] = row_no  # the row in the bundle, not in the vetted subset
                    records.append(record)

    def finish(log: PublicationLog, signer: Any) -> None:
        log.record_bundle(
            {
                "bundle": outcome.bundle_id,
                "contributor": outcome.contributor,
                "accepted_at": now,
                "accepted": sorted(set(mine) | {r["id"] for r in records}),
                "rejected": {str(k): v[1] for k, v in sorted(outcome.rejected.items())},
            },
            signer,
        )

    new_ids, _ = publish_records(
        records, out_dir, key=key, timestamp=now, contributor=outcome.contributor, bundle=outcome.bundle_id,
        on_logged=finish,
    )  # fmt: skip
    outcome.accepted_ids = sorted(set(mine) | set(new_ids))
    return outcome


def accept_bundles(
    paths: Sequence[str | Path],
    out_dir: str | Path,
    *,
    training: str | Path | NoveltyIndex | None = None,
    novelty: NoveltyConfig | None = None,
    index: Any = None,
    key: str | Path | None = None,
    vet_options: dict[str, Any] | None = None,
) -> AcceptReport:
    """Accept several bundles into ``out_dir``, fitting the novelty index once for all of them.

    ``vet_options`` go to :func:`~patentlab.vet.vetting.vet_generations` (its thresholds); by
    default every check runs with its calibrated settings, as in ``patentlab vet run``.
    """
    from patentlab.data import sample_path

    if isinstance(training, NoveltyIndex):
        novelty_index = training
    else:
        docs = load_training_documents(training or sample_path("full_records_334.jsonl"))
        novelty_index = NoveltyIndex(novelty or NoveltyConfig()).fit(docs, show_progress=False)
    outcomes = []
    for n, path in enumerate(paths, 1):
        if len(paths) > 1:
            console.err.print(f"bundle {n}/{len(paths)}: {path}")
        outcomes.append(
            accept_bundle(path, out_dir, novelty_index, index=index, key=key, vet_options=vet_options)
        )
    return AcceptReport(outcomes, sum(o.accepted for o in outcomes))

"""Vet a batch of generations: checks, novelty, diversity, green scores, hit rate and cost.

:func:`vet_generations` is the library entry point behind ``patentlab vet run``. It writes::

    out_dir/
      vetted.jsonl     one row per generation: parsed fields, failures by reason code, novelty,
                       p_green (accepted ones), accepted yes/no
      summary.json     hit rate, funnel, failure counts, diversity, green counts, cost
      report.md        the same for people, with the funnel
      funnel.png
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from patentlab.corpus.schema import Y02_CATEGORIES
from patentlab.errors import PatentlabError
from patentlab.generate.generations import Generation, read_generations
from patentlab.generate.parse import ParsedPatent, parse_patent
from patentlab.jsonl import iter_objects, write_objects
from patentlab.storage import atomic_dir, write_json
from patentlab.vet.checks import ALL_CODES, CheckConfig, Evidence, apply_checks, run_checks
from patentlab.vet.coherence import CoherenceConfig, SectionCoherence
from patentlab.vet.cost import Prices, StageCost, Stopwatch, cost_summary
from patentlab.vet.diversity import batch_diversity
from patentlab.vet.novelty import NoveltyConfig, NoveltyIndex, load_training_documents, patent_text
from patentlab.vet.obviousness import ObviousnessConfig, map_accepted
from patentlab.vet.obviousness import summary as obviousness_summary
from patentlab.vet.realism import realism_control, realism_share

if TYPE_CHECKING:
    from patentlab.classify.family import Classifier

VETTED_FILE = "vetted.jsonl"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.md"
FUNNEL_PNG = "funnel.png"
#: The funnel's stages: every check of the family (:data:`patentlab.vet.checks.CHECKS`) in order.
#: "anticipated" and "unsupported" (the obviousness map) run only when an index is given;
#: otherwise they remove none.
FUNNEL_CODES: tuple[str, ...] = ALL_CODES
GREEN_THRESHOLD = 0.5


@dataclass
class VettedInvention:
    """One generation after vetting."""

    index: int
    text: str
    prompt: str
    seed: int | None
    new_tokens: int | None
    finished: bool | None
    parsed: dict[str, Any]
    failures: dict[str, str]
    stats: dict[str, Any]
    novelty: dict[str, Any]
    p_green: float | None = None
    y02: dict[str, float] | None = None
    obviousness: dict[str, Any] | None = None  # the obviousness map (vet/obviousness.py)
    topic: dict[str, Any] | None = None  # the generation's topic, for the provenance
    coherence: dict[str, float] | None = None  # section pair cosines (vet/coherence.py)
    p_real: float | None = None  # out-of-fold P(real) of the realism classifier (vet/realism.py)
    #: What a grounded ("combine") generation was built from: references, elements, rationale.
    combination: dict[str, Any] | None = None

    @property
    def accepted(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "accepted": self.accepted}


@dataclass
class VetReport:
    """What :func:`vet_generations` found, as written to ``summary.json``."""

    n_generated: int
    n_accepted: int
    hit_rate: float
    funnel: list[dict[str, Any]]
    failures: dict[str, int]
    diversity: dict[str, Any]
    diversity_accepted: dict[str, Any]
    green: dict[str, Any]
    cost: dict[str, Any]
    generation: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    obviousness: dict[str, Any] = field(default_factory=dict)
    realism: dict[str, Any] = field(default_factory=dict)
    out_dir: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def funnel(failures: Sequence[dict[str, str]]) -> list[dict[str, Any]]:
    """How many inventions survive each check in turn, and how many each check removes.

    An invention leaves the funnel at its *first* failing check, so the removed counts add up to
    the rejected total; ``failed`` counts every invention that fails a check, first or not.
    """
    remaining = len(failures)
    rows = []
    for code in FUNNEL_CODES:
        removed = sum(1 for f in failures if f and next(iter(f)) == code)
        remaining -= removed
        rows.append(
            {
                "check": code,
                "removed": removed,
                "remaining": remaining,
                "failed": sum(1 for f in failures if code in f),
            }
        )
    return rows


def _novelty_text(parsed: ParsedPatent, row: Generation) -> str:
    text = patent_text(parsed.title, parsed.abstract, parsed.claims)
    # Unparseable output is still compared, as what the model wrote after the prompt.
    return text or row.text.removeprefix(row.prompt)


def drop_cut_claim(parsed: ParsedPatent) -> ParsedPatent:
    """Drop a last claim that the token limit cut off, when complete claims remain before it.

    A top-down generation that hits the limit inside claim 5 still discloses claims 1-4 in
    full; publishing those is sound, publishing half a sentence is not. Any other truncation
    (a cut abstract, or claim 1 itself) is left for the ``sections`` check to reject.
    """
    if parsed.truncated == ["claims"] and len(parsed.claims) > 1:
        parsed.claims, parsed.claim_numbers = parsed.claims[:-1], parsed.claim_numbers[:-1]
        parsed.truncated = []
        parsed.problems.append("the last claim was cut off by the token limit (dropped)")
    return parsed


def score_green(model: Classifier, inventions: Sequence[VettedInvention]) -> None:
    """Set ``p_green`` (and ``y02`` where the model has a Y02 head) on each invention, from claim 1."""
    from patentlab.classify.family import predict

    if not inventions:
        return
    texts = [
        inv.parsed["claims"][0] if inv.parsed["claims"] else inv.parsed["abstract"] or ""
        for inv in inventions
    ]
    prediction = predict(model, texts)
    probs, y02 = prediction.proba, prediction.y02
    for i, inv in enumerate(inventions):
        inv.p_green = round(float(probs[i, 1]), 4)
        if y02 is not None:
            inv.y02 = {c: round(float(p), 4) for c, p in zip(Y02_CATEGORIES, y02[i], strict=True)}


def _generation_cost(meta: dict[str, Any], rows: Sequence[Generation]) -> StageCost | None:
    cost = meta.get("cost") or {}
    tokens = sum(r.new_tokens or 0 for r in rows)
    if not cost:
        return None
    return StageCost(
        wall_seconds=float(cost.get("wall_seconds", 0.0)),
        cpu_seconds=float(cost.get("cpu_seconds", 0.0)),
        gpu_seconds=float(cost.get("gpu_seconds", 0.0)),
        tokens=int(cost.get("tokens", tokens)),
    )


def _coherence_config(coherence: CoherenceConfig | bool) -> CoherenceConfig:
    return coherence if isinstance(coherence, CoherenceConfig) else CoherenceConfig()


def _coherence(
    parsed: Sequence[ParsedPatent], coherence: CoherenceConfig | bool, novelty_index: NoveltyIndex
) -> list[tuple[str | None, dict[str, float] | None]]:
    """The coherence check of every invention, embedded in one batch (``(None, None)`` when off)."""
    if coherence is False:
        return [(None, None)] * len(parsed)
    config, nov = _coherence_config(coherence), novelty_index.config
    # The novelty index already holds the same encoder more often than not: reuse it.
    same = nov.encoder == config.encoder and nov.max_length == config.max_length
    return SectionCoherence(config, embed=novelty_index.embed if same else None).check(parsed)


def _realism(
    inventions: Sequence[VettedInvention],
    parsed: Sequence[ParsedPatent],
    texts: Sequence[str],
    novelty_index: NoveltyIndex,
    index: str | Path | Any | None,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The realism score and the inputs of its control (:func:`realism_control`); sets ``p_real``.

    An ungrounded batch (the model wrote everything) is compared, whole, with the generator's
    training documents. A grounded batch (``combine``: the claims are real elements, the model
    wrote the title and abstract) is compared on what the model wrote, the abstract, with real
    abstracts from the index in the same CPC subclasses as its base patents: a real side from
    other fields would be told apart by its topic, not by how it reads.
    """
    grounded = any(inv.combination for inv in inventions)
    matched = _field_abstracts(index, inventions) if grounded and index is not None else None
    if matched:
        generated = [p.abstract or "" for p in parsed]
        real, groups = [text for _, text in matched], [doc_id for doc_id, _ in matched]
        reference = "abstracts in the same CPC subclasses (index)"
    else:
        documents = getattr(novelty_index, "documents", None) or []
        generated = [patent_text(p.title, p.abstract, []) for p in parsed] if grounded else list(texts)
        real = [(d.front if grounded else d.text) for d in documents]
        groups = [d.id for d in documents]
        reference = "training documents" + (" (title and abstract)" if grounded else "")
    result = realism_share(generated, real, [inv.accepted for inv in inventions], real_groups=groups)
    if result.computed:
        for inv, p in zip(inventions, result.p_real, strict=True):
            inv.p_real = p
    summary = {k: v for k, v in result.to_dict().items() if k != "p_real"}
    # What real texts score in the generations' place, from the same real side (see
    # realism_control); computed after vetting's stopwatch: it measures, it judges nothing.
    control = (
        {"real": real, "real_groups": groups, "n": result.n_generated, "max_chars": result.max_chars}
        if result.computed
        else None
    )
    # "share": the realism share of the report
    return {"share": result.share_accepted, "reference": reference, **summary}, control


#: Real abstracts drawn for the realism score of a grounded batch (spread over its subclasses).
FIELD_ABSTRACTS = 400


def _field_abstracts(index: str | Path | Any, inventions: Sequence[VettedInvention]) -> list[tuple[str, str]]:
    """(doc id, abstract) of real documents in the CPC subclasses of the batch's base patents,
    each subclass in proportion to its inventions (a seeded sample)."""
    import math
    import random
    from collections import Counter

    from patentlab.index.filters import SearchFilters
    from patentlab.index.hybrid import SearchIndex

    subclasses = Counter((inv.combination or {}).get("cpc") for inv in inventions)
    subclasses.pop(None, None)
    if not subclasses:
        return []
    rng, out = random.Random(0), []
    with contextlib.ExitStack() as stack:
        search = index if isinstance(index, SearchIndex) else stack.enter_context(SearchIndex.open(index))
        for subclass, count in sorted(subclasses.items()):
            filters = SearchFilters(doc_types=("granted", "application", "unknown"), cpc_prefix=subclass)
            rowids = [int(r) for r in search.store.matching_rowids(filters)]
            rng.shuffle(rowids)
            quota = math.ceil(FIELD_ABSTRACTS * count / sum(subclasses.values()))
            found: list[tuple[str, str]] = []
            for start in range(0, len(rowids), 200):
                docs = search.store.get_many(rowids[start : start + 200]).values()
                found += [(d["id"], d["abstract"]) for d in docs if (d.get("abstract") or "").strip()]
                if len(found) >= quota:
                    break
            out += found[:quota]
    return out


def vet_generations(
    generations: str | Path,
    training: str | Path | NoveltyIndex,
    out_dir: str | Path,
    *,
    checks: CheckConfig | None = None,
    novelty: NoveltyConfig | None = None,
    classifier: str | Path | Classifier | None = None,
    prices: Prices | None = None,
    keep_complete_claims: bool = True,
    show_progress: bool = True,
    index: str | Path | Any | None = None,
    obviousness: ObviousnessConfig | None = None,
    coherence: CoherenceConfig | bool = True,
    realism: bool = True,
) -> VetReport:
    """Vet every generation in ``generations`` and write the results into ``out_dir``.

    Args:
        generations: a generations JSONL file (see :mod:`patentlab.generate.generations`).
        training: the generator's training data (build-data dir, corpus dir or file), or an
            already fitted :class:`NoveltyIndex`.
        out_dir: where ``vetted.jsonl``, ``summary.json``, ``report.md`` and ``funnel.png`` go.
        checks, novelty: thresholds (defaults calibrated on real granted patents).
        classifier: a classifier folder or object; accepted inventions get ``p_green``.
        prices: dollars per CPU-hour and GPU-hour for the cost figures.
        keep_complete_claims: vet a text whose last claim was cut off by the token limit on
            its complete claims (see :func:`drop_cut_claim`) instead of rejecting it.
        index: a built retrieval index (``patentlab search index``) of the real corpus: accepted
            inventions get the obviousness map (:mod:`patentlab.vet.obviousness`), anticipated
            ones are rejected as ``"anticipated"``, and the report counts obvious combinations
            per CPU-second.
        obviousness: the map's thresholds (defaults calibrated on real granted claims).
        coherence: the section coherence check's config (True: the calibrated defaults; False
            skips it). It embeds every complete invention's title, abstract and claim 1 in one batch.
        realism: train a real-vs-generated classifier out of fold against the training documents
            and report the share of accepted inventions it takes for real (see
            :mod:`patentlab.vet.realism`; needs 8+ generations).
    """
    from patentlab.vet.report import plot_funnel, write_report

    checks = checks or CheckConfig()
    prices = prices or Prices()
    rows, meta = read_generations(generations)
    vet_time = Stopwatch()
    with vet_time:
        if isinstance(training, NoveltyIndex):
            novelty_index = training
        else:
            novelty_index = NoveltyIndex(novelty).fit(
                load_training_documents(training), show_progress=show_progress
            )
        parsed = [parse_patent(r.text, finished=r.finished) for r in rows]
        if keep_complete_claims:
            parsed = [drop_cut_claim(p) for p in parsed]
        texts = [_novelty_text(p, r) for p, r in zip(parsed, rows, strict=True)]
        results = [run_checks(p, checks) for p in parsed]
        coherence_results = _coherence(parsed, coherence, novelty_index)
        novelty_results = novelty_index.query(texts, show_progress=show_progress)
        evidence = [
            Evidence(p, res.stats, checks, novelty=nov, coherence=coh[0])
            for p, res, nov, coh in zip(parsed, results, novelty_results, coherence_results, strict=True)
        ]
        inventions = []
        for i, (row, p, res, nov) in enumerate(zip(rows, parsed, results, novelty_results, strict=True)):
            inventions.append(
                VettedInvention(
                    index=i,
                    text=row.text,
                    prompt=row.prompt,
                    seed=row.seed,
                    new_tokens=row.new_tokens,
                    finished=row.finished,
                    parsed={
                        "title": p.title,
                        "abstract": p.abstract,
                        "claims": p.claims,
                        "claim_numbers": p.claim_numbers,
                        "mode": p.mode,
                        "problems": p.problems,
                    },
                    failures={**res.failures, **apply_checks(evidence[i], ("coherence", "novelty"))},
                    stats=res.stats,
                    novelty=nov.to_dict(),
                    topic=row.topic,
                    coherence=coherence_results[i][1],
                    combination=row.combination,
                )
            )
        # The realism gate, then the map (the dearest check) on what passed everything else.
        # What the model wrote is what realism judges: for a grounded ("combine") invention the
        # abstract (its claims are real claim elements, verbatim), against real abstracts of
        # the same fields.
        realism_result, control = (
            _realism(inventions, parsed, texts, novelty_index, index) if realism else ({}, None)
        )
        for inv, ev in zip(inventions, evidence, strict=True):
            ev.p_real, ev.realism_gate = inv.p_real, realism_result.get("gate")
            inv.failures.update(apply_checks(ev, ("realism",)))
        map_time, maps = Stopwatch(), []
        if index is not None:
            with map_time:
                # Sets each map and its failures ("anticipated", "unsupported").
                maps = map_accepted(inventions, index, obviousness, show_progress=show_progress)
        accepted = [inv for inv in inventions if inv.accepted]
        if realism_result.get("computed"):
            # The headline share is of what finally passed every gate (what gets published).
            passed = [inv.p_real for inv in accepted if inv.p_real is not None]
            realism_result["share_before_gates"] = realism_result.get("share")
            realism_result["share"] = (
                round(sum(p >= 0.5 for p in passed) / len(passed), 4) if passed else None
            )
        vectors = novelty_index.embed(texts) if novelty_index.config.encoder else None
        keep = [inv.index for inv in accepted]
        diversity = batch_diversity(texts, vectors)
        diversity_accepted = batch_diversity(
            [texts[i] for i in keep], vectors[keep] if vectors is not None else None
        )
        green: dict[str, Any] = {"scored": False}
        if classifier is not None:
            if isinstance(classifier, str | Path):
                from patentlab.classify.family import load_classifier

                classifier = load_classifier(classifier)
            score_green(classifier, accepted)
            green = {
                "scored": True,
                "threshold": GREEN_THRESHOLD,
                "accepted_green": sum(1 for inv in accepted if (inv.p_green or 0) >= GREEN_THRESHOLD),
                "y02_head": any(inv.y02 for inv in accepted),
            }
    if control:
        realism_result["control"] = realism_control(**control)
    stages = {"vet": StageCost(wall_seconds=vet_time.wall, cpu_seconds=vet_time.cpu)}
    gen_cost = _generation_cost(meta, rows)
    if gen_cost is not None:
        stages = {"generate": gen_cost, **stages}
    else:
        stages["vet"].tokens = sum(r.new_tokens or 0 for r in rows)
    n = len(inventions)
    report = VetReport(
        n_generated=n,
        n_accepted=len(accepted),
        hit_rate=round(len(accepted) / n, 4),
        funnel=funnel([inv.failures for inv in inventions]),
        failures={code: sum(1 for inv in inventions if code in inv.failures) for code in FUNNEL_CODES},
        diversity=diversity.to_dict(),
        diversity_accepted=diversity_accepted.to_dict(),
        green=green,
        cost={
            **cost_summary(stages, n, len(accepted), prices),
            "generation_cost_known": gen_cost is not None,
        },
        generation={k: v for k, v in meta.items() if k != "cost"},
        config={
            "checks": asdict(checks),
            "novelty": asdict(novelty_index.config),
            "coherence": _coherence_config(coherence).to_dict() if coherence is not False else None,
            "generations": str(generations),
            "vetted_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        },
        obviousness=obviousness_summary(
            maps,
            map_time.cpu,
            sum(s.cpu_seconds for s in stages.values()),
            obviousness or ObviousnessConfig(),
        )
        if index is not None
        else {},
        realism=realism_result,
        out_dir=str(out_dir),
    )
    with atomic_dir(out_dir) as staging:
        with open(staging / VETTED_FILE, "w", encoding="utf-8") as fh:
            write_objects(fh, (inv.to_dict() for inv in inventions))
        write_json(staging / SUMMARY_FILE, report.to_dict())
        plot_funnel(report, staging / FUNNEL_PNG)
        write_report(report, accepted, staging / REPORT_FILE)
    return report


def read_vetted(out_dir: str | Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The rows of ``vetted.jsonl`` and the ``summary.json`` of a vetting run."""
    out_dir = Path(out_dir)
    path, summary = out_dir / VETTED_FILE, out_dir / SUMMARY_FILE
    if not path.is_file() or not summary.is_file():
        raise PatentlabError(f"not a vetting run (needs {VETTED_FILE} and {SUMMARY_FILE})", path=out_dir)
    rows = [obj for _, obj in iter_objects(path)]
    return rows, json.loads(summary.read_text(encoding="utf-8"))

"""The obviousness map: which real documents disclose each element of a claim (35 U.S.C. 102/103).

An examiner rejects a claim as obvious by citing prior-art documents that together disclose
every element of it. :class:`ObviousnessMapper` does the same against the retrieval index
(:mod:`patentlab.index`), real documents only:

1. :func:`patentlab.claims.split_elements` (the claim anatomy every step shares) cuts claim 1
   into its preamble (up to the transition: "comprising", "consisting of", "including",
   "having", ...), the clauses separated by ``;`` or ``:`` (and by ``(a)``, ``(b)``
   enumerations), and each "wherein" / "whereby" clause.
2. Each element (and the whole claim) is a hybrid query; the documents found are the candidates.
   Each candidate is cut into passages as the index stores it: the elements of each of its
   claims, the sentences of its abstract, its title.
3. Element ``e`` is *covered* by document ``d`` when the cosine of ``e`` and ``d``'s closest
   passage (the index's own encoder) reaches :attr:`ObviousnessConfig.threshold`.
4. A greedy set cover picks the fewest documents that cover every element, most newly covered
   elements first (ties: the higher summed score).

The class: *anticipated* when one document covers every element (not novel: reject), *obvious
combination* when 2 to ``max_references`` documents do (the 103-style product), *unsupported*
when some element has no support, or more documents than that would be needed.

The CPC groups of an invention are voted by the real documents nearest to its claim, each
weighted by its cosine (:func:`predict_cpc`), with titles from :mod:`patentlab.cpc`.
The thresholds are calibrated on real held-out claims (``docs/vet.md``).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from patentlab import console
from patentlab.claims import clean as _clean
from patentlab.claims import split_elements
from patentlab.embed.encoder import unit_rows
from patentlab.errors import PatentlabError

if TYPE_CHECKING:
    from patentlab.index.hybrid import SearchIndex

CLASSES = ("anticipated", "obvious_combination", "unsupported")
#: Document types that count as prior art: everything in the index except our own generations.
REAL_DOC_TYPES = ("granted", "application", "unknown")

_SENTENCE = re.compile(r"(?<=[.;])\s+(?=[A-Z(])")
_GROUP = re.compile(r"^([A-HY]\d{2}[A-Z])(\d{1,4})/\d+$")
_SUBCLASS = re.compile(r"^[A-HY]\d{2}[A-Z]$")


@dataclass(frozen=True)
class ObviousnessConfig:
    """Thresholds and search depths of the map.

    Attributes:
        threshold: cosine from which a passage discloses an element (calibrated on real
            granted claims: ``docs/vet.md``).
        max_references: the most documents an obvious combination may cite.
        element_candidates: documents retrieved (hybrid) for each element; 0 searches the whole
            claim only (the baseline of ``benchmarks/bench_obviousness.py``).
        claim_candidates: documents retrieved (hybrid) for the whole claim.
        max_passages: passages kept per candidate document (its first claims first).
        min_element_words: shorter fragments are merged into the element before them.
        cpc_neighbours: real documents with CPC codes that vote on the invention's groups.
        cpc_top: most CPC groups predicted; cpc_min_share: least vote share of one.
    """

    threshold: float = 0.85
    max_references: int = 4
    element_candidates: int = 5
    claim_candidates: int = 10
    max_passages: int = 150
    min_element_words: int = 2
    cpc_neighbours: int = 10
    cpc_top: int = 3
    cpc_min_share: float = 0.15

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise PatentlabError(f"threshold must be in (0, 1], not {self.threshold}", field="threshold")
        if self.max_references < 2:
            raise PatentlabError("max_references must be at least 2", field="max_references")


@dataclass
class ElementMatch:
    """One claim element and the closest passage that supports it (None when nothing does)."""

    text: str
    doc_id: str | None
    passage: str | None
    score: float


@dataclass
class ObviousnessMap:
    """The map of one claim: its class, each element's support, the combination, the CPC groups."""

    klass: str
    elements: list[ElementMatch]
    combination: list[str]
    cpc: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The shape stored in each vetted invention (``"obviousness"``) and shown on its page."""
        return {
            "class": self.klass,
            "elements": [asdict(e) for e in self.elements],
            "combination": list(self.combination),
            "cpc": list(self.cpc),
        }


# -- elements -------------------------------------------------------------------------------------


def document_passages(doc: Mapping[str, Any], *, limit: int = 150) -> list[str]:
    """A stored document as passages: each claim's elements, the abstract's sentences, the title."""
    passages: list[str] = []
    for claim in doc.get("claims") or []:
        passages.extend(split_elements(claim))
        if len(passages) >= limit:
            break
    abstract = doc.get("abstract") or ""
    passages.extend(s for s in (_clean(x) for x in _SENTENCE.split(abstract)) if s)
    if doc.get("title"):
        passages.append(_clean(doc["title"]))
    return list(dict.fromkeys(p for p in passages if p))[:limit]


# -- set cover ------------------------------------------------------------------------------------


def greedy_cover(scores: np.ndarray, threshold: float) -> list[int]:
    """Columns (documents) that together cover the most rows (elements) of ``scores ≥ threshold``.

    Each step takes the document covering the most still-uncovered elements (ties: the higher
    summed score on them) until nothing more can be covered. Greedy set cover is within a
    ln(n) factor of the smallest cover; a claim has a handful of elements, so in practice it
    is the smallest.
    """
    covers = scores >= threshold
    uncovered = covers.any(axis=1)
    chosen: list[int] = []
    while uncovered.any():
        gain = (covers & uncovered[:, None]).sum(axis=0)
        weight = np.where(covers & uncovered[:, None], scores, 0.0).sum(axis=0)
        best = int(np.lexsort((-weight, -gain))[0])
        if gain[best] == 0:
            break
        chosen.append(best)
        uncovered &= ~covers[:, best]
    return chosen


def classify(scores: np.ndarray, threshold: float, max_references: int) -> tuple[str, list[int]]:
    """The class of a claim from its element × document scores, and the documents it cites."""
    if scores.size == 0:
        return "unsupported", []
    full = np.flatnonzero((scores >= threshold).all(axis=0))
    if full.size:
        best = int(full[np.argmax(scores[:, full].sum(axis=0))])
        return "anticipated", [best]
    chosen = greedy_cover(scores, threshold)
    supported = (scores >= threshold).any(axis=1).all()
    if supported and len(chosen) <= max_references:
        return "obvious_combination", chosen
    return "unsupported", chosen


# -- CPC ------------------------------------------------------------------------------------------


def cpc_group(code: str) -> str:
    """A CPC code at main-group level (``H01M10/0525`` -> ``H01M10/00``); subclasses stay as they are."""
    m = _GROUP.match(code)
    return f"{m.group(1)}{m.group(2)}/00" if m else code


def scheme_group(code: str) -> str | None:
    """``code``'s main group when the 2022-08 scheme has it, else its subclass, else None.

    Real patents carry retired groups (``G06F19/00``); their vote goes to the subclass, so every
    predicted code has an official title.
    """
    from patentlab.cpc import cpc_titles

    titles = cpc_titles()
    for candidate in (cpc_group(code), code[:4]):
        if candidate in titles and (_GROUP.match(candidate) or _SUBCLASS.match(candidate)):
            return candidate
    return None


def predict_cpc(
    neighbours: Iterable[tuple[Sequence[str], float]], *, top: int = 3, min_share: float = 0.15
) -> list[dict[str, Any]]:
    """Vote CPC groups from neighbours' codes, each neighbour weighted by its score.

    A group's score is the weighted share of neighbours that carry it (so a patent's several
    groups each get its full weight, and scores need not add up to 1). Ties go to the group
    listed earlier by its patents (the first CPC code is the main classification). Returns up
    to ``top`` groups with a score of at least ``min_share``, best first, as
    ``{"code", "title", "score"}``.
    """
    from patentlab.cpc import lookup

    votes: dict[str, float] = {}
    order: dict[str, float] = {}
    total = 0.0
    for codes, weight in neighbours:
        groups = list(dict.fromkeys(g for g in map(scheme_group, codes) if g))
        if not groups or weight <= 0:
            continue
        total += weight
        for position, g in enumerate(groups):
            votes[g] = votes.get(g, 0.0) + weight
            order[g] = order.get(g, 0.0) + weight / (position + 1)
    ranked = sorted(votes, key=lambda g: (-votes[g], -order[g], g))
    out = []
    for code in ranked[:top]:
        share = votes[code] / total
        if out and share < min_share:
            break
        out.append({"code": code, "title": lookup(code).words, "score": round(share, 4)})
    return out


# -- the mapper -----------------------------------------------------------------------------------


class ObviousnessMapper:
    """Map claims against a :class:`~patentlab.index.hybrid.SearchIndex` (real documents only).

    Example::

        mapper = ObviousnessMapper(SearchIndex.open("runs/demo/search"))
        m = mapper.map_claims(["1. A lamp comprising: a base; and an LED bulb."])[0]
        m.klass, m.combination, m.cpc
    """

    def __init__(self, index: SearchIndex, config: ObviousnessConfig | None = None) -> None:
        from patentlab.index.filters import SearchFilters

        self.index = index
        self.config = config or ObviousnessConfig()
        self._filters = SearchFilters(doc_types=REAL_DOC_TYPES)
        self._passages: dict[str, tuple[list[str], np.ndarray]] = {}

    def element_scores(self, claims: Sequence[str], *, show_progress: bool = False) -> list[tuple[Any, ...]]:
        """For each claim: its elements, candidate doc ids, the element × doc score matrix, the
        index of the best passage per (element, doc), and the whole claim's CPC neighbours.

        Returned as ``(elements, doc_ids, scores, best_passage, cpc_hits)`` tuples, the arguments
        of :meth:`build_map`; the calibration reuses them at many thresholds.
        """
        cfg = self.config
        split = [split_elements(c, min_words=cfg.min_element_words) for c in claims]
        queries = [e for elements in split for e in elements] + [" ".join(c.split()) for c in claims]
        vectors = (
            unit_rows(self.index.encode_queries(queries, batch_size=32))
            if queries
            else np.zeros((0, self.index.dense.dim), np.float32)
        )
        n_elements = sum(len(e) for e in split)
        element_vectors, claim_vectors = vectors[:n_elements], vectors[n_elements:]
        starts = np.cumsum([0, *(len(e) for e in split)])
        found: list[tuple[list[str], list[tuple[list[str], float]]]] = []
        bar = console.progress(transient=True)
        task = bar.add_task("obviousness map: search", total=len(claims))
        with bar if show_progress else contextlib.nullcontext():
            for i, (claim, elements) in enumerate(zip(claims, split, strict=True)):
                whole = self.index.search(
                    claim,
                    k=max(cfg.claim_candidates, cfg.cpc_neighbours * 3),
                    filters=self._filters,
                    query_vector=claim_vectors[i],
                )
                cpc_hits = [(h.cpc, float(h.dense_score)) for h in whole.hits if h.cpc and h.dense_score]
                candidates = [h.id for h in whole.hits[: cfg.claim_candidates]]
                for j in range(len(elements) if cfg.element_candidates else 0):
                    res = self.index.search(
                        elements[j],
                        k=cfg.element_candidates,
                        filters=self._filters,
                        query_vector=element_vectors[starts[i] + j],
                    )
                    candidates.extend(h.id for h in res.hits)
                found.append((list(dict.fromkeys(candidates)), cpc_hits[: cfg.cpc_neighbours]))
                bar.advance(task)
        # All candidates' passages in one encoder call: one cache write, full batches.
        self._load_passages([d for doc_ids, _ in found for d in doc_ids])
        per_claim = []
        for i, (elements, (doc_ids, cpc_hits)) in enumerate(zip(split, found, strict=True)):
            evecs = element_vectors[starts[i] : starts[i + 1]]
            scores = np.zeros((len(elements), len(doc_ids)), np.float32)
            best = np.zeros((len(elements), len(doc_ids)), np.int64)
            for j, doc_id in enumerate(doc_ids):
                _, pvecs = self._passages[doc_id]
                if len(pvecs) and len(elements):
                    sims = evecs @ pvecs.T
                    best[:, j] = sims.argmax(axis=1)
                    scores[:, j] = sims.max(axis=1)
            per_claim.append((elements, doc_ids, scores, best, cpc_hits))
        return per_claim

    def _load_passages(self, doc_ids: Sequence[str]) -> None:
        """Cut new candidates into passages and embed them all at once (the encoder's cache keeps
        them, so a document seen for an earlier invention or run costs nothing)."""
        new = [d for d in dict.fromkeys(doc_ids) if d not in self._passages]
        if not new:
            return
        texts: list[str] = []
        spans = []
        for doc_id in new:
            doc = self.index.get(doc_id) or {}
            passages = document_passages(doc, limit=self.config.max_passages)
            spans.append((doc_id, passages, len(texts)))
            texts.extend(passages)
        vectors = (
            unit_rows(
                self.index.encoder.encode(texts, show_progress=len(texts) > 2000, description="passages")
            )
            if texts
            else np.zeros((0, self.index.dense.dim), np.float32)
        )
        for doc_id, passages, start in spans:
            self._passages[doc_id] = (passages, vectors[start : start + len(passages)])

    def build_map(
        self,
        elements: list[str],
        doc_ids: list[str],
        scores: np.ndarray,
        best: np.ndarray,
        cpc_hits: Sequence[tuple[Sequence[str], float]],
        threshold: float | None = None,
    ) -> ObviousnessMap:
        """One claim's map from :meth:`element_scores` output, at ``threshold`` (the config's by default)."""
        cfg = self.config
        threshold = cfg.threshold if threshold is None else threshold
        klass, chosen = classify(scores, threshold, cfg.max_references)
        matches = []
        for e, text in enumerate(elements):
            # Cite from the combination where it covers the element; otherwise show no support.
            cols = [j for j in chosen if scores[e, j] >= threshold]
            if cols:
                j = max(cols, key=lambda c: scores[e, c])
                passages, _ = self._passages[doc_ids[j]]
                matches.append(
                    ElementMatch(text, doc_ids[j], passages[best[e, j]], round(float(scores[e, j]), 4))
                )
            else:
                top = float(scores[e].max()) if scores.shape[1] else 0.0
                matches.append(ElementMatch(text, None, None, round(top, 4)))
        cpc = predict_cpc(cpc_hits, top=cfg.cpc_top, min_share=cfg.cpc_min_share)
        return ObviousnessMap(klass, matches, [doc_ids[j] for j in chosen], cpc)

    def map_claims(self, claims: Sequence[str], *, show_progress: bool = False) -> list[ObviousnessMap]:
        """The obviousness map of each claim (claim 1 of each invention)."""
        return [self.build_map(*row) for row in self.element_scores(claims, show_progress=show_progress)]


def class_counts(maps: Iterable[ObviousnessMap | Mapping[str, Any]]) -> dict[str, int]:
    """How many maps fall in each class (every class listed, zeros included)."""
    counts = dict.fromkeys(CLASSES, 0)
    for m in maps:
        counts[m.klass if isinstance(m, ObviousnessMap) else m["class"]] += 1
    return counts


# -- vetting --------------------------------------------------------------------------------------


def map_accepted(
    inventions: Sequence[Any],
    index: str | Path | SearchIndex,
    config: ObviousnessConfig | None = None,
    *,
    show_progress: bool = True,
) -> list[ObviousnessMap]:
    """Map claim 1 of each accepted invention (a :class:`~patentlab.vet.vetting.VettedInvention`).

    Sets ``inv.obviousness``; an *anticipated* invention gets the failure ``"anticipated"`` and
    an *unsupported* one ``"unsupported"`` (so neither is accepted: only an obvious combination
    citing real documents is published). ``index`` is a built index folder (``patentlab search index``)
    or an open :class:`~patentlab.index.hybrid.SearchIndex`.
    """
    from patentlab.index.hybrid import SearchIndex

    todo = [inv for inv in inventions if inv.accepted and inv.parsed.get("claims")]
    opened = not isinstance(index, SearchIndex)
    search_index = SearchIndex.open(index) if opened else index
    try:
        maps = ObviousnessMapper(search_index, config).map_claims(
            [inv.parsed["claims"][0] for inv in todo], show_progress=show_progress
        )
    finally:
        if opened:
            search_index.close()
    for inv, m in zip(todo, maps, strict=True):
        inv.obviousness = m.to_dict()
        # The checks "anticipated" and "unsupported" (vet/checks.py) read the map and reject.
        inv.failures.update(map_failures(inv.obviousness))
    return maps


def map_failures(obviousness: Mapping[str, Any] | None) -> dict[str, str]:
    """The failures the map's checks find (``anticipated``, ``unsupported``) in one map."""
    from patentlab.generate.parse import ParsedPatent
    from patentlab.vet.checks import CheckConfig, Evidence, apply_checks

    evidence = Evidence(ParsedPatent(), {}, CheckConfig(), obviousness=dict(obviousness or {}))
    return apply_checks(evidence, ("map",))


def summary(
    maps: Sequence[ObviousnessMap],
    map_cpu_seconds: float,
    total_cpu_seconds: float,
    config: ObviousnessConfig,
) -> dict[str, Any]:
    """The report's obviousness figures: classes, and obvious combinations per CPU-second.

    ``total_cpu_seconds`` is the whole run's (sampling, when known, plus vetting with the map);
    ``map_cpu_seconds`` the map's own share of it.
    """
    counts = class_counts(maps)
    n_obvious = counts["obvious_combination"]
    return {
        "mapped": len(maps),
        "classes": counts,
        "map_cpu_seconds": round(map_cpu_seconds, 3),
        "total_cpu_seconds": round(total_cpu_seconds, 3),
        "obvious_combinations_per_cpu_second": round(n_obvious / total_cpu_seconds, 6)
        if total_cpu_seconds > 0
        else None,
        "cpu_seconds_per_obvious_combination": round(total_cpu_seconds / n_obvious, 3) if n_obvious else None,
        "config": asdict(config),
    }

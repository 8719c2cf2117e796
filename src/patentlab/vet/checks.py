"""Structural checks on one generated invention, each with a stable reason code.

Every check reads a :class:`~patentlab.generate.parse.ParsedPatent` (the generator's own parser
turns generated markdown into one, so vetting and generation agree on what a section is) and
returns ``None`` when it passes or a short human-readable detail when it fails. A check whose
input is missing (no claims, say) passes: the ``sections`` check already reports that, and the
per-check counts of the funnel then say what is *additionally* wrong.

The thresholds live in :class:`CheckConfig`; their defaults were calibrated on the bundled real
granted patents (see ``docs/vet.md``), which pass almost every check.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from patentlab.claims import FUNCTION_WORDS as _TITLE_END_WORDS
from patentlab.claims import claim_references, orphan_claims, parse_claim, parse_claims, singular
from patentlab.generate.formats import TOP_DOWN, format_patent
from patentlab.generate.parse import ParsedPatent, parse_patent
from patentlab.vet.text import distinct_n, repeated_ngram_ratio, words


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words between "the"/"said" and the term they point back to; they carry no antecedent themselves.
_MODIFIERS = _wordset("""first second third fourth fifth sixth seventh eighth ninth tenth one two three
    each every at least most plurality of respective same other another entire whole""")
# Definite phrases that never need an earlier "a …" in claim language, and inherent properties
# and parts ("the length of the tube" needs no "a length" first).
_NO_ANTECEDENT_NEEDED = _wordset("""same art group following invention claim claims present preceding
    foregoing above below form basis case extent order range presence absence use time way manner
    step steps number amount ratio length width height depth thickness diameter size shape weight
    volume direction position location center centre end top bottom front rear side edge surface
    interior exterior inside outside periphery circumference vicinity total""")
# Words that cannot be the noun a definite phrase points back to.
_FUNCTION_WORDS = _wordset("""a an the said and or of to in on at by for from with as is are was were
    be been being has have that which wherein whereby when where so such than then""")


# A claim that carries a number of its own after the parser took the first: "1. 1. A lens …".
_LEADING_NUMBER = re.compile(r"^\s*(?:claim\s*)?[(\[]?\d+\s*[.):\]]+(?:\s|$)", re.I)
# Sentences about the document rather than the invention. Real patents never say "described in
# the text"; claim language says "as described in claim 1", which these leave alone.
_ABOUT_THE_TEXT = re.compile(
    r"\b(?:described|disclosed|mentioned|presented|explained|set\s+forth|stated|discussed|outlined"
    r"|written|shown|given|defined|specified)\s+(?:\w+\s+)?(?:in|by|within|throughout)\s+(?:the|this)"
    r"\s+(?:above\s+|following\s+|present\s+|preceding\s+)?(?:text|article|paper|passage)\b"
    r"|\b(?:the|this)\s+(?:present|above|following|preceding)\s+(?:text|article|paper|passage)\b",
    re.I,
)
# A claim or title sentence that ends by saying it "is described": abstracts may ("A pump is
# described."), claims and titles may not.
_IS_DESCRIBED = re.compile(
    r"\b(?:is|are|was|were|be|been)\s+(?:\w+ly\s+)?(?:herein\s+|hereby\s+)?(?:described|disclosed"
    r"|presented|proposed|introduced|explained|discussed)(?:\s+(?:herein|here|above|below))?\s*[.!]?\s*$",
    re.I,
)
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class CheckConfig:
    """Thresholds of the structural checks (defaults calibrated on real granted patents)."""

    min_title_words: int = 1
    max_title_words: int = 30
    #: Fewer than 0.6% of real abstracts are shorter (0 of 535 bundled full records, 56 of the
    #: 10,000 bundled abstracts); a writer's one-phrase "abstract" is not.
    min_abstract_words: int = 20
    max_abstract_words: int = 400
    min_claim_words: int = 3
    min_claim1_words: int = 10
    max_claim1_words: int = 800
    max_claims: int = 100
    #: Definite terms ("the valve") with no earlier mention ("a valve") in their claim chain: the
    #: check fails when there are more than ``max_unsupported_terms`` of them *and* they are more
    #: than ``max_unsupported_share`` of all distinct definite terms.
    max_unsupported_terms: int = 2
    max_unsupported_share: float = 0.3
    #: Degeneration, measured per unit (the abstract and each claim) and over the whole text:
    #: the share of word ``repeat_n``-grams seen earlier, the share of duplicate claims and the
    #: distinct bigrams of the least varied unit of at least 20 words.
    repeat_n: int = 8
    max_unit_repeat_ratio: float = 0.5
    max_text_repeat_ratio: float = 0.75
    max_duplicate_claims: float = 0.25
    min_unit_distinct_2: float = 0.2
    #: Claim form: claim 1 needs a preamble of at least ``min_preamble_words`` content words
    #: before its transition ("comprising", "consisting of", "wherein" …) and at least
    #: ``min_claim1_elements`` elements (clauses of 2+ words separated by ";", ":", ",", "and",
    #: "wherein", "whereby") after it.
    min_preamble_words: int = 1
    min_claim1_elements: int = 2
    #: A phrase loop: one phrase of at least ``loop_min_words`` words said ``loop_min_repeats``
    #: times in a row within the title or the abstract, with at most ``loop_max_gap``
    #: words between one saying and the next ("…, and is described in the text, and is …").
    loop_min_words: int = 3
    loop_min_repeats: int = 3
    loop_max_gap: int = 2
    #: A title is a whole noun phrase of at most this many words.
    max_title_phrase_words: int = 20


def parse_record(record: Mapping[str, Any]) -> ParsedPatent:
    """A corpus-schema record (a real patent) through the same markdown and parser as generations."""
    return parse_patent(format_patent(record, TOP_DOWN), finished=True)


def claim_chains(patent: ParsedPatent) -> list[str]:
    """Each claim's text preceded by the claims it depends on (transitively), earliest first."""
    by_number = dict(zip(patent.claim_numbers, patent.claims, strict=True))
    chains: list[str] = []
    for number, claim in zip(patent.claim_numbers, patent.claims, strict=True):
        seen: list[int] = []
        todo = [r for r in claim_references(claim) if r < number]
        while todo:
            ref = todo.pop()
            if ref in seen or ref not in by_number:
                continue
            seen.append(ref)
            todo.extend(r for r in claim_references(by_number[ref]) if r < ref)
        parents = [by_number[r] for r in sorted(seen)]
        chains.append(" ".join([*parents, claim]))
    return chains


def definite_terms(text: str, start: int = 0) -> tuple[list[str], list[str]]:
    """Terms introduced with "the"/"said" from token ``start`` on: ``(all, without antecedent)``.

    The check is deliberately light: the term is the first word after "the"/"said" that is not
    an ordinal or quantifier, and any earlier occurrence of that word (singular or plural) counts
    as its antecedent.
    """
    tokens = words(text)
    seen = {singular(t) for t in tokens[:start]}
    missing: list[str] = []
    found: list[str] = []
    for i, token in enumerate(tokens):
        if i >= start and token in ("the", "said"):
            j = i + 1
            while j < len(tokens) and tokens[j] in _MODIFIERS:
                j += 1
            # The term is the next word; an adjective ("the outer surface") may stand before the
            # noun, so the word after it also counts as the antecedent when it is a content word.
            head = [singular(t) for t in tokens[j : j + 2] if t not in _FUNCTION_WORDS and not t.isdigit()]
            if head and head[0] == singular(tokens[j]) and head[0] not in found:
                found.append(head[0])
            # "the rotation of the shaft", "the administration of a dose": a term qualified by
            # "of" names an aspect of what follows, which needs no earlier mention of its own.
            supported = any(t in seen or t in _NO_ANTECEDENT_NEEDED for t in head) or (
                "of" in tokens[j + 1 : j + 3]
            )
            if head and head[0] == singular(tokens[j]) and not supported and head[0] not in missing:
                missing.append(head[0])
        seen.add(singular(token))
    return found, missing


def claim_form(claim: str) -> dict[str, Any]:
    """The parts of a claim the form check reads, from the claim anatomy (:mod:`patentlab.claims`):
    its transition, the content words of its preamble and its clauses of 2+ words (split at
    ";", ":", ",", "and", "wherein" and "whereby"; in a two-part claim the preamble's too)."""
    anatomy = parse_claim(claim)
    if anatomy.transition is None:
        return {"transition": None, "preamble_words": len(words(claim)), "elements": 0}
    content = [w for w in words(anatomy.preamble) if w not in _FUNCTION_WORDS and not w.isdigit()]
    return {"transition": anatomy.transition, "preamble_words": len(content), "elements": anatomy.clauses}


def phrase_loop(tokens: Sequence[str], config: CheckConfig | None = None) -> tuple[int, str]:
    """The phrase said most often in a row in ``tokens``, and how many times: ``(repeats, phrase)``.

    A saying counts as "in a row" when it starts at most ``n + loop_max_gap`` words after the
    previous one (``n``: the phrase's words), so "X, and X, and X" is a loop of X. Phrases of
    ``loop_min_words`` to 12 words are tried; longer loops are the 8-gram measure's job.
    """
    config = config or CheckConfig()
    best: tuple[int, str] = (0, "")
    longest = min(12, len(tokens) // max(config.loop_min_repeats, 1))
    for n in range(config.loop_min_words, longest + 1):
        positions: dict[tuple[str, ...], list[int]] = {}
        for i in range(len(tokens) - n + 1):
            positions.setdefault(tuple(tokens[i : i + n]), []).append(i)
        for gram, starts in positions.items():
            if len(starts) < best[0]:
                continue
            run = 1
            for a, b in itertools.pairwise(starts):
                run = run + 1 if b - a <= n + config.loop_max_gap else 1
                if run >= best[0] and run > 1:  # on a tie the longer phrase (later n) says more
                    best = (run, " ".join(gram))
    return best


def self_references(patent: ParsedPatent) -> list[str]:
    """Sentences that talk about the document instead of the invention, as ``"section: text"``."""
    found: list[str] = []
    sections = [("title", patent.title), ("abstract", patent.abstract)]
    sections += [(f"claim {n}", c) for n, c in zip(patent.claim_numbers, patent.claims, strict=False)]
    for name, text in sections:
        if not text:
            continue
        match = _ABOUT_THE_TEXT.search(text)
        if match is None and name != "abstract":
            match = next(filter(None, (_IS_DESCRIBED.search(s) for s in _SENTENCE_SPLIT.split(text))), None)
        if match is not None:
            found.append(f"{name}: '{match.group(0).strip()}'")
    return found


def measure(patent: ParsedPatent, config: CheckConfig | None = None) -> dict[str, Any]:
    """The numbers the checks compare with their thresholds (also stored in vetting reports)."""
    config = config or CheckConfig()
    tokens = words(" ".join(filter(None, [patent.title, patent.abstract, *patent.claims])))
    units = [words(u) for u in [patent.abstract, *patent.claims] if u]
    chains = claim_chains(patent) if patent.claims else []
    definite: set[str] = set()
    unsupported: list[str] = []
    for chain, claim in zip(chains, patent.claims, strict=True):
        # Only the claim itself is checked; its parents are context.
        found, missing = definite_terms(chain, len(words(chain)) - len(words(claim)))
        definite.update(found)
        unsupported.extend(t for t in missing if t not in unsupported)
    form = claim_form(patent.claims[0]) if patent.claims else {}
    # Claims are left to the 8-gram measure: real claims list chemical names and alternatives
    # ("2-thienyl-phenol-4-amino-…") that read as short loops.
    loops = [(name, *phrase_loop(words(text), config))
             for name, text in (("title", patent.title), ("abstract", patent.abstract)) if text]  # fmt: skip
    loop = max(loops, key=lambda x: x[1], default=("", 0, ""))
    return {
        "title_words": len(words(patent.title)),
        "abstract_words": len(words(patent.abstract)),
        "claim1_words": len(words(patent.claims[0])) if patent.claims else 0,
        "shortest_claim_words": min((len(words(c)) for c in patent.claims), default=0),
        "n_claims": len(patent.claims),
        "unsupported_terms": unsupported,
        "unsupported_share": round(len(unsupported) / len(definite), 4) if definite else 0.0,
        "text_repeat_ratio": round(repeated_ngram_ratio(tokens, config.repeat_n), 4),
        "unit_repeat_ratio": round(
            max((repeated_ngram_ratio(u, config.repeat_n) for u in units), default=0), 4
        ),
        "duplicate_claims": round(1 - len(set(patent.claims)) / len(patent.claims), 4)
        if patent.claims
        else 0.0,
        "unit_distinct_2": round(min((distinct_n([u], 2) for u in units if len(u) >= 20), default=1.0), 4),
        "n_words": len(tokens),
        "claim1_transition": form.get("transition"),
        "claim1_preamble_words": form.get("preamble_words", 0),
        "claim1_elements": form.get("elements", 0),
        "self_references": self_references(patent),
        "loop_repeats": loop[1],
        "loop_phrase": loop[2],
        "loop_section": loop[0],
    }


# -- the checks ---------------------------------------------------------------------------------


def check_sections(patent: ParsedPatent, stats: dict, config: CheckConfig) -> str | None:
    problems = [f"missing {s}" for s in patent.missing] + [f"{s} cut off" for s in patent.truncated]
    # An abstract that does not end its sentence was cut off by a token budget (534 of the 535
    # bundled real abstracts end with ".", "!", "?" or ")").
    tail = words(patent.abstract)[-1:]
    if tail and not (patent.abstract or "").rstrip().endswith((".", "!", "?", ")")):
        problems.append(f"abstract cut off mid-sentence ('… {tail[0]}')")
    return "; ".join(problems) or None


def check_claim_numbering(patent: ParsedPatent, stats: dict, config: CheckConfig) -> str | None:
    numbers = patent.claim_numbers
    if not numbers or numbers == list(range(1, len(numbers) + 1)):
        return None
    shown = ", ".join(map(str, numbers[:10])) + (", …" if len(numbers) > 10 else "")
    return f"claims numbered {shown}, expected 1..{len(numbers)}"


def check_claim1_independent(patent: ParsedPatent, stats: dict, config: CheckConfig) -> str | None:
    if not patent.claims:
        return None
    refs = claim_references(patent.claims[0])
    return f"claim 1 refers to claim {refs[0]}" if refs else None


def check_claim_dependencies(patent: ParsedPatent, stats: dict, config: CheckConfig) -> str | None:
    for number, claim in zip(patent.claim_numbers, patent.claims, strict=True):
        if number == patent.claim_numbers[0]:
            continue  # claim 1's own references are the claim1_independent check
        bad = [r for r in claim_references(claim) if not 1 <= r < number]
        if bad:
            return f"claim {number} refers to claim {bad[0]}, which does not come before it"
    return None


def check_antecedent_basis(patent: ParsedPatent, stats: dict, config: CheckConfig) -> str | None:
    terms = stats["unsupported_terms"]
    if (
        len(terms) <= config.max_unsupported_terms
        or stats["unsupported_share"] <= config.max_unsupported_share
    ):
        return None
    return (
        f"{len(terms)} of the definite terms ({stats['unsupported_share']:.0%}) lack an antecedent: "
        + ", ".join(f"'the {t}'" for t in terms[:5])
    )


def check_length(patent: ParsedPatent, stats: dict, config: CheckConfig) -> str | None:
    bounds = [
        ("title", stats["title_words"], config.min_title_words, config.max_title_words, patent.title),
        (
            "abstract",
            stats["abstract_words"],
            config.min_abstract_words,
            config.max_abstract_words,
            patent.abstract,
        ),
        ("claim 1", stats["claim1_words"], config.min_claim1_words, config.max_claim1_words, patent.claims),
        ("claims", stats["n_claims"], 1, config.max_claims, patent.claims),
    ]
    for name, value, low, high, present in bounds:
        unit = "" if name == "claims" else " words"
        if present and not low <= value <= high:
            return f"{name} has {value}{unit}, outside {low}..{high}"
    if patent.claims and stats["shortest_claim_words"] < config.min_claim_words:
        return f"a claim has only {stats['shortest_claim_words']} words"
    return None


def check_degeneration(patent: ParsedPatent, stats: dict, config: CheckConfig) -> str | None:
    n = config.repeat_n
    if stats["unit_repeat_ratio"] > config.max_unit_repeat_ratio:
        return f"{stats['unit_repeat_ratio']:.0%} of one section's word {n}-grams repeat"
    if stats["text_repeat_ratio"] > config.max_text_repeat_ratio:
        return f"{stats['text_repeat_ratio']:.0%} of the text's word {n}-grams repeat"
    if stats["duplicate_claims"] > config.max_duplicate_claims:
        return f"{stats['duplicate_claims']:.0%} of the claims are duplicates"
    if stats["unit_distinct_2"] < config.min_unit_distinct_2:
        return f"distinct-2 of one section is {stats['unit_distinct_2']:.2f}"
    return None


def check_duplicate_numbering(patent: ParsedPatent, stats: dict, config: CheckConfig) -> str | None:
    for number, claim in zip(patent.claim_numbers, patent.claims, strict=False):
        if _LEADING_NUMBER.match(claim):
            return f"claim {number} starts with another number: '{number}. {claim[:40]}…'"
    return None


def check_claim_form(patent: ParsedPatent, stats: dict, config: CheckConfig) -> str | None:
    if not patent.claims:
        return None
    if stats["claim1_transition"] is None:
        return "claim 1 has no transition ('comprising', 'consisting of', 'wherein' …)"
    if stats["claim1_preamble_words"] < config.min_preamble_words:
        return f"claim 1 has no preamble before '{stats['claim1_transition']}'"
    if stats["claim1_elements"] < config.min_claim1_elements:
        return (
            f"claim 1 has {stats['claim1_elements']} element(s) after '{stats['claim1_transition']}', "
            f"fewer than {config.min_claim1_elements}"
        )
    return None


def check_self_reference(patent: ParsedPatent, stats: dict, config: CheckConfig) -> str | None:
    found = stats["self_references"]
    return "speaks about the document: " + "; ".join(found[:3]) if found else None


def check_phrase_loop(patent: ParsedPatent, stats: dict, config: CheckConfig) -> str | None:
    if stats["loop_repeats"] < config.loop_min_repeats:
        return None
    return f"the {stats['loop_section']} says '{stats['loop_phrase']}' {stats['loop_repeats']} times in a row"


_MODIFIER_END = re.compile(r"(?:ed|ive|ous|able|ible|ly)$")
_TITLE_LABEL = re.compile(r"\s*title\s*:", re.I)
_TITLE_NUMBER = re.compile(r"\d[\d-]{4,}\d|\b(?:19|20)\d\d-\d\d\b")
_TITLE_VERB = re.compile(r"\b(?:is|are|was|were|will|can|has|have|had)\b", re.I)


def check_claim_parents(patent: ParsedPatent, stats: dict, config: CheckConfig) -> str | None:
    orphans = orphan_claims(parse_claims(patent.claims, patent.claim_numbers))
    if not orphans:
        return None
    return f"claim {orphans[0]} names no earlier claim and is not an independent claim ('A …')"


def check_title_form(patent: ParsedPatent, stats: dict, config: CheckConfig) -> str | None:
    tokens = words(patent.title)
    if not tokens:
        return None
    if len(tokens) > config.max_title_phrase_words:
        return f"the title has {len(tokens)} words, more than {config.max_title_phrase_words}"
    if tokens[-1] in _TITLE_END_WORDS:
        return f"the title stops on '{tokens[-1]}'"
    # "… under a controlled": an article, then a modifier, and no noun after it.
    if len(tokens) >= 2 and tokens[-2] in ("a", "an", "the") and _MODIFIER_END.search(tokens[-1]):
        return f"the title stops mid-phrase on '{tokens[-2]} {tokens[-1]}'"
    if _TITLE_LABEL.match(patent.title):
        return "the title carries a label ('Title:')"
    # None of the 10,000 bundled real titles has one; a model copies them from front pages.
    number = _TITLE_NUMBER.search(patent.title)
    if number:
        return f"the title carries a file number or date ('{number.group(0)}')"
    verb = _TITLE_VERB.search(patent.title)
    return f"the title is a sentence ('{verb.group(0)}'), not a noun phrase" if verb else None


def check_doubled_words(patent: ParsedPatent, stats: dict, config: CheckConfig) -> str | None:
    # Real patents carry the odd typo ("a a", "structure structure") once in their long claims; a
    # model that stutters does it in the title or abstract (the parts it writes for a grounded
    # invention), three times in a row, or again and again.
    sections = [("title", patent.title), ("abstract", patent.abstract)]
    sections += [(f"claim {n}", c) for n, c in zip(patent.claim_numbers, patent.claims, strict=False)]
    found = [(name, m.group(0)) for name, text in sections for m in _DOUBLED.finditer(text or "")
             if m.group(1).lower() not in _DOUBLING_ALLOWED]  # fmt: skip
    tripled = [(name, m.group(0)) for name, text in sections for m in _TRIPLED.finditer(text or "")]
    bad = tripled or [f for f in found if f[0] in ("title", "abstract")] or (found if len(found) >= 2 else [])
    return f"the {bad[0][0]} says '{bad[0][1]}'" if bad else None


_DOUBLED = re.compile(r"\b([a-z]+)\s+\1\b", re.I)
_TRIPLED = re.compile(r"\b([a-z]+)\s+\1\s+\1\b", re.I)
# "that that" and "had had" are English.
_DOUBLING_ALLOWED = frozenset({"that", "had"})


# -- the family -----------------------------------------------------------------------------------


@dataclass
class Evidence:
    """What the checks read about one invention.

    The structural checks need only the parsed text, its measurements and the thresholds; the
    vetting run adds the other evidence as it computes it (novelty against the training text,
    section coherence, the realism score and its gate, the obviousness map). A check whose
    evidence is missing passes: it cannot judge.
    """

    patent: ParsedPatent
    stats: dict[str, Any]
    config: CheckConfig
    novelty: Any = None  # a NoveltyResult (vet/novelty.py)
    coherence: str | None = None  # the coherence check's failure detail (vet/coherence.py)
    p_real: float | None = None  # out-of-fold P(real) (vet/realism.py)
    realism_gate: float | None = None  # the P(real) below which an invention fails
    obviousness: dict[str, Any] | None = None  # the obviousness map (vet/obviousness.py)


@dataclass(frozen=True)
class Check:
    """One vet check: a stable reason code, what it asks of an invention, and the function that
    asks it (``None`` when the invention passes, else a short detail for the report).

    ``needs`` names the evidence beyond the text: ``"text"`` checks run anywhere (real patents,
    contributor bundles, the scale jobs); the others run inside a vetting run once it has that
    evidence, in the order of :data:`CHECKS` (the map last: it is the dearest, so it only maps
    what passed everything else).
    """

    code: str
    description: str
    fn: Callable[[Evidence], str | None]
    needs: str = "text"

    def __call__(self, evidence: Evidence) -> str | None:
        return self.fn(evidence)


def _text(fn: Callable[[ParsedPatent, dict, CheckConfig], str | None]) -> Callable[[Evidence], str | None]:
    return lambda e: fn(e.patent, e.stats, e.config)


def _coherence(e: Evidence) -> str | None:
    return e.coherence


def _reproduction(e: Evidence) -> str | None:
    if e.novelty is None or not e.novelty.is_reproduction:
        return None
    return f"copies {e.novelty.reproduction_of}: " + "; ".join(e.novelty.reasons)


def _realism(e: Evidence) -> str | None:
    if e.p_real is None or e.realism_gate is None or e.p_real >= e.realism_gate:
        return None
    return f"P(real) {e.p_real:.2f} is below the gate {e.realism_gate:.2f}, which 90% of real patents pass"


def _anticipated(e: Evidence) -> str | None:
    m = e.obviousness
    if not m or m.get("class") != "anticipated":
        return None
    return f"anticipated by {m['combination'][0]}: one real document discloses every element of claim 1"


def _unsupported(e: Evidence) -> str | None:
    m = e.obviousness
    if not m or m.get("class") != "unsupported":
        return None
    bare = [el["text"] for el in m.get("elements", []) if not el.get("doc_id")]
    if bare:
        return f"no real document discloses {len(bare)} element(s) of claim 1, e.g. '{bare[0][:60]}'"
    return f"claim 1 needs more than the most documents a combination may cite ({len(m['combination'])})"


#: Every vet check, in the order the funnel applies them: the one place a check is declared.
CHECKS: tuple[Check, ...] = (
    Check("sections", "title, abstract and claims are present and none was cut off", _text(check_sections)),
    Check("claim_numbering", "claims are numbered 1..n", _text(check_claim_numbering)),
    Check("duplicate_numbering", "no claim text starts with a number of its own ('1. 1. A lens …')",
          _text(check_duplicate_numbering)),
    Check("claim1_independent", "claim 1 refers to no other claim", _text(check_claim1_independent)),
    Check("claim_dependencies", "every dependent claim refers to an earlier claim",
          _text(check_claim_dependencies)),
    Check("claim_parents", "every claim after the first names an earlier claim ('of claim N') or is "
          "independent ('A …')", _text(check_claim_parents)),
    Check("claim_form", "claim 1 has a preamble, a transition ('comprising' …) and at least two elements",
          _text(check_claim_form)),
    Check("antecedent_basis", "'the X' / 'said X' follows an earlier mention of X in the claim chain",
          _text(check_antecedent_basis)),
    Check("self_reference",
          "no sentence about the document itself ('described in the text', '… is described.')",
          _text(check_self_reference)),
    Check("length", "title, abstract, claim 1 and claim count within bounds", _text(check_length)),
    Check("title_form", "the title is a whole noun phrase of at most 20 words, not ending in a function "
          "word, with no label or file number", _text(check_title_form)),
    Check("doubled_words", "no word said twice in a row ('substrate substrate')", _text(check_doubled_words)),
    Check("degeneration", "no repetition loops (repeated 8-grams) and enough distinct bigrams",
          _text(check_degeneration)),
    Check("phrase_loop", "no phrase of 3+ words said 3 times in a row in the title or the abstract",
          _text(check_phrase_loop)),
    Check("coherence", "title, abstract and claim 1 are about the same thing (embedding cosines)",
          _coherence, needs="coherence"),
    Check("reproduction", "no copy of a training document (MinHash, common run, embedding cosine)",
          _reproduction, needs="novelty"),
    Check("realism", "a real-vs-generated classifier gives P(real) at or above the gate that 90% of "
          "held-out real patents pass", _realism, needs="realism"),
    Check("anticipated", "no single real document discloses every element of claim 1", _anticipated,
          needs="map"),
    Check("unsupported", "real documents (at most four) together disclose every element of claim 1 "
          "(an obvious combination)", _unsupported, needs="map"),
)  # fmt: skip
CHECKS_BY_CODE: dict[str, Check] = {c.code: c for c in CHECKS}
#: The structural checks' codes (those that need only the text), in funnel order.
CHECK_CODES: tuple[str, ...] = tuple(c.code for c in CHECKS if c.needs == "text")
#: Every check's code, in funnel order.
ALL_CODES: tuple[str, ...] = tuple(c.code for c in CHECKS)
CHECK_DESCRIPTIONS: dict[str, str] = {c.code: c.description for c in CHECKS}


def apply_checks(evidence: Evidence, needs: Sequence[str] | None = None) -> dict[str, str]:
    """``{code: detail}`` of every check (of the ``needs`` kinds, default all) that ``evidence`` fails."""
    failures = {}
    for check in CHECKS:
        if needs is None or check.needs in needs:
            detail = check(evidence)
            if detail is not None:
                failures[check.code] = detail
    return failures


@dataclass
class CheckResult:
    """The outcome of every structural check on one invention.

    Attributes:
        failures: ``{reason code: detail}`` for each failed check, in funnel order.
        stats: the measurements the checks used (see :func:`measure`).
    """

    failures: dict[str, str]
    stats: dict[str, Any]

    @property
    def passed(self) -> bool:
        return not self.failures


def run_checks(patent: ParsedPatent, config: CheckConfig | None = None) -> CheckResult:
    """Run every structural check on ``patent``; never raises on malformed input."""
    config = config or CheckConfig()
    stats = measure(patent, config)
    return CheckResult(failures=apply_checks(Evidence(patent, stats, config), ("text",)), stats=stats)

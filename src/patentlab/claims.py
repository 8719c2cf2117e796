"""Claim anatomy: numbering, preamble, transition, elements and parent-claim references.

One parser for every step that reads claims: the vet checks, the obviousness map, the
combiner (``generate/combine.py``), publishing, the static site and the web pages. It sits below
all of them and imports none of them, so they can never disagree on what an element is.

A claim reads ``[number.] preamble transition body``:

>>> a = parse_claim("1. A lamp comprising: a base; a bulb, wherein the bulb is an LED; and a switch.")
>>> a.preamble, a.transition, a.elements
('A lamp', 'comprising', ['a base', 'a bulb', 'wherein the bulb is an LED', 'a switch'])
>>> parse_claim("2. The lamp of claim 1, wherein the base is brass.").parents
[1]
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

# The transition of a claim: where the preamble ends and the body (the elements) begins. Longer
# forms come first so "consisting essentially of" is not read as "consisting". The first one in
# the claim wins.
TRANSITION = re.compile(
    r"\b(?:which\s+comprises|comprising|comprises|comprised\s+of|comprise"
    r"|consisting\s+essentially\s+of|consisting\s+of|consists\s+essentially\s+of|consists\s+of"
    r"|characteri[sz]ed\s+(?:in\s+that|by)|including|includes|include|containing|contains"
    r"|composed\s+of|selected\s+from|having|has|wherein|whereby)\b",
    re.I,
)
# Two-part ("European") claims put the known elements in the preamble, before "characterized".
_TWO_PART = re.compile(r"^characteri[sz]ed", re.I)
# "claim 3", "claims 1 or 2", "any one of claims 1 to 4", "claims 1-3, 5 and 7"
_CLAIM_REF = re.compile(r"\bclaims?\s+(\d+(?:\s*(?:,|-|–|to|or|and|through|,\s*or|,\s*and)\s*\d+)*)", re.I)
_NUMBER = re.compile(r"\d+")
_LEADING_NUMBER = re.compile(r"^\s*(\d+)\s*[.)]\s*")
_CLAUSE_SEP = re.compile(r"\s*[;:]\s*")
# "(a)", "(b)", "(ii)": enumerated elements inside one clause ("(10)" is a reference numeral).
_ENUM = re.compile(r"[,;]?\s*\((?:[a-z]|[ivx]{1,4})\)\s+")
_STEPS = re.compile(r"^(?:the\s+)?(?:following\s+)?steps?(?:\s+of)?$", re.I)
_WHEREIN = re.compile(r"[,;]?\s+(?=\b(?:wherein|whereby|wherein\s+said)\b)", re.I)
_EDGE_WORDS = re.compile(r"^(?:and|or|further)\s+|\s+(?:and|or)$", re.I)
# The finer split the claim-form check counts: clauses also end at "," and "and".
_FINE_SEP = re.compile(r"[;:,]|\b(?:and|wherein|whereby|characteri[sz]ed)\b", re.I)
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
# A claim that opens on a definite word points back to something ("The device includes …"): it
# is a dependent claim, whether or not it names its parent. Anything else ("A lamp …",
# "Apparatus for …", "Method of …") opens an independent claim.
_DEFINITE_OPENING = re.compile(r"^\s*(?:the|said|this|these|such|it|its|they)\b", re.I)
# Where the subject of a preamble ends: "A method for producing steel" -> "method".
_SUBJECT_END = re.compile(  # not inside a hyphenated word: "an in-line marking system"
    r"(?<![\w-])(?:for|of|to|that|which|in|on|with|by|according|as|configured|adapted|used|being|"
    r"wherein|comprising|having|including)(?![\w-])|[,;:(]",
    re.I,
)

#: Words that cannot end a whole noun phrase (a title must not stop on one).
FUNCTION_WORDS = frozenset(
    """a an the said and or of to in on at by for from with as is are was were be been being has
    have that which wherein whereby when where so such than then into onto upon under over via its
    their this these those nor but if whether while within without between having comprising including
    containing""".split()  # noqa: SIM905
)


# Singular nouns ending in a plain "s" that the rules below would cut.
_SINGULAR_S = frozenset("lens bias means series species canvas atlas".split())  # noqa: SIM905


@functools.lru_cache(maxsize=1 << 16)  # called millions of times over a corpus, on few distinct words
def singular(word: str) -> str:
    """A light singular of a lower-case noun, for matching a term with its antecedent:
    "valves" -> "valve", "assemblies" -> "assembly", "boxes" -> "box", "lenses" -> "lens"; "gas",
    "glass", "axis" and "lens" stay."""
    if word in _SINGULAR_S:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("es") and word[-3:-2] in ("s", "x", "z", "h") and len(word) > 4:
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "is", "us")) and len(word) > 3:
        return word[:-1]
    return word


def words(text: str | None) -> list[str]:
    """Lower-case word tokens (hyphenated words and numbers stay whole)."""
    return _WORD.findall((text or "").lower())


def strip_number(claim: str) -> tuple[int | None, str]:
    """``"3. The lamp …"`` -> ``(3, "The lamp …")``; text without a leading number -> ``(None, text)``."""
    text = " ".join((claim or "").split())
    m = _LEADING_NUMBER.match(text)
    return (int(m.group(1)), text[m.end() :]) if m else (None, text)


def claim_references(claim: str) -> list[int]:
    """The claim numbers a claim refers to ("The method of claim 2 or 3" -> ``[2, 3]``)."""
    return [int(n) for match in _CLAIM_REF.finditer(claim or "") for n in _NUMBER.findall(match.group(1))]


def clean(text: str) -> str:
    """Whitespace collapsed, edge punctuation and dangling "and"/"or"/"further" removed."""
    text = " ".join(text.split()).strip(" ,;:.")
    previous = None
    while previous != text:
        previous, text = text, _EDGE_WORDS.sub("", text).strip(" ,;:.")
    return text


def split_transition(claim: str) -> tuple[str, str | None, str]:
    """``(preamble, transition, body)`` of an unnumbered claim; no transition -> ``("", None, text)``."""
    match = TRANSITION.search(claim)
    if match is None:
        return "", None, claim
    return claim[: match.start()], " ".join(match.group(0).lower().split()), claim[match.end() :]


def _merge_short(parts: Iterable[str], min_words: int) -> list[str]:
    """Drop empty parts; glue a fragment of fewer than ``min_words`` words onto its neighbour."""
    out: list[str] = []
    for part in parts:
        if not part:
            continue
        if out and len(part.split()) < min_words:
            out[-1] = f"{out[-1]} {part}"
        else:
            out.append(part)
    if len(out) > 1 and len(out[0].split()) < min_words:
        out[1] = f"{out[0]} {out[1]}"
        out.pop(0)
    return out


def body_elements(body: str, *, min_words: int = 2) -> list[str]:
    """The elements of a claim body: each clause (``;``/``:``), each ``(a)`` item, each "wherein"."""
    pieces: list[str] = []
    for clause in _CLAUSE_SEP.split(body):
        for piece in _ENUM.split(clause):
            pieces.extend(p for p in map(clean, _WHEREIN.split(piece)) if not _STEPS.match(p))
    return _merge_short(pieces, min_words)


def split_elements(claim: str, *, min_words: int = 2) -> list[str]:
    """Claim text -> its preamble (always its own element, however short) and body elements.

    >>> split_elements("1. A lamp comprising: a base; a bulb, wherein the bulb is an LED; and a switch.")
    ['A lamp', 'a base', 'a bulb', 'wherein the bulb is an LED', 'a switch']
    """
    _, text = strip_number(claim)
    if not text:
        return []
    preamble, _, body = split_transition(text)
    preamble = clean(preamble)
    return ([preamble] if preamble else []) + body_elements(body, min_words=min_words)


def subject(preamble: str) -> str:
    """The thing a preamble claims, for dependent claims ("The <subject> of claim 1").

    ``"A method for producing steel"`` -> ``"method"``; ``"An electric vehicle"`` -> ``"electric vehicle"``.
    """
    text = re.sub(r"^\s*(?:a|an|the|one\s+or\s+more)\s+", "", clean(preamble), flags=re.I)
    m = _SUBJECT_END.search(text)
    head = text[: m.start()] if m else text
    return " ".join(head.split()[:5]).strip() or "invention"


@dataclass
class ClaimAnatomy:
    """One claim taken apart.

    Attributes:
        number: the claim's own number (None when the text carries none and none was given).
        text: the claim without its number.
        preamble: the words before the transition ("" when there is no transition).
        transition: "comprising", "consisting of", "wherein" … (lower case), or None.
        elements: the body's elements (see :func:`body_elements`).
        parents: the claim numbers it refers to ("of claim 1" -> ``[1]``).
        clauses: the body's clauses of 2+ words in the finer split the form check counts
            (also at "," and "and"; in a two-part claim the preamble's too).
    """

    number: int | None
    text: str
    preamble: str
    transition: str | None
    elements: list[str]
    parents: list[int]
    clauses: int = 0
    subject: str = field(default="")

    @property
    def independent(self) -> bool:
        """Refers to no claim and does not open on a definite word ("A …", "Apparatus for …")."""
        return not self.parents and not _DEFINITE_OPENING.match(self.text)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "independent": self.independent}


def parse_claim(claim: str, number: int | None = None, *, min_words: int = 2) -> ClaimAnatomy:
    """Take one claim apart (a leading ``"N."`` is read as its number unless ``number`` is given)."""
    own, text = strip_number(claim)
    preamble, transition, body = split_transition(text)
    parts = _FINE_SEP.split(body)
    if transition and _TWO_PART.match(transition):
        parts += _FINE_SEP.split(preamble)
    return ClaimAnatomy(
        number=number if number is not None else own,
        text=text,
        preamble=clean(preamble),
        transition=transition,
        elements=body_elements(body, min_words=min_words)
        if transition
        else body_elements(text, min_words=min_words),
        parents=claim_references(text),
        clauses=sum(1 for p in parts if len(words(p)) >= 2) if transition else 0,
        subject=subject(preamble) if transition else "",
    )


def parse_claims(claims: Sequence[str], numbers: Sequence[int] | None = None) -> list[ClaimAnatomy]:
    """Every claim of a patent taken apart (numbered by ``numbers``, else their own, else position)."""
    out = []
    for i, claim in enumerate(claims):
        given = numbers[i] if numbers is not None and i < len(numbers) else None
        anatomy = parse_claim(claim, given)
        if anatomy.number is None:
            anatomy.number = i + 1
        out.append(anatomy)
    return out


def orphan_claims(claims: Sequence[ClaimAnatomy]) -> list[int]:
    """Claims after the first that name no claim and are not independent ("A …"):
    "3. The device includes a circuit …" reads as a dependent claim that forgot its parent.
    (A claim naming a later claim is the ``claim_dependencies`` check's to report.)"""
    return [c.number or i + 1 for i, c in enumerate(claims) if i > 0 and not c.parents and not c.independent]


__all__ = [
    "FUNCTION_WORDS",
    "TRANSITION",
    "ClaimAnatomy",
    "body_elements",
    "claim_references",
    "clean",
    "orphan_claims",
    "parse_claim",
    "parse_claims",
    "split_elements",
    "split_transition",
    "strip_number",
    "subject",
    "words",
]

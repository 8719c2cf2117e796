"""Parse generated patent markdown back into the corpus schema, saying what is missing.

A small model's output is often cut off by the token limit, repeats a section, starts a second
patent, or is not a patent at all. :func:`parse_patent` never raises on such text: it returns a
:class:`ParsedPatent` whose ``missing``, ``truncated`` and ``problems`` fields say what went
wrong, so the vetting step can count and filter instead of crashing.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from patentlab.corpus.schema import PatentRecord, make_record
from patentlab.generate.formats import (
    BOTTOM_UP,
    SECTION_ORDER,
    TOP_DOWN,
    Mode,
    one_line,
    split_packed_claims,
)

#: The sections every patent needs, in the names used by ``missing`` and ``truncated``.
SECTIONS: tuple[str, ...] = ("title", "abstract", "claims")

_HEADER = re.compile(r"^[ \t]*#[ \t]*Patent[ \t]*$", re.M | re.I)
_SECTION = re.compile(r"^[ \t]*##[ \t]*([^\n]*?)[ \t]*$", re.M)
_CLAIM_START = re.compile(r"^\s*(\d+)\s*[.)]\s*(.*)$")
# A paragraph that ends like this was not cut off in the middle of a sentence.
_SENTENCE_END = re.compile(r"[.!?;:)\]\"'”’]$")


@dataclass
class ParsedPatent:
    """A generated patent read back into fields, with a report of what is wrong with it.

    Attributes:
        title, abstract: the section texts on one line, or None when missing.
        claims: the claim texts without their numbers, in order.
        claim_numbers: the number each claim carried.
        mode: ``"top-down"`` or ``"bottom-up"`` from the section order, None if undecidable.
        missing: sections (of :data:`SECTIONS`) that are absent or empty.
        truncated: sections that were cut off before they ended.
        problems: everything else worth knowing (stray text, repeats, odd numbering).
    """

    title: str | None = None
    abstract: str | None = None
    claims: list[str] = field(default_factory=list)
    claim_numbers: list[int] = field(default_factory=list)
    mode: Mode | None = None
    missing: list[str] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def is_complete(self) -> bool:
        """True when every section is present and none was cut off."""
        return not self.missing and not self.truncated

    @property
    def status(self) -> str:
        """``"complete"``, or what is missing and truncated, in a few words."""
        if self.is_complete:
            return "complete"
        parts = [f"{label} {', '.join(names)}" for label, names in
                 (("missing", self.missing), ("truncated", self.truncated)) if names]  # fmt: skip
        return "; ".join(parts)

    def to_record(self, id: str, *, source: str = "generated", date: Any = None) -> PatentRecord:
        """The corpus-schema record (``doc_type="generated"``), claims written as ``"N. text"``."""
        claims = [f"{n}. {text}" for n, text in zip(self.claim_numbers, self.claims, strict=True)]
        return make_record(
            id=id, claims=claims, source=source, date=date or dt.date.today(),
            title=self.title, abstract=self.abstract, doc_type="generated",
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """Plain fields plus ``is_complete``, for JSON output."""
        return {**asdict(self), "is_complete": self.is_complete}


def parse_patent(text: Any, *, finished: bool | None = None) -> ParsedPatent:
    """Read patent markdown (either format) into a :class:`ParsedPatent`; never raises.

    Args:
        text: the generated text, prompt included. Anything that is not a string is converted.
        finished: whether generation stopped by itself (end-of-text token) rather than at the
            token limit. ``False`` marks the last section as truncated; ``None`` guesses from
            whether the last abstract or claim ends like a sentence.
    """
    result = ParsedPatent()
    text = ("" if text is None else str(text)).replace("\r\n", "\n")
    text = _isolate_first_patent(text, result)
    headers = list(_SECTION.finditer(text))
    if not headers and text.strip():
        result.problems.append("no '## ' section headers")
    bodies: dict[str, str] = {}
    last_section: str | None = None
    for i, header in enumerate(headers):
        end = headers[i + 1].start() if i + 1 < len(headers) else len(text)
        name = header.group(1).strip().lower()
        if name not in SECTIONS:
            if (
                i + 1 == len(headers)
                and any(s.startswith(name) for s in SECTIONS)
                and not text[header.end() :].strip()
            ):
                continue  # a header cut off while being written: the section counts as missing
            result.problems.append(f"unexpected section '## {header.group(1).strip()}'")
            last_section = None
            continue
        if name in bodies:
            result.problems.append(f"repeated section '## {name.title()}' (kept the first)")
            last_section = None
            continue
        bodies[name] = text[header.end() : end]
        last_section = name if i + 1 == len(headers) else None

    result.title = one_line(bodies.get("title")) or None
    result.abstract = one_line(bodies.get("abstract")) or None
    result.claims, result.claim_numbers = _parse_claims(bodies.get("claims", ""), result.problems)
    result.missing = [s for s in SECTIONS if not (result.claims if s == "claims" else getattr(result, s))]
    result.mode = _mode(list(bodies))
    if result.mode is not None:
        expected = [s.lower() for s in SECTION_ORDER[result.mode] if s.lower() in bodies]
        if list(bodies) != expected:
            result.problems.append("sections are out of order for " + result.mode)
    if (
        last_section is not None
        and last_section not in result.missing
        and _looks_cut(last_section, bodies[last_section], finished)
    ):
        result.truncated.append(last_section)
    return result


def _isolate_first_patent(text: str, result: ParsedPatent) -> str:
    """Drop text before the first ``# Patent`` and from a second one on, noting both."""
    headers = list(_HEADER.finditer(text))
    if not headers:
        if text.strip():
            result.problems.append("no '# Patent' header")
        return text
    if text[: headers[0].start()].strip():
        result.problems.append("text before '# Patent' (ignored)")
    if len(headers) > 1:
        result.problems.append("a second patent follows (ignored)")
        return text[headers[0].end() : headers[1].start()]
    return text[headers[0].end() :]


def _parse_claims(body: str, problems: list[str]) -> tuple[list[str], list[int]]:
    """Numbered claims, each starting ``N.``; lines without a number continue the claim above."""
    claims: list[list[str]] = []
    numbers: list[int] = []
    stray: list[str] = []
    # A line may hold several claims ("1. A pump. 2. The pump of claim 1 …"): split it the way
    # training text is split, so both see the same claims.
    pieces = (
        piece
        for line in body.splitlines()
        for piece in split_packed_claims(one_line(line), numbers[-1] if numbers else 1)
    )
    for piece in pieces:
        match = _CLAIM_START.match(piece)
        if match and match.group(2).strip():
            numbers.append(int(match.group(1)))
            claims.append([match.group(2)])
        elif claims:
            claims[-1].append(piece)
        else:
            stray.append(piece)
    if stray and not claims:
        problems.append("claims are not numbered")
        return [one_line(" ".join(stray))], [1]
    if stray:
        problems.append("text before the first numbered claim (ignored)")
    if numbers and any(b != a + 1 for a, b in itertools.pairwise(numbers)):
        problems.append("claim numbers are not consecutive: " + ", ".join(map(str, numbers[:12])))
    elif numbers and numbers[0] != 1:
        problems.append(f"claims start at {numbers[0]}, not 1")
    return [one_line(" ".join(parts)) for parts in claims], numbers


def _mode(order: list[str]) -> Mode | None:
    known = [s for s in order if s in ("title", "claims")]
    if not known:
        return None
    return TOP_DOWN if known[0] == "title" else BOTTOM_UP


def _looks_cut(section: str, body: str, finished: bool | None) -> bool:
    if finished is not None:
        return not finished
    if section == "title":
        return False  # titles carry no final punctuation, so a cut title cannot be recognised
    return not _SENTENCE_END.search(body.rstrip())

"""The two patent markdown formats of "All the Patents", and the prompts that start them.

Top-down drafts from the abstract to the detail (title, abstract, claims); bottom-up reads the
claims first and then summarises them (abstract, title)::

    # Patent                      # Patent

    ## Title                      ## Claims
    {title}                       1. {claim 1}
                                  2. {claim 2}
    ## Abstract
    {abstract}                    ## Abstract
                                  {abstract}
    ## Claims
    1. {claim 1}                  ## Title
    2. {claim 2}                  {title}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from patentlab.errors import PatentlabError

Mode = Literal["top-down", "bottom-up"]
TOP_DOWN: Mode = "top-down"
BOTTOM_UP: Mode = "bottom-up"
MODES: tuple[Mode, ...] = (TOP_DOWN, BOTTOM_UP)

HEADER = "# Patent"
SECTION_ORDER: dict[str, tuple[str, ...]] = {
    TOP_DOWN: ("Title", "Abstract", "Claims"),
    BOTTOM_UP: ("Claims", "Abstract", "Title"),
}

_WS = re.compile(r"\s+")
# Only markup tags that sources are known to leave in: patent text itself uses "<" and ">".
_TAG = re.compile(r"</?(?:b|i|u|em|strong|sub|sup|br|p|span)\b[^<>]{0,40}>", re.I)
# "3. …", "3) …" and ranges of canceled claims: "2-5. (canceled)", "19.-27. (canceled)".
_NUMBERED = re.compile(r"^\s*(\d+)(?:\.?\s*[-–]\s*(\d+))?\s*[.)]\s*(.*)$", re.S)
# Some sources pack every claim into one string: "1. A pump … fluid. 2. The pump of claim 1 …",
# sometimes with bold numbers ("<b>2</b>. …"). A claim starts at "N. " (or a range "N-M. ") only
# after the previous claim's final "." or ")" and before a capital or "(canceled)", and only for
# the next expected N: so "a gap of 2. 5 mm" or "… of claim 1. 2. The …" split correctly.
_NEXT_CLAIM = r"[.)]\s+({n}(?:\.?\s*[-–]\s*(\d+))?\s*[.)]\s+)[A-Z(]"
_CANCELED = re.compile(r"^\(?\s*(canceled|cancelled|deleted|withdrawn)\s*\)?\s*\.?$", re.I)


def check_mode(mode: str) -> Mode:
    """Return ``mode`` if it is one of :data:`MODES`, else raise a one-line error."""
    if mode not in MODES:
        raise PatentlabError(f"unknown mode '{mode}'; choose one of {', '.join(MODES)}", field="mode")
    return mode  # type: ignore[return-value]


def one_line(text: str | None) -> str:
    """Collapse whitespace (newlines included) so a field cannot break the markdown layout."""
    return _WS.sub(" ", text or "").strip()


def clean_field(text: str | None) -> str:
    """A source field as training text: markup tags removed, on one line."""
    return one_line(_TAG.sub("", text or ""))


def claim_items(claims: Iterable[str]) -> list[tuple[int, str]]:
    """Claims as ``(number, text)`` pairs, cleaned for training text.

    Keeps each claim's own number where it has one (so "of claim 19" still points at claim
    19), numbers the rest by position, splits claims that a source packed into one string,
    strips HTML tags and drops claims that are only "(canceled)".
    """
    items: list[tuple[int, str]] = []
    next_number = 1
    for raw in claims:
        for piece in split_packed_claims(clean_field(raw), next_number):
            number, last, text = next_number, next_number, piece
            match = _NUMBERED.match(piece)
            if match:
                number, text = int(match.group(1)), match.group(3).strip()
                last = int(match.group(2) or number)
            next_number = max(number, last) + 1
            if text and not _CANCELED.match(text):
                items.append((number, text))
    return items


def split_packed_claims(text: str, first_number: int = 1) -> list[str]:
    """Split one string holding several claims at each claim boundary (see ``_NEXT_CLAIM``).

    ``first_number`` is the number of the text's first claim when it carries none (the text
    continues that claim). Only the next expected number starts a claim, so numbers inside
    claim text never split it.
    """
    match = _NUMBERED.match(text)
    expected = int(match.group(2) or match.group(1)) + 1 if match else first_number + 1
    pieces, start = [], 0
    while boundary := re.compile(_NEXT_CLAIM.format(n=expected)).search(text, start):
        pieces.append(text[start : boundary.start(1)].strip())
        start = boundary.start(1)
        expected = int(boundary.group(2) or expected) + 1
    pieces.append(text[start:].strip())
    return [piece for piece in pieces if piece]


def format_claims(claims: Sequence[tuple[int, str]]) -> str:
    """``1. …\\n2. …`` from ``(number, text)`` pairs."""
    return "\n".join(f"{number}. {text}" for number, text in claims)


def format_patent(record: Mapping[str, Any], mode: str = TOP_DOWN, *, max_chars: int | None = None) -> str:
    """One record (``title``, ``abstract``, ``claims``) as patent markdown in ``mode``.

    ``max_chars`` drops trailing claims (never claim 1) until the text fits, so that a long
    patent still fits a model's context with all three sections: a bottom-up text cut inside
    the claims would never reach the abstract and title it is meant to teach.
    """
    mode = check_mode(mode)
    items = claim_items(record.get("claims") or [])
    sections = {"Title": clean_field(record.get("title")), "Abstract": clean_field(record.get("abstract"))}
    fixed = len(HEADER) + sum(len(text) for text in sections.values()) + 40  # headers and blank lines
    if max_chars is not None:
        budget = max_chars - fixed
        kept = 1
        used = len(format_claims(items[:1]))
        for number, text in items[1:]:
            used += len(f"\n{number}. {text}")
            if used > budget:
                break
            kept += 1
        items = items[:kept]
    sections["Claims"] = format_claims(items)
    body = "\n\n".join(f"## {name}\n{sections[name]}" for name in SECTION_ORDER[mode])
    return f"{HEADER}\n\n{body}"


def prompt(
    mode: str = TOP_DOWN,
    *,
    title: str | None = None,
    claims: Sequence[str] | None = None,
    topic: str | None = None,
) -> str:
    """The text a generation starts from.

    Without conditions this is the seed's prompt (``# Patent\n\n## Title\n`` or
    ``# Patent\n\n## Claims\n``). Given a title (top-down) the model writes the abstract and
    claims; given claims (bottom-up) it writes the abstract and title. Given a topic (its words,
    see :mod:`patentlab.generate.topic`) the prompt opens the first section with them and the
    model continues it: the title line (top-down) or claim 1 (bottom-up, ``1. A <topic> …``).
    """
    mode = check_mode(mode)
    if topic is not None:
        if title is not None or claims:
            raise PatentlabError("a topic starts the patent itself; give a topic, or a title or claims")
        from patentlab.generate.topic import claim_seed, title_seed

        words = one_line(topic)
        if not words:
            raise PatentlabError("the topic is empty", field="topic")
        if mode == TOP_DOWN:
            return f"{HEADER}\n\n## Title\n{title_seed(words)}"
        return f"{HEADER}\n\n## Claims\n1. {claim_seed(words)}"
    if mode == TOP_DOWN:
        if claims:
            raise PatentlabError("top-down generation is conditioned on a title, not on claims")
        if title is None:
            return f"{HEADER}\n\n## Title\n"
        return f"{HEADER}\n\n## Title\n{clean_field(title)}\n\n## Abstract\n"
    if title is not None:
        raise PatentlabError("bottom-up generation is conditioned on claims, not on a title")
    if not claims:
        return f"{HEADER}\n\n## Claims\n"
    return f"{HEADER}\n\n## Claims\n{format_claims(claim_items(claims))}\n\n## Abstract\n"

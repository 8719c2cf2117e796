"""The patent skeletons that structure-constrained sampling forces (``--structure skeleton``).

``# Patent`` and the mode's three section headers are fixed and come in order; the title and
the abstract are one line each, and the claims are numbered ``1.``, ``2.``, … consecutively.
The text inside each section stays free, within a token budget per section, so a model can no
longer invent a ``## Description`` or write one endless claim that never reaches the abstract.
"""

from __future__ import annotations

from typing import Literal

from patentlab.errors import PatentlabError
from patentlab.generate.formats import BOTTOM_UP, HEADER, SECTION_ORDER, TOP_DOWN, Mode, check_mode
from patentlab.llm.structure import Section, Skeleton

Structure = Literal["free", "skeleton"]
STRUCTURES: tuple[Structure, ...] = ("free", "skeleton")

#: Token budgets: a title of about 30 tokens, an abstract of about 200; each claim gets
#: ``CLAIM_TOKENS`` and the claims together take what the sampling budget leaves.
TITLE_TOKENS = 30
ABSTRACT_TOKENS = 200
CLAIM_TOKENS = 200
#: Claim 1 is shaped as a claim: a preamble naming what is claimed (no punctuation, at most
#: about 24 tokens), a transition the model picks, then at least two elements in the model's own
#: words: some words, a separator (";", "," or " and "), some more words. A claim can therefore
#: not end at its colon, nor be one clause after "wherein".
CLAIM1_FORM = (
    r"[^\n#,;:.]{2,160}(, comprising:| comprising:|, comprising| comprising|, consisting of:"
    r"|, including:| including:|, having:|, wherein) "
    r"[^\n#]*[A-Za-z]+ [A-Za-z]+[^\n#]*(;|,| and )[^\n#]*[A-Za-z]+ [A-Za-z]+[^\n#]*"
)
#: What claim 1 is given, once, when the claims must close before it has its transition.
CLAIM1_CLOSING = ", comprising:"
#: The fewest characters of an abstract: real ones have at least ten words.
ABSTRACT_MIN_CHARS = 60
#: A claim's typical length in tokens, to decide how many claims fit before later sections.
TYPICAL_CLAIM_TOKENS = 60
MAX_CLAIMS = 20


def check_structure(structure: str) -> Structure:
    """Return ``structure`` if it is one of :data:`STRUCTURES`, else raise a one-line error."""
    if structure not in STRUCTURES:
        raise PatentlabError(
            f"unknown structure '{structure}'; choose one of {', '.join(STRUCTURES)}", field="structure"
        )
    return structure  # type: ignore[return-value]


def patent_skeleton(mode: str = TOP_DOWN, max_new_tokens: int | None = None) -> Skeleton:
    """The skeleton of a patent in ``mode``, with budgets that fit ``max_new_tokens``.

    Short sampling budgets shrink the title and abstract budgets so the claims still get room;
    in bottom-up mode the number of claims is capped so that the abstract and title that follow
    them still fit.
    """
    mode = check_mode(mode)
    budget = max_new_tokens or 1024
    title = min(TITLE_TOKENS, max(8, budget // 8))
    abstract = min(ABSTRACT_TOKENS, max(24, budget // 3))
    max_claims = MAX_CLAIMS
    if mode == BOTTOM_UP:
        room = budget - title - abstract - 16  # headers
        max_claims = max(1, min(MAX_CLAIMS, room // TYPICAL_CLAIM_TOKENS))
    sections = {
        "Title": Section("Title", "line", title),
        "Abstract": Section("Abstract", "line", abstract, min_chars=ABSTRACT_MIN_CHARS),
        "Claims": Section("Claims", "numbered", CLAIM_TOKENS, CLAIM1_FORM, closing=CLAIM1_CLOSING),
    }
    return Skeleton(HEADER, tuple(sections[name] for name in SECTION_ORDER[mode]), max_items=max_claims)


def prompt_mode(prompt: str) -> Mode:
    """The mode a prompt was written in: bottom-up when its first section is the claims."""
    first = prompt.find("\n## ")
    if first >= 0 and prompt[first + 4 :].startswith("Claims"):
        return BOTTOM_UP
    return TOP_DOWN


def skeleton_for_prompt(prompt: str, max_new_tokens: int | None = None) -> Skeleton:
    """The skeleton that continues ``prompt`` (checked: a prompt that breaks it is an error)."""
    skeleton = patent_skeleton(prompt_mode(prompt), max_new_tokens)
    skeleton.position(prompt)
    return skeleton

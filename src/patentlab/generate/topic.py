"""Topics for conditioned generation: free text, or a CPC code whose title gives the words.

``resolve_topic("solar panel cleaning robot")`` keeps the words as given; ``resolve_topic("Y02E
10/50")`` looks the code up in the bundled CPC scheme (:mod:`patentlab.cpc`) and takes the
entry's own title as the words ("Photovoltaic energy"), without the references, examples and
bracketed abbreviations that a title carries. The words seed the prompt (see
:func:`patentlab.generate.formats.prompt`), and :meth:`Topic.to_dict` is the provenance that
each generation records.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from patentlab.errors import PatentlabError
from patentlab.generate.formats import one_line

# ", e.g. batteries" and "[PV]": an example list and an abbreviation make a poor title start.
_EXAMPLES = re.compile(r",?\s*\b(?:e\.g\.|i\.e\.|such as)\s.*$", re.I)
_BRACKETS = re.compile(r"\s*\[[^\[\]]*\]")
_LEADING_ARTICLE = re.compile(r"^(?:an?|the)\s+", re.I)


@dataclass(frozen=True)
class Topic:
    """A resolved topic: what the user gave, the CPC entry if it is a code, and the seed words."""

    text: str
    words: str
    code: str | None = None
    cpc_title: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve_topic(text: str) -> Topic:
    """Free text as it is, or a CPC code (``"Y02E 10/50"`` or ``"Y02E10/50"``) as its title's words.

    Raises a one-line :class:`PatentlabError` (field ``topic``) for an empty topic and for a
    code-shaped topic that is not in the CPC scheme.
    """
    given = one_line(text)
    if not given:
        raise PatentlabError(
            "the topic is empty; give words ('solar panel cleaning robot') or a CPC code ('Y02E 10/50')",
            field="topic",
        )
    from patentlab import cpc

    if not cpc.is_cpc_code(given):
        return Topic(text=given, words=given)
    entry = cpc.lookup(given)  # one-line error when the code is not in the scheme
    return Topic(
        text=given, words=seed_words(entry.title, entry.words), code=entry.code, cpc_title=entry.words
    )


def seed_words(title: str, fallback: str = "") -> str:
    """A CPC title as a short phrase that can open a patent title or claim 1.

    Keeps the first ``;`` part of the title, without references, examples or bracketed
    abbreviations. A one-word result ("Details") says too little, so ``fallback`` (the
    title with its parents' titles) is used instead.
    """
    from patentlab.cpc import clean_title

    words = clean_title(title).split("; ")[0]
    words = _BRACKETS.sub("", _EXAMPLES.sub("", words)).strip(" ,;:.")
    if len(words.split()) < 2 and fallback:
        return fallback
    return words or fallback


def title_seed(topic: str) -> str:
    """The start of a top-down title: the words, first letter upper case."""
    return topic[:1].upper() + topic[1:]


def claim_seed(topic: str) -> str:
    """The start of claim 1 for bottom-up: ``"A solar panel cleaning robot"``.

    A claim 1 opens with an article and the subject of its preamble; leaving the preamble open
    lets the model finish the noun and go on with the transition ("… comprising:").
    """
    words = _LEADING_ARTICLE.sub("", topic.strip())
    first = words.split(" ", 1)[0]
    if not (len(first) > 1 and first.isupper()):  # keep acronyms ("LED lamp") as they are
        words = words[:1].lower() + words[1:]
    article = "An" if words[:1].lower() in "aeiou" else "A"
    return f"{article} {words}"

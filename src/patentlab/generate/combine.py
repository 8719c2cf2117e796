"""Grounded generation ("combine"): obvious inventions built from the claim elements of real patents.

An invention is obvious in the legal sense when it combines known elements by known methods
with a predictable result. :class:`Combiner` builds exactly that from the retrieval index:

1. a **base** real patent (at random, or near a ``--topic``: free text or a CPC code), whose
   claim 1 parses into a preamble and at least two elements (:mod:`patentlab.claims`);
2. one or two **secondary references**: the base's nearest neighbours in the same CPC subclass,
   other documents;
3. a new **claim 1**: the base's preamble, transition and elements, plus one element of a
   secondary reference, either *added* ("combining known elements") or *substituted* for the
   base element it is closest to ("simple substitution");
4. **dependent claims** that each add one further element of the references and say which
   claim they depend on ("The lamp of claim 1, further comprising …").

The secondary element chosen is the one least like anything the base claims (so that the base
alone does not anticipate the new claim) among those that open with "a"/"an" (so that it brings
its own antecedent). Every record keeps its references: the doc ids, which element came from
where, and the rationale. The language model then writes the abstract and the title
(:func:`combine_prompts`); vet maps claim 1 back to the real documents (the obviousness map).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from patentlab.claims import FUNCTION_WORDS, ClaimAnatomy, parse_claim, singular, split_elements, words
from patentlab.errors import PatentlabError
from patentlab.generate.formats import BOTTOM_UP, HEADER, check_mode, format_claims

if TYPE_CHECKING:
    from patentlab.generate.generations import Generation
    from patentlab.index.hybrid import SearchIndex

#: The rationales produced. ("A known technique applied to a known device", a step of a method
#: grafted onto a product claim, read as nonsense in trials and is not produced.)
RATIONALES = ("combining known elements", "simple substitution")
STRATEGIES = ("combine", "skeleton", "free")
#: New tokens of the top-down passes: a title line, then an abstract line.
TITLE_TOKENS = 16
ABSTRACT_TOKENS = 96
#: Elements longer than this many words make claims nobody reads; such bases are skipped.
MAX_ELEMENT_WORDS = 40
#: An element a reference lends says what the part is or does: a bare "a substrate" or "a lower
#: substrate" added to a claim leaves the reader asking why it is there.
MIN_ADDED_WORDS = 4
#: Cosine to the closest base element from which an element of a reference fits the claim.
MIN_FIT = 0.4
#: A base claim 1 longer than this is left alone: the new claim should be readable.
MAX_CLAIM_WORDS = 140
#: At most this many base elements go into claim 1 (a broader claim than the base's is fine).
MAX_BASE_ELEMENTS = 4
#: Cosine to the base's own elements below which a secondary element is new to the base.
MAX_BASE_SIMILARITY = 0.8
#: Neighbours searched for secondary references, and bases searched near a topic.
NEIGHBOURS = 30
TOPIC_BASES = 100  # the index's most per query
#: Bases tried per combination asked for before giving up (most bases combine; some find no
#: element that fits).
TRIES_PER_COMBINATION = 12
_REAL = ("granted", "application", "unknown")
_INDEFINITE = re.compile(r"^(?:a|an|one or more|at least one|a plurality of)\s", re.I)
_DEFINITE = re.compile(r"^(?:the|said|each)\s", re.I)
# Definite phrases that need no antecedent ("the same", "the surface of …").
_INHERENT = frozenset(
    "same other group following range form amount number surface end side top".split()  # noqa: SIM905
)
_ORDINALS = frozenset("first second third fourth fifth".split())  # noqa: SIM905
# Words inside a run of ordinals: "first and second mandrels", "first to third reactors".
_ORDINAL_LINKS = frozenset(("and", "or", "to"))
# Words after "the X of" that do not make "X of …" one term: "the method of claim 1" is the method.
_NOT_OF_TERM = FUNCTION_WORDS | {"claim", "claims"}
# An element that points into its source claim ("… of (a), (b), or (c)", "… of claim 3") means
# nothing outside it.
_POINTER = re.compile(r"\((?:[a-z]|[ivx]+)\)|\bclaims?\s+\d", re.I)
# The source's own lettering of its elements ("a) a first member …", "(ii) heating …"): dropped,
# as the new claim letters nothing.
_LETTERING = re.compile(r"^\(?(?:[a-z]|[ivx]+|\d{1,2})\)\s*")
# Source text not published as it stands: UTF-8 read as Latin-1 ("90Â°"), characters lost upstream
# ("45\ufffd\ufffd"), or a word typed twice without a space ("a heat-activated sourcesource").
_GARBLED = re.compile(r"[\u00c2\u00c3][\u0080-\u00bf]|\ufffd|\b([a-z]{4,})\1\b", re.I)
_GERUND = re.compile(r"^[a-z]+ing\b", re.I)
# Words after "the X" that end the noun phrase: verbs and participles ("the valve is", "the layer
# formed").
_VERBS = frozenset("is are has have can may will must be being comprises includes".split())  # noqa: SIM905
_VERB_FORM = re.compile(r"(?:ed|ing|ly)$")


@dataclass
class Element:
    """One element of a new claim and where it came from."""

    text: str
    doc_id: str
    role: str  # "base" or "secondary"


@dataclass
class Combination:
    """A new claim set built from real claim elements, with its references and rationale."""

    base: str
    secondary: list[str]
    rationale: str
    subject: str
    preamble: str
    claim1: str
    dependents: list[str]
    elements: list[Element]
    added: Element
    replaced: str | None = None
    cpc: str | None = None
    references: dict[str, str] = field(default_factory=dict)  # doc id -> its title

    @property
    def claims(self) -> list[str]:
        return [self.claim1, *self.dependents]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _subclass(doc: dict[str, Any]) -> str | None:
    codes = [c for c in doc.get("cpc") or [] if len(c) >= 4]
    plain = [c for c in codes if not c.startswith("Y")]  # Y02 tags sit across real subclasses
    return (plain or codes or [None])[0][:4] if (plain or codes) else None


def _is_method(anatomy: ClaimAnatomy) -> bool:
    """A method claims steps: "A method of …", "An intrauterine brachytherapy method …"."""
    return anatomy.subject.split(" ")[-1:] in (["method"], ["process"])


def _unlettered(anatomy: ClaimAnatomy) -> ClaimAnatomy:
    return replace(anatomy, elements=[_LETTERING.sub("", e, count=1) for e in anatomy.elements])


def _usable(doc: dict[str, Any]) -> ClaimAnatomy | None:
    """Claim 1 of ``doc`` taken apart, when it can carry a combination (else None)."""
    claims = doc.get("claims") or []
    if not claims:
        return None
    anatomy = _unlettered(parse_claim(claims[0]))
    if anatomy.transition not in ("comprising", "comprises", "including", "having", "consisting of"):
        return None
    if not 1 <= len(words(anatomy.preamble)) <= 12 or len(anatomy.elements) < 2:
        return None
    for element in anatomy.elements[:MAX_BASE_ELEMENTS]:
        tokens = words(element)
        # Too long to read, cut off where the source nests a list ("… obtained by:"), or
        # pointing into the source's own lettering.
        if not tokens or len(tokens) > MAX_ELEMENT_WORDS or tokens[-1] in FUNCTION_WORDS:
            return None
        if (
            _POINTER.search(element)
            or _GARBLED.search(element)
            or (tokens[0] == "wherein" and len(tokens) < 5)
        ):
            return None  # the second: a clause cut where the source nests a list
    tokens = words(anatomy.text)
    if len(tokens) > MAX_CLAIM_WORDS or tokens[-1] in FUNCTION_WORDS:  # too long, or cut off
        return None
    return anatomy


def _noun_phrase(tokens: Sequence[str], start: int) -> list[str]:
    """The words of the noun phrase opening at ``tokens[start]``: one or two words, the second
    only when it reads as a noun ("the semiconductor substrate", not "the housing is"); "the
    plurality of anodes" runs on to the anodes, and "the layer of semi-conductor material" names
    that layer, not any layer (but "the rotation of the shaft" is the rotation)."""
    after = tokens[start + 2 : start + 3]
    if tokens[start + 1 : start + 2] == ["of"] and after and after[0] not in _NOT_OF_TERM:
        return tokens[start : start + 3]
    phrase = tokens[start : start + 1]
    if start + 1 < len(tokens):
        second = tokens[start + 1]
        if second not in FUNCTION_WORDS and second not in _VERBS and not _VERB_FORM.search(second):
            phrase.append(second)
    return phrase


def _ordinal_noun(tokens: Sequence[str], start: int) -> list[str]:
    """The noun phrase (singular) that the ordinals opening at ``tokens[start]`` qualify, past
    any further ordinals ("the first and second mandrels" -> ["mandrel"]); [] when none follows."""
    q = _past_ordinals(tokens, start)
    if q == len(tokens) or tokens[q] in FUNCTION_WORDS:
        return []
    return [singular(w) for w in _noun_phrase(tokens, q)]


def _past_ordinals(tokens: Sequence[str], start: int) -> int:
    while start < len(tokens) and (tokens[start] in _ORDINALS or tokens[start] in _ORDINAL_LINKS):
        start += 1
    return start


def _ordinal_known(ordinal: str, noun: Sequence[str], seen: Sequence[str]) -> bool:
    """Whether ``seen`` introduces "the first node": as "a first node", or in a list of ordinals
    ("first, second, and third nodes"). A "first" elsewhere and a "node" elsewhere are not it
    ("a first and a second switchable light shelters" does not introduce "the first light
    emitting device"), and, as for any term, a compound is introduced whole ("a first light
    source" is not "the first light guide")."""
    for p, word in enumerate(seen):
        if word != ordinal:
            continue
        if not noun:
            return True
        q = _past_ordinals(seen, p + 1)
        if [singular(w) for w in seen[q : q + len(noun)]] == list(noun):
            return True
    return False


def _grounded(element: str, context: str) -> bool:
    """Every definite term of ``element`` ("the housing", "said valve") has its antecedent in
    ``context`` (the claim it joins) or earlier in the element itself. A compound term must be
    introduced whole: "the semiconductor substrate" is not grounded by "a semiconductor layer"."""
    tokens = words(element)
    known = f" {' '.join(words(context))} "
    for i, token in enumerate(tokens[:-1]):
        if token not in ("the", "said"):
            continue
        phrase = _noun_phrase(tokens, i + 1)
        if phrase[0] in _INHERENT:
            continue
        if phrase[0] in _ORDINALS:
            if not _ordinal_known(phrase[0], _ordinal_noun(tokens, i + 1), known.split() + tokens[:i]):
                return False
            continue
        term = f" {' '.join(phrase)} "
        if term not in known and term not in f" {' '.join(tokens[:i])} ":
            return False
    return True


def _all_grounded(preamble: str, elements: Sequence[str]) -> bool:
    """Each element's definite terms are introduced by the preamble or an element before it."""
    return all(_grounded(e, " ".join([preamble, *elements[:i]])) for i, e in enumerate(elements))


def _repeats(element: str, claim: str, subject: str) -> bool:
    """Whether ``element`` introduces ("a …", also inside: "forming a layer on a substrate") a
    term ``claim`` already has, or opens on the claimed ``subject`` itself."""
    tokens = words(element)
    starts = [i + 1 for i, t in enumerate(tokens[:-1]) if t in ("a", "an")]
    opens = _INDEFINITE.match(element)
    if opens:
        starts = sorted({len(words(opens.group(0))), *starts})
    if not starts:
        return False
    # Compared in the singular: "a gate line" repeats "a plurality of gate lines".
    said = f" {' '.join(map(singular, words(claim)))} "
    head = [singular(w) for w in words(subject)[-1:]] or [""]
    for n, start in enumerate(starts):
        if tokens[start : start + 2] == ["plurality", "of"]:
            start += 2
        if start >= len(tokens) or tokens[start] in FUNCTION_WORDS:
            continue
        term = [singular(w) for w in _noun_phrase(tokens, start)]
        if f" {' '.join(term)} " in said or (n == 0 and opens and term[-1] == head[0]):
            return True
        # "a first substrate" beside "a substrate": two substrates, and "the substrate" is ambiguous.
        noun = " ".join(_ordinal_noun(tokens, start)) if term[0] in _ORDINALS else ""
        if noun and any(f" {a} {noun} " in said for a in ("a", "an", "plurality of")):
            return True
    return False


def _join(preamble: str, transition: str, elements: Sequence[str]) -> str:
    """``"A lamp comprising: a base; a bulb; and a switch."``: wherein-clauses follow a comma."""
    parts: list[str] = []
    for i, e in enumerate(elements):
        last = i == len(elements) - 1 and i > 0
        if e.lower().startswith(("wherein", "whereby")):
            parts.append((", " if parts else "") + e)
        else:
            parts.append(("; and " if last else "; ") * bool(parts) + e)
    return f"{preamble} {transition}: {''.join(parts)}."


def _fits(element: str, method_base: bool, method_source: bool) -> bool:
    """Whether ``element`` can join a claim: a method takes steps ("heating the plate …") of
    another method; a product takes parts that introduce themselves ("a sensor …")."""
    tokens = words(element)
    if not tokens or tokens[-1] in FUNCTION_WORDS:  # cut off in the source ("… arranged to.")
        return False
    if _POINTER.search(element) or _GARBLED.search(element):
        return False
    if method_base:
        return method_source and bool(_GERUND.match(element))
    return bool(_INDEFINITE.match(element))


def _dependent(subject: str, parent: int, element: str) -> str:
    if _DEFINITE.match(element):
        element = f"wherein {element}"
    if element.lower().startswith(("wherein", "whereby")):
        return f"The {subject} of claim {parent}, {element}."
    return f"The {subject} of claim {parent}, further comprising {element}."


class Combiner:
    """Build :class:`Combination` records from the real documents of a retrieval index.

    Example::

        with SearchIndex.open("runs/demo/search") as index:
            combos = Combiner(index, seed=0).combine(8, topic="Y02E 10/50")
    """

    def __init__(
        self,
        index: SearchIndex,
        *,
        seed: int = 0,
        exclude_ids: Sequence[str] = (),
        max_dependents: int = 3,
    ) -> None:
        self.index = index
        self.rng = random.Random(seed)
        self.exclude = set(exclude_ids)
        self.max_dependents = max_dependents

    # -- picking documents ------------------------------------------------------------------------

    def _filters(self, cpc_prefix: str | None = None) -> Any:
        from patentlab.index.filters import SearchFilters

        return SearchFilters(doc_types=_REAL, cpc_prefix=cpc_prefix, has_claims=True)

    def _docs(self, rowids: Sequence[int]) -> list[dict[str, Any]]:
        found = self.index.store.get_many(rowids)
        return [found[r] for r in rowids if r in found]

    def base_candidates(self, topic: str | None = None) -> Iterator[dict[str, Any]]:
        """Distinct usable base documents, lazily: the nearest to ``topic`` first, else in a
        random order (the seed's)."""
        if topic is not None:
            from patentlab.generate.topic import resolve_topic

            resolved = resolve_topic(topic)
            prefix = resolved.code[:4] if resolved.code else None
            hits = self.index.search(resolved.words, k=TOPIC_BASES, filters=self._filters(prefix)).hits
            docs: Iterable[dict[str, Any]] = (self.index.get(h.id) or {} for h in hits)
        else:
            rowids = list(map(int, self.index.store.matching_rowids(self._filters())))
            self.rng.shuffle(rowids)
            docs = (
                d for start in range(0, len(rowids), 200) for d in self._docs(rowids[start : start + 200])
            )
        seen: set[str] = set()
        for doc in docs:
            key = (doc.get("claims") or [""])[0]
            if doc.get("id") in self.exclude or key in seen or _subclass(doc) is None or not _usable(doc):
                continue
            seen.add(key)
            yield doc

    def secondaries(self, base: dict[str, Any], k: int = 2) -> list[dict[str, Any]]:
        """The base's ``k`` nearest neighbours in its CPC subclass whose claim 1 has elements to
        offer: other documents, other claims."""
        claim1 = base["claims"][0]
        hits = self.index.search(claim1, k=NEIGHBOURS, filters=self._filters(_subclass(base))).hits
        out = []
        for hit in hits:
            doc = self.index.get(hit.id) or {}
            if (
                doc.get("id") in self.exclude | {base["id"]}
                or not doc.get("claims")
                or doc["claims"][0] == claim1
                or len(parse_claim(doc["claims"][0]).elements) < 1
            ):
                continue
            out.append(doc)
            if len(out) == k:
                break
        return out

    # -- building claims --------------------------------------------------------------------------

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        from patentlab.embed.encoder import unit_rows

        return unit_rows(self.index.encode_queries(list(texts), batch_size=32))

    def build(self, base: dict[str, Any], secondaries: Sequence[dict[str, Any]]) -> Combination | None:
        """The combination of ``base`` with one element of ``secondaries`` (None when none fits)."""
        anatomy = _usable(base)
        if anatomy is None or not secondaries:
            return None
        base_elements = anatomy.elements[:MAX_BASE_ELEMENTS]
        base_known = [e for c in base["claims"] for e in split_elements(c)] or base_elements
        method_base = _is_method(anatomy)
        base_claim = _join(anatomy.preamble, anatomy.transition or "comprising", base_elements)
        offers: list[tuple[str, dict[str, Any]]] = []
        for doc in secondaries:
            sec = _unlettered(parse_claim(doc["claims"][0]))
            method_source = _is_method(sec)
            offers += [(e, doc) for e in sec.elements if _fits(e, method_base, method_source)]
        # A part the claim already has ("a substrate" twice) or the claimed thing itself ("a
        # panel …" in a panel claim) would read as a second, unexplained copy.
        offers = [
            (e, d) for e, d in offers
            if MIN_ADDED_WORDS <= len(words(e)) <= MAX_ELEMENT_WORDS
            and not _repeats(e, base_claim, anatomy.subject)
        ]  # fmt: skip
        if not offers:
            return None
        vectors = self._vectors([e for e, _ in offers] + base_known + base_elements)
        offer_v = vectors[: len(offers)]
        known_v = vectors[len(offers) : len(offers) + len(base_known)]
        own_v = vectors[len(offers) + len(base_known) :]
        novelty = (offer_v @ known_v.T).max(axis=1)
        # New to the base (else the base alone anticipates the claim), and every "the X" it
        # says is introduced by the base's claim or by the element itself.
        fresh = [i for i in range(len(offers))
                 if novelty[i] < MAX_BASE_SIMILARITY and _grounded(offers[i][0], base_claim)]  # fmt: skip
        if not fresh:
            return None
        # The fresh offer closest to one base element fits best: it plays a part the claim
        # already knows (a predictable result). Close enough, it may replace that element.
        to_own = offer_v[fresh] @ own_v.T
        best = int(np.unravel_index(np.argmax(to_own), to_own.shape)[0])
        if to_own[best].max() < MIN_FIT:  # nothing the references offer plays a part in this claim
            return None
        pick, swap = fresh[best], int(np.argmax(to_own[best]))
        element, source = offers[pick]
        swapped = [*base_elements[:swap], element, *base_elements[swap + 1 :]]
        if (
            to_own[best, swap] >= 0.5
            and len(base_elements) > 2
            and _all_grounded(anatomy.preamble, swapped)  # no later element loses its antecedent
            and self.rng.random() < 0.5
        ):
            rationale, replaced, new_elements = RATIONALES[1], base_elements[swap], swapped
        else:
            rationale, replaced, new_elements = RATIONALES[0], None, [*base_elements, element]
        preamble = anatomy.preamble[:1].upper() + anatomy.preamble[1:]
        claim1 = _join(preamble, anatomy.transition or "comprising", new_elements)
        added = Element(element, source["id"], "secondary")
        elements = [added if e == element else Element(e, base["id"], "base") for e in new_elements]
        # Dependent claims: the base's dropped elements first, then the other offers, each once.
        extra = [(e, base["id"]) for e in anatomy.elements[MAX_BASE_ELEMENTS:]]
        # Only offers that play a part in the claim (as the added element must) become dependents.
        fits = dict(zip(fresh, to_own.max(axis=1), strict=True))
        extra += [(offers[i][0], offers[i][1]["id"]) for i in fresh if i != pick and fits[i] >= MIN_FIT]
        if replaced is not None:
            extra.insert(0, (replaced, base["id"]))
        dependents, used = [], {e.lower() for e in new_elements}
        # The text each claim has in scope: its own and its parents' (claim 1 first).
        scope = [claim1]
        for text, doc_id in extra:
            if len(dependents) == self.max_dependents or text.lower() in used:
                continue
            if not (_fits(text, method_base, method_base) or _DEFINITE.match(text)):
                continue
            # The first claim whose scope introduces every term the element uses is its parent.
            parent = next((k for k, known in enumerate(scope) if _grounded(text, known)), None)
            if parent is None or _repeats(text, scope[parent], anatomy.subject):
                continue
            used.add(text.lower())
            claim = _dependent(anatomy.subject, parent + 1, text)
            dependents.append(claim)
            scope.append(f"{scope[parent]} {claim}")
            elements.append(Element(text, doc_id, "base" if doc_id == base["id"] else "secondary"))
        docs = [base, *secondaries]
        return Combination(
            base=base["id"],
            secondary=[d["id"] for d in secondaries],
            rationale=rationale,
            subject=anatomy.subject,
            preamble=preamble,
            claim1=claim1,
            dependents=dependents,
            elements=elements,
            added=added,
            replaced=replaced,
            cpc=_subclass(base),
            references={d["id"]: d.get("title") or "" for d in docs},
        )

    def combine(self, n: int, topic: str | None = None) -> list[Combination]:
        """``n`` combinations, each on its own base document (fewer when the index runs short)."""
        if n < 1:
            raise PatentlabError("n must be at least 1", field="n")
        out: list[Combination] = []
        for tried, base in enumerate(self.base_candidates(topic), start=1):
            combo = self.build(base, self.secondaries(base, k=2))
            if combo is not None:
                out.append(combo)
            if len(out) == n or tried == n * TRIES_PER_COMBINATION:
                break
        if not out:
            raise PatentlabError(
                "no real claim in the index has a preamble and elements to combine"
                + (f" near the topic '{topic}'" if topic else ""),
                field="topic" if topic else "index",
            )
        return out


def _opening(text: str) -> str:
    return text[:1].upper() + text[1:]


def _first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0].strip()


def _whole_sentences(text: str) -> str:
    """``text`` up to its last full stop (all of it when it has none)."""
    end = text.rfind(". ")
    end = len(text) - 1 if text.endswith(".") else end
    return text[: end + 1] if end > 0 else text


def combine_prompts(combos: Sequence[Combination], mode: str) -> list[str]:
    """The bottom-up prompt of each combination: its claims, then the abstract opened with the
    claimed subject (the preamble), for the LM to continue and then to title."""
    if check_mode(mode) != BOTTOM_UP:
        raise PatentlabError("combine_prompts makes the bottom-up prompts; top-down runs in two passes")
    numbered = [format_claims(list(enumerate(c.claims, start=1))) for c in combos]
    return [
        f"{HEADER}\n\n## Claims\n{claims}\n\n## Abstract\n{c.preamble}"
        for claims, c in zip(numbered, combos, strict=True)
    ]


def format_combined(combo: Combination, title: str, abstract: str) -> str:
    """A top-down patent: the LM's title and abstract, then the combination's claims."""
    claims = format_claims(list(enumerate(combo.claims, start=1)))
    return f"{HEADER}\n\n## Title\n{title}\n\n## Abstract\n{abstract}\n\n## Claims\n{claims}\n"


def sample_combined(
    generator: Any, combos: Sequence[Combination], mode: str, **kwargs: Any
) -> list[Generation]:
    """Let ``generator`` write the abstract and title of each combination (keyword arguments go
    to :meth:`~patentlab.generate.sample.BaseGenerator.generate`); each
    :class:`~patentlab.generate.generations.Generation` carries its combination.

    Bottom-up is one pass under the patent skeleton: the claims, then the abstract (opened with
    the claimed subject), then the title. Top-down runs in two short passes, each one line: the
    title, opened with the claimed subject; then the abstract under that title, opened with the
    preamble. The claims follow them as built: top-down, the title and abstract are written from
    the combination before the claims are read.
    """
    if check_mode(mode) == BOTTOM_UP:
        generations = generator.generate(combine_prompts(combos, mode), **kwargs)
    else:
        title_prompts = [f"{HEADER}\n\n## Title\n{_opening(c.subject)}" for c in combos]
        line = {**kwargs, "structure": "free"}
        titles = generator.generate(title_prompts, **{**line, "max_new_tokens": TITLE_TOKENS})
        heads = [_first_line(t.text.split("## Title\n", 1)[1]).rstrip(" ,;:") for t in titles]
        abstract_prompts = [
            f"{HEADER}\n\n## Title\n{head}\n\n## Abstract\n{c.preamble}"
            for head, c in zip(heads, combos, strict=True)
        ]
        abstracts = generator.generate(abstract_prompts, **{**line, "max_new_tokens": ABSTRACT_TOKENS})
        generations = []
        for c, head, t, a in zip(combos, heads, titles, abstracts, strict=True):
            abstract = _whole_sentences(_first_line(a.text.split("## Abstract\n", 1)[1]))
            a.text = format_combined(c, head, abstract)
            a.prompt = title_prompts[len(generations)]
            a.new_tokens += t.new_tokens
            a.finished = True  # the claims are the combination's own, complete
            generations.append(a)
    for g, combo in zip(generations, combos, strict=True):
        g.combination = combo.to_dict()
    return generations

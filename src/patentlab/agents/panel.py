"""The advocate / skeptic / judge panel (or a single LLM judge) over a batch of claims."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from patentlab.agents import prompts
from patentlab.agents.fewshot import FewShot
from patentlab.agents.routing import RoutingPolicy, judge_confidence, route
from patentlab.agents.schema import ARGUMENT_SCHEMA, VERDICT_SCHEMA, parse_reply, valid_fields
from patentlab.errors import PatentlabError
from patentlab.llm.chat.base import Completion, Conversation, LLMBackend, label_probability

SETUPS = ("three-agent", "single")


@dataclass
class Reply:
    """One agent's validated output.

    ``fields`` is None when the reply stayed invalid; ``partial`` still holds the fields that were
    valid on their own, so a reply cut off after a valid label keeps its label (the claim is
    routed to a human all the same).
    """

    fields: dict | None
    raw: str
    p_green: float | None = None
    errors: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    attempts: int = 1
    partial: dict = field(default_factory=dict)

    @property
    def label(self) -> int | None:
        return (self.fields or self.partial).get("label")


@dataclass
class ClaimLabel:
    """Everything the panel said about one claim, and where the claim goes next."""

    id: str
    route: str
    reasons: list[str]
    label: int | None
    p_green: float | None
    confidence: float | None
    confidence_source: str
    stated_confidence: float | None
    quote: str | None
    quote_found: bool
    rationale: str | None
    advocate_label: int | None = None
    advocate_argument: str | None = None
    skeptic_label: int | None = None
    skeptic_argument: str | None = None
    injections: list[str] = field(default_factory=list)
    attempts: int = 0
    repairs: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_row(self) -> dict:
        return asdict(self)


def _normalise(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def quote_in_claim(quote: str | None, claim: str) -> bool:
    """True when ``quote`` (at least three words) appears in ``claim``, ignoring case and punctuation."""
    if not quote:
        return False
    words = _normalise(quote)
    return len(words.split()) >= 3 and words in _normalise(claim)


def ask(
    backend: LLMBackend,
    conversations: Sequence[Conversation],
    schema: dict,
    *,
    max_tokens: int,
    max_retries: int = 2,
    check: Callable[[int, dict], list[str]] | None = None,
) -> list[Reply]:
    """Generate, repair and validate replies; retry the invalid ones with the errors as feedback.

    ``check(i, fields)`` adds content checks (e.g. the quote must be in the claim); a reply that
    passes the schema but fails ``check`` is retried too, and kept with its errors if it never
    passes. Nothing here raises on a bad reply: it ends up as a :class:`Reply` with ``fields=None``.
    """
    replies: list[Reply | None] = [None] * len(conversations)
    current = list(conversations)
    todo = list(range(len(conversations)))
    for attempt in range(1, max_retries + 2):
        generations: list[Completion] = backend.generate(
            [current[i] for i in todo], max_tokens=max_tokens, json_schema=schema
        )
        retry = []
        for i, gen in zip(todo, generations, strict=True):
            parsed, repairs = parse_reply(gen.text)
            partial, errors = valid_fields(parsed, schema)
            fields = partial if not errors else None
            soft = check(i, fields) if fields is not None and check else []
            previous = replies[i]
            reply = Reply(fields, gen.text, label_probability(gen), errors + soft, repairs, attempt, partial)
            # Keep a schema-valid reply from an earlier attempt over an invalid retry.
            if previous is None or previous.fields is None or (fields is not None and not soft):
                replies[i] = reply
            if errors or soft:
                retry.append(i)
                current[i] = prompts.retry_messages(current[i], gen.text, errors + soft, schema)
        todo = retry
        if not todo:
            break
    return [r for r in replies if r is not None]


class AgentPanel:
    """Label claims with an advocate, a skeptic and a judge (or a single judge), then route them.

    Args:
        backend: the LLM of the judge (and of the other roles unless given their own).
        advocate_backend: e.g. a :class:`~patentlab.llm.chat.TransformersBackend` with the
            LoRA adapter from ``patentlab agents train-advocate``.
        skeptic_backend: the skeptic's LLM (default: ``backend``).
        setup: ``three-agent`` or ``single`` (the judge alone, no debate).
        policy: when a claim goes to a human (see :mod:`patentlab.agents.routing`).
        max_retries: re-asks per invalid output.
        few_shot: human-labelled examples shown to every agent (never the claim being labelled).
        definitions: show every agent the N Y02 definitions nearest each claim (0: none).
        definition_scorer: what finds them (default: a
            :class:`~patentlab.classify.y02_scorer.Y02DefinitionScorer` with the packaged MiniLM,
            loaded on first use).
        batch_size: claims per round of generation (the backends batch within it).

    Example:
        >>> panel = AgentPanel(TransformersBackend("smollm2-135m"))
        >>> [r.route for r in panel.label([("id1", "1. A wind turbine blade …")])]
    """

    def __init__(
        self,
        backend: LLMBackend,
        *,
        advocate_backend: LLMBackend | None = None,
        skeptic_backend: LLMBackend | None = None,
        setup: str = "three-agent",
        policy: RoutingPolicy | None = None,
        max_retries: int = 2,
        argument_tokens: int = 80,
        verdict_tokens: int = 120,
        batch_size: int = 8,
        few_shot: FewShot | None = None,
        definitions: int = 0,
        definition_scorer: Any = None,
    ) -> None:
        if setup not in SETUPS:
            raise PatentlabError(f"setup must be one of {', '.join(SETUPS)}, not '{setup}'")
        self.judge = backend
        self.advocate = advocate_backend or backend
        self.skeptic = skeptic_backend or backend
        self.setup = setup
        self.policy = policy or RoutingPolicy()
        self.max_retries = max_retries
        self.argument_tokens = argument_tokens
        self.verdict_tokens = verdict_tokens
        self.batch_size = batch_size
        self.few_shot = few_shot
        if definitions < 0:
            raise PatentlabError(f"definitions must be 0 or more, not {definitions}")
        self.definitions = definitions
        self.definition_scorer = definition_scorer

    def describe(self) -> dict:
        """The panel's settings, for run summaries."""
        settings = {
            "setup": self.setup,
            "judge": self.judge.name,
            "advocate": self.advocate.name if self.setup == "three-agent" else None,
            "skeptic": self.skeptic.name if self.setup == "three-agent" else None,
            "threshold": self.policy.threshold,
            "max_retries": self.max_retries,
            "few_shot": self.few_shot.describe() if self.few_shot else None,
        }
        if self.definitions:  # only when on, so runs from before this option still resume
            settings["definitions"] = self.definitions
        return settings

    def nearest_definitions(self, claims: Sequence[str]) -> list[list]:
        """The ``definitions`` Y02 entries nearest each claim (empty lists when off)."""
        if not self.definitions:
            return [[] for _ in claims]
        if self.definition_scorer is None:
            from patentlab.classify.y02_scorer import Y02DefinitionScorer

            self.definition_scorer = Y02DefinitionScorer()
        return self.definition_scorer.nearest_definitions(list(claims), k=self.definitions)

    def label(
        self,
        claims: Sequence[tuple[str, str]],
        *,
        on_batch: Callable[[list[ClaimLabel]], None] | None = None,
    ) -> list[ClaimLabel]:
        """Label ``(id, text)`` pairs; ``on_batch`` sees each finished batch (for progress, saving)."""
        results: list[ClaimLabel] = []
        for start in range(0, len(claims), self.batch_size):
            batch = self._label_batch(claims[start : start + self.batch_size])
            results.extend(batch)
            if on_batch:
                on_batch(batch)
        return results

    def _label_batch(self, claims: Sequence[tuple[str, str]]) -> list[ClaimLabel]:
        t0 = time.perf_counter()
        shown = [prompts.sanitize_claim(text) for _, text in claims]
        shots = [self.few_shot.for_claim(i, text) if self.few_shot else [] for i, text in claims]
        nearest = self.nearest_definitions(shown)
        advocates: list[Reply | None] = [None] * len(claims)
        skeptics: list[Reply | None] = [None] * len(claims)
        if self.setup == "three-agent":
            triples = list(zip(shown, shots, nearest, strict=True))
            for_advocate = [prompts.advocate_messages(c, e, d) for c, e, d in triples]
            for_skeptic = [prompts.skeptic_messages(c, e, d) for c, e, d in triples]
            advocates = ask(self.advocate, for_advocate, ARGUMENT_SCHEMA, max_tokens=self.argument_tokens,
                            max_retries=self.max_retries)  # fmt: skip
            skeptics = ask(self.skeptic, for_skeptic, ARGUMENT_SCHEMA, max_tokens=self.argument_tokens,
                           max_retries=self.max_retries)  # fmt: skip
        judge_prompts = [
            prompts.judge_messages(c, _argument(a), _argument(s), e, d)
            for c, a, s, e, d in zip(shown, advocates, skeptics, shots, nearest, strict=True)
        ]

        def quote_check(i: int, fields: dict) -> list[str]:
            found = quote_in_claim(fields.get("quote"), shown[i])
            return [] if found else ["'quote' is not copied word for word from the claim"]

        verdicts = ask(self.judge, judge_prompts, VERDICT_SCHEMA, max_tokens=self.verdict_tokens,
                       max_retries=self.max_retries, check=quote_check)  # fmt: skip
        seconds = (time.perf_counter() - t0) / max(len(claims), 1)
        out = []
        for (claim_id, text), adv, skp, verdict, seen in zip(
            claims, advocates, skeptics, verdicts, shown, strict=True
        ):
            out.append(self._decide(claim_id, text, seen, adv, skp, verdict, seconds))
        return out

    def _decide(
        self, claim_id: str, text: str, seen: str, adv: Reply | None, skp: Reply | None, verdict: Reply,
        seconds: float,
    ) -> ClaimLabel:  # fmt: skip
        fields = verdict.fields or verdict.partial
        stated = fields.get("confidence")
        # The token probability belongs to the label token: meaningful whenever a label was kept.
        p_green = verdict.p_green if verdict.label is not None else None
        confidence, source = judge_confidence(p_green, stated)
        quote = fields.get("quote")
        found = quote_in_claim(quote, seen)
        agents = [r for r in (adv, skp) if r is not None]
        invalid = [name for name, r in (("advocate", adv), ("skeptic", skp), ("judge", verdict))
                   if r is not None and r.fields is None]  # fmt: skip
        destination, reasons = route(
            judge_label=verdict.label,
            confidence=confidence,
            agent_labels=[r.label for r in agents],
            quote_found=found,
            injections=prompts.find_injections(text),
            invalid=invalid,
            policy=self.policy,
        )
        replies = [r for r in (adv, skp, verdict) if r is not None]
        return ClaimLabel(
            id=claim_id,
            route=destination,
            reasons=reasons,
            label=verdict.label,
            p_green=p_green,
            confidence=confidence,
            confidence_source=source,
            stated_confidence=stated,
            quote=quote,
            quote_found=found,
            rationale=fields.get("rationale"),
            advocate_label=adv.label if adv else None,
            advocate_argument=_argument(adv),
            skeptic_label=skp.label if skp else None,
            skeptic_argument=_argument(skp),
            injections=prompts.find_injections(text),
            attempts=sum(r.attempts for r in replies),
            repairs=sorted({x for r in replies for x in r.repairs}),
            seconds=seconds,
        )


def _argument(reply: Reply | None) -> str | None:
    if reply is None:
        return None
    return (reply.fields or reply.partial).get("argument") or "(no valid argument)"

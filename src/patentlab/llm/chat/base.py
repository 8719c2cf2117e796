"""The one interface every LLM backend implements, and reading a label's probability from it.

A backend turns chat conversations into :class:`Completion` objects: the text, and, where the
backend can report them, the generated tokens with their most likely alternatives. The label
probability ``P("1") / (P("0") + P("1"))`` is read from those alternatives at the position where
the model writes the label, because small models' *stated* confidence carries no information
(see ``docs/agents.md``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

Message = dict[str, str]
Conversation = list[Message]


@dataclass
class Completion:
    """One reply: its text and, when known, its tokens and their top alternatives.

    Attributes:
        text: the reply as the backend returned it.
        tokens: the generated tokens' text, in order (``"".join(tokens)`` ≈ ``text``).
        top_logprobs: for each token, ``{alternative text: log-probability}``.
        n_tokens: how many tokens the reply took, when the backend reports it (for costs).
    """

    text: str
    tokens: list[str] | None = None
    top_logprobs: list[dict[str, float]] | None = field(default=None, repr=False)
    n_tokens: int | None = None


@dataclass(frozen=True)
class Sampling:
    """How a backend decodes: greedy (``temperature == 0``, the agents' labels) or sampled (the
    writer of generated inventions, where a fixed ``seed`` keeps a run reproducible)."""

    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0


GREEDY = Sampling()


@runtime_checkable
class LLMBackend(Protocol):
    """Anything that answers chat conversations (at most ``max_tokens``; greedy unless
    ``sampling`` says otherwise).

    ``json_schema`` is a hint: backends that can constrain decoding to it do (llama.cpp's
    grammar, a server's ``response_format``); the others rely on the agents' repair and retry.
    """

    name: str

    def generate(
        self,
        conversations: Sequence[Conversation],
        *,
        max_tokens: int,
        json_schema: dict | None = None,
        sampling: Sampling = GREEDY,
    ) -> list[Completion]: ...


def completion_from_openai(response: dict) -> Completion:
    """A :class:`Completion` from an OpenAI-style chat completion (llama.cpp, vLLM, Ollama, OpenAI)."""
    choice = response["choices"][0]
    text = choice["message"].get("content") or ""
    n_tokens = (response.get("usage") or {}).get("completion_tokens")
    content = (choice.get("logprobs") or {}).get("content") or []
    if not content:
        return Completion(text=text, n_tokens=n_tokens)
    tokens = [item["token"] for item in content]
    alternatives = [{a["token"]: a["logprob"] for a in item.get("top_logprobs") or []} for item in content]
    return Completion(text=text, tokens=tokens, top_logprobs=alternatives, n_tokens=n_tokens)


_LABEL_KEY = re.compile(r'"label"\s*:\s*"?')


def label_probability(reply: Completion, key: str = "label") -> float | None:
    """``P("1") / (P("0") + P("1"))`` at the token that writes ``"<key>": <digit>``, else ``None``.

    Returns ``None`` when the backend gave no token alternatives, when the reply has no such key,
    or when neither digit is among the alternatives at that position.
    """
    if not reply.tokens or not reply.top_logprobs:
        return None
    pattern = _LABEL_KEY if key == "label" else re.compile(rf'"{re.escape(key)}"\s*:\s*"?')
    joined = "".join(reply.tokens)
    match = pattern.search(joined)
    if match is None:
        return None
    digit_at = match.end()
    start = 0
    for token, alternatives in zip(reply.tokens, reply.top_logprobs, strict=False):
        end = start + len(token)
        if start <= digit_at < end:
            # The token may carry text before the digit (e.g. ' 1' or ':1'); compare alternatives
            # after that same prefix.
            prefix = joined[start:digit_at]
            mass = {"0": 0.0, "1": 0.0}
            for alt, logprob in alternatives.items():
                rest = alt[len(prefix) :] if alt.startswith(prefix) else alt
                value = rest.strip().strip('"').rstrip(",}").strip()
                if value in mass:
                    mass[value] += math.exp(logprob)
            total = mass["0"] + mass["1"]
            return mass["1"] / total if total > 0 else None
        start = end
    return None

"""Who decides a claim: the agents (their label is kept as an *agent* label) or a human.

A claim goes to the human queue when any of these holds:

- an output stayed invalid after repair and retries;
- the advocate and the skeptic disagree, or the judge disagrees with them;
- the judge's confidence is below the threshold. Confidence is ``max(p, 1 − p)`` of the judge's
  label-token probability ``p = P("1") / (P("0") + P("1"))`` when the backend reports token
  probabilities; only otherwise the judge's stated confidence;
- the judge's quote is not found in the claim;
- the claim contains instruction-like text (a possible prompt injection).
"""

from __future__ import annotations

from dataclasses import dataclass

HUMAN = "human"
AGENTS = "agents"


@dataclass(frozen=True)
class RoutingPolicy:
    """Thresholds of :func:`route`.

    Attributes:
        threshold: the judge confidence below which a claim goes to a human.
        require_agreement: route when the advocate, skeptic and judge labels differ.
        require_quote: route when the judge's quote is not in the claim.
    """

    threshold: float = 0.75
    require_agreement: bool = True
    require_quote: bool = True


def judge_confidence(p_green: float | None, stated: float | None) -> tuple[float | None, str]:
    """The confidence routing uses, and where it came from (``token`` or ``stated``)."""
    if p_green is not None:
        return max(p_green, 1.0 - p_green), "token"
    return stated, "stated"


def route(
    *,
    judge_label: int | None,
    confidence: float | None,
    agent_labels: list[int | None],
    quote_found: bool,
    injections: list[str],
    invalid: list[str],
    policy: RoutingPolicy,
) -> tuple[str, list[str]]:
    """``("agents" | "human", reasons)`` for one claim; no reasons means the agents decide."""
    reasons = [f"invalid {name} output" for name in invalid]
    if judge_label is None:
        reasons.append("no judge label")
    if policy.require_agreement and agent_labels:
        if len(set(agent_labels)) > 1:
            reasons.append("advocate and skeptic disagree")
        elif judge_label is not None and agent_labels[0] is not None and agent_labels[0] != judge_label:
            reasons.append("judge disagrees with the agents")
    if confidence is None or confidence < policy.threshold:
        shown = "none" if confidence is None else f"{confidence:.2f}"
        reasons.append(f"confidence {shown} < {policy.threshold:.2f}")
    if policy.require_quote and judge_label is not None and not quote_found:
        reasons.append("quote not found in the claim")
    if injections:
        reasons.append("instruction-like text in the claim")
    return (HUMAN if reasons else AGENTS), reasons

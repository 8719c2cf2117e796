"""Human-in-the-loop review: the queue, reviewers' decisions with an audit log, agreement, gold export."""

from patentlab.review.agreement import agreement_report, cohen_kappa
from patentlab.review.gold import POLICIES, export_gold, gold_labels, resolve
from patentlab.review.store import ClaimView, DecisionResult, ReviewerInfo, ReviewStore

__all__ = [
    "POLICIES",
    "ClaimView",
    "DecisionResult",
    "ReviewStore",
    "ReviewerInfo",
    "agreement_report",
    "cohen_kappa",
    "export_gold",
    "gold_labels",
    "resolve",
]

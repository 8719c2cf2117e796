"""Human-in-the-loop review: the queue, reviewers' decisions with an audit log, agreement, gold export.

Names are imported lazily, so that ``patentlab --help`` does not import pandas or SQLAlchemy.
"""

from __future__ import annotations

from patentlab._lazy import lazy_exports

_EXPORTS = {
    "POLICIES": "patentlab.review.gold",
    "export_gold": "patentlab.review.gold",
    "gold_labels": "patentlab.review.gold",
    "resolve": "patentlab.review.gold",
    "agreement_report": "patentlab.review.agreement",
    "cohen_kappa": "patentlab.review.agreement",
    "ClaimView": "patentlab.review.store",
    "DecisionResult": "patentlab.review.store",
    "ReviewStore": "patentlab.review.store",
    "ReviewerInfo": "patentlab.review.store",
}
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

"""The selection protocol end to end: embed once, select by grouped CV, fit, save, test on gold.

:func:`run_protocol` is what the demo's classify stage and ``benchmarks/bench_selection.py`` run:

1. embed every training text once (frozen encoder, settings passed explicitly) and score it
   against the Y02 definitions;
2. choose the LR's ``C`` and the combination of experts by leave-one-source-out CV
   (:mod:`patentlab.classify.selection`); the test set is not read before this is done;
3. refit every candidate on all the training data, save the baseline (``baseline/``) and the
   chosen model (``selected/``, with ``model_card.json``: its figures with intervals);
4. report every candidate on the test set (the human gold) with bootstrap 95 % intervals: a
   report, never an input to a choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from patentlab.classify.data import LabeledTexts, text_summary
from patentlab.classify.intervals import N_BOOT, with_intervals
from patentlab.classify.selection import (
    CANDIDATES,
    DESCRIPTIONS,
    ExpertInputs,
    Selection,
    choose_c_grouped,
    combine,
    fit_experts,
    grouped_oof,
    select,
)
from patentlab.embed.settings import EncoderSettings
from patentlab.storage import write_json

SELECTION_JSON = "selection.json"
MODEL_CARD_JSON = "model_card.json"
SELECTED_DIR = "selected"


def fast_encoder(model: str = "minilm", max_length: int = 128) -> EncoderSettings:
    """The stage's encoder: bf16 where the CPU or GPU computes it natively (about 2x on AMX), else fp32."""
    import torch

    from patentlab.llm.loading import fast_dtype

    return EncoderSettings(model, max_length, "bf16" if fast_dtype() == torch.bfloat16 else "fp32")


@dataclass
class ProtocolResult:
    selection: Selection
    test: dict[str, dict]  # candidate -> metrics with intervals on the test set
    C: float
    c_scores: dict[float, float]
    selected_dir: Path
    baseline_dir: Path
    encoder: EncoderSettings
    robustness: dict[str, list[dict]] | None = None  # candidate -> slices of the out-of-fold scores

    def to_dict(self) -> dict:
        return {
            **self.selection.to_dict(),
            "robustness": self.robustness,
            "C": self.C,
            "c_scores": {str(k): v for k, v in self.c_scores.items()},
            "encoder": self.encoder.to_dict(),
            "test": self.test,
        }


def expert_inputs(
    baseline, scorer, data: LabeledTexts, groups=None, show_progress: bool = True
) -> ExpertInputs:
    """Embeddings (through the on-disk cache) and Y02 margins of ``data``'s texts."""
    from patentlab.embed.encoder import unit_rows

    embeddings = baseline.embed(data.texts, show_progress=show_progress)
    margins = scorer.features_from_embeddings(unit_rows(embeddings))[:, 0]
    return ExpertInputs(embeddings, margins, data.texts, data.labels, groups)


def run_protocol(
    train: LabeledTexts,
    groups: np.ndarray,
    test: LabeledTexts,
    out_dir: str | Path,
    *,
    encoder: EncoderSettings | None = None,
    experts: tuple[str, ...] = ("lr", "y02", "tfidf"),
    tfidf_C: float | None = 1.0,
    test_name: str = "hitl_gold_100",
    n_boot: int = N_BOOT,
    show_progress: bool = True,
    on_step=None,
) -> ProtocolResult:
    """Select, fit and save the classifier by the grouped protocol; report it on ``test``.

    Args:
        train: the labelled training records; ``groups`` their source group (same order).
        test: the held-out test set (human gold); read only after the choice is made.
        out_dir: gets ``baseline/``, ``selected/`` and ``selection.json``.
        encoder: the frozen encoder's settings (default: MiniLM, 128 tokens, bf16 where fast).
        experts: the experts to consider (candidates that need others are left out).
        tfidf_C: the TF-IDF expert's C (None: its own inner CV chooses, slower).
        on_step: called with a short message as each step starts (for the demo's log).
    """
    from patentlab.classify.baseline import FrozenEncoderClassifier
    from patentlab.classify.prior import DefinitionPriorClassifier
    from patentlab.classify.y02_scorer import Y02DefinitionScorer

    out = Path(out_dir)
    encoder = encoder or fast_encoder()
    step = on_step or (lambda message: None)
    baseline = FrozenEncoderClassifier(
        encoder.model,
        max_length=encoder.max_length,
        dtype=encoder.dtype,
        batch_size=encoder.batch_size,
        class_weight="balanced",
    )
    scorer = Y02DefinitionScorer(encoder.model, max_length=encoder.max_length, class_weight="balanced")
    scorer.encoder_ = baseline.load_encoder()  # one encoder, one cache for both
    what = f"{encoder.model}, {encoder.max_length} tokens, {encoder.dtype}"
    step(f"embedding {len(train):,} training texts ({what})")
    inputs = expert_inputs(baseline, scorer, train, groups, show_progress)

    step("choosing C and the experts by leave-one-source-out CV")
    C, c_scores = choose_c_grouped(inputs)
    oof = grouped_oof(inputs, experts=experts, C=C, tfidf_C=tfidf_C)
    candidates = {k: v for k, v in CANDIDATES.items() if set(v) <= set(experts)}
    selection = select(oof, inputs.labels, groups, candidates=candidates, n_boot=n_boot)
    robustness = _robustness(oof, inputs, candidates, ("lr", selection.chosen, selection.best), n_boot)

    step("fitting every candidate on all the training data")
    fitted = fit_experts(inputs, experts=experts, C=C, tfidf_C=tfidf_C)
    baseline.set_params(C=C)
    baseline.lr_, baseline.classes_ = fitted.lr, fitted.lr.classes_
    baseline.text_ = text_summary(train)
    scorer.calibration_, scorer.threshold_, scorer.classes_ = fitted.y02, 0.5, np.array([0, 1])
    baseline.save_pretrained(out / "baseline")

    step(f"the test set ({test_name}): reported, never used to choose")
    test_inputs = expert_inputs(baseline, scorer, test, show_progress=False)
    test_logits = fitted.logits(test_inputs)
    test_rows = {}
    for name, parts in candidates.items():
        metrics = with_intervals(test.labels, combine(test_logits, parts), n_boot=n_boot)
        test_rows[name] = {"method": DESCRIPTIONS[name], **metrics}

    chosen = candidates[selection.chosen]
    selected = out / SELECTED_DIR
    if chosen == ("lr",):
        baseline.save_pretrained(selected)
    elif chosen == ("y02",):
        scorer.save_pretrained(selected)
    elif chosen == ("tfidf",):
        fitted.tfidf.save_pretrained(selected)
    else:
        model = DefinitionPriorClassifier(
            baseline, scorer, fitted.tfidf if "tfidf" in chosen else None, definitions="y02" in chosen
        )
        model.parts()
        model.classes_ = np.array([0, 1])
        model.save_pretrained(selected)
    result = ProtocolResult(
        selection, test_rows, C, c_scores, selected, out / "baseline", encoder, robustness
    )
    card = model_card(result, test_name, len(train))
    write_json(selected / MODEL_CARD_JSON, card)
    write_json(out / SELECTION_JSON, result.to_dict())
    return result


def _robustness(oof, inputs: ExpertInputs, candidates, names, n_boot: int) -> dict[str, list[dict]]:
    """Out-of-fold kappa/AUC of ``names`` by kind of text and by length quartile."""
    from patentlab.classify.robustness import robustness_rows

    scored = ~np.isnan(np.sum([oof[e] for e in oof], axis=0))
    idx = np.flatnonzero(scored)
    kinds = np.where(inputs.groups[idx] == "abstracts", "abstracts", "claims")
    texts = [inputs.texts[i] for i in idx]
    out = {}
    for name in dict.fromkeys(names):
        p = combine({e: z[idx] for e, z in oof.items()}, candidates[name])
        out[name] = robustness_rows(inputs.labels[idx], p, texts, kinds, n_boot=n_boot)
    return out


def model_card(result: ProtocolResult, test_name: str, n_train: int) -> dict:
    """The figures a user sees beside the served model: CV and test, each with its interval."""
    chosen = result.selection.chosen
    cv = next(r for r in result.selection.rows if r["candidate"] == chosen)
    base_cv = next(r for r in result.selection.rows if r["candidate"] == "lr")
    keys = ("kappa", "kappa_ci", "auc", "auc_ci", "n", "green", "predicted_green")
    return {
        "format": "patentlab-model-card/1",
        "model": DESCRIPTIONS[chosen],
        "candidate": chosen,
        "encoder": result.encoder.to_dict(),
        "C": result.C,
        "trained_on": n_train,
        "selection_rule": result.selection.rule,
        "cross_validation": {k: cv[k] for k in keys} | {"auc_by_group": cv["auc_by_group"]},
        "baseline_cross_validation": {k: base_cv[k] for k in keys},
        "test": {"name": test_name, **{k: result.test[chosen][k] for k in keys}},
        "baseline_test": {"name": test_name, **{k: result.test["lr"][k] for k in keys}},
        "robustness": (result.robustness or {}).get(chosen),
        "note": "95% bootstrap intervals; the test set was not used to choose the model.",
    }

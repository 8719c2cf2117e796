"""The green-patent classifier: frozen baseline, fine-tuning, evaluation, prediction.

Python API (imported lazily, so ``import patentlab.classify`` does not import torch; the
functions ``train`` and ``evaluate`` share their modules' names, so import them from there)::

    from patentlab.classify import FrozenEncoderClassifier, GreenClassifier, TrainConfig, load_labeled
    from patentlab.classify.train import train
    from patentlab.classify.evaluate import evaluate

    baseline = FrozenEncoderClassifier("minilm").fit(texts, labels)     # scikit-learn estimator
    result = train(load_labeled("train_silver.parquet"), "runs/ft")     # the card's defaults
    model = GreenClassifier.from_pretrained(result.model_dir)          # the card's format
    model.predict_proba(["A photovoltaic cell …"])[:, 1]

Every kind is a :class:`~patentlab.classify.family.Classifier`; ``load_classifier(folder)`` loads
any of them from the folder it saved (:mod:`patentlab.classify.family`).
"""

from __future__ import annotations

from patentlab._lazy import lazy_exports

_EXPORTS = {
    "FrozenEncoderClassifier": "patentlab.classify.baseline",
    "GreenClassifier": "patentlab.classify.model",
    "TrainConfig": "patentlab.classify.train",
    "Classifier": "patentlab.classify.family",
    "load_classifier": "patentlab.classify.family",
    "load_labeled": "patentlab.classify.data",
    "load_gold": "patentlab.classify.data",
    "predict_file": "patentlab.classify.predict",
    "binary_metrics": "patentlab.classify.metrics",
}
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

"""The Classifier family: every registered kind passes one conformance test (as in scikit-learn's
``check_estimator``), fitted on real bundled claims with the packaged MiniLM.

Each kind is fitted once on 40 real claims (20 green), at 64 tokens so the module stays near a
minute on 2 cores; then it must give valid probabilities, agree with the one-pass
:func:`~patentlab.classify.family.predict`, and come back from its folder through the one loader
with identical probabilities.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from patentlab.classify.family import (
    REGISTRY,
    Classifier,
    EncoderClassifier,
    kind_of,
    load_classifier,
    predict,
    prepare_encoder,
    register,
)
from patentlab.data import sample_path
from patentlab.errors import PatentlabError

MAX_LENGTH = 64


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATENTLAB_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="module")
def sample() -> tuple[pd.DataFrame, pd.DataFrame]:
    """40 training claims (20 green, 20 not) and 8 test claims (the 6 green ones and 2 others)."""
    claims = pd.read_csv(sample_path("y02_claims_1100.csv"))
    train = claims[claims["split"] == "train"]
    test = claims[claims["split"] == "test"]
    fit = pd.concat([train[train["is_green"] == c].head(20) for c in (1, 0)])
    held_out = pd.concat([test[test["is_green"] == 1], test[test["is_green"] == 0].head(2)])
    return fit, held_out


def _fine_tuned(fit: pd.DataFrame, tmp_path):
    from patentlab.classify.data import LabeledTexts
    from patentlab.classify.model import GreenClassifier
    from patentlab.classify.train import TrainConfig, train
    from patentlab.corpus.schema import Y02_CATEGORIES

    data = LabeledTexts(
        texts=fit["text"].tolist(),
        labels=fit["is_green"].to_numpy(dtype=int),
        ids=fit["id"].astype(str).tolist(),
        y02=fit[list(Y02_CATEGORIES)].to_numpy(dtype=np.float32),
        source="y02_claims_1100",
    )
    config = TrainConfig(
        epochs=1, batch_size=8, lr=1e-4, warmup_steps=1, max_length=MAX_LENGTH, y02_head=True
    )
    result = train(data, tmp_path / "run", config, show_progress=False)
    assert isinstance(load_classifier(tmp_path / "run"), GreenClassifier)  # a run folder: its model/
    return GreenClassifier.from_pretrained(result.model_dir, device="cpu")


def _fit(kind: str, fit: pd.DataFrame, tmp_path) -> Classifier:
    """The kind fitted on ``fit``; a kind with no recipe here is fitted scikit-learn's way."""
    from patentlab.classify.baseline import FrozenEncoderClassifier
    from patentlab.classify.lexical import TfidfClassifier
    from patentlab.classify.prior import DefinitionPriorClassifier
    from patentlab.classify.y02_scorer import DefinitionAugmentedClassifier, Y02DefinitionScorer

    texts, labels = fit["text"].tolist(), fit["is_green"].tolist()
    recipes = {
        "fine-tuned": lambda: _fine_tuned(fit, tmp_path),
        "baseline": lambda: FrozenEncoderClassifier("minilm", max_length=MAX_LENGTH).fit(texts, labels),
        "prior": lambda: DefinitionPriorClassifier(
            FrozenEncoderClassifier("minilm", max_length=MAX_LENGTH, class_weight="balanced"),
            lexical=TfidfClassifier(C=1.0, folds=3),
        ).fit(texts, labels, show_progress=False),
        "tfidf": lambda: TfidfClassifier(C=1.0, folds=3).fit(texts, labels),
        "y02-scorer": lambda: Y02DefinitionScorer(max_length=MAX_LENGTH, class_weight="balanced").fit(
            texts, labels, show_progress=False
        ),
        "y02-augmented": lambda: DefinitionAugmentedClassifier(background="none").fit(
            texts, labels, show_progress=False
        ),
    }
    recipe = recipes.get(kind) or (lambda: REGISTRY[kind].load_class()().fit(texts, labels))
    return recipe()


@pytest.mark.parametrize("kind", list(REGISTRY))
def test_every_registered_kind_conforms(kind, sample, tmp_path):
    fit, held_out = sample
    texts = held_out["text"].tolist()
    model = _fit(kind, fit, tmp_path)
    assert isinstance(model, Classifier)

    proba = model.predict_proba(texts, show_progress=False)
    assert proba.shape == (len(texts), 2)
    assert np.all(np.isfinite(proba)) and proba.min() >= 0.0 and proba.max() <= 1.0
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)

    # One pass gives the same probabilities, with the vectors where the kind reads an encoder.
    once = predict(model, texts)
    np.testing.assert_array_equal(once.proba, proba)
    if isinstance(model, EncoderClassifier):
        assert once.embeddings is not None and once.embeddings.shape[0] == len(texts)
        assert np.all(np.isfinite(once.embeddings))
    if once.y02 is not None:
        assert once.y02.shape == (len(texts), 8) and 0.0 <= once.y02.min() <= once.y02.max() <= 1.0

    # Saved, the folder holds the kind's marker, and the one loader brings back the same model.
    folder = model.save_pretrained(tmp_path / kind)
    assert kind_of(folder) is REGISTRY[kind]
    again = load_classifier(folder)
    assert type(again) is type(model)
    np.testing.assert_array_equal(again.predict_proba(texts, show_progress=False), proba)

    # A worker's settings (its batch size, no on-disk cache) change no probability.
    prepare_encoder(again, batch_size=3, cache=False)
    np.testing.assert_allclose(again.predict_proba(texts, show_progress=False), proba, atol=1e-5)


def test_a_folder_without_a_kind_marker_is_refused(tmp_path):
    with pytest.raises(PatentlabError, match="not a classifier folder"):
        load_classifier(tmp_path)
    (tmp_path / "notes.json").write_text("{}", encoding="utf-8")
    with pytest.raises(PatentlabError, match="not a classifier folder"):
        load_classifier(tmp_path)


def test_a_kind_needs_a_new_name_and_a_new_marker(monkeypatch):
    from patentlab.classify import family

    monkeypatch.setattr(family, "REGISTRY", dict(family.REGISTRY))
    with pytest.raises(ValueError, match="new name"):
        register("baseline", "other.json", "patentlab.classify.baseline:FrozenEncoderClassifier")
    with pytest.raises(ValueError, match="marker"):
        register("other", "baseline.json", "patentlab.classify.baseline:FrozenEncoderClassifier")

"""The ``Classifier`` family: what every green-patent classifier kind offers, one registry, one loader.

Every kind (the frozen baseline, the fine-tuned model, the definition prior, the TF-IDF expert,
the Y02-definition scorer and its augmented baseline) gives ``(n, 2)`` probabilities of
Non-Green and Green, saves itself to a folder and loads from one. A saved folder says its kind by
the file it holds (its *marker*: ``baseline.json``, ``classifier_head.pt``…), so
:func:`load_classifier` reads every folder the kinds have ever written, with no extra header.

Kinds that read a text through one sentence encoder also offer :class:`EncoderClassifier`: their
probabilities come with the vectors they were computed from (the diverse query strategy needs
them; so do the fine-tuned model's Y02 categories), and a worker can load the encoder up front
with its own batch size and without the on-disk cache. Callers go through :func:`predict` and
:func:`prepare_encoder`, which know the difference, so none of them tests a concrete class.

A new kind is one new file plus one registration line here, for example::

    # classify/knn.py: class KnnClassifier with predict_proba, save_pretrained (writes knn.json)
    # and from_pretrained
    register("knn", "knn.json", "patentlab.classify.knn:KnnClassifier")

``tests/test_classifier_family.py`` fits, scores, saves and reloads every registered kind.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from patentlab.errors import PatentlabError

#: The folder of a training run keeps its model in this subfolder (``classify train``).
RUN_MODEL_DIR = "model"


@runtime_checkable
class Classifier(Protocol):
    """A green-patent classifier: texts in, ``(n, 2)`` probabilities of Non-Green and Green out."""

    def predict_proba(self, texts: Sequence[str], /, *, show_progress: bool = False) -> np.ndarray:
        """``(n, 2)`` probabilities; each row sums to 1."""
        ...

    def save_pretrained(self, path: str | Path) -> Path:
        """Write the model to the folder ``path`` (atomically), with its kind's marker file."""
        ...

    @classmethod
    def from_pretrained(cls, path: str | Path) -> Classifier:
        """The model saved in ``path`` by :meth:`save_pretrained`."""
        ...


@dataclass
class Prediction:
    """What one pass over the texts gives: the probabilities and, where the kind has them, the
    embeddings it read the texts as and the Y02 head's per-category probabilities."""

    proba: np.ndarray  # (n, 2)
    embeddings: np.ndarray | None = None  # (n, dim)
    y02: np.ndarray | None = None  # (n, 8): Y02A…Y02W, the fine-tuned model's optional head

    @property
    def p_green(self) -> np.ndarray:
        return self.proba[:, 1]


@runtime_checkable
class EncoderClassifier(Classifier, Protocol):
    """A classifier that reads each text as one sentence-encoder embedding."""

    def predict_with_embeddings(self, texts: Sequence[str], /, *, show_progress: bool = False) -> Prediction:
        """The probabilities with the embeddings (and Y02 categories) they came from, in one pass."""
        ...

    def prepare_encoder(self, *, batch_size: int | None = None, cache: bool | None = None) -> None:
        """Load the encoder now, with these run-time settings (``None`` keeps the current one)."""
        ...


def predict(model: Classifier, texts: Sequence[str], *, show_progress: bool = False) -> Prediction:
    """Score ``texts`` once; embeddings and Y02 categories come along where the kind has them."""
    if isinstance(model, EncoderClassifier):
        return model.predict_with_embeddings(list(texts), show_progress=show_progress)
    # Passed only when asked for, so a bare scikit-learn-style predict_proba(texts) works too.
    options = {"show_progress": True} if show_progress else {}
    return Prediction(model.predict_proba(list(texts), **options))


def prepare_encoder(model: Classifier, *, batch_size: int | None = None, cache: bool | None = None) -> None:
    """Load ``model``'s encoder now with these settings; nothing to do for a kind without one."""
    if isinstance(model, EncoderClassifier):
        model.prepare_encoder(batch_size=batch_size, cache=cache)


# -- the registry --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassifierKind:
    """One registered kind: its name, the marker file its folders hold, and its class.

    ``target`` is the class or ``"module:Class"``; a string is imported only when a folder of this
    kind is loaded, so loading the TF-IDF expert does not import torch.
    """

    name: str
    marker: str
    target: str | type

    def load_class(self) -> type:
        if not isinstance(self.target, str):
            return self.target
        module, _, name = self.target.partition(":")
        return getattr(importlib.import_module(module), name)

    def holds(self, path: Path) -> bool:
        """Whether ``path`` is a folder saved by this kind."""
        return (path / self.marker).is_file()


#: The registered kinds, in the order a folder is matched against their markers.
REGISTRY: dict[str, ClassifierKind] = {}


def register(name: str, marker: str, target: str | type) -> ClassifierKind:
    """Add a kind to :data:`REGISTRY` (its name and its marker file must be new)."""
    if not name or name in REGISTRY:
        raise ValueError(f"a classifier kind needs a new name, not {name!r}")
    if any(kind.marker == marker for kind in REGISTRY.values()):
        raise ValueError(f"the marker file {marker!r} already names a classifier kind")
    REGISTRY[name] = kind = ClassifierKind(name, marker, target)
    return kind


register("fine-tuned", "classifier_head.pt", "patentlab.classify.model:GreenClassifier")
register("baseline", "baseline.json", "patentlab.classify.baseline:FrozenEncoderClassifier")
register("prior", "prior.json", "patentlab.classify.prior:DefinitionPriorClassifier")
register("tfidf", "lexical.json", "patentlab.classify.lexical:TfidfClassifier")
register("y02-scorer", "y02_scorer.json", "patentlab.classify.y02_scorer:Y02DefinitionScorer")
register("y02-augmented", "y02_augmented.json", "patentlab.classify.y02_scorer:DefinitionAugmentedClassifier")


def kind_of(path: str | Path) -> ClassifierKind | None:
    """The kind whose marker file the folder ``path`` holds, or None."""
    path = Path(path)
    return next((kind for kind in REGISTRY.values() if kind.holds(path)), None)


def load_classifier(path: str | Path) -> Classifier:
    """The classifier saved in ``path`` (any registered kind), or in a training run's ``model/``."""
    path = Path(path)
    kind = kind_of(path)
    if kind is None and kind_of(path / RUN_MODEL_DIR) is not None:
        path = path / RUN_MODEL_DIR
        kind = kind_of(path)
    if kind is None:
        markers = ", ".join(k.marker for k in REGISTRY.values())
        raise PatentlabError(f"not a classifier folder (none of {markers})", path=path)
    return kind.load_class().from_pretrained(path)

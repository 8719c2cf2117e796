"""p_green and embeddings for a pool, from a saved classifier (any kind), or p_green from a table."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from patentlab.errors import PatentlabError


def score_with_classifier(
    model_dir: str | Path, texts: Sequence[str]
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(p_green, embeddings)`` of ``texts`` under a model saved by ``patentlab classify``.

    Any classifier kind loads (:func:`patentlab.classify.family.load_classifier`). The embeddings
    are the classifier's own, so the diverse strategy measures similarity the way the classifier
    sees it; they are None for a kind that reads no encoder (the TF-IDF expert).
    """
    from patentlab.classify.family import load_classifier, predict

    prediction = predict(load_classifier(model_dir), list(texts), show_progress=True)
    return prediction.p_green, prediction.embeddings


def read_scores(path: str | Path, ids: Sequence[str]) -> np.ndarray:
    """``p_green`` for ``ids`` from a table with ``id`` (or ``doc_id``) and ``p_green`` columns."""
    from patentlab.tables import id_column_of, read_table

    frame = read_table(path)
    id_col = id_column_of(list(frame.columns))
    if id_col is None or "p_green" not in frame.columns:
        raise PatentlabError("a scores file needs an id (or doc_id) and a p_green column", path=path)
    scores = dict(zip(frame[id_col].astype(str), frame["p_green"].astype(float), strict=True))
    missing = [i for i in ids if i not in scores]
    if missing:
        raise PatentlabError(f"no p_green for {len(missing)} pool ids (first: {missing[0]})", path=path)
    return np.array([scores[i] for i in ids], dtype=np.float64)

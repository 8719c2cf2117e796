"""Gold weighting on the real human gold file: the card's x5, optionally class-balanced."""

from __future__ import annotations

import numpy as np
import pytest

from patentlab.classify.data import gold_weights, load_gold
from patentlab.data import sample_path


def test_plain_gold_weight_is_the_cards_five():
    gold = load_gold(sample_path("hitl_gold_100.csv"))
    assert len(gold) == 100
    assert np.all(gold.weights == 5.0)


def test_balanced_gold_keeps_the_mean_and_equalises_the_classes():
    gold = load_gold(sample_path("hitl_gold_100.csv"), balance=True)
    green = gold.labels == 1
    assert green.sum() == 38  # the bundled human labels: 38 green, 62 not
    assert gold.weights.mean() == pytest.approx(5.0)
    assert gold.weights[green].sum() == pytest.approx(gold.weights[~green].sum())
    assert gold.weights[green][0] > gold.weights[~green][0]


def test_single_class_gold_stays_uniform():
    assert np.allclose(gold_weights(np.ones(7, dtype=int), 5.0, balance=True), 5.0)

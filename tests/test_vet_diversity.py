"""Batch diversity and cost arithmetic."""

from __future__ import annotations

import json

import numpy as np
import pytest

from patentlab.data import sample_path
from patentlab.vet.cost import Prices, StageCost, Stopwatch, cost_summary
from patentlab.vet.diversity import batch_diversity, bleu, mean_pairwise_distance, self_bleu
from patentlab.vet.text import words

A = "a solar panel with a tracking mount that follows the sun across the sky"
B = "a wind turbine blade with a serrated trailing edge that reduces noise"


def test_bleu_of_identical_text_is_one_and_of_disjoint_text_zero():
    tokens = A.split()
    assert bleu(tokens, [tokens]) == pytest.approx(1.0)
    assert bleu(tokens, [["x", "y", "z"]]) == 0.0


def test_self_bleu_is_higher_for_a_repetitive_batch():
    assert self_bleu([A, A, A]) == pytest.approx(1.0)
    assert self_bleu([A, B]) < 0.2
    assert self_bleu([A]) is None


def test_self_bleu_equals_bleu_against_the_rest_on_real_claims():
    """The one-pass self-BLEU (two top counts per n-gram) gives exactly the plain definition."""
    lines = sample_path("full_records_334.jsonl").read_text(encoding="utf-8").splitlines()[:25]
    claims = [json.loads(line)["claims"][0] for line in lines]
    batch = claims + claims[:3] + ["", "a"]  # repeated claims, an empty and a one-word text
    tokens = [words(t) for t in batch]
    plain = np.mean([bleu(tokens[i], tokens[:i] + tokens[i + 1 :]) for i in range(len(tokens))])
    assert self_bleu(batch) == pytest.approx(plain, abs=1e-12)
    assert 0.0 < self_bleu(claims) < self_bleu(batch)


def test_mean_pairwise_distance():
    same = np.array([[1.0, 0.0], [2.0, 0.0]])
    orthogonal = np.array([[1.0, 0.0], [0.0, 3.0]])
    assert mean_pairwise_distance(same) == pytest.approx(0.0)
    assert mean_pairwise_distance(orthogonal) == pytest.approx(1.0)
    assert mean_pairwise_distance(same[:1]) is None


def test_batch_diversity():
    d = batch_diversity([A, B], np.eye(2))
    assert d.n == 2 and d.distinct_2 > 0.9 and d.mean_pairwise_distance == pytest.approx(1.0)
    assert batch_diversity([]).distinct_2 is None


def test_cost_per_generated_and_accepted():
    stages = {
        "generate": StageCost(wall_seconds=100, cpu_seconds=180, tokens=4000),
        "vet": StageCost(wall_seconds=20, cpu_seconds=20, gpu_seconds=0),
    }
    summary = cost_summary(stages, n_generated=10, n_accepted=2, prices=Prices(0.36, 2.0))
    assert summary["total"]["cpu_seconds"] == 200
    assert summary["per_generated"]["tokens"] == 400
    assert summary["per_accepted"]["wall_seconds"] == 60
    assert summary["per_accepted"]["usd"] == pytest.approx(200 / 3600 * 0.36 / 2)
    gpu = cost_summary({"g": StageCost(gpu_seconds=3600)}, 1, 1, Prices(0.0, 2.0))
    assert gpu["per_accepted"]["usd"] == pytest.approx(2.0)
    assert cost_summary(stages, 10, 0, Prices())["per_accepted"]["usd"] is None


def test_stopwatch_counts_cpu_time():
    with Stopwatch() as sw:
        sum(i * i for i in range(300_000))
    assert sw.wall > 0 and sw.cpu > 0

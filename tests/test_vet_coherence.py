"""Section coherence with the packaged MiniLM: thresholds calibrated on real patents, which pass,
while inventions whose sections come from different real patents fail."""

from __future__ import annotations

import numpy as np
import pytest

from patentlab.data import sample_path
from patentlab.generate.data import iter_full_records
from patentlab.generate.parse import parse_patent
from patentlab.vet.checks import parse_record
from patentlab.vet.coherence import PAIRS, CoherenceConfig, SectionCoherence, calibrate

pytestmark = pytest.mark.heavy  # loads MiniLM and embeds 1,000 sections (cached on disk after once)


@pytest.fixture(scope="module")
def real():
    records = [
        r
        for r in iter_full_records([str(sample_path("full_records_334.jsonl"))])
        if r.get("title") and r.get("abstract") and r.get("claims")
    ]
    return [parse_record(r) for r in records]


@pytest.fixture(scope="module")
def coherence():
    return SectionCoherence()


@pytest.fixture(scope="module")
def real_cosines(real, coherence):
    return coherence.cosines(real)  # embeddings come from the on-disk cache after the first run


def _mixed(real, shift):
    """Title of patent i, abstract of patent i + shift, claims of patent i + 2 * shift."""
    n = len(real)
    out = []
    for i in range(n):
        text = (
            f"# Patent\n\n## Title\n{real[i].title}\n\n## Abstract\n{real[(i + shift) % n].abstract}\n\n"
            "## Claims\n" + "\n".join(f"{k}. {c}" for k, c in enumerate(real[(i + 2 * shift) % n].claims, 1))
        )
        out.append(parse_patent(text, finished=True))
    return out


def test_defaults_are_the_first_percentile_of_real_pairs(real, real_cosines, coherence):
    measured = calibrate(real, 1.0, coherence)
    config = CoherenceConfig()
    print("\n1st percentiles of real section cosines:", {k: round(v, 3) for k, v in measured.items()})
    for pair, _, _ in PAIRS:
        # The default is the measured percentile rounded down to two decimals.
        assert 0 <= measured[pair] - config.threshold(pair) < 0.01 + 1e-6, (pair, measured[pair])


def test_real_patents_pass_coherence(real_cosines, coherence):
    failures = [coherence.failure(c) for c in real_cosines]
    passed = sum(f is None for f in failures) / len(failures)
    print(f"\nreal patents passing coherence: {passed:.1%} of {len(failures)}")
    assert passed >= 0.97


def test_sections_from_different_patents_fail(real, coherence):
    mixed = _mixed(real, 1)
    results = coherence.check(mixed)
    rejected = sum(detail is not None for detail, _ in results) / len(results)
    print(
        f"\nmixed-up sections (title, abstract, claims of 3 different real patents) rejected: {rejected:.1%}"
    )
    assert rejected >= 0.8
    detail, cosines = results[0]
    if detail is not None:
        assert "cosine" in detail and set(cosines) == {p for p, _, _ in PAIRS}


def test_incomplete_patents_get_no_cosines(coherence):
    parsed = [parse_patent("# Patent\n\n## Title\nA valve\n"), parse_patent("not a patent")]
    assert coherence.check(parsed) == [(None, None), (None, None)]
    assert coherence.cosines([]) == []


def test_a_given_embed_function_is_used(real):
    calls = []

    def embed(texts):
        from patentlab.embed.encoder import Encoder

        calls.append(len(texts))
        return Encoder("minilm", max_length=256).encode(texts, show_progress=False)

    cosines = SectionCoherence(embed=embed).cosines(real[:4])
    assert calls == [12] and all(-1 <= v <= 1 for c in cosines for v in c.values())
    assert np.allclose(
        [list(c.values()) for c in cosines],
        [list(c.values()) for c in SectionCoherence().cosines(real[:4])],
        atol=1e-4,
    )

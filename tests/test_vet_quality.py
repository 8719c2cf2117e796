"""Reference-free quality figures on the bundled real patents (no model)."""

from __future__ import annotations

import pytest

from patentlab.data import sample_path
from patentlab.generate.data import iter_full_records
from patentlab.vet.quality import NgramProfile, coherence_means, repetition


@pytest.fixture(scope="module")
def abstracts():
    records = iter_full_records([str(sample_path("full_records_334.jsonl"))])
    return [r["abstract"] for r in records if len((r.get("abstract") or "").split()) > 40]


def test_a_loop_repeats_more_than_real_patents(abstracts):
    loop = "The solute is injected into the solvent substrate substrate substrate and the solute " * 4
    real = sorted(repetition(a) for a in abstracts)
    assert repetition(loop) > real[int(0.95 * len(real))]
    assert repetition("") == 0.0 and repetition("one two three four five") == 0.0


def test_held_out_real_text_is_closer_to_the_profile_than_its_words_reversed(abstracts):
    profile = NgramProfile(size=500).fit(abstracts[0::2])
    held_out = abstracts[1::2]
    reversed_words = [" ".join(reversed(a.split())) for a in held_out]
    real, scrambled = profile.similarity(held_out), profile.similarity(reversed_words)
    assert (real > scrambled).mean() > 0.9
    assert scrambled.min() >= 0.0 and real.max() <= 1.0 + 1e-9
    with pytest.raises(ValueError, match="fit"):
        NgramProfile().similarity(["text"])


def test_coherence_means_skip_rows_without_figures():
    rows = [{"title_abstract": 0.5, "title_claim1": 0.4, "abstract_claim1": 0.9}, None,
            {"title_abstract": 0.7, "title_claim1": 0.6, "abstract_claim1": 0.7}]  # fmt: skip
    assert coherence_means(rows) == {"title_abstract": 0.6, "title_claim1": 0.5, "abstract_claim1": 0.8}
    assert coherence_means([None]) == {"title_abstract": None, "title_claim1": None, "abstract_claim1": None}

"""Novelty: verbatim and lightly edited training records are caught as reproductions."""

from __future__ import annotations

import random

import numpy as np
import pytest

from patentlab.data import sample_path
from patentlab.vet.novelty import NoveltyConfig, NoveltyIndex, TrainingDocument, load_training_documents


@pytest.fixture(scope="module")
def documents():
    return load_training_documents(sample_path("full_records_334.jsonl"))


@pytest.fixture(scope="module")
def split(documents):
    """Every 10th record held out; the index sees the rest (as the generator's training data)."""
    heldout = documents[::10]
    train = [d for i, d in enumerate(documents) if i % 10]
    return train, heldout


@pytest.fixture(scope="module")
def lexical_index(split):
    return NoveltyIndex(NoveltyConfig(encoder=None)).fit(split[0], show_progress=False)


def _edit(text: str, every: int, seed: int = 0) -> str:
    """Replace every ``every``-th word with a word from elsewhere: a light rewording."""
    rng = random.Random(seed)
    tokens = text.split()
    for i in range(every - 1, len(tokens), every):
        tokens[i] = rng.choice(["device", "member", "unit", "portion", "element"])
    return " ".join(tokens)


def test_loads_one_document_per_record(documents):
    assert len(documents) == 334
    assert len({d.id for d in documents}) == len(documents)


def test_verbatim_training_record_is_a_reproduction(lexical_index, split):
    doc = split[0][5]
    result = lexical_index.query([doc.text])[0]
    assert result.is_reproduction
    assert result.reproduction_of == doc.id
    assert result.jaccard > 0.9 and result.common_run >= len(doc.text.split()) * 0.9


def test_lightly_edited_training_record_is_a_reproduction(lexical_index, split):
    doc = split[0][40]
    result = lexical_index.query([_edit(doc.text, every=12)])[0]
    assert result.is_reproduction
    assert result.reproduction_of == doc.id


def test_copied_claim_inside_new_text_is_caught_by_the_common_run(lexical_index, split):
    doc = next(d for d in split[0] if len(d.text.split()) > 400)
    copied = " ".join(doc.text.split()[100:160])
    text = "A bicycle lamp with a dynamo in the hub. " + copied + " The lamp is yellow."
    result = lexical_index.query([text])[0]
    assert result.common_run >= 55 and result.common_run_doc == doc.id
    assert result.is_reproduction and result.reproduction_of == doc.id


def test_heldout_real_patents_are_novel(lexical_index, split):
    results = lexical_index.query([d.text for d in split[1]])
    flagged = [(d.id, r.reasons) for d, r in zip(split[1], results, strict=True) if r.is_reproduction]
    assert len(flagged) <= 1, flagged


def test_common_run_matches_brute_force(lexical_index, split):
    """The index's longest run equals a direct comparison with every document."""
    from difflib import SequenceMatcher

    from patentlab.vet.text import words

    text = _edit(split[0][7].text, every=9, seed=3)
    run, doc_id, _ = lexical_index.longest_common_run(text)
    query = words(text)
    best = 0
    for doc in split[0]:
        tokens = words(doc.text)
        match = SequenceMatcher(None, query, tokens, autojunk=False).find_longest_match()
        best = max(best, match.size)
    assert run == best
    assert doc_id == split[0][7].id


def test_empty_and_short_texts(lexical_index):
    results = lexical_index.query(["", "a valve"])
    assert all(not r.is_reproduction and r.common_run == 0 for r in results)


def test_small_corpus_with_unknown_words():
    docs = [
        TrainingDocument("a", "one two three four five six seven eight nine ten"),
        TrainingDocument("b", "alpha beta gamma delta epsilon zeta eta theta iota kappa"),
    ]
    index = NoveltyIndex(NoveltyConfig(encoder=None, max_common_run=8)).fit(docs, show_progress=False)
    run, doc, text = index.longest_common_run("zz one two three four five six seven eight nine qq")
    assert (run, doc, text) == (9, "a", "one two three four five six seven eight nine")
    assert index.query(["zz one two three four five six seven eight nine qq"])[0].reproduction_of == "a"


def test_embedding_cosine_names_the_nearest_document(split):
    train = split[0][:30]
    index = NoveltyIndex(NoveltyConfig(encoder="minilm")).fit(train, show_progress=False)
    edited = _edit(train[3].text, every=10)
    result, other = index.query([edited, split[1][0].text])
    assert result.cosine_doc == train[3].id and result.cosine >= 0.95
    assert result.is_reproduction
    assert other.cosine is not None and other.cosine < 0.95
    vectors = index.embed([train[0].text])
    assert np.isclose(np.linalg.norm(vectors[0]), 1.0, atol=1e-4)

"""The repetition guard, on SmolLM2's real tokenizer and real claim text."""

from __future__ import annotations

import pytest

from patentlab.llm.repetition import RepeatGuard, token_guard_factory

CLAIM = "A pump comprising a housing and a rotor"


@pytest.fixture(scope="module")
def tokenizer():
    from patentlab.llm.loading import load_tokenizer, resolve_causal_lm

    return load_tokenizer(resolve_causal_lm(None))


@pytest.fixture(scope="module")
def pieces(tokenizer):
    return tokenizer.batch_decode([[i] for i in range(len(tokenizer))])


def _guard(tokenizer, pieces, **kwargs) -> RepeatGuard:
    return token_guard_factory(pieces, tokenizer.eos_token_id, **kwargs)()


def _ids(tokenizer, text):
    return tokenizer.encode(text, add_special_tokens=False)


def test_an_ngram_said_once_in_a_line_is_banned_from_coming_again(tokenizer, pieces):
    guard = _guard(tokenizer, pieces, ngram_size=3, distinct_lines=False)
    ids = _ids(tokenizer, "A pump with a rotor and a pump with")
    guard.feed(ids)
    # "a pump with" ... "pump with" was followed by " a": " a" must not follow it again.
    assert _ids(tokenizer, " a")[0] in guard.banned()
    assert _ids(tokenizer, " two")[0] not in guard.banned()


def test_the_ngram_guard_never_crosses_a_line_end(tokenizer, pieces):
    guard = _guard(tokenizer, pieces, ngram_size=3, distinct_lines=False)
    guard.feed(_ids(tokenizer, "1. The pump of claim 1, wherein the rotor is steel.\n2. The pump of"))
    assert guard.banned() == []  # claims may repeat "The pump of claim 1, wherein" line after line


def test_a_line_may_not_end_as_a_copy_of_an_earlier_one(tokenizer, pieces):
    guard = _guard(tokenizer, pieces, ngram_size=0, distinct_lines=True)
    newline = _ids(tokenizer, "\n")[0]
    guard.feed(_ids(tokenizer, f"1. {CLAIM}.\n2. {CLAIM}."))
    banned = guard.banned()
    assert newline in banned and tokenizer.eos_token_id in banned  # numbers differ, the claims do not
    other = _guard(tokenizer, pieces, ngram_size=0, distinct_lines=True)
    other.feed(_ids(tokenizer, f"1. {CLAIM}.\n2. {CLAIM} made of steel."))
    assert other.banned() == []


def test_sync_feeds_only_what_is_new(tokenizer, pieces):
    ids = _ids(tokenizer, "A pump with a rotor and a pump with")
    stepwise = _guard(tokenizer, pieces, ngram_size=3, distinct_lines=True)
    for end in range(1, len(ids) + 1):
        stepwise.sync(ids[:end])
    whole = _guard(tokenizer, pieces, ngram_size=3, distinct_lines=True)
    whole.feed(ids)
    assert stepwise.fed == whole.fed == len(ids)
    assert stepwise.banned() == whole.banned() != []


def test_a_guard_with_nothing_asked_bans_nothing(tokenizer, pieces):
    guard = _guard(tokenizer, pieces, ngram_size=0, distinct_lines=False)
    guard.feed(_ids(tokenizer, f"{CLAIM} {CLAIM}\n{CLAIM}\n{CLAIM}"))
    assert not guard.active and guard.banned() == []

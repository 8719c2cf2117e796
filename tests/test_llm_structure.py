"""Structure-constrained decoding: skeleton grammars and JSON schemas, with the real tokenizer."""

from __future__ import annotations

import json
import re

import pytest

from patentlab.agents.schema import ARGUMENT_SCHEMA, VERDICT_SCHEMA, validate
from patentlab.data import sample_path
from patentlab.errors import PatentlabError
from patentlab.generate.data import iter_full_records
from patentlab.generate.formats import BOTTOM_UP, TOP_DOWN, claim_items, format_patent, prompt
from patentlab.generate.skeleton import (
    ABSTRACT_TOKENS,
    CLAIM1_CLOSING,
    CLAIM1_FORM,
    CLAIM_TOKENS,
    patent_skeleton,
    prompt_mode,
    skeleton_for_prompt,
)
from patentlab.llm.structure import (
    SENTENCE_GRACE,
    GrammarConstraint,
    decoding_schema,
    json_constraint,
    json_object_lark,
    skeleton_constraint,
)


@pytest.fixture(scope="module")
def tokenizer():
    from patentlab.llm.loading import load_tokenizer

    return load_tokenizer(None)


@pytest.fixture(scope="module")
def real_records():
    records = iter_full_records([str(sample_path("full_records_334.jsonl"))])
    return [r for r in records if r.get("title") and r.get("abstract") and r.get("claims")]


def _consumes(constraint: GrammarConstraint, tokenizer, text: str) -> bool:
    ids = tokenizer.encode(text, add_special_tokens=False)
    return constraint.matcher.try_consume_tokens(ids) == len(ids) and not constraint.failed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", (-1, "")),
        ("# Patent\n\n## Title\n", (-1, "# Patent\n\n## Title\n")),
        ("# Patent\n\n## Title\nSolar panel cleaning robot", (0, "Solar panel cleaning robot")),
        ("# Patent\n\n## Title\nA pump\n\n## Abstract\n", (1, "")),
        (
            "# Patent\n\n## Claims\n1. A pump comprising a rotor.\n2. The pump",
            (0, "1. A pump comprising a rotor.\n2. The pump"),
        ),
    ],
)
def test_position_reads_where_a_prompt_stops(text, expected):
    assert patent_skeleton(prompt_mode(text)).position(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Once upon a time",  # not a patent
        "# Patent\n\nsome text",  # text but no header
        "# Patent\n\n## Title\nA pump\nwith two lines",  # a title is one line
        "# Patent\n\n## Claims\nA pump comprising a rotor.",  # claims must be numbered
        "# Patent\n\n## Title\nA pump ## Description",  # an invented header
    ],
)
def test_a_prompt_that_breaks_the_skeleton_is_a_one_line_error(text):
    with pytest.raises(PatentlabError) as err:
        skeleton_for_prompt(text)
    assert "\n" not in str(err.value)


def test_headers_and_claim_numbers_are_forced(tokenizer):
    constraint = skeleton_constraint(tokenizer, patent_skeleton(TOP_DOWN), prompt(TOP_DOWN))
    assert _consumes(constraint, tokenizer, "Self-cleaning solar panel\n")
    assert tokenizer.decode(constraint.forced()) == "\n## Abstract\n"
    assert _consumes(constraint, tokenizer, f"\n## Abstract\n{ABSTRACT}\n")
    # The space after "1." is left to the model: it belongs to the claim's first word's token.
    assert tokenizer.decode(constraint.forced()) == "\n## Claims\n1."
    assert _consumes(
        constraint, tokenizer, "\n## Claims\n1. A robot comprising a rotating brush and an electric motor.\n"
    )
    assert tokenizer.decode(constraint.forced()) == "2."


ABSTRACT = "A robot cleans a solar panel with a rotating brush driven by an electric motor."
CLAIM1 = "A pump comprising: a housing with an inlet; and a rotor turning inside the housing."


@pytest.mark.parametrize(
    "continuation",
    [
        "A pump\n\n## Description\nThe pump",  # an invented section
        f"A pump\n\n## Abstract\n{ABSTRACT}\n\n## Claims\n1. 1. A lens",  # duplicated numbering
        f"A pump\n\n## Abstract\n{ABSTRACT}\n\n## Claims\n1. {CLAIM1}\n3. The pump",  # a skipped number
        "A pump\n\n## Abstract\n\n\n## Claims",  # an empty abstract
        "A pump\n\n## Abstract\nA pump is described.\n\n## Claims",  # an abstract of four words
        f"A pump\n\n## Claims\n1. {CLAIM1}",  # sections out of order
        f"A pump\n\n## Abstract\n{ABSTRACT}\n\n## Claims\n1. A pump is described.\n",  # no transition
        # one element after the transition
        f"A pump\n\n## Abstract\n{ABSTRACT}\n\n## Claims\n1. A pump, wherein the rotor is made of steel.\n",
    ],
)
def test_the_grammar_rejects_what_the_old_samples_did(tokenizer, continuation):
    constraint = skeleton_constraint(tokenizer, patent_skeleton(TOP_DOWN), prompt(TOP_DOWN))
    assert not _consumes(constraint, tokenizer, continuation)


@pytest.mark.parametrize("mode", [TOP_DOWN, BOTTOM_UP])
def test_real_patents_fit_the_skeleton(tokenizer, real_records, mode):
    """Real granted patents (their first claims, within the budgets) are sentences of the grammar."""
    fitted = 0
    for record in real_records[:40]:
        items = claim_items(record["claims"])[:3]
        if [n for n, _ in items] != list(range(1, len(items) + 1)):
            continue
        text = format_patent({**record, "claims": [t for _, t in items]}, mode)
        lengths = [
            len(tokenizer.encode(t, add_special_tokens=False))
            for t in [record["abstract"]] + [c for _, c in items]
        ]
        if lengths[0] > ABSTRACT_TOKENS or max(lengths[1:]) > CLAIM_TOKENS:
            continue  # the budgets bound generation; a longer real text is not what this checks
        if not re.match("[^\\s#0-9]" + CLAIM1_FORM + "$", items[0][1]):
            continue  # claim 1's shape (preamble, transition, elements) admits most, not all, real claims
        skeleton = patent_skeleton(mode, 4096)
        constraint = skeleton_constraint(tokenizer, skeleton, prompt(mode))
        assert _consumes(constraint, tokenizer, text[len(prompt(mode)) :]), text[:300]
        assert constraint.matcher.is_accepting()
        fitted += 1
    assert fitted >= 5


def test_bottom_up_budget_leaves_room_for_abstract_and_title():
    skeleton = patent_skeleton(BOTTOM_UP, 256)
    title, abstract = skeleton.sections[2].max_tokens, skeleton.sections[1].max_tokens
    assert skeleton.max_items * 60 + title + abstract <= 256
    assert patent_skeleton(TOP_DOWN, 1024).sections[0].max_tokens == 30
    assert patent_skeleton(TOP_DOWN, 1024).sections[1].max_tokens == 200


def test_every_list_has_a_wrap_up_point_and_only_a_followed_list_shrinks_in_gbnf():
    """Bottom-up claims close in time for the abstract and title; top-down claims, which end the
    document, close before the token limit cuts the last one. GBNF shortens only the former."""
    top, bottom = patent_skeleton(TOP_DOWN, 320), patent_skeleton(BOTTOM_UP, 320)
    assert top.wrap_after(prompt(TOP_DOWN), 320) == 320 - SENTENCE_GRACE
    later = sum(s.max_tokens + 8 for s in bottom.sections[1:])
    assert bottom.wrap_after(prompt(BOTTOM_UP), 320) == 320 - later - SENTENCE_GRACE
    assert top.gbnf(prompt(TOP_DOWN), 320) == top.gbnf(prompt(TOP_DOWN))  # claims keep their length
    assert bottom.gbnf(prompt(BOTTOM_UP), 320) != bottom.gbnf(prompt(BOTTOM_UP))


def test_the_claims_section_carries_the_text_that_lets_claim_1_close():
    """The wrap-up's patent rule lives in the patent skeleton: the claims ahead offer claim 1 its
    transition; a prompt already past the claims has no list ahead, so nothing to offer."""
    top, bottom = patent_skeleton(TOP_DOWN, 320), patent_skeleton(BOTTOM_UP, 320)
    assert top.closing(prompt(TOP_DOWN)) == bottom.closing(prompt(BOTTOM_UP)) == CLAIM1_CLOSING
    claims_done = prompt(BOTTOM_UP, claims=["A valve, comprising: a gate; and a seat."])
    assert bottom.closing(claims_done) is None
    assert all(s.closing is None for s in top.sections if s.kind == "line")


@pytest.mark.parametrize("schema", [ARGUMENT_SCHEMA, VERDICT_SCHEMA])
def test_json_constraint_accepts_valid_replies_only(tokenizer, schema):
    valid = {"label": 1, "argument": "It stores solar heat.", "confidence": 0.7, "quote": "solar",
             "rationale": "A solar collector."}  # fmt: skip
    reply = json.dumps({k: valid[k] for k in schema["properties"]})
    assert not validate(json.loads(reply), schema)[1]
    good = json_constraint(tokenizer, schema, max_tokens=60)
    assert _consumes(good, tokenizer, reply) and good.matcher.is_accepting()
    # Strings share the token budget: a string of 60 words cannot fit, so it must close earlier.
    too_long = json.dumps(
        {k: ("solar " * 60 if isinstance(v, str) else v) for k, v in json.loads(reply).items()}
    )
    extra_key = reply[:-1] + ', "proof": "x"}'
    for bad in ['{"label": 2', '{"label": "green"', "Sure! Here is", too_long, extra_key]:
        assert not _consumes(json_constraint(tokenizer, schema, max_tokens=60), tokenizer, bad), bad


def test_other_schemas_go_through_the_json_compiler(tokenizer):
    schema = {"type": "object", "properties": {"labels": {"type": "array", "items": {"type": "integer"}}}}
    assert json_object_lark(schema) is None
    constraint = json_constraint(tokenizer, schema)
    assert _consumes(constraint, tokenizer, '{"labels": [0, 1]}') and constraint.matcher.is_accepting()
    assert decoding_schema(schema, 10)["additionalProperties"] is False


def test_a_grammar_that_does_not_parse_is_a_one_line_error(tokenizer):
    with pytest.raises(PatentlabError, match="grammar does not fit"):
        GrammarConstraint.from_lark(tokenizer, "start: undefined_rule\n")
    with pytest.raises(PatentlabError, match="not a JSON schema"):
        json_constraint(tokenizer, "{not json")  # type: ignore[arg-type]


def test_a_copied_constraint_keeps_its_own_state(tokenizer):
    original = skeleton_constraint(tokenizer, patent_skeleton(TOP_DOWN), prompt(TOP_DOWN))
    twin = original.copy()
    assert _consumes(twin, tokenizer, "Self-cleaning solar panel\n")
    assert tokenizer.decode(twin.forced()) == "\n## Abstract\n"
    assert original.forced() == []  # the original is still at the start of the title

"""Structural checks: each fails on a hand-made bad example, the tightened ones on the failures
that issue 14 found in generated text, and real patents pass almost all of them."""

from __future__ import annotations

import glob

import pytest
from fuzz_harness import strategies
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patentlab.data import sample_path
from patentlab.generate.data import iter_full_records
from patentlab.generate.parse import ParsedPatent, parse_patent
from patentlab.vet.checks import (
    CHECK_CODES,
    CHECKS,
    Check,
    CheckConfig,
    Evidence,
    claim_form,
    claim_references,
    measure,
    parse_record,
    phrase_loop,
    run_checks,
)
from patentlab.vet.novelty import NoveltyResult
from patentlab.vet.text import words

GOOD = """# Patent

## Title
Adjustable valve for irrigation lines

## Abstract
An irrigation valve has a housing with an inlet and an outlet, a gate that moves between an open
and a closed position, and a spring that biases the gate towards the closed position.

## Claims
1. An irrigation valve comprising: a housing having an inlet and an outlet; a gate movable between an
open position and a closed position; and a spring biasing the gate towards the closed position.
2. The irrigation valve of claim 1, wherein the spring is a coil spring.
3. The irrigation valve of claim 2, wherein the housing is made of a polymer.
"""


GOOD_CLAIMS = GOOD.split("## Claims\n")[1]


def _patent(claims: str, title: str = "Adjustable valve for irrigation lines", abstract: str | None = None):
    abstract = abstract or GOOD.split("## Abstract\n")[1].split("\n\n")[0]
    return parse_patent(f"# Patent\n\n## Title\n{title}\n\n## Abstract\n{abstract}\n\n## Claims\n{claims}\n")


BAD_EXAMPLES = {
    "sections": parse_patent("# Patent\n\n## Title\nA valve\n\n## Claims\n" + GOOD_CLAIMS),
    "claim_numbering": _patent(GOOD_CLAIMS.replace("3. The", "5. The")),
    "claim1_independent": _patent(
        GOOD_CLAIMS.replace(
            "1. An irrigation valve comprising", "1. The irrigation valve of claim 2, comprising"
        )
    ),
    "claim_dependencies": _patent(GOOD_CLAIMS.replace("of claim 2", "of claim 4")),
    "antecedent_basis": _patent(
        "1. An irrigation valve wherein the lever turns the shaft and the cam lifts the plunger "
        "of the seal.\n"
        "2. The irrigation valve of claim 1, wherein the handle is red."
    ),
    "length": _patent(GOOD_CLAIMS, abstract="An irrigation valve."),
    "claim_parents": _patent(GOOD_CLAIMS.replace("of claim 2", "").replace("  ", " ")),
    "title_form": _patent(GOOD_CLAIMS, title="Adjustable valve for irrigation lines under a controlled"),
    "doubled_words": _patent(GOOD_CLAIMS.replace("a coil spring", "a coil spring spring spring")),
    "degeneration": _patent(
        "1. An irrigation valve comprising a housing, "
        + "a gate connected to a spring and a housing, " * 12
        + "."
    ),
    "duplicate_numbering": _patent(GOOD_CLAIMS.replace("1. An", "1. 1. An")),
    "claim_form": _patent(
        "1. An irrigation valve comprising a housing with an inlet for water from a pipe.\n"
        "2. The irrigation valve of claim 1, wherein the housing is made of a polymer."
    ),
    "self_reference": _patent(GOOD_CLAIMS, title="Irrigation valve, as described in the text"),
    "phrase_loop": _patent(
        GOOD_CLAIMS,
        abstract="An irrigation valve has a housing with an inlet and an outlet and a gate in the "
        "housing, with a gate in the housing, with a gate in the housing.",
    ),
}


# -- the failures issue 14 found in a prototype's accepted output, as the markdown they came in ---

LENS_ABSTRACT = (
    "A lens assembly for a camera module includes a barrel, a first lens held in the barrel and a "
    "spacer between the first lens and a second lens, so that the optical axes of the lenses stay aligned."
)
LENS_CLAIMS = (
    "1. A lens assembly comprising: a barrel; a first lens held in the barrel; and a spacer between "
    "the first lens and a second lens.\n"
    "2. The lens assembly of claim 1, wherein the spacer is made of a resin.\n"
)


def _lens(
    title: str = "Lens assembly for a camera module", abstract: str = LENS_ABSTRACT, claims: str = LENS_CLAIMS
):
    return f"# Patent\n\n## Title\n{title}\n\n## Abstract\n{abstract}\n\n## Claims\n{claims}"


ISSUE_FAILURES = {
    # "duplicated numbering (`1. 1. A lens …`)"
    "duplicate_numbering": _lens(
        claims=LENS_CLAIMS.replace("1. A lens", "1. 1. A lens").replace("2. The", "2. 2. The")
    ),
    # "a 'claim' that is a sentence about the text (`… is described.`)"
    "self_reference claim": _lens(
        claims="1. A lens assembly for a camera module with a barrel and a spacer between two lenses "
        "is described.\n"
    ),
    # "a title like '… which has been described in the text, and is described in the text'"
    "self_reference title": _lens(
        title="Lens assembly which has been described in the text, and is described in the text"
    ),
    # "abstracts that loop on one phrase", short enough that the 8-gram measure lets it through
    "phrase_loop": _lens(
        abstract="A camera module has a housing, an image sensor on a circuit board and a lens holder fixed "
        "to the housing. The lens holder keeps the lens at a fixed distance from the sensor, at a fixed "
        "distance from the sensor, at a fixed distance from the sensor."
    ),
    # A short abstract that is nothing but the loop.
    "phrase_loop short": _lens(
        abstract="The lens is a lens for a camera, the lens is a lens for a camera, "
        "the lens is a lens for a camera."
    ),
    # A claim 1 with no transition and a single element.
    "claim_form": _lens(
        claims="1. A lens assembly for a camera module of a mobile telephone that takes pictures at night.\n"
    ),
}
EXPECTED = {
    "duplicate_numbering": {"duplicate_numbering"},
    "self_reference claim": {"self_reference", "claim_form"},
    "self_reference title": {"self_reference", "title_form"},
    "phrase_loop": {"phrase_loop"},
    "phrase_loop short": {"phrase_loop"},
    "claim_form": {"claim_form"},
}


@pytest.mark.parametrize("name", sorted(ISSUE_FAILURES))
def test_the_failures_of_issue_14_are_rejected(name):
    result = run_checks(parse_patent(ISSUE_FAILURES[name], finished=True))
    assert EXPECTED[name] <= set(result.failures), result.failures
    assert set(result.failures) - EXPECTED[name] <= {"degeneration"}, result.failures


def test_an_abstract_that_is_one_bare_phrase_fails_the_length_check():
    """Accepted in a benchmark run before the bound was calibrated: a top-down abstract that
    named the claimed subject and stopped (11 words; 99.4% of real abstracts have 20 or more)."""
    text = _lens(abstract="An electrode for supporting an arc in a plasma arc torch.")
    result = run_checks(parse_patent(text, finished=True))
    assert result.failures.get("length") == "abstract has 11 words, outside 20..400"


def test_the_abstract_loop_is_one_the_8_gram_measure_lets_through():
    result = run_checks(parse_patent(ISSUE_FAILURES["phrase_loop"], finished=True))
    assert result.stats["unit_repeat_ratio"] <= CheckConfig().max_unit_repeat_ratio
    assert "degeneration" not in result.failures
    assert result.stats["loop_phrase"] == "at a fixed distance from the sensor"
    assert result.stats["loop_repeats"] == 3 and result.stats["loop_section"] == "abstract"


def test_the_fixed_lens_patent_passes():
    """The same text without the defects passes, so each rule rejects the defect, not the topic."""
    result = run_checks(parse_patent(_lens(), finished=True))
    assert result.passed, result.failures


def test_claim_form_parts():
    assert claim_form("A pump comprising: a housing; an impeller; and a motor.") == {
        "transition": "comprising", "preamble_words": 1, "elements": 3,
    }  # fmt: skip
    assert claim_form("A lens is described.")["transition"] is None
    assert claim_form("comprising a housing, and a motor")["preamble_words"] == 0
    assert claim_form("A composition consisting essentially of water, salt and sugar.")["transition"] == (
        "consisting essentially of"
    )
    # A two-part claim counts the elements of its preamble.
    two_part = claim_form("A washing machine with a drum, a motor, characterized in that the drum tilts.")
    assert two_part["transition"] == "characterized in that" and two_part["elements"] >= 2


def test_phrase_loop_counts_sayings_in_a_row_only():
    assert (
        phrase_loop(words("a gate in the housing, with a gate in the housing, with a gate in the housing"))[0]
        == 3
    )
    # The same phrase three times, far apart, is how real abstracts name their parts: no loop.
    spread = "the first display panel is bright. It has a frame and a lid and a hinge. " * 3
    assert phrase_loop(words(spread))[0] < 3


#: For each check that needs more than the text, evidence that fails it.
FAILING_EVIDENCE = {
    "coherence": {"coherence": "title and claim 1 cosine 0.05 < 0.2"},
    "reproduction": {"novelty": NoveltyResult(reproduction_of="US123", reasons=["jaccard 0.9"])},
    "realism": {"p_real": 0.05, "realism_gate": 0.3},
    "anticipated": {"obviousness": {"class": "anticipated", "combination": ["US1"], "elements": []}},
    "unsupported": {
        "obviousness": {
            "class": "unsupported",
            "combination": [],
            "elements": [{"text": "a gate", "doc_id": None}],
        }
    },
}


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.code)
def test_every_check_conforms(check: Check):
    """The family's conformance test: a declared code and description, a pass on a good patent
    with clean evidence, and a one-line failure on its own bad example."""
    assert check.code.isidentifier() and check.code.islower()
    assert len(check.description) > 20 and check.needs in ("text", "coherence", "novelty", "realism", "map")
    assert [c.code for c in CHECKS].count(check.code) == 1
    good = parse_patent(GOOD)
    obvious = {"class": "obvious_combination", "combination": ["A", "B"]}
    clean = Evidence(good, measure(good), CheckConfig(), novelty=NoveltyResult(), p_real=0.9,
                     realism_gate=0.3, obviousness=obvious)  # fmt: skip
    assert check(clean) is None
    if check.needs == "text":
        bad_patent = BAD_EXAMPLES[check.code]
        bad = Evidence(bad_patent, measure(bad_patent), CheckConfig())
    else:
        bad = Evidence(good, measure(good), CheckConfig(), **FAILING_EVIDENCE[check.code])
    detail = check(bad)
    assert isinstance(detail, str) and detail and "\n" not in detail
    # Missing evidence passes: a check that cannot judge does not reject.
    if check.needs != "text":
        assert check(Evidence(good, measure(good), CheckConfig())) is None


def test_good_example_passes_every_check():
    result = run_checks(parse_patent(GOOD))
    assert result.passed, result.failures


@pytest.mark.parametrize("code", CHECK_CODES)
def test_each_check_fails_on_its_bad_example(code):
    result = run_checks(BAD_EXAMPLES[code])
    assert code in result.failures, result.failures
    # The example is bad in one way only, so the failure is attributed to the right check.
    assert list(result.failures) == [code], result.failures


def test_truncated_claims_fail_the_sections_check():
    text = GOOD.rstrip().removesuffix("made of a polymer.") + "made of a"
    result = run_checks(parse_patent(text, finished=False))
    assert "claims cut off" in result.failures["sections"]


def test_claim_references():
    assert claim_references("The method of claim 2 or 3, wherein") == [2, 3]
    assert claim_references("The device according to any one of claims 1 to 4") == [1, 4]
    assert claim_references("A device comprising a clamp.") == []


def test_unparseable_text_never_raises():
    for text in ("", "lorem ipsum", "# Patent\n\n## Claims\n\n", None, 12):
        result = run_checks(parse_patent(text))
        assert "sections" in result.failures


def real_records() -> list[dict]:
    """The bundled full records and the PatentsView grants (one per id), with all three sections."""
    xml = sorted(glob.glob(str(sample_path("uspto_xml/patentsview")) + "/*.xml"))
    by_id: dict[str, dict] = {}
    with pytest.warns(UserWarning) if xml else _nothing():
        for r in iter_full_records([str(sample_path("full_records_334.jsonl")), *xml]):
            if r.get("title") and r.get("abstract") and r.get("claims"):
                by_id.setdefault(r["id"], r)
    return list(by_id.values())


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.fixture(scope="module")
def real_results():
    return [(r, run_checks(parse_record(r))) for r in real_records()]


#: The rules added for issue 14: each must pass nearly every real patent.
NEW_RULES = ("duplicate_numbering", "claim_form", "self_reference", "phrase_loop")


def test_real_patents_pass_almost_every_check(real_results):
    n = len(real_results)
    assert n > 300
    per_check = {code: sum(code not in res.failures for _, res in real_results) / n for code in CHECK_CODES}
    overall = sum(res.passed for _, res in real_results) / n
    granted = [res for r, res in real_results if r.get("doc_type") == "granted"]
    print(
        f"\nreal patents passing all checks: {overall:.1%} of {n} "
        f"({sum(res.passed for res in granted) / len(granted):.1%} of {len(granted)} granted); per check: "
        + ", ".join(f"{c} {p:.1%}" for c, p in per_check.items())
    )
    assert all(p >= 0.97 for p in per_check.values()), per_check
    assert all(per_check[code] >= 0.99 for code in NEW_RULES), per_check
    assert overall >= 0.90
    # One bundled abstract ends without its full stop ("… of the first spherical body"): the
    # only real text that `sections` takes for a cut-off abstract.
    assert per_check["sections"] >= 0.995


@pytest.mark.parametrize("code", NEW_RULES)
def test_real_failures_of_the_new_rules_are_few_and_named(real_results, code):
    failed = [(r["id"], res.failures[code]) for r, res in real_results if code in res.failures]
    assert len(failed) <= 3, failed  # at most 3 of 334: claim 1 of a few real patents has one element


def test_checks_are_fast(real_results):
    import time

    parsed = [parse_record(r) for r, _ in real_results[:100]]
    start = time.process_time()
    for p in parsed:
        run_checks(p)
    assert (time.process_time() - start) / len(parsed) < 0.1  # CPU seconds per patent (about 0.01 idle)


# -- never raising on malformed input -----------------------------------------------------------

_text = st.text(max_size=300)
_MARKDOWN = strategies()["markdown"]  # the fuzz harness's generated-markdown strategy


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(st.builds(
    ParsedPatent, title=st.one_of(st.none(), _text), abstract=st.one_of(st.none(), _text),
    claims=st.lists(_text, max_size=6),
))  # fmt: skip
def test_run_checks_never_raises_on_any_fields(patent):
    patent.claim_numbers = list(range(1, len(patent.claims) + 1))
    result = run_checks(patent)
    assert set(result.failures) <= set(CHECK_CODES)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(st.data())
def test_run_checks_never_raises_on_fuzzed_markdown(data):
    kind, value = data.draw(_MARKDOWN)
    if kind == "text":
        parsed = parse_patent(value[0], finished=value[1])
    else:
        from patentlab.generate.formats import format_patent

        parsed = parse_patent(format_patent(*value), finished=True)
    result = run_checks(parsed)
    assert set(result.failures) <= set(CHECK_CODES)


def test_a_doubled_word_in_the_written_abstract_fails_but_one_typo_in_a_claim_does_not():
    from patentlab.vet.checks import CheckConfig, check_doubled_words, measure

    abstract = GOOD.split("## Abstract\n")[1].split("\n\n")[0]
    # The demo's own word salad (a combine invention's abstract, which the model wrote).
    stutter = _patent(GOOD_CLAIMS, abstract=abstract + " A layer of a substrate substrate is deposited.")
    assert "substrate substrate" in check_doubled_words(stutter, measure(stutter), CheckConfig())
    typo = _patent(GOOD_CLAIMS.replace("a coil spring", "a coil coil spring"))
    assert check_doubled_words(typo, measure(typo), CheckConfig()) is None


@pytest.mark.parametrize(
    ("title", "reason"),
    [
        # Accepted in the vet benchmark of 2026-12-06 (the SmolLM2 writer); none of the 10,000
        # bundled real titles has a label or a file number.
        ("Title: A Structure of a Light-Emitting Device", "the title carries a label ('Title:')"),
        (
            "Panel Light Source Device: 16-008319-00001, 2018-09",
            "the title carries a file number or date ('16-008319-00001')",
        ),
    ],
)
def test_a_title_copied_with_its_label_or_file_number_fails(title, reason):
    result = run_checks(parse_patent(_lens(title=title), finished=True))
    assert result.failures.get("title_form") == reason


def test_a_title_with_a_gene_name_or_chemical_number_passes():
    for title in ("Protein expression enhancing Bcl2L11", "Process for 1,3-butadiene from 2-butanol"):
        assert "title_form" not in run_checks(parse_patent(_lens(title=title), finished=True)).failures

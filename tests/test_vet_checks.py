"""Structural checks: each fails on a hand-made bad example and real patents pass almost all."""

from __future__ import annotations

import pytest

from patentlab.data import sample_path
from patentlab.generate.data import iter_full_records
from patentlab.generate.parse import parse_patent
from patentlab.vet.checks import (
    CHECK_CODES,
    claim_references,
    parse_record,
    run_checks,
)

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
    "length": _patent(GOOD_CLAIMS, title=" ".join(["valve"] * 40)),
    "degeneration": _patent(
        "1. An irrigation valve comprising a housing, "
        + "a gate connected to a spring and a housing, " * 12
        + "."
    ),
}


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


@pytest.fixture(scope="module")
def real_results():
    records = [
        r
        for r in iter_full_records([str(sample_path("full_records_334.jsonl"))])
        if r.get("title") and r.get("abstract") and r.get("claims")
    ]
    return [(r, run_checks(parse_record(r))) for r in records]


def test_real_patents_pass_almost_every_check(real_results):
    n = len(real_results)
    assert n > 300
    per_check = {code: sum(code not in res.failures for _, res in real_results) / n for code in CHECK_CODES}
    overall = sum(res.passed for _, res in real_results) / n
    print(
        f"\nreal patents passing all checks: {overall:.1%} of {n}; per check: "
        + ", ".join(f"{c} {p:.1%}" for c, p in per_check.items())
    )
    assert all(p >= 0.94 for p in per_check.values()), per_check
    assert overall >= 0.85
    assert per_check["sections"] == 1.0

"""The claim anatomy: one parser that the checks, the obviousness map and the combiner share."""

from __future__ import annotations

from patentlab.claims import orphan_claims, parse_claim, parse_claims, singular, split_elements, subject
from patentlab.data import sample_path
from patentlab.generate.data import iter_full_records
from patentlab.vet.checks import claim_form


def test_parts_of_a_claim():
    a = parse_claim("1. A lamp comprising: a base; a bulb, wherein the bulb is an LED; and a switch.")
    assert (a.number, a.preamble, a.transition) == (1, "A lamp", "comprising")
    assert a.elements == ["a base", "a bulb", "wherein the bulb is an LED", "a switch"]
    assert a.parents == [] and a.independent and a.subject == "lamp"


def test_having_is_a_transition_for_the_checks_and_the_map_alike():
    """Issue 22: the checks accepted having/has/wherein/whereby and the map did not."""
    claim = "A pump having a housing; an impeller in the housing; and a motor driving the impeller."
    assert claim_form(claim)["transition"] == "having"
    assert split_elements(claim) == [
        "A pump",
        "a housing",
        "an impeller in the housing",
        "a motor driving the impeller",
    ]


def test_parents_and_orphans():
    claims = parse_claims(
        [
            "A valve comprising: a housing; and a gate.",
            "The valve of claim 1, wherein the gate is steel.",
            "The valve includes a spring that biases the gate.",  # names no parent
            "Apparatus for irrigation comprising the valve according to claim 2 and a pipe.",
            "A method of closing a valve, comprising moving a gate.",
        ]
    )
    assert [c.parents for c in claims] == [[], [1], [], [2], []]
    assert orphan_claims(claims) == [3]


def test_subject_of_a_preamble():
    assert subject("A method for producing steel") == "method"
    assert subject("An electric vehicle") == "electric vehicle"
    assert subject("A photovoltaic module, the module") == "photovoltaic module"
    # "in" inside "in-line" ends nothing (a published claim 2 read "The invention of claim 1").
    assert subject("An in-line marking system, the system") == "in-line marking system"


def test_real_claim_sets_have_almost_no_orphans():
    records = [r for r in iter_full_records([str(sample_path("full_records_334.jsonl"))]) if r.get("claims")]
    with_orphans = [r["id"] for r in records if orphan_claims(parse_claims(r["claims"]))]
    assert len(records) > 300
    assert len(with_orphans) / len(records) < 0.03, with_orphans[:5]


def test_one_singular_for_every_step_that_matches_terms():
    # The combiner had its own, which read "gas" as "ga" and "assemblies" as "assemblie".
    nouns = ("valves", "assemblies", "boxes", "gas", "glass", "axis", "lenses", "lens")
    assert list(map(singular, nouns)) == ["valve", "assembly", "box", "gas", "glass", "axis", "lens", "lens"]

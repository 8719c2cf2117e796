"""The combiner's reading of claim language, on phrases from real claims (no index, no model)."""

from __future__ import annotations

import pytest

from patentlab.generate.combine import _grounded, _repeats
from patentlab.generate.writer import clean_abstract, clean_title


@pytest.mark.parametrize(
    ("element", "context", "grounded"),
    [
        # A compound term must be introduced whole.
        (
            "a first wiring layer provided above the semiconductor substrate",
            "a first semiconductor layer",
            False,
        ),
        ("a wiring layer provided above the substrate", "a substrate including a display area", True),
        # An ordinal term needs its ordinal and its noun: "first, second, and third nodes" has both.
        (
            "a selection circuit connected between the first node and a line",
            "first, second, and third nodes",
            True,
        ),
        # ... but not by a "first" and a "light" in other phrases (a published claim 2 of
        # 2026-12-06 said "the first light emitting device" with no light emitting device).
        (
            "a first and a second light shelter between the first light emitting device and a plane",
            "a light source; a light guide",
            False,
        ),
        ("a lid over the first end", "a body having a first end and a second end", True),
        (
            "a plurality of layers on the second electrode",
            "a plurality of electrodes including anodes",
            False,
        ),
        # "the plurality of anodes" names the anodes, not "plurality".
        ("a layer formed over the plurality of anodes", "a plurality of anodes and cathodes", True),
        ("a layer formed over the plurality of anodes", "a plurality of cathodes", False),
        # "the layer of semi-conductor material" is that layer, not any of the claim's layers
        # (a dependent claim the demo published on 2026-12-05 passed on "a conductive layer").
        (
            "a plurality of regions disposed in the layer of semi-conductor material",
            "a conductive layer; a light-emitting layer",
            False,
        ),
        (
            "a plurality of regions disposed in the layer of semi-conductor material",
            "a layer of semi-conductor material on a substrate",
            True,
        ),
        # "of the …" qualifies the term, which still needs its own antecedent.
        ("a motor driving the shaft of the pump", "a pump; a shaft", True),
        # A verb after the noun ends the phrase ("the housing is …" is about "housing").
        ("a lid, wherein the housing is sealed", "a housing", True),
        # A term the element introduces itself grounds its later mentions.
        ("a sensor and a cable connected to the sensor", "a frame", True),
    ],
)
def test_definite_terms_need_their_antecedent(element, context, grounded):
    assert _grounded(element, context) is grounded


def test_an_element_that_repeats_the_subject_or_a_part_is_refused():
    claim = "A panel comprising: a substrate; a first layer on the substrate."
    assert _repeats("a panel configured to hold subpixels", claim, "panel")
    assert _repeats("a substrate", claim, "panel")
    assert not _repeats("a sapphire substrate", claim, "panel")
    assert not _repeats("wherein the substrate is glass", claim, "panel")
    # In the singular: a published LCD claim added "a gate line" to "a plurality of gate lines".
    lcd = "A liquid crystal display comprising: a plurality of gate lines formed on a substrate."
    assert _repeats("a gate line disposed on the substrate", lcd, "liquid crystal display")
    assert not _repeats("a data line crossing the gate lines", lcd, "liquid crystal display")


def test_writer_replies_are_cleaned_to_one_title_and_whole_sentences():
    assert clean_title('**Title:** "Solar cell with a textured back contact."\nMore text') == (
        "Solar cell with a textured back contact"
    )
    assert clean_title(" ".join(["word"] * 30)).count("word") == 16
    assert clean_abstract("Abstract: A cell includes a layer. The layer is thin and") == (
        "A cell includes a layer."
    )


def test_elements_with_mojibake_or_pointers_are_not_offered():
    from patentlab.generate.combine import _fits

    assert _fits("a sidewall at an angle less than 90 degrees", False, False)
    assert not _fits("a sidewall at an angle less than 90\u00c2\u00b0", False, False)
    assert not _fits("a polynucleotide complementary to that of (a), (b), or (c)", False, False)

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
        (
            "a plurality of layers on the second electrode",
            "a plurality of electrodes including anodes",
            False,
        ),
        # "the plurality of anodes" names the anodes, not "plurality".
        ("a layer formed over the plurality of anodes", "a plurality of anodes and cathodes", True),
        ("a layer formed over the plurality of anodes", "a plurality of cathodes", False),
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

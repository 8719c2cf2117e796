"""The combiner's reading of claim language, on phrases from real claims (no index, no model)."""

from __future__ import annotations

import pytest

from patentlab.claims import parse_claim
from patentlab.generate.combine import _fits, _grounded, _is_method, _repeats, _unlettered
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
        # A run of ordinals qualifies the noun after it: "the first and second mandrels" needs
        # mandrels, and any earlier "first" had grounded it (the noun was read as "and").
        ("a sleeve between the first and second mandrels", "a first arm; a second arm", False),
        ("a sleeve between the first and second mandrels", "first and second mandrels", True),
        ("a pipe joining the first to third reactors", "a first tank", False),
        ("a pipe joining the first to third reactors", "a first reactor; a second reactor", True),
        # A compound is introduced whole, ordinal or not.
        ("a lens over the first light guide", "a first light source", False),
        ("a lens over the first light guide", "a first light guide plate", True),
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
        # "of claim N" names no term: "the method of claim 1" is the method.
        (
            "The method of claim 1, further comprising heating the gas",
            "A method comprising: mixing a gas",
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
    # A step (or a part) introduces terms inside it too: "forming a hardmask on a substrate" made
    # a second substrate in a published method claim, "obtaining an image" a second image.
    method = "A method comprising: forming spacers on a substrate; obtaining an image of the pattern."
    assert _repeats("forming a hardmask on a substrate", method, "method")
    assert _repeats("obtaining an image", method, "method")
    assert not _repeats("forming a hardmask on the substrate", method, "method")
    assert _repeats("a sensor mounted on a substrate", claim, "panel")
    assert not _repeats("a sensor mounted on the substrate", claim, "panel")
    # An ordinal does not make a second part of one the claim introduced without it.
    assert _repeats("a first substrate facing the light", claim, "panel")
    assert not _repeats("a second layer on the first layer", claim, "panel")
    assert not _repeats("a first electrode on the substrate", claim, "panel")


def test_a_method_is_known_by_its_subject_not_its_first_words():
    # A published "intrauterine brachytherapy method" took "an orthopaedic plate" as a step.
    assert _is_method(
        parse_claim("An intrauterine brachytherapy method comprising: providing a tandem; inserting it.")
    )
    assert _is_method(parse_claim("A method of forming fins, comprising: forming a spacer; etching a fin."))
    assert not _is_method(parse_claim("An apparatus for a process comprising: a tank; a pump."))


def test_garbled_source_text_is_not_reused():
    # A real claim in the bundled data says "a heat-activated sourcesource of releasable hydrogen".
    assert not _fits("a heat-activated sourcesource of releasable hydrogen", False, False)
    assert not _fits("a bend of 90Â° at the end", False, False)
    assert not _fits("a reflector angled at approximately 45\ufffd\ufffd to the tube", False, False)
    assert _fits("a heat-activated source of releasable hydrogen", False, False)


def test_the_sources_lettering_is_dropped():
    anatomy = _unlettered(parse_claim("A tool comprising: a) a first member; (b) a second member."))
    assert anatomy.elements == ["a first member", "a second member"]


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

"""The two patent formats and the parser, on every real full record in the bundled sample."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patentlab.cli import main
from patentlab.corpus.readers import read_source
from patentlab.corpus.schema import records_to_table
from patentlab.data import sample_path
from patentlab.errors import PatentlabError
from patentlab.generate.formats import (
    BOTTOM_UP,
    MODES,
    TOP_DOWN,
    claim_items,
    clean_field,
    format_patent,
    prompt,
)
from patentlab.generate.parse import SECTIONS, parse_patent


@pytest.fixture(scope="module")
def records() -> list[dict]:
    path = str(sample_path("full_records_334.jsonl"))
    return [r for table in read_source(path) for r in table.to_pylist()]


def test_the_seed_layouts_exactly():
    record = {
        "title": "Widget",
        "abstract": "A widget.",
        "claims": ["1. A widget.", "2. The widget of claim 1."],
    }
    assert format_patent(record, TOP_DOWN) == (
        "# Patent\n\n## Title\nWidget\n\n## Abstract\nA widget.\n\n"
        "## Claims\n1. A widget.\n2. The widget of claim 1."
    )
    assert format_patent(record, BOTTOM_UP) == (
        "# Patent\n\n## Claims\n1. A widget.\n2. The widget of claim 1.\n\n"
        "## Abstract\nA widget.\n\n## Title\nWidget"
    )


@pytest.mark.parametrize("mode", MODES)
def test_every_real_record_round_trips_through_the_parser(records, mode):
    assert len(records) == 334
    for record in records:
        items = claim_items(record["claims"])
        parsed = parse_patent(format_patent(record, mode), finished=True)
        assert parsed.mode == mode
        assert parsed.is_complete, (record["id"], parsed.status)
        assert parsed.title == clean_field(record["title"])
        assert parsed.abstract == clean_field(record["abstract"])
        assert parsed.claims == [text for _, text in items]
        assert parsed.claim_numbers == [number for number, _ in items]


def test_parsed_records_fit_the_corpus_schema(records):
    parsed = parse_patent(format_patent(records[0], BOTTOM_UP))
    record = parsed.to_record("gen-1", source="generated:test")
    table = records_to_table([record])
    assert table.num_rows == 1
    assert record["doc_type"] == "generated"
    assert record["claims"][0].startswith("1. ")
    assert record["title"] == clean_field(records[0]["title"])


def test_claims_are_cleaned_from_real_source_quirks(records):
    by_id = {r["id"]: r for r in records}
    # All claims packed into one string with bold numbers, the first 19 canceled.
    packed = claim_items(by_id["US-20230009372-A1"]["claims"])
    assert packed[0][0] == 20 and packed[0][1].startswith("A method of determining intoxication")
    assert [n for n, _ in packed] == list(range(20, 20 + len(packed)))
    assert not any("<b>" in text or "canceled" in text for _, text in packed)
    # "1-18. (canceled)" dropped; later claims keep their own numbers, so references stay valid.
    razor = claim_items(by_id["20150075015"]["claims"])
    assert razor[0][0] == 19 and razor[1][1].startswith("The personal grooming apparatus of claim 19")
    # Maths in claims is not mistaken for markup.
    assert any("n1<n2<n3" in text for _, text in claim_items(by_id["08088512"]["claims"]))


def test_claims_packed_into_one_plain_string_are_split(records):
    by_id = {r["id"]: r for r in records}
    # patent-client's granted patents hold every claim in one string: "1. A … 2. The … of claim 1 …".
    packed = [r for r in records if r["id"].endswith(("-B1", "-B2")) and len(r["claims"]) == 1]
    assert len(packed) == 10
    for record in packed:
        items = claim_items(record["claims"])
        assert [n for n, _ in items] == list(range(1, len(items) + 1)), record["id"]
        assert len(items) >= 5
        assert all(text.endswith(".") for _, text in items), record["id"]
        # Every dependent claim points at an earlier claim, so no claim was cut in two.
        for number, text in items[1:]:
            for ref in re.findall(r"\bclaim (\d+)", text):
                assert int(ref) < number, (record["id"], number, text[:60])
    storage = claim_items(by_id["US-11557320-B1"]["claims"])
    assert len(storage) == 20 and storage[10][1].startswith("A data storage system comprising")
    # "… from 80° C. to 150° C. 4. The …": the "C. to" inside claim 3 is no boundary.
    carbon = claim_items(by_id["US-11554343-B1"]["claims"])
    assert len(carbon) == 5 and carbon[2][1].endswith("ranges from 80° C. to 150° C.")
    # A range of canceled claims written "19.-27. (canceled)" moves the numbering on to 28.
    ranged = claim_items(by_id["US-20230010512-A1"]["claims"])
    assert [n for n, _ in ranged][-3:] == [18, 28, 29]


@pytest.mark.parametrize(
    ("packed", "expected"),
    [
        ("1. A plate with a gap of 2. 5 mm. 2. The plate of claim 1.",
         ["A plate with a gap of 2. 5 mm.", "The plate of claim 1."]),
        ("1. A valve. 2. The valve of claim 1. 3. The valve of claim 2, wherein the angle is 4. Degrees.",
         ["A valve.", "The valve of claim 1.", "The valve of claim 2, wherein the angle is 4. Degrees."]),
        ("1. A method comprising: step 2. Heating; and 3. Cooling.",
         ["A method comprising: step 2. Heating; and 3. Cooling."]),
        ("1. A cup. 2-4. (canceled) 5. The cup of claim 1.", ["A cup.", "The cup of claim 1."]),
    ],
)  # fmt: skip
def test_packed_claims_split_only_at_the_next_claim_number(packed, expected):
    items = claim_items([packed])
    assert [text for _, text in items] == expected
    if "canceled" not in packed:  # generations carry no canceled claims; the parser keeps them
        parsed = parse_patent(f"# Patent\n\n## Title\nT\n\n## Abstract\nA.\n\n## Claims\n{packed}")
        assert parsed.claims == expected
        assert parsed.claim_numbers == [n for n, _ in items]


def test_max_chars_drops_trailing_claims_but_keeps_every_section(records):
    longest = max(records, key=lambda r: len(" ".join(r["claims"])))
    text = format_patent(longest, BOTTOM_UP, max_chars=2000)
    parsed = parse_patent(text, finished=True)
    assert parsed.is_complete and parsed.title and parsed.abstract
    assert 1 <= len(parsed.claims) < len(claim_items(longest["claims"]))


def test_prompts():
    assert prompt(TOP_DOWN) == "# Patent\n\n## Title\n"
    assert prompt(BOTTOM_UP) == "# Patent\n\n## Claims\n"
    assert prompt(TOP_DOWN, title="Solar  roof\ntile").endswith("## Title\nSolar roof tile\n\n## Abstract\n")
    assert prompt(BOTTOM_UP, claims=["1. A tile."]).endswith("## Claims\n1. A tile.\n\n## Abstract\n")
    with pytest.raises(PatentlabError):
        prompt("sideways")
    with pytest.raises(PatentlabError):
        prompt(TOP_DOWN, claims=["1. A tile."])


def test_truncated_generation_reports_what_is_missing():
    # The seed's own sample output, cut by max_new_tokens=32.
    parsed = parse_patent(
        "# Patent\n\n## Title\nElectronic device\n\n## Abstract\nAn electronic device includes a"
    )
    assert parsed.title == "Electronic device"
    assert parsed.missing == ["claims"]
    assert parsed.truncated == ["abstract"]
    assert not parsed.is_complete
    assert parsed.status == "missing claims; truncated abstract"


def test_truncation_inside_claims_and_headers():
    text = "# Patent\n\n## Claims\n1. A tile.\n2. The tile of claim 1, wherein\n"
    assert parse_patent(text).truncated == ["claims"]
    assert parse_patent(text, finished=True).truncated == []
    cut_header = parse_patent("# Patent\n\n## Claims\n1. A tile.\n\n## Abs")
    assert cut_header.missing == ["title", "abstract"]
    assert cut_header.problems == []
    # A title cannot be recognised as cut unless the sampler says so.
    bottom_up = "# Patent\n\n## Claims\n1. A tile.\n\n## Abstract\nA tile.\n\n## Title\nRoof"
    assert parse_patent(bottom_up).is_complete
    assert parse_patent(bottom_up, finished=False).truncated == ["title"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", None),
        ("lorem ipsum dolor", "no '# Patent' header"),
        ("# Patent\nnothing else", "no '## ' section headers"),
        ("## Title\nT\n## Abstract\nA.\n## Claims\n1. C.", "no '# Patent' header"),
        ("chatter\n# Patent\n## Title\nT", "text before '# Patent' (ignored)"),
        ("# Patent\n## Title\nT\n## Title\nU", "repeated section '## Title' (kept the first)"),
        ("# Patent\n## Title\nT\n## Description\nD", "unexpected section '## Description'"),
        ("# Patent\n## Claims\nA tile without a number.", "claims are not numbered"),
        ("# Patent\n## Claims\n1. A.\n3. B.", "claim numbers are not consecutive: 1, 3"),
        (
            "# Patent\n## Abstract\nA.\n## Title\nT\n## Claims\n1. C.",
            "sections are out of order for top-down",
        ),
        ("# Patent\n## Title\nT\n## Abstract\nA.\n## Claims\n1. C.\n# Patent\n## Title\nU", None),
    ],
)
def test_garbage_parses_into_reports_never_exceptions(text, problem):
    parsed = parse_patent(text)
    assert set(parsed.missing) <= set(SECTIONS)
    if problem is not None:
        assert problem in parsed.problems
    assert isinstance(parsed.to_dict(), dict)


def test_a_second_patent_is_cut_off():
    parsed = parse_patent("# Patent\n## Title\nT\n## Abstract\nA.\n## Claims\n1. C.\n# Patent\n## Title\nU")
    assert parsed.is_complete and parsed.title == "T"
    assert "a second patent follows (ignored)" in parsed.problems


def test_multi_line_claims_are_joined():
    parsed = parse_patent("# Patent\n## Claims\n1. A tile\ncomprising glass.\n2. The tile of claim 1.")
    assert parsed.claims == ["A tile comprising glass.", "The tile of claim 1."]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("# \n\r12.)AbcTitleClaimsAbstractPatent-–<>")), max_size=300))
def test_parser_never_raises_on_arbitrary_text(text):
    parsed = parse_patent(text)
    assert set(parsed.missing) | set(parsed.truncated) <= set(SECTIONS)
    assert len(parsed.claims) == len(parsed.claim_numbers)
    parse_patent(text.encode("utf-8"))  # non-strings are converted, not rejected
    parse_patent(None)


def test_cli_parse_reads_jsonl_and_names_the_bad_row(records, tmp_path, capsys):
    good = tmp_path / "gen.jsonl"
    rows = [{"text": format_patent(r, TOP_DOWN), "finished": True} for r in records[:3]]
    good.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert main(["generate", "parse", str(good)]) == 0
    parsed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [p["title"] for p in parsed] == [clean_field(r["title"]) for r in records[:3]]

    no_text = tmp_path / "no_text.jsonl"
    no_text.write_text(json.dumps(rows[0]) + "\n" + '{"finished": true}\n', encoding="utf-8")
    assert main(["generate", "parse", str(no_text)]) == 2
    err = capsys.readouterr().err
    assert "row 2" in err and "text" in err and len(err.strip().splitlines()) == 1

    cp1252 = tmp_path / "cp1252.jsonl"
    cp1252.write_bytes(json.dumps(rows[0]).encode() + b"\n" + '{"text": "80° C"}\n'.encode("cp1252"))
    assert main(["generate", "parse", str(cp1252)]) == 2
    err = capsys.readouterr().err
    assert "row 2" in err and "not valid UTF-8" in err and len(err.strip().splitlines()) == 1

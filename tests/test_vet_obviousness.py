"""The obviousness map on real patents: elements, set cover, the three classes, CPC prediction."""

from __future__ import annotations

import numpy as np
import pytest

from patentlab.cpc import lookup
from patentlab.data import sample_path
from patentlab.errors import PatentlabError
from patentlab.index import read_documents
from patentlab.vet.obviousness import (
    CLASSES,
    ObviousnessConfig,
    classify,
    cpc_group,
    greedy_cover,
    predict_cpc,
    scheme_group,
    split_elements,
)


@pytest.fixture(scope="module")
def records():
    """The bundled full records (real USPTO grants and applications), by id."""
    return {d.id: d for d in read_documents([sample_path("full_records_334.jsonl")])}


# -- elements (fast) ------------------------------------------------------------------------------


def test_a_real_claim_splits_into_preamble_clauses_and_wherein_clauses(records):
    elements = split_elements(records["06837151"].claim1)  # a rotisserie / kebab cooking device
    assert elements[0] == "A cooking device"
    assert elements[1:3] == [
        "a first base portion",
        "a second base portion movably connected to said first base portion",
    ]
    wherein = [e for e in elements if e.startswith("wherein")]
    assert (
        len(wherein) == 3
        and wherein[-1] == "wherein said first distance is greater than said second distance"
    )
    assert not any(e.startswith(("and ", "1.")) for e in elements)


def test_enumerated_elements_split_but_reference_numerals_do_not(records):
    napkin = split_elements(records["06836899"].claim1)  # "(a) a lanyard …, (b) a pair of clamping devices …"
    assert napkin[0].startswith("A holding device for removably holding a napkin")
    assert napkin[1].startswith("a lanyard having two ends") and napkin[2].startswith(
        "a pair of clamping devices"
    )
    shoe = split_elements(records["06836979"].claim1)  # "a first subset (10) apt to form …"
    assert shoe[0] == "Shoe structure" and all("(10)" not in e or len(e.split()) > 5 for e in shoe[1:])


def test_method_claims_drop_the_steps_of_fragment(records):
    elements = split_elements(records["06837086"].claim1)  # "the method comprising the steps of: …"
    assert not any(e.lower() in ("the steps of", "steps of") for e in elements)
    assert elements[1].startswith("heating and pressing workpieces")


def test_empty_claim_has_no_elements():
    assert split_elements("") == [] and split_elements("   ") == []


# -- set cover and classes (fast; score matrices as the mapper builds them) ------------------------


def test_greedy_cover_takes_the_widest_document_first_and_breaks_ties_by_score():
    scores = np.array(
        [  # elements × documents
            [0.95, 0.10, 0.10, 0.90],
            [0.92, 0.10, 0.10, 0.10],
            [0.20, 0.91, 0.97, 0.10],
        ]
    )
    assert greedy_cover(scores, 0.85) == [0, 2]
    assert classify(scores, 0.85, 4) == ("obvious_combination", [0, 2])


def test_one_document_covering_everything_anticipates():
    scores = np.array([[0.99, 0.9], [0.97, 0.2], [0.96, 0.9]])
    assert classify(scores, 0.85, 4) == ("anticipated", [0])


def test_an_element_without_support_is_unsupported_and_too_many_references_too():
    scores = np.array([[0.99, 0.1], [0.2, 0.3]])
    assert classify(scores, 0.85, 4)[0] == "unsupported"
    diagonal = np.eye(5) * 0.99
    assert classify(diagonal, 0.85, 4) == ("unsupported", [0, 1, 2, 3, 4])
    assert classify(diagonal, 0.85, 5)[0] == "obvious_combination"


def test_bad_config_is_a_clean_error():
    with pytest.raises(PatentlabError, match="threshold"):
        ObviousnessConfig(threshold=1.5)
    with pytest.raises(PatentlabError, match="max_references"):
        ObviousnessConfig(max_references=1)


def test_cpc_vote_uses_real_codes_and_official_titles(records):
    with_cpc = [d for d in records.values() if d.cpc]
    a, b = with_cpc[0], with_cpc[1]
    groups = predict_cpc([(a.cpc, 0.9), (b.cpc, 0.5)], top=3, min_share=0.0)
    assert groups and groups[0]["code"] in {scheme_group(c) for c in a.cpc}
    for g in groups:
        assert g["title"] and g["title"] == lookup(g["code"]).words
        assert 0 < g["score"] <= 1
    assert cpc_group("H01M10/0525") == "H01M10/00" and cpc_group("H01M") == "H01M"
    assert scheme_group("G06F19/3456") == "G06F"  # a retired group votes for its subclass


# -- against a real index (heavy: embeds the 334 full records with MiniLM) ------------------------


@pytest.fixture(scope="module")
def mapper(records, tmp_path_factory):
    from patentlab.index import SearchIndex
    from patentlab.vet.obviousness import ObviousnessMapper

    index = SearchIndex.create(tmp_path_factory.mktemp("obviousness") / "index")
    index.add(records.values(), progress=None)
    yield ObviousnessMapper(index)
    index.close()


@pytest.mark.heavy
def test_a_real_granted_claim_is_anticipated_by_its_own_document(mapper, records):
    for doc_id in ("06837151", "06837063"):
        m = mapper.map_claims([records[doc_id].claim1])[0]
        assert m.klass == "anticipated", m.to_dict()
        assert m.combination == [doc_id]
        assert all(e.doc_id == doc_id and e.score >= mapper.config.threshold for e in m.elements)
        assert all(e.passage for e in m.elements)


def _clauses(doc, first, count):
    return split_elements(doc.claim1)[first : first + count]


@pytest.mark.heavy
def test_clauses_of_three_real_patents_make_an_obvious_combination_citing_those_three(mapper, records):
    cooling, cooker, napkin = records["06837063"], records["06837151"], records["06836899"]
    preamble, *cooling_clauses = _clauses(cooling, 0, 3)
    claim = (
        f"1. {preamble} comprising: {'; '.join(cooling_clauses)}; {_clauses(cooker, 4, 1)[0]};"
        f" and {_clauses(napkin, 1, 1)[0]}."
    )
    m = mapper.map_claims([claim])[0]
    assert m.klass == "obvious_combination", m.to_dict()
    assert sorted(m.combination) == sorted([cooling.id, cooker.id, napkin.id])
    assert m.combination[0] == cooling.id  # it discloses three of the five elements
    by_text = {e.text: e for e in m.elements}
    assert by_text[_clauses(cooker, 4, 1)[0]].doc_id == cooker.id
    assert by_text[_clauses(napkin, 1, 1)[0]].doc_id == napkin.id
    out = m.to_dict()
    assert set(out) == {"class", "elements", "combination", "cpc"}
    assert set(out["elements"][0]) == {"text", "doc_id", "passage", "score"}
    assert out["class"] in CLASSES


@pytest.mark.heavy
def test_an_invented_element_with_no_support_is_unsupported(mapper, records):
    preamble, clause = _clauses(records["06837063"], 0, 2)
    claim = (
        f"1. {preamble} comprising: {clause}; and a choir of trained canaries singing the"
        " maintenance schedule in four-part harmony."
    )
    m = mapper.map_claims([claim])[0]
    assert m.klass == "unsupported"
    canaries = m.elements[-1]
    assert canaries.doc_id is None and canaries.passage is None
    assert canaries.score < mapper.config.threshold


@pytest.mark.heavy
def test_cpc_prediction_returns_the_neighbours_groups_with_titles(mapper, records):
    doc = records["US-11554343-B1"]  # a movable carbon capture system (A01G9, B01D53)
    m = mapper.map_claims([doc.claim1])[0]
    assert m.cpc, "no CPC predicted"
    codes = [c["code"] for c in m.cpc]
    assert set(codes) & {cpc_group(c) for c in doc.cpc}
    for c in m.cpc:
        assert c["title"] == lookup(c["code"]).words and 0 < c["score"] <= 1


@pytest.mark.heavy
def test_vetting_with_an_index_rejects_anticipated_and_maps_the_rest(mapper, records, tmp_path):
    """Real patents as generations: each is anticipated by itself; a three-patent claim is accepted."""
    from patentlab.generate.data import iter_full_records
    from patentlab.generate.formats import format_patent, prompt
    from patentlab.generate.generations import write_generations
    from patentlab.vet.novelty import NoveltyConfig, NoveltyIndex, load_training_documents
    from patentlab.vet.vetting import read_vetted, vet_generations

    full = {r["id"]: r for r in iter_full_records([str(sample_path("full_records_334.jsonl"))])}
    sources = ["06837063", "06837151", "06836899"]
    cooling, cooker, napkin = (records[i] for i in sources)
    preamble, *cooling_clauses = _clauses(cooling, 0, 3)
    combined = {
        **full["06837063"],
        "claims": [
            f"1. {preamble} comprising: {'; '.join(cooling_clauses)}; {_clauses(cooker, 4, 1)[0]};"
            f" and {_clauses(napkin, 1, 1)[0]}."
        ],
    }
    anticipated = [full["06837086"], full["06837124"]]
    rows = [
        {"text": format_patent(r), "prompt": prompt(), "new_tokens": 400, "finished": True, "seed": i}
        for i, r in enumerate([*anticipated, combined])
    ]
    gens = write_generations(tmp_path / "gens.jsonl", rows, {"seed": 1})
    # Novelty against training data that holds none of these patents: only the map can catch them.
    keep = set(sources) | {r["id"] for r in anticipated}
    train = [d for d in load_training_documents(sample_path("full_records_334.jsonl")) if d.id not in keep]
    novelty = NoveltyIndex(NoveltyConfig(encoder=None)).fit(train, show_progress=False)

    report = vet_generations(gens, novelty, tmp_path / "vetted", index=mapper.index, show_progress=False)
    vetted, summary = read_vetted(tmp_path / "vetted")
    for row, source in zip(vetted[:2], anticipated, strict=True):
        assert not row["accepted"] and source["id"] in row["failures"]["anticipated"]
        assert row["obviousness"]["class"] == "anticipated"
    assert vetted[2]["accepted"], vetted[2]["failures"]
    assert vetted[2]["obviousness"]["class"] == "obvious_combination"
    assert sorted(vetted[2]["obviousness"]["combination"]) == sorted(sources)
    assert report.failures["anticipated"] == 2
    ob = summary["obviousness"]
    assert ob["classes"] == {"anticipated": 2, "obvious_combination": 1, "unsupported": 0}
    assert ob["obvious_combinations_per_cpu_second"] == pytest.approx(1 / ob["total_cpu_seconds"], rel=1e-2)
    assert "## Obviousness map" in (tmp_path / "vetted" / "report.md").read_text()

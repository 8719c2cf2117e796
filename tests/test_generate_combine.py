"""The combine strategy on a real index: claims built from real claim elements, with references."""

from __future__ import annotations

import pytest

from patentlab.claims import parse_claim, parse_claims
from patentlab.data import sample_path
from patentlab.errors import PatentlabError
from patentlab.generate.combine import RATIONALES, Combiner, combine_prompts, format_combined

pytestmark = pytest.mark.heavy


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    from patentlab.index.hybrid import SearchIndex

    built, _ = SearchIndex.build(tmp_path_factory.mktemp("index"), [str(sample_path("y02_claims_1100.csv"))])
    yield built
    built.close()


@pytest.fixture(scope="module")
def combos(index):
    return Combiner(index, seed=0).combine(4)


def test_claim_1_is_the_base_with_one_element_of_a_secondary_reference(index, combos):
    assert len(combos) == 4
    for c in combos:
        base, claim1 = index.get(c.base), parse_claim(c.claim1)
        assert c.rationale in RATIONALES and c.secondary and c.base not in c.secondary
        assert claim1.preamble.lower() == parse_claim(base["claims"][0]).preamble.lower()
        # The added element is verbatim from a secondary reference in the base's CPC subclass.
        source = index.get(c.added.doc_id)
        assert c.added.doc_id in c.secondary and c.added.text in source["claims"][0]
        assert any(code.startswith(c.cpc) for code in source["cpc"])
        assert c.added.text in c.claim1
        for e in c.elements:
            assert e.text in index.get(e.doc_id)["claims"][0] and e.doc_id in c.references


def test_dependent_claims_name_an_earlier_claim_and_add_one_element_each(combos):
    for c in combos:
        claims = parse_claims(c.claims)
        assert all(len(a.parents) == 1 and a.parents[0] < n for n, a in enumerate(claims[1:], start=2))
        assert len(c.elements) == len(parse_claim(c.claim1).elements) + len(c.dependents)


def test_every_definite_term_of_a_built_claim_has_its_antecedent(combos):
    from patentlab.generate.combine import _grounded

    for c in combos:
        # The base's own elements are a real claim's; what the combiner adds must fit them.
        anatomy = parse_claim(c.claim1)
        at = anatomy.elements.index(c.added.text)
        assert _grounded(c.added.text, " ".join([anatomy.preamble, *anatomy.elements[:at]])), c.claim1
        scope = {1: c.claim1}
        for n, claim in enumerate(c.dependents, start=2):
            parent = parse_claims(c.claims)[n - 1].parents[0]
            assert _grounded(claim, scope[parent]), (claim, scope[parent])
            scope[n] = f"{scope[parent]} {claim}"


def test_the_chat_writer_writes_title_and_abstract_in_the_directions_order(combos):
    """A real chat model (SmolLM2-135M-Instruct in transformers) writes for two combinations; the
    text parses, keeps the built claims, and each direction asks for its own first section."""
    from patentlab.generate.parse import parse_patent
    from patentlab.generate.writer import ChatWriter
    from patentlab.llm.chat.transformers import TransformersBackend

    writer = ChatWriter(TransformersBackend("smollm2-135m"), source="smollm2-135m")
    for mode, first in (("top-down", "title"), ("bottom-up", "abstract")):
        assert (
            writer.conversation(combos[0], mode)[-1]["content"]
            .split("\n\n")[-1]
            .startswith(f"Write the {first}")
        )
        generations = writer.write(combos[:2], mode, seed=0, temperature=0.7)
        for g, c in zip(generations, combos[:2], strict=True):
            parsed = parse_patent(g.text, finished=True)
            assert parsed.claims == c.claims and g.combination["base"] == c.base
            assert parsed.title and parsed.abstract and g.new_tokens > 0
            assert (
                g.text.index("## Title") < g.text.index("## Claims")
                if mode == "top-down"
                else (g.text.index("## Claims") < g.text.index("## Abstract") < g.text.index("## Title"))
            )


def test_a_title_or_abstract_that_fails_a_text_check_is_written_once_more(index, combos):
    """vet sampling rewrites exactly the combinations whose writer's text fails a text check, with
    other seeds, and keeps a rewrite only when it passes (a real SmolLM2-135M-Instruct writer)."""
    from patentlab.generate.sample import SamplingConfig
    from patentlab.generate.writer import ChatWriter
    from patentlab.llm.chat.transformers import TransformersBackend
    from patentlab.vet.sampling import REWRITE_SEED, WRITER_CHECKS, _rewrite_failures, _writer_failures

    class Recording(ChatWriter):
        def write(self, combos, mode, **kw):
            calls.append((len(combos), kw["seed"]))
            return super().write(combos, mode, **kw)

    calls = []
    writer = Recording(TransformersBackend("smollm2-135m"), source="smollm2-135m")
    config = SamplingConfig(seed=0, temperature=0.7)
    first = writer.write(combos, "top-down", **config.to_dict())
    failed = [i for i, g in enumerate(first) if (f := _writer_failures(g)) and f <= WRITER_CHECKS]
    out = _rewrite_failures(writer, combos, first, "top-down", False, config)
    assert calls[1:] == ([(len(failed), REWRITE_SEED)] if failed else []), (calls, failed)
    for i, (before, after) in enumerate(zip(first, out, strict=True)):
        if i not in failed:
            assert after is before
        elif after is not before:  # the rewrite was kept: it passes, and it is the same claims
            assert not _writer_failures(after) and after.combination == before.combination


def test_prompts_and_top_down_text_carry_the_claims(combos):
    prompt = combine_prompts(combos[:1], "bottom-up")[0]
    assert prompt.startswith("# Patent\n\n## Claims\n1. " + combos[0].claim1)
    assert prompt.endswith("## Abstract\n" + combos[0].preamble)
    text = format_combined(combos[0], "A title", "An abstract.")
    assert text.rstrip().endswith(f"{len(combos[0].claims)}. {combos[0].claims[-1]}")


def test_the_obviousness_map_cites_the_references_it_was_built_from(index, combos):
    from patentlab.vet.obviousness import ObviousnessMapper

    maps = ObviousnessMapper(index).map_claims([c.claim1 for c in combos])
    cited = [m.klass == "obvious_combination" and {c.base, c.added.doc_id} <= set(m.combination)
             for m, c in zip(maps, combos, strict=True)]  # fmt: skip
    assert sum(cited) >= 3, [
        (m.klass, m.combination, c.base, c.added.doc_id) for m, c in zip(maps, combos, strict=True)
    ]


def test_a_topic_with_nothing_to_combine_is_a_one_line_error(index):
    with pytest.raises(PatentlabError, match="topic"):
        Combiner(index).combine(2, topic="Y10S 901/00")

"""Topic-conditioned generation: free text or a CPC code seeds the title or claim 1, and is recorded."""

from __future__ import annotations

import json

import pytest

from patentlab.cli import main
from patentlab.errors import PatentlabError
from patentlab.generate.formats import BOTTOM_UP, TOP_DOWN, prompt
from patentlab.generate.parse import parse_patent
from patentlab.generate.topic import claim_seed, resolve_topic, seed_words
from patentlab.publish.publish import provenance


def test_free_text_is_kept_as_given():
    topic = resolve_topic("  solar panel   cleaning robot ")
    assert topic.to_dict() == {"text": "solar panel cleaning robot", "words": "solar panel cleaning robot",
                               "code": None, "cpc_title": None}  # fmt: skip


@pytest.mark.parametrize("code", ["Y02E 10/50", "Y02E10/50", "y02e 10/50"])
def test_a_cpc_code_takes_the_words_of_its_title(code):
    topic = resolve_topic(code)
    assert topic.code == "Y02E10/50"
    assert topic.words == "Photovoltaic energy"  # "Photovoltaic [PV] energy" without the abbreviation
    assert "Photovoltaic [PV] energy" in topic.cpc_title


def test_seed_words_drop_examples_and_references():
    assert resolve_topic("Y02T 10/70").words == "Energy storage systems for electromobility"
    assert resolve_topic("H01L").words == "Semiconductor devices"
    assert seed_words("Details", "Wind energy; Details") == "Wind energy; Details"


@pytest.mark.parametrize("bad, message", [
    ("", "the topic is empty"), ("   ", "the topic is empty"),
    ("Y02Z 99/99", "not in the 2022-08 CPC scheme"), ("H01Q 999/00", "not in the 2022-08 CPC scheme"),
])  # fmt: skip
def test_bad_topics_are_one_line_errors(bad, message):
    with pytest.raises(PatentlabError, match=message) as info:
        resolve_topic(bad)
    assert "\n" not in str(info.value) and info.value.field == "topic"


def test_topic_seeds_the_title_top_down_and_claim_1_bottom_up():
    td = prompt(TOP_DOWN, topic="solar panel cleaning robot")
    assert td == "# Patent\n\n## Title\nSolar panel cleaning robot"
    bu = prompt(BOTTOM_UP, topic="solar panel cleaning robot")
    assert bu == "# Patent\n\n## Claims\n1. A solar panel cleaning robot"
    assert claim_seed("Energy storage systems") == "An energy storage systems"
    assert claim_seed("an LED lamp") == "A LED lamp"  # acronyms keep their case
    # The seeded prompts still parse as the start of their mode.
    assert parse_patent(td).title.startswith("Solar panel cleaning robot")
    assert parse_patent(bu).claims[0].startswith("A solar panel cleaning robot")
    with pytest.raises(PatentlabError):
        prompt(TOP_DOWN, topic="robot", title="A title")


def test_provenance_carries_the_topic():
    topic = resolve_topic("Y02E 10/50").to_dict()
    assert provenance({"topic": topic, "prompt": "p"}, {})["topic"] == topic
    assert provenance({"prompt": "p"}, {"topic": topic})["topic"] == topic  # the batch's topic


@pytest.mark.parametrize("topic, message", [("", "the topic is empty"), ("Y02Z 99/99", "not in the")])
def test_cli_bad_topic_exits_non_zero_and_writes_nothing(tmp_path, capsys, topic, message):
    out = tmp_path / "gens.jsonl"
    assert main(["generate", "sample", "--topic", topic, "--n", "1", "--out", str(out)]) == 2
    assert main(["vet", "sample", str(out), "--topic", topic, "--n", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count(message) == 2 and "Traceback" not in err
    assert all(line.startswith("error:") for line in err.splitlines() if line.strip())
    assert not list(tmp_path.iterdir())


def test_cli_topic_with_titles_is_refused(tmp_path, capsys):
    assert main(["generate", "sample", "--topic", "robot", "--title", "A title", "--n", "1"]) == 2
    assert "cannot be combined" in capsys.readouterr().err


@pytest.mark.heavy
def test_real_model_writes_on_the_topic_and_records_it(tmp_path):
    """The packaged SmolLM2: the topic's words are in each prompt, each text and the provenance."""
    from patentlab.generate.generations import read_generations
    from patentlab.generate.sample import load_generator

    generator = load_generator(None)
    gens = generator.sample(TOP_DOWN, 2, topic="Y02E 10/50", max_new_tokens=24, seed=1)
    gens += generator.sample(BOTTOM_UP, 1, topic=["solar panel cleaning robot"], max_new_tokens=24, seed=1)
    for g in gens:
        assert g.prompt in g.text and g.new_tokens > 0
    assert [g.prompt.splitlines()[-1] for g in gens] == [
        "Photovoltaic energy", "Photovoltaic energy", "1. A solar panel cleaning robot"]  # fmt: skip
    assert gens[0].topic["code"] == "Y02E10/50" and gens[2].topic["text"] == "solar panel cleaning robot"
    assert gens[0].to_dict()["topic"]["words"] == "Photovoltaic energy"

    out = tmp_path / "gens.jsonl"
    assert main(["vet", "sample", str(out), "--topic", "Y02E 10/50", "--n", "2", "--mode", "bottom-up",
                 "--max-new-tokens", "16", "--batch-size", "2"]) == 0  # fmt: skip
    rows, meta = read_generations(out)
    assert meta["topic"]["code"] == "Y02E10/50"
    for row in rows:
        assert row.prompt.endswith("1. A photovoltaic energy")
        assert row.topic["words"] == "Photovoltaic energy"

    cli_out = tmp_path / "cli.jsonl"
    assert main(["generate", "sample", "--topic", "solar panel cleaning robot", "--n", "1",
                 "--max-new-tokens", "8", "--out", str(cli_out)]) == 0  # fmt: skip
    row = json.loads(cli_out.read_text(encoding="utf-8"))
    assert row["topic"]["text"] == "solar panel cleaning robot"
    assert row["prompt"].endswith("## Title\nSolar panel cleaning robot")

"""Every registered sampling engine behaves the same way (the family's conformance test).

Each member is built through ``load_generator`` on the packaged SmolLM2: the torch engine
always, llama.cpp where ``make llm`` installed it (``make test-llm`` runs this file too).
"""

from __future__ import annotations

import importlib.util

import pytest

from patentlab.errors import PatentlabError
from patentlab.generate.formats import BOTTOM_UP, TOP_DOWN, prompt
from patentlab.generate.generations import Generation
from patentlab.generate.sample import ENGINES, BaseGenerator, engine_class, load_generator, register_engine

HAS_LLAMA = importlib.util.find_spec("llama_cpp") is not None
NEEDS = {"llama-cpp": HAS_LLAMA}
SETTINGS = dict(max_new_tokens=12, seed=3, temperature=0.8, batch_size=2)


@pytest.fixture(scope="module", params=list(ENGINES))
def generator(request) -> BaseGenerator:
    if not NEEDS.get(request.param, True):
        pytest.skip(f"the {request.param} engine's package is not installed (make llm)")
    # Every engine gets the same options; each reads only the ones it declares.
    return load_generator(None, engine=request.param, device="cpu", threads=1, dtype="float32")


def test_every_registered_engine_conforms(generator):
    name = generator.engine
    assert ENGINES[name].endswith(":" + type(generator).__name__)
    assert isinstance(generator, BaseGenerator) and isinstance(generator.device_name, str)
    assert set(generator.options) <= {"device", "threads", "gguf_dtype", "dtype"}

    first = generator.sample(TOP_DOWN, 2, **SETTINGS)
    assert all(isinstance(g, Generation) for g in first)
    assert all(g.text.startswith(prompt(TOP_DOWN)) and 0 < g.new_tokens <= 12 for g in first)
    assert [g.seed for g in first] == [3, 3] and first[0].text != first[1].text
    # Reproducible: a row depends on the seed and its position only.
    assert [g.text for g in generator.sample(TOP_DOWN, 2, **SETTINGS)] == [g.text for g in first]
    assert generator.last_stats.sequences == 2 and generator.last_stats.new_tokens > 0

    # Conditioned sampling, in the other direction, goes through the same engine call.
    claims = [["1. A bicycle comprising: a frame; and a wheel mounted on the frame."]]
    (summary,) = generator.sample(BOTTOM_UP, claims=claims, **SETTINGS)
    assert summary.text.startswith(prompt(BOTTOM_UP, claims=claims[0]))

    # The pipeline-style call.
    out = generator("# Patent\n\n## Title\n", max_new_tokens=4, num_return_sequences=2)
    assert len(out) == 2 and all(o["generated_text"].startswith("# Patent") for o in out)


def test_a_new_engine_is_one_class_and_one_registration_line():
    register_engine("torch-again", "patentlab.generate.sample:PatentGenerator")
    try:
        assert engine_class("torch-again").engine == "torch"
    finally:
        del ENGINES["torch-again"]
    with pytest.raises(PatentlabError, match="unknown engine 'vllm'; choose one of torch, llama-cpp"):
        load_generator(None, engine="vllm")

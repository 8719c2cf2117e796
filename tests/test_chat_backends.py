"""Every registered chat backend answers the same way (the family's conformance test).

Each member is built through ``make_backend`` and run on real models: the packaged SmolLM2
in transformers, the same GGUF in llama.cpp (where ``make llm`` installed it), and the HTTP
backend against llama-cpp-python's own OpenAI-compatible server on 127.0.0.1 (likewise).
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time

import pytest

from patentlab.llm.chat import REGISTRY, Completion, LLMBackend, Sampling, make_backend

HAS_LLAMA = importlib.util.find_spec("llama_cpp") is not None
CHAT = [[{"role": "user", "content": "Name one part of a bicycle."}]]
SCHEMA = {
    "type": "object",
    "properties": {"label": {"type": "integer", "enum": [0, 1]}},
    "required": ["label"],
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server():
    from patentlab.llm.gguf import resolve_gguf

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(resolve_gguf("smollm2-135m")),
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "1024"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.5)
    yield f"http://127.0.0.1:{port}/v1"
    server.terminate()
    server.wait(timeout=30)


def build(kind: str, request) -> LLMBackend:
    if kind == "transformers":
        return make_backend(kind, "smollm2-135m")
    if not HAS_LLAMA:
        pytest.skip("llama-cpp-python is not installed (make llm)")
    if kind == "llama-cpp":
        return make_backend(kind, "smollm2-135m", n_threads=2)
    return make_backend(kind, base_url=request.getfixturevalue("llama_server"))


@pytest.mark.parametrize("kind", list(REGISTRY))
def test_every_backend_conforms(kind, request):
    backend = build(kind, request)
    assert isinstance(backend, LLMBackend) and backend.name
    replies = backend.generate(CHAT * 2, max_tokens=12)
    assert len(replies) == 2 and all(isinstance(r, Completion) and r.text.strip() for r in replies)
    assert replies[0].text == replies[1].text  # greedy by default: the same chat, the same reply
    sampled = backend.generate(CHAT, max_tokens=12, sampling=Sampling(temperature=0.9, top_p=0.95, seed=1))
    again = backend.generate(CHAT, max_tokens=12, sampling=Sampling(temperature=0.9, top_p=0.95, seed=1))
    assert sampled[0].text == again[0].text  # a seed makes sampling reproducible
    labelled = backend.generate(CHAT, max_tokens=16, json_schema=SCHEMA)[0]
    assert labelled.text.strip().startswith("{")


def test_an_unknown_backend_is_a_one_line_error():
    from patentlab.errors import PatentlabError

    with pytest.raises(PatentlabError, match="unknown backend 'gpt'"):
        make_backend("gpt")


def test_every_llama_cpp_engine_says_how_to_install_llama_cpp_when_it_is_missing(monkeypatch, tmp_path):
    """The generator's engine and the chat backend load through one function, with one error that
    names the install step (and the generator's alternative)."""
    from patentlab.errors import PatentlabError
    from patentlab.generate.llama_cpp import LlamaCppGenerator
    from patentlab.llm.chat.llamacpp import LlamaCppBackend

    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import llama_cpp now fails
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    with pytest.raises(PatentlabError, match=r"make llm.*--engine torch"):
        LlamaCppGenerator(gguf)
    with pytest.raises(PatentlabError, match=r"llama-cpp-python: run 'make llm'"):
        LlamaCppBackend(str(gguf))

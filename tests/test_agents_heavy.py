"""Heavy agent tests with real models: LoRA training of the advocate, llama.cpp, and the HTTP backend
against llama-cpp-python's own server on 127.0.0.1 (needs ``make llm``)."""

from __future__ import annotations

import csv
import importlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from patentlab.agents.panel import AgentPanel
from patentlab.data import sample_path

pytestmark = pytest.mark.heavy


def need_llama_cpp(module: str = "llama_cpp") -> None:
    """Skip when llama-cpp-python is not installed, unless the run requires it (``make test-llm``)."""
    if os.environ.get("PATENTLAB_REQUIRE_LLM"):
        importlib.import_module(module)  # CI: a missing llama-cpp-python fails the run, it doesn't skip
    else:
        pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed: run 'make llm'")
        try:
            importlib.import_module(module)
        except ImportError as exc:
            pytest.fail(f"llama-cpp-python is installed without what {module} needs ({exc}): run 'make llm'")


@pytest.fixture(scope="module")
def short_claims() -> list[tuple[str, str]]:
    with sample_path("hitl_gold_100.csv").open(encoding="utf-8") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: len(r["text"]))
    return [(r["doc_id"], r["text"]) for r in rows[:2]]


def test_lora_advocate_lowers_the_loss_and_loads(tmp_path, short_claims):
    import torch

    from patentlab.agents.lora import AdvocateTrainingConfig, train_advocate
    from patentlab.llm.chat.transformers import TransformersBackend

    torch.set_num_threads(2)
    config = AdvocateTrainingConfig(examples=8, batch_size=4, max_steps=6, max_length=512, learning_rate=1e-3)
    out = tmp_path / "advocate"
    report = train_advocate(sample_path("y02_claims_1100.csv"), out, config)
    assert report["loss_after"] < report["loss_before"]
    assert report["quantization"] == "none" and report["steps"] == 6
    assert 0 < report["trainable_parameters"] < report["total_parameters"]
    # r=16 on all 7 projections of SmolLM2-135M's 30 layers (576 hidden, 1536 MLP, 3 KV heads × 64).
    per_layer = 16 * ((576 + 576) * 2 + (576 + 192) * 2 + (576 + 1536) * 2 + (1536 + 576))
    assert report["trainable_parameters"] == 30 * per_layer
    settings = json.loads((out / "adapter_config.json").read_text())
    assert settings["base_model_name_or_path"] == "smollm2-135m" and settings["r"] == 16
    assert sorted(settings["target_modules"]) == sorted(config.target_modules)
    advocate = TransformersBackend("smollm2-135m", adapter=out)
    panel = AgentPanel(TransformersBackend("smollm2-135m"), advocate_backend=advocate, max_retries=0,
                       argument_tokens=32, verdict_tokens=48)  # fmt: skip
    [result] = panel.label(short_claims[:1])
    assert result.advocate_argument and result.route in ("agents", "human")


def test_llama_cpp_backend_with_the_packaged_qwen(short_claims):
    need_llama_cpp()
    from patentlab.llm.chat.llamacpp import LlamaCppBackend

    # One thread: llama.cpp's threads spin-wait for each other, and on a busy CPU two threads were
    # 7× slower than one (measured here); on a quiet machine one thread costs less than 2× time.
    backend = LlamaCppBackend("qwen2.5-1.5b", n_ctx=2048, n_threads=1)
    results = AgentPanel(backend, setup="single", max_retries=1).label(short_claims)
    for r in results:
        # The grammar makes the JSON valid; the label token's probability is read from logprobs.
        assert r.label in (0, 1) and r.confidence_source == "token" and 0 <= r.p_green <= 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    """llama-cpp-python's OpenAI-compatible server on 127.0.0.1, serving the packaged SmolLM2 GGUF."""
    need_llama_cpp("llama_cpp.server")
    from patentlab.llm.gguf import resolve_gguf

    port = _free_port()
    # One thread, for the same reason as in the llama.cpp test above.
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(resolve_gguf("smollm2-135m")),
               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "1"]  # fmt: skip
    # The server logs a lot while loading: to a file, since a full pipe would block it.
    log_path = tmp_path_factory.mktemp("llama_server") / "server.log"
    log = log_path.open("w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 600
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{base_url}/models", timeout=2):
                    break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(f"llama_cpp.server exited: {log_path.read_text()[-2000:]}")
                if time.monotonic() > deadline:
                    pytest.fail(f"llama_cpp.server did not start in 600 s: {log_path.read_text()[-2000:]}")
                time.sleep(1)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_http_backend_against_a_real_local_server(llama_server, short_claims):
    from patentlab.llm.chat.http import OpenAICompatibleBackend

    backend = OpenAICompatibleBackend(llama_server, model="smollm2")
    results = AgentPanel(backend, max_retries=1, argument_tokens=48, verdict_tokens=64).label(short_claims)
    # llama-cpp-python's server takes a schema as {"type": "json_object", "schema": …}.
    assert backend.response_format in ("json_schema", "json_object") and backend.logprobs
    for r in results:
        assert r.label in (0, 1) and r.confidence_source == "token" and 0 <= r.p_green <= 1
        assert r.advocate_label in (0, 1) and r.skeptic_label in (0, 1)
        assert r.route in ("agents", "human")

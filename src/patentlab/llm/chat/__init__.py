"""LLM backends behind one interface (:class:`LLMBackend`): transformers, llama.cpp, HTTP."""

from __future__ import annotations

from patentlab.errors import PatentlabError
from patentlab.llm.chat.base import GREEDY, Generation, LLMBackend, Sampling, label_probability

BACKENDS = ("transformers", "llama-cpp", "http")


def make_backend(kind: str, model: str | None = None, **options) -> LLMBackend:
    """Build a backend by name: ``transformers``, ``llama-cpp`` or ``http``.

    ``model`` defaults to the packaged SmolLM2 (transformers), the packaged Qwen2.5-1.5B
    (llama-cpp) and ``default`` (http, where ``base_url`` is also taken from ``options``).
    """
    if kind == "transformers":
        from patentlab.llm.chat.transformers import TransformersBackend

        return TransformersBackend(model or "smollm2-135m", **options)
    if kind == "llama-cpp":
        from patentlab.llm.chat.llamacpp import LlamaCppBackend

        return LlamaCppBackend(model or "qwen2.5-1.5b", **options)
    if kind == "http":
        from patentlab.llm.chat.http import OpenAICompatibleBackend

        return OpenAICompatibleBackend(model=model or "default", **options)
    raise PatentlabError(f"unknown backend '{kind}'; choose one of {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "GREEDY", "Generation", "LLMBackend", "Sampling", "label_probability", "make_backend"]

"""LLM backends behind one interface (:class:`LLMBackend`): transformers, llama.cpp, HTTP."""

from __future__ import annotations

from patentlab.errors import PatentlabError
from patentlab.llm.chat.base import GREEDY, Completion, LLMBackend, Sampling, label_probability

#: Every backend: name -> ("module:Class", the model it runs when none is named). A new backend is
#: one module with a class that has ``name`` and ``generate`` (:class:`LLMBackend`), plus one line
#: here (or a call to :func:`register_backend`).
REGISTRY: dict[str, tuple[str, str]] = {
    "transformers": ("patentlab.llm.chat.transformers:TransformersBackend", "smollm2-135m"),
    "llama-cpp": ("patentlab.llm.chat.llamacpp:LlamaCppBackend", "qwen2.5-1.5b"),
    "http": ("patentlab.llm.chat.http:OpenAICompatibleBackend", "default"),
}
BACKENDS = tuple(REGISTRY)


def register_backend(name: str, target: str, default_model: str) -> None:
    """Make ``make_backend(name)`` build ``target`` (``"package.module:Class"``)."""
    REGISTRY[name] = (target, default_model)


def make_backend(kind: str, model: str | None = None, **options) -> LLMBackend:
    """Build a backend by name: ``transformers``, ``llama-cpp``, ``http`` or a registered one.

    ``model`` defaults to the backend's own (the packaged SmolLM2 for transformers, the packaged
    Qwen2.5-1.5B for llama-cpp, ``default`` for http, where ``base_url`` comes from ``options``).
    The backend's module is imported only here, so an optional dependency is needed only by its
    own backend.
    """
    import importlib

    if kind not in REGISTRY:
        raise PatentlabError(f"unknown backend '{kind}'; choose one of {', '.join(REGISTRY)}")
    target, default = REGISTRY[kind]
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)(model=model or default, **options)


__all__ = [
    "BACKENDS",
    "GREEDY",
    "REGISTRY",
    "Completion",
    "LLMBackend",
    "Sampling",
    "label_probability",
    "make_backend",
    "register_backend",
]

"""In-process llama.cpp through ``llama-cpp-python`` (the optional ``llm`` extra).

JSON replies are constrained by a grammar built from the schema, so they always parse; token
alternatives come from llama.cpp's logprobs (which need ``logits_all=True``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from patentlab.agents.backends.base import Conversation, Generation, generation_from_openai
from patentlab.errors import PatentlabError


class LlamaCppBackend:
    """A GGUF model run by llama.cpp in this process.

    Args:
        model: ``qwen2.5-1.5b`` or ``smollm2-135m`` (packaged), a ``.gguf`` path, or
            ``owner/repo:file.gguf`` on the hub.
        n_ctx: context window in tokens.
        n_threads: CPU threads (llama.cpp's default when None).
        top_logprobs: alternatives kept per generated token.
    """

    def __init__(
        self, model: str = "qwen2.5-1.5b", *, n_ctx: int = 2048, n_threads: int | None = None,
        top_logprobs: int = 10,
    ) -> None:  # fmt: skip
        try:
            from llama_cpp import Llama
        except ModuleNotFoundError:
            raise PatentlabError(
                "the llama.cpp backend needs llama-cpp-python: run 'make llm' "
                "(or pip install 'patentlab[llm]')"
            ) from None
        from patentlab.agents.models import resolve_gguf

        self.path = resolve_gguf(model)
        self.llm = Llama(model_path=str(self.path), n_ctx=n_ctx, n_threads=n_threads, logits_all=True,
                         verbose=False)  # fmt: skip
        self.top_logprobs = top_logprobs
        self.name = f"llama.cpp:{Path(self.path).stem}"

    def generate(
        self, conversations: Sequence[Conversation], *, max_tokens: int, json_schema: dict | None = None
    ) -> list[Generation]:
        fmt = {"type": "json_object", "schema": json_schema} if json_schema else None
        out = []
        for conversation in conversations:
            response = self.llm.create_chat_completion(
                messages=conversation,
                max_tokens=max_tokens,
                temperature=0.0,
                response_format=fmt,
                logprobs=True,
                top_logprobs=self.top_logprobs,
            )
            out.append(generation_from_openai(response))
        return out

"""In-process llama.cpp through ``llama-cpp-python`` (the optional ``llm`` extra).

JSON replies are constrained by a grammar built from the schema, so they always parse. The label
probability needs the alternatives at one position only, the label digit, so the model is loaded
without ``logits_all`` (which makes llama-cpp-python copy and log-softmax the whole vocabulary
at every generated token, 2.5x the cost of the reply on SmolLM2) and that one position is
re-scored afterwards from the KV cache: a single token's evaluation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from patentlab.llm.chat.base import GREEDY, Completion, Conversation, Sampling

_LABEL_DIGIT = re.compile(r'"label"\s*:\s*"?(?=[01])')


class LlamaCppBackend:
    """A GGUF model run by llama.cpp in this process.

    Args:
        model: ``qwen2.5-1.5b`` or ``smollm2-135m`` (packaged), a ``.gguf`` path, or
            ``owner/repo:file.gguf`` on the hub.
        n_ctx: context window in tokens.
        n_threads: CPU threads (llama.cpp's default when None).
        top_logprobs: alternatives kept at the label position.
    """

    def __init__(
        self, model: str = "qwen2.5-1.5b", *, n_ctx: int = 2048, n_threads: int | None = None,
        top_logprobs: int = 10,
    ) -> None:  # fmt: skip
        from patentlab.llm.gguf import load_llama, resolve_gguf

        self.path = resolve_gguf(model)
        self.llm = load_llama(self.path, owner=self, n_ctx=n_ctx, n_threads=n_threads)
        self.top_logprobs = top_logprobs
        self.name = f"llama.cpp:{Path(self.path).stem}"

    def generate(
        self,
        conversations: Sequence[Conversation],
        *,
        max_tokens: int,
        json_schema: dict | None = None,
        sampling: Sampling = GREEDY,
    ) -> list[Completion]:
        grammar, fmt = self._json_grammar(json_schema, max_tokens)
        out = []
        for conversation in conversations:
            response = self.llm.create_chat_completion(
                messages=conversation, max_tokens=max_tokens, response_format=fmt, grammar=grammar,
                temperature=sampling.temperature, top_p=sampling.top_p, seed=sampling.seed,
            )  # fmt: skip
            choice = response["choices"][0]
            text = choice["message"].get("content") or ""
            generation = self._with_label_alternatives(text, int(response["usage"]["prompt_tokens"]))
            generation.n_tokens = int(response["usage"]["completion_tokens"])
            out.append(generation)
        return out

    @staticmethod
    def _json_grammar(schema: dict | None, max_tokens: int) -> tuple[Any, dict | None]:
        """A flat schema as a GBNF grammar whose strings share ``max_tokens`` (the object always
        closes); any other schema through llama.cpp's own JSON-schema support."""
        if schema is None:
            return None, None
        from patentlab.llm.structure import json_object_gbnf, llama_grammar

        gbnf = json_object_gbnf(schema, max_tokens)
        if gbnf is None:
            return None, {"type": "json_object", "schema": schema}
        return llama_grammar(gbnf), None

    def _with_label_alternatives(self, text: str, n_prompt: int) -> Completion:
        """The reply split into tokens, with the top alternatives at the label digit's token.

        Right after a completion, the context holds the prompt and the reply's tokens (all but the
        last sampled one), so the label position is scored by rolling the context back to just
        before the digit and evaluating one token.
        """
        import numpy as np
        from llama_cpp import llama_get_logits

        match = _LABEL_DIGIT.search(text)
        reply_ids = [int(t) for t in self.llm.input_ids[n_prompt : self.llm.n_tokens]]
        pieces = [self.llm.detokenize([t]).decode("utf-8", errors="replace") for t in reply_ids]
        if match is None or "".join(pieces)[: match.end()] != text[: match.end()]:
            return Completion(text=text)
        at, digit_token, start = match.end(), None, 0
        for i, piece in enumerate(pieces):
            if start <= at < start + len(piece):
                digit_token = i
                break
            start += len(piece)
        if digit_token is None:
            return Completion(text=text)
        keep = n_prompt + digit_token
        if keep == 0:
            return Completion(text=text)
        # Roll back to one token before the digit's token and re-evaluate that token: its logits are
        # the distribution over the digit's token (eval drops the KV cells past n_tokens itself).
        self.llm.n_tokens = keep - 1
        self.llm.eval([int(self.llm.input_ids[keep - 1])])
        logits = np.ctypeslib.as_array(llama_get_logits(self.llm.ctx), shape=(self.llm.n_vocab(),))
        logprobs = logits - (logits.max() + np.log(np.exp(logits - logits.max()).sum()))
        top = np.argpartition(-logprobs, self.top_logprobs)[: self.top_logprobs]
        alternatives: dict[str, float] = {}
        for t in top:  # distinct tokens can read the same ("1" and "1" with a byte fallback): add them
            piece = self.llm.detokenize([int(t)]).decode("utf-8", errors="replace")
            alternatives[piece] = float(np.logaddexp(alternatives.get(piece, -np.inf), logprobs[t]))
        top_logprobs = [{} for _ in pieces]
        top_logprobs[digit_token] = alternatives
        return Completion(text=text, tokens=pieces, top_logprobs=top_logprobs)

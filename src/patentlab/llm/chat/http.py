"""Any OpenAI-compatible chat server: llama.cpp's server, Ollama, vLLM, OpenAI itself.

Servers differ in what they accept, so the backend negotiates once and remembers: structured
output as ``json_schema`` (OpenAI, vLLM, Ollama), else as ``json_object`` with a ``schema``
(llama-cpp-python), else none; token logprobs when the server returns them, else the agents
fall back to the stated confidence.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Sequence

from patentlab.errors import PatentlabError
from patentlab.llm.chat.base import GREEDY, Completion, Conversation, Sampling, completion_from_openai

_FORMATS = ("json_schema", "json_object", "none")


class OpenAICompatibleBackend:
    """Chat completions over HTTP.

    Args:
        base_url: the API root, e.g. ``http://127.0.0.1:8080/v1`` (llama.cpp),
            ``http://localhost:11434/v1`` (Ollama), ``https://api.openai.com/v1``.
        model: the model name the server expects.
        api_key: bearer token; ``$OPENAI_API_KEY`` when None (local servers need none).
        timeout: seconds per request.
        retries: re-sends after a connection error or a 5xx/429 answer (with backoff).
        top_logprobs: alternatives requested per generated token.
    """

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8080/v1",
        model: str = "default",
        *,
        api_key: str | None = None,
        timeout: float = 120.0,
        retries: int = 2,
        top_logprobs: int = 10,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.timeout = timeout
        self.retries = retries
        self.top_logprobs = top_logprobs
        self.response_format: str | None = None  # found on the first structured request
        self.logprobs = True
        self.name = f"http:{model}@{self.base_url}"

    def _post(self, payload: dict) -> dict:
        request = urllib.request.Request(
            f"{self.base_url}/chat/completions",
            data=json.dumps(payload).encode("utf-8"),
            headers={
                "Content-Type": "application/json",
                **({"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}),
            },
        )
        for attempt in range(self.retries + 1):
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.loads(response.read().decode("utf-8"))
            except urllib.error.HTTPError as exc:
                if exc.code in (429, 502, 503, 504) and attempt < self.retries:  # transient
                    time.sleep(2**attempt)
                    continue
                raise _ServerRejected(exc.code, exc.read().decode("utf-8", "replace")[:300]) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                if attempt < self.retries:
                    time.sleep(2**attempt)
                    continue
                reason = getattr(exc, "reason", exc)
                raise PatentlabError(f"cannot reach the LLM server at {self.base_url}: {reason}") from None
        raise AssertionError("unreachable")

    def _payload(
        self,
        conversation: Conversation,
        max_tokens: int,
        schema: dict | None,
        fmt: str,
        logprobs: bool,
        sampling: Sampling = GREEDY,
    ) -> dict:
        payload: dict = {"model": self.model, "messages": conversation, "max_tokens": max_tokens,
                         "temperature": sampling.temperature, "top_p": sampling.top_p}  # fmt: skip
        if sampling.seed is not None:
            payload["seed"] = sampling.seed
        if logprobs:
            payload.update(logprobs=True, top_logprobs=self.top_logprobs)
        if schema and fmt == "json_schema":
            payload["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "reply", "schema": schema},
            }
        elif schema and fmt == "json_object":
            payload["response_format"] = {"type": "json_object", "schema": schema}
        return payload

    def _complete(
        self, conversation: Conversation, max_tokens: int, schema: dict | None, sampling: Sampling = GREEDY
    ) -> dict:
        formats = [self.response_format] if self.response_format else list(_FORMATS)
        last: _ServerRejected | None = None
        for fmt in formats:
            for logprobs in (True, False) if self.logprobs else (False,):
                try:
                    response = self._post(
                        self._payload(conversation, max_tokens, schema, fmt, logprobs, sampling)
                    )
                except _ServerRejected as exc:
                    # 400/422, or 500 from servers that report validation errors so (llama-cpp-python):
                    # a simpler request may pass. Auth or a missing model: it will not.
                    if exc.code not in (400, 422, 500):
                        raise PatentlabError(f"the LLM server at {self.base_url} answered {exc}") from None
                    last = exc
                    continue
                if schema:
                    self.response_format = fmt
                self.logprobs = logprobs
                return response
        raise PatentlabError(f"the LLM server at {self.base_url} rejected the request: {last}")

    def generate(
        self,
        conversations: Sequence[Conversation],
        *,
        max_tokens: int,
        json_schema: dict | None = None,
        sampling: Sampling = GREEDY,
    ) -> list[Completion]:
        out = []
        for conversation in conversations:
            response = self._complete(conversation, max_tokens, json_schema, sampling)
            try:
                out.append(completion_from_openai(response))
            except (KeyError, IndexError, TypeError):
                raise PatentlabError(
                    f"the LLM server at {self.base_url} answered without choices: {str(response)[:200]}"
                ) from None
        return out


class _ServerRejected(Exception):
    def __init__(self, code: int, body: str) -> None:
        super().__init__(f"HTTP {code}: {body}")
        self.code = code

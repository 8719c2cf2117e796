"""The llama.cpp engine: SmolLM2 and its fine-tunes sampled through ``llama-cpp-python``.

On a CPU, llama.cpp decodes a 135M model several times faster than transformers (fused
kernels, F16 weights, no Python per layer). Its high-level API decodes one sequence at a
time, so the batch size does not apply; each row gets its own seed, as in the torch engine, so
a patent depends only on the request seed and its position. ``llama-cpp-python`` is the
optional ``llm`` extra (``make llm``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from patentlab.generate.generations import Generation
from patentlab.generate.sample import BaseGenerator, SamplingConfig, row_seed

#: Tokens of context: the longest conditioned prompt plus the new tokens must fit.
DEFAULT_N_CTX = 2048


class LlamaCppGenerator(BaseGenerator):
    """Sample patents from a GGUF model with llama.cpp (same API as the torch engine).

    Args:
        gguf_path: the GGUF file (see :meth:`from_pretrained` to get one for any SmolLM2).
        source: the model it was made from, for provenance (defaults to ``gguf_path``).
        threads: CPU threads (llama-cpp-python's default when None).
        n_ctx: context window in tokens.
    """

    engine = "llama-cpp"
    options = ("threads", "gguf_dtype")

    def __init__(
        self, gguf_path: str | Path, *, source: str | None = None, threads: int | None = None,
        n_ctx: int = DEFAULT_N_CTX,
    ) -> None:  # fmt: skip
        super().__init__()
        from patentlab.llm.gguf import load_llama

        self.gguf_path = Path(gguf_path)
        self.source = source or str(gguf_path)
        self.llm = load_llama(self.gguf_path, owner=self, n_ctx=n_ctx, n_threads=threads,
                              instead="or use --engine torch")  # fmt: skip
        self.threads = self.llm.n_threads if hasattr(self.llm, "n_threads") else threads

    @classmethod
    def from_pretrained(
        cls, name_or_path: str | Path | None = None, *, threads: int | None = None, gguf_dtype: str = "f16"
    ) -> LlamaCppGenerator:
        """The packaged SmolLM2 GGUF, a ``.gguf`` file, or a fine-tune exported (once) to GGUF."""
        from patentlab.llm.gguf_export import exported_gguf
        from patentlab.llm.loading import resolve_causal_lm

        path = exported_gguf(name_or_path, dtype=gguf_dtype)  # type: ignore[arg-type]
        source = str(path) if str(name_or_path or "").endswith(".gguf") or name_or_path is None else None
        return cls(path, source=source or resolve_causal_lm(name_or_path), threads=threads)

    @property
    def device_name(self) -> str:
        return f"cpu (llama.cpp, {self.threads} threads)"

    _progress_label = "sample (llama.cpp)"

    def _generate(
        self, prompts: Sequence[str], config: SamplingConfig, *, greedy: bool, advance: Callable[[int], None]
    ) -> list[Generation]:
        """One sequence at a time: ``batch_size`` does not apply. ``repetition_penalty`` maps to
        llama.cpp's ``repeat_penalty``, which looks at the last 64 tokens only. The skeleton is a
        GBNF grammar, applied by llama.cpp's own sampler; the repetition guard is a logits
        processor that runs before it."""
        results: list[Generation] = []
        grammars: dict[str, Any] = {}  # one per distinct prompt: n samples of one prompt share it
        for row, text in enumerate(prompts):
            if text not in grammars:
                grammars[text] = self._grammar(text, config)
            # A fresh context per row: reusing the previous row's cached prefix could change
            # the arithmetic, and with it the sample, depending on what ran before.
            self.llm.reset()
            out: dict[str, Any] = self.llm.create_completion(
                text, max_tokens=config.max_new_tokens, temperature=0.0 if greedy else config.temperature,
                top_p=config.top_p, top_k=config.top_k, min_p=0.0, typical_p=1.0,
                repeat_penalty=config.repetition_penalty, seed=row_seed(config.seed, row),
                grammar=grammars[text], logits_processor=self._guard(config),
            )  # type: ignore[assignment]  # fmt: skip
            choice = out["choices"][0]
            tokens = int(out["usage"]["completion_tokens"])
            finished = choice["finish_reason"] == "stop"
            results.append(Generation(text, text + choice["text"], tokens, finished, config.seed))
            advance(1)
        return results

    def _guard(self, config: SamplingConfig) -> Any:
        """A fresh repetition guard as a llama.cpp logits processor, or None when none is asked."""
        guard = self._new_guard(config)
        if guard is None:
            return None
        from llama_cpp import LogitsProcessorList

        from patentlab.llm.repetition import BAN_LOGIT

        def ban(input_ids: Any, scores: Any) -> Any:
            # input_ids holds the prompt and every token since, so the guard only catches up.
            guard.sync(input_ids)
            banned = guard.banned()
            if banned:
                scores[banned] += BAN_LOGIT
            return scores

        return LogitsProcessorList([ban])

    def _vocab_pieces(self) -> list[str]:
        return [self.llm.detokenize([i]).decode("utf-8", errors="ignore") for i in range(self.llm.n_vocab())]

    def _eos_id(self) -> int | None:
        return self.llm.token_eos()

    @staticmethod
    def _grammar(prompt: str, config: SamplingConfig) -> Any:
        """The skeleton as a GBNF grammar for llama.cpp's sampler, or None for free sampling."""
        if config.structure != "skeleton":
            return None
        from patentlab.generate.skeleton import skeleton_for_prompt
        from patentlab.llm.structure import llama_grammar

        skeleton = skeleton_for_prompt(prompt, config.max_new_tokens)
        return llama_grammar(skeleton.gbnf(prompt, config.max_new_tokens))

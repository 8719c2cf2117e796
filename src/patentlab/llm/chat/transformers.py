"""In-process generation with transformers: the packaged SmolLM2, any hub id or local path.

Conversations are generated in left-padded batches with greedy decoding; the logits of every
step give each token's top alternatives, from which the label probability is read. A JSON schema
is enforced token by token (:func:`patentlab.llm.structure.json_constraint`), as llama.cpp does
with its grammars, so every reply parses and validates.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from patentlab.errors import PatentlabError
from patentlab.llm.chat.base import GREEDY, Completion, Conversation, Sampling


class TransformersBackend:
    """A causal LM loaded in this process.

    Args:
        model: ``smollm2-135m`` (the packaged SmolLM2-135M-Instruct, the default), a hub id such
            as ``mistralai/Mistral-7B-Instruct-v0.3``, or a local model folder.
        adapter: a LoRA adapter folder (from ``patentlab agents train-advocate``), merged on load.
        device: ``cpu``/``cuda``; the GPU when torch sees one by default.
        batch_size: conversations per ``generate`` call.
        top_logprobs: alternatives kept per generated token.
    """

    def __init__(
        self,
        model: str = "smollm2-135m",
        *,
        adapter: str | Path | None = None,
        device: str | None = None,
        batch_size: int = 8,
        top_logprobs: int = 10,
    ) -> None:
        from patentlab.llm.loading import load_causal_lm

        self.model_name = str(model)
        self.adapter = str(adapter) if adapter else None
        self.model, self.tokenizer = load_causal_lm(model, device=device)
        if adapter:
            self.model = _merge_adapter(self.model, Path(adapter))
        if self.tokenizer.chat_template is None:
            raise PatentlabError(f"model '{model}' has no chat template; use an instruction-tuned model")
        self.batch_size = batch_size
        self.top_logprobs = top_logprobs
        suffix = f"+{Path(self.adapter).name}" if self.adapter else ""
        self.name = f"transformers:{Path(self.model_name).name}{suffix}"

    def generate(
        self,
        conversations: Sequence[Conversation],
        *,
        max_tokens: int,
        json_schema: dict | None = None,
        sampling: Sampling = GREEDY,
    ) -> list[Completion]:
        """Replies to ``conversations`` (greedy unless ``sampling`` says otherwise).

        With ``json_schema``, the reply is constrained token by token to a JSON object of that
        schema (its strings share a token budget, so the object closes within ``max_tokens``),
        and it is started
        with the schema's first key (``{"label": ``), which the returned text includes.
        """
        prefix = json_prefix(json_schema)
        out: list[Completion] = []
        for start in range(0, len(conversations), self.batch_size):
            batch = conversations[start : start + self.batch_size]
            out.extend(self._generate_batch(batch, max_tokens, prefix, json_schema, sampling))
        return out

    def _generate_batch(
        self,
        conversations: Sequence[Conversation],
        max_tokens: int,
        prefix: str,
        schema: dict | None,
        sampling: Sampling = GREEDY,
    ) -> list[Completion]:
        import torch

        if sampling.seed is not None:
            torch.manual_seed(sampling.seed)
        decoding = (
            {"do_sample": False}
            if sampling.greedy
            else {"do_sample": True, "temperature": sampling.temperature, "top_p": sampling.top_p}
        )

        prompts = [
            self.tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=False) + prefix
            for c in conversations
        ]
        batch = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        batch = {k: v.to(self.model.device) for k, v in batch.items()}
        processors = [
            self._json_processor(schema, prefix, len(prompts), batch["input_ids"].shape[1], max_tokens)
        ]
        with torch.inference_mode():
            result = self.model.generate(
                **batch,
                max_new_tokens=max_tokens,
                **decoding,
                output_logits=True,
                return_dict_in_generate=True,
                pad_token_id=self.tokenizer.pad_token_id,
                logits_processor=[p for p in processors if p is not None],
            )
        new_ids = result.sequences[:, batch["input_ids"].shape[1] :]
        # (steps, batch, vocab) → per step, the top alternatives of every row.
        logprobs = torch.stack(result.logits).float().log_softmax(dim=-1)
        top_values, top_ids = logprobs.topk(self.top_logprobs, dim=-1)
        stops = {self.tokenizer.eos_token_id, self.tokenizer.pad_token_id}
        generations = []
        for row in range(new_ids.shape[0]):
            ids = new_ids[row].tolist()
            length = next((i for i, t in enumerate(ids) if t in stops), len(ids))
            tokens = [prefix, *(self._piece(t) for t in ids[:length])]
            alternatives = [{prefix: 0.0}]
            for step in range(length):
                pairs = zip(top_ids[step, row].tolist(), top_values[step, row].tolist(), strict=True)
                alternatives.append({self._piece(t): v for t, v in pairs})
            text = prefix + self.tokenizer.decode(ids[:length], skip_special_tokens=True)
            generations.append(Completion(text=text, tokens=tokens, top_logprobs=alternatives))
        return generations

    def _json_processor(
        self, schema: dict | None, prefix: str, rows: int, prompt_length: int, max_tokens: int
    ) -> Any:
        """One JSON grammar per row, already past ``prefix`` (which is part of the prompt)."""
        if schema is None:
            return None
        from patentlab.llm.structure import GrammarLogitsProcessor, json_constraint

        vocab = self.model.get_output_embeddings().weight.shape[0]
        # The strings share the token limit, so the object closes before it.
        # Compiled once, past the prefix; each row gets its own copy of the matcher state.
        constraint = json_constraint(self.tokenizer, schema, max_tokens=max_tokens, vocab_size=vocab)
        prefix_ids = self.tokenizer.encode(prefix, add_special_tokens=False) if prefix else []
        if prefix_ids and constraint.matcher.try_consume_tokens(prefix_ids) != len(prefix_ids):
            raise PatentlabError(f"the JSON prefix {prefix!r} does not fit the schema")
        constraints = [constraint.copy() for _ in range(rows)]
        return GrammarLogitsProcessor(constraints, prompt_length, self.tokenizer.eos_token_id)

    def _piece(self, token_id: int) -> str:
        return self.tokenizer.decode([token_id], clean_up_tokenization_spaces=False)


def json_prefix(schema: dict | None) -> str:
    """The opening of a JSON reply to ``schema``: ``{"<first key>": `` (plus ``"`` for a string)."""
    properties = (schema or {}).get("properties") or {}
    if not properties:
        return ""
    key, spec = next(iter(properties.items()))
    return f'{{"{key}": ' + ('"' if spec.get("type") == "string" else "")


def _merge_adapter(model: Any, adapter: Path) -> Any:
    from peft import PeftModel

    if not (adapter / "adapter_config.json").exists():
        raise PatentlabError("not a LoRA adapter folder (no adapter_config.json)", path=adapter)
    return PeftModel.from_pretrained(model, str(adapter)).merge_and_unload().eval()

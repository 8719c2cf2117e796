"""Export a fine-tuned SmolLM2 (or any llama-architecture model with its tokenizer) to GGUF.

llama.cpp samples a 135M model several times faster than transformers on a CPU, but it reads
GGUF only. A fine-tune of the packaged SmolLM2 shares that model's architecture and tokenizer,
so the export reuses the packaged GGUF's tokenizer and chat metadata, takes the architecture
numbers from the fine-tune's config, and writes the fine-tuned weights (a LoRA adapter is merged
first) in F16 (the default), F32 or Q8_0. F16 reproduces transformers: greedy text is
identical and logits differ by < 0.1 (tests/test_generate_llama_cpp.py); Q8_0 is ~1.5× faster
on a CPU but its logits drift by ~1, enough to change some greedy choices.

Two details make the export exact:

* names: transformers' ``model.layers.3.self_attn.q_proj.weight`` is llama.cpp's
  ``blk.3.attn_q.weight`` (:func:`gguf_tensor_name`);
* rotary layout: llama.cpp rotates adjacent pairs of each head's query/key dimensions, while
  transformers rotates the two halves of the head, so the rows of ``q_proj`` and ``k_proj`` are
  reordered per head (:func:`interleave_rotary_rows`).

:func:`exported_gguf` caches the file under ``$PATENTLAB_CACHE/gguf``, keyed by the SHA-256 of
the model's weight files, so a re-trained model never reuses a stale export.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Literal

from patentlab.cache import cache_dir
from patentlab.errors import PatentlabError

GgufDtype = Literal["f16", "f32", "q8_0"]
GGUF_DTYPES: tuple[GgufDtype, ...] = ("f16", "f32", "q8_0")

_LAYER_NAMES = {
    "input_layernorm": "attn_norm",
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "post_attention_layernorm": "ffn_norm",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
_GLOBAL_NAMES = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}
_LAYER = re.compile(r"^model\.layers\.(\d+)\.(.+)\.weight$")
# Metadata that describes the packaged file's tensors, not the model: written afresh.
_SKIPPED_KEYS = ("general.architecture", "general.file_type", "general.quantization_version")


def gguf_tensor_name(name: str) -> str:
    """The llama.cpp name of a transformers llama weight."""
    if name in _GLOBAL_NAMES:
        return _GLOBAL_NAMES[name]
    match = _LAYER.match(name)
    if match and match.group(2) in _LAYER_NAMES:
        return f"blk.{match.group(1)}.{_LAYER_NAMES[match.group(2)]}.weight"
    raise PatentlabError(f"no GGUF name for the weight '{name}' (not a llama-architecture model?)")


def interleave_rotary_rows(weight: Any, n_heads: int) -> Any:
    """Reorder a query/key projection's rows from transformers' rotary layout to llama.cpp's.

    Within each head, transformers pairs dimension ``i`` with ``i + d/2``; llama.cpp pairs
    ``2i`` with ``2i + 1``. Row ``i`` of the first half goes to ``2i``, of the second to ``2i+1``.
    """
    rows = weight.shape[0]
    half = rows // n_heads // 2
    return weight.reshape(n_heads, 2, half, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def export_gguf(model: Any, tokenizer: Any, out_path: str | Path, *, dtype: GgufDtype = "f16") -> Path:
    """Write a transformers llama model as a GGUF file llama.cpp can run.

    The tokenizer must be the packaged SmolLM2's (its GGUF holds the tokenizer llama.cpp uses).
    """
    import gguf
    import numpy as np

    from patentlab.llm.loading import packaged_gguf
    from patentlab.storage import atomic_path

    if dtype not in GGUF_DTYPES:
        raise PatentlabError(f"unknown GGUF dtype '{dtype}'; choose one of {', '.join(GGUF_DTYPES)}")
    config = model.config
    if getattr(config, "model_type", None) != "llama":
        raise PatentlabError(
            f"llama.cpp export supports llama-architecture models (SmolLM2), not "
            f"'{getattr(config, 'model_type', '?')}': use the torch engine"
        )
    template = gguf.GGUFReader(str(packaged_gguf()))
    _check_same_tokenizer(tokenizer, template)

    n_heads, n_kv = config.num_attention_heads, config.num_key_value_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // n_heads
    file_type, matrix_type = {
        "q8_0": (gguf.LlamaFileType.MOSTLY_Q8_0, gguf.GGMLQuantizationType.Q8_0),
        "f16": (gguf.LlamaFileType.MOSTLY_F16, gguf.GGMLQuantizationType.F16),
        "f32": (gguf.LlamaFileType.ALL_F32, gguf.GGMLQuantizationType.F32),
    }[dtype]
    state = {k: v.detach().float().cpu().numpy() for k, v in model.state_dict().items()}
    if getattr(config, "tie_word_embeddings", False):
        state.pop("lm_head.weight", None)  # llama.cpp reuses token_embd when output is absent

    with atomic_path(Path(out_path)) as tmp:
        writer = gguf.GGUFWriter(str(tmp), "llama")
        for key, field in template.fields.items():
            if key.startswith("GGUF.") or key in _SKIPPED_KEYS or key.startswith("llama."):
                continue
            sub_type = field.types[1] if len(field.types) > 1 else None
            writer.add_key_value(key, field.contents(), field.types[0], sub_type=sub_type)
        writer.add_file_type(file_type)
        writer.add_context_length(config.max_position_embeddings)
        writer.add_embedding_length(config.hidden_size)
        writer.add_block_count(config.num_hidden_layers)
        writer.add_feed_forward_length(config.intermediate_size)
        writer.add_head_count(n_heads)
        writer.add_head_count_kv(n_kv)
        writer.add_rope_dimension_count(head_dim)
        writer.add_rope_freq_base(float(getattr(config, "rope_theta", None) or _rope_theta(config)))
        writer.add_layer_norm_rms_eps(config.rms_norm_eps)
        writer.add_vocab_size(config.vocab_size)
        for name, weight in state.items():
            if name.endswith("q_proj.weight"):
                weight = interleave_rotary_rows(weight, n_heads)
            elif name.endswith("k_proj.weight"):
                weight = interleave_rotary_rows(weight, n_kv)
            # Norm vectors stay F32, as llama.cpp's own converter writes them.
            qtype = matrix_type if weight.ndim > 1 else gguf.GGMLQuantizationType.F32
            data = gguf.quants.quantize(np.ascontiguousarray(weight, dtype=np.float32), qtype)
            writer.add_tensor(gguf_tensor_name(name), data, raw_dtype=qtype)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
    return Path(out_path)


def _rope_theta(config: Any) -> float:
    # transformers 5 keeps rope_theta inside rope_parameters.
    params = getattr(config, "rope_parameters", None) or {}
    return float(params.get("rope_theta", 10000.0))


def _check_same_tokenizer(tokenizer: Any, template: Any) -> None:
    field = template.fields["tokenizer.ggml.tokens"]
    tokens = [bytes(field.parts[i]).decode("utf-8") for i in field.data]
    vocab = tokenizer.get_vocab()
    if len(vocab) != len(tokens) or any(vocab.get(t) != i for i, t in enumerate(tokens)):
        raise PatentlabError(
            "llama.cpp export needs the packaged SmolLM2 tokenizer; this model has another one: "
            "use the torch engine"
        )


def exported_gguf(name_or_path: str | Path | None, *, dtype: GgufDtype = "f16") -> Path:
    """A GGUF file for a model: the packaged file itself, a ``.gguf`` path, or a cached export.

    A trained run's ``model`` folder (full or LoRA) is exported once and cached under
    ``$PATENTLAB_CACHE/gguf``, keyed by its weights' SHA-256 and ``dtype``.
    """
    from patentlab.llm.loading import (
        PACKAGED_SMOLLM2,
        load_causal_lm,
        packaged_gguf,
        resolve_causal_lm,
        weights_sha256,
    )

    if name_or_path is None or str(name_or_path) == PACKAGED_SMOLLM2:
        return packaged_gguf()
    if str(name_or_path).endswith(".gguf"):
        path = Path(name_or_path)
        if not path.is_file():
            raise PatentlabError("no such GGUF file", path=path)
        return path
    source = resolve_causal_lm(name_or_path)
    key = weights_sha256(source) or hashlib.sha256(source.encode()).hexdigest()
    target = cache_dir("gguf") / f"{key[:24]}-{dtype}.gguf"
    if not target.is_file():
        model, tokenizer = load_causal_lm(source, device="cpu")
        export_gguf(model, tokenizer, target, dtype=dtype)
    return target

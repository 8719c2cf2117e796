"""The llama.cpp engine and the GGUF export of fine-tuned SmolLM2 models."""

from __future__ import annotations

import numpy as np
import pytest

from patentlab.errors import PatentlabError
from patentlab.generate.formats import TOP_DOWN, prompt
from patentlab.generate.sample import SamplingConfig, load_generator
from patentlab.llm.gguf_export import gguf_tensor_name, interleave_rotary_rows
from patentlab.llm.loading import weights_sha256

llama_cpp = pytest.importorskip("llama_cpp")


def _rope_halves(x: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """transformers' rotary embedding: dimension i pairs with i + d/2."""
    half = x.shape[-1] // 2
    cos, sin = np.cos(angles), np.sin(angles)
    a, b = x[..., :half], x[..., half:]
    return np.concatenate([a * cos - b * sin, b * cos + a * sin], axis=-1)


def _rope_pairs(x: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """llama.cpp's rotary embedding: dimension 2i pairs with 2i + 1."""
    cos, sin = np.cos(angles), np.sin(angles)
    a, b = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2], out[..., 1::2] = a * cos - b * sin, b * cos + a * sin
    return out


def test_interleaved_rows_give_the_same_rotary_embedding():
    rng = np.random.default_rng(0)
    n_heads, head_dim, hidden = 3, 8, 12
    weight = rng.normal(size=(n_heads * head_dim, hidden)).astype(np.float32)
    x = rng.normal(size=hidden).astype(np.float32)
    angles = 0.7 * 10000.0 ** (-np.arange(head_dim // 2) / (head_dim // 2))
    ours = interleave_rotary_rows(weight, n_heads)
    for head in range(n_heads):
        rows = slice(head * head_dim, (head + 1) * head_dim)
        hf = _rope_halves(weight[rows] @ x, angles)
        cpp = _rope_pairs(ours[rows] @ x, angles)
        # Same vector, in llama.cpp's order: the first half's dims land on the even positions.
        np.testing.assert_allclose(cpp[0::2], hf[: head_dim // 2], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(cpp[1::2], hf[head_dim // 2 :], rtol=1e-5, atol=1e-5)


def test_tensor_names():
    assert gguf_tensor_name("model.embed_tokens.weight") == "token_embd.weight"
    assert gguf_tensor_name("model.layers.7.self_attn.k_proj.weight") == "blk.7.attn_k.weight"
    assert gguf_tensor_name("model.layers.0.post_attention_layernorm.weight") == "blk.0.ffn_norm.weight"
    with pytest.raises(PatentlabError):
        gguf_tensor_name("transformer.h.0.attn.c_attn.weight")


@pytest.fixture(scope="module")
def base_generator():
    return load_generator(None, engine="llama-cpp", threads=1)


def test_the_packaged_gguf_samples_reproducibly(base_generator):
    config = SamplingConfig(max_new_tokens=16, seed=7).to_dict()
    first = base_generator.sample(TOP_DOWN, 2, **config)
    again = base_generator.sample(TOP_DOWN, 2, **config)
    assert [g.text for g in first] == [g.text for g in again]
    assert first[0].text != first[1].text  # each row has its own seed
    assert all(g.text.startswith(prompt(TOP_DOWN)) and 0 < g.new_tokens <= 16 for g in first)
    assert base_generator.last_stats.new_tokens == sum(g.new_tokens for g in again)
    other = base_generator.sample(TOP_DOWN, 1, **{**config, "seed": 8})
    assert other[0].text != first[0].text
    # The pipeline-style call is shared with the torch engine.
    out = base_generator("# Patent\n\n## Title\n", max_new_tokens=4, num_return_sequences=2)
    assert len(out) == 2 and all(o["generated_text"].startswith("# Patent") for o in out)


def test_unknown_engine_and_bad_settings_are_one_line_errors():
    with pytest.raises(PatentlabError, match="engine"):
        load_generator(None, engine="vllm")
    with pytest.raises(PatentlabError, match="top_p"):
        SamplingConfig(top_p=0)


def test_weights_hash_of_a_single_file(tmp_path):
    path = tmp_path / "m.gguf"
    path.write_bytes(b"GGUF" + bytes(100))
    assert len(weights_sha256(path)) == 64
    assert weights_sha256(tmp_path / "missing") is None


@pytest.mark.heavy
def test_a_fine_tune_exported_to_gguf_matches_transformers(tmp_path):
    """A LoRA fine-tune (random non-zero adapters) exported to F16 GGUF: same logits, same text."""
    import torch
    from peft import LoraConfig, get_peft_model

    from patentlab.llm.gguf_export import export_gguf
    from patentlab.llm.loading import load_causal_lm

    torch.manual_seed(0)
    model, tokenizer = load_causal_lm(None, device="cpu")
    lora = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "k_proj", "v_proj"]))
    for name, param in lora.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(param, std=0.02)  # B starts at zero: make the adapter matter
    merged = lora.merge_and_unload().eval()
    path = export_gguf(merged, tokenizer, tmp_path / "ft.gguf", dtype="f16")

    from llama_cpp import Llama

    text = prompt(TOP_DOWN, title="A heat pump with a vapour injection circuit")
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    llm = Llama(model_path=str(path), n_ctx=512, n_threads=1, logits_all=True, verbose=False)
    try:
        assert llm.tokenize(text.encode(), add_bos=False, special=True) == ids
        llm.eval(ids)
        cpp_logits = np.array(llm.scores[: len(ids)])
        with torch.inference_mode():
            hf_logits = merged(torch.tensor([ids])).logits[0].float().numpy()
            greedy = merged.generate(torch.tensor([ids]), do_sample=False, max_new_tokens=24,
                                     pad_token_id=tokenizer.eos_token_id)  # fmt: skip
        assert np.abs(cpp_logits - hf_logits).max() < 0.2
        assert (cpp_logits.argmax(-1) == hf_logits.argmax(-1)).all()
        llm.reset()
        cpp_text = llm.create_completion(text, max_tokens=24, temperature=0.0)["choices"][0]["text"]
        assert cpp_text == tokenizer.decode(greedy[0][len(ids) :], skip_special_tokens=True)
    finally:
        llm.close()


@pytest.mark.parametrize(
    "text",
    [
        prompt(TOP_DOWN),
        "# Patent\n\n## Title\nPhotovoltaic energy",  # a topic-seeded title
        "# Patent\n\n## Claims\n",
        "# Patent\n\n## Claims\n1. A solar panel cleaning robot",  # a topic-seeded claim 1
        "# Patent\n\n## Claims\n1. A pump comprising a rotor.\n\n## Abstract\n",
    ],
)
def test_skeleton_gbnf_parses_in_llama_cpp(text):
    from patentlab.generate.skeleton import skeleton_for_prompt
    from patentlab.llm.structure import llama_grammar

    skeleton = skeleton_for_prompt(text, 256)
    assert llama_grammar(skeleton.gbnf(text, 256)) is not None
    with pytest.raises(PatentlabError, match="does not parse"):
        llama_grammar("root ::= undefined-rule\n")

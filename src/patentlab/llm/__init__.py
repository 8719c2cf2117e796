"""Causal language models for every step that writes text (generate, agents, vet).

- :mod:`patentlab.llm.loading`: load a causal LM and its tokenizer (the packaged SmolLM2, a hub id,
  a local folder or a LoRA adapter), and hash its weights for provenance.
- :mod:`patentlab.llm.gguf`: GGUF files for llama.cpp (the packaged SmolLM2 and Qwen, a local
  file or a hub file).
- :mod:`patentlab.llm.gguf_export`: a fine-tuned model written as a GGUF file once, for llama.cpp.
- :mod:`patentlab.llm.structure`: structure-constrained decoding (patent skeletons, JSON schemas)
  for the torch and llama.cpp engines.
"""

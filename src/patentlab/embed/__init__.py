"""Encoders behind one interface: the packaged MiniLM and MPNet, or any hub id / local path.

``Encoder("minilm").encode(texts)`` gives the card's mean-pooled embeddings, with length-sorted
batches, optional bf16 on CPU, optional chunk-and-pool for long claims, and an on-disk cache.
Names are imported lazily so that ``import patentlab.embed`` does not import torch.
"""

from __future__ import annotations

from patentlab._lazy import lazy_exports

_EXPORTS = {
    "Encoder": "patentlab.embed.encoder",
    "mean_pool": "patentlab.embed.encoder",
    "EmbeddingCache": "patentlab.embed.cache",
    "EncoderSettings": "patentlab.embed.settings",
    "resolve_encoder": "patentlab.embed.models",
    "ALIASES": "patentlab.embed.models",
    "PATENTSBERTA": "patentlab.embed.models",
}
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

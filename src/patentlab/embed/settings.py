"""The one description of a frozen encoder that the steps pass around and save (``EncoderSettings``).

The classify stage's selection protocol, the retrieval index and the demo's corpus index all
embed text with :class:`~patentlab.embed.encoder.Encoder`; they name the encoder with this one
dataclass, so the index can reuse the classify stage's cached vectors by passing its settings on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class EncoderSettings:
    """Which encoder embeds the text, and how.

    128 tokens cover a title and the preamble and first elements of claim 1, the length
    all-MiniLM-L6-v2 was trained on; bf16 runs faster on CPU at a cosine of ≥ 0.998 to fp32
    (``docs/search.md``). ``batch_size`` changes the speed, not the vectors.

    Args:
        model: ``minilm``, ``mpnet``, a hub id or a local encoder folder.
        max_length: tokens per text.
        dtype: ``fp32`` or ``bf16``.
        batch_size: texts per forward pass.
    """

    model: str = "minilm"
    max_length: int = 128
    dtype: str = "bf16"
    batch_size: int = 32

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready values (what manifests and model cards store)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, saved: Mapping[str, Any]) -> EncoderSettings:
        """Settings read back from JSON; keys this version does not know are ignored and
        missing ones take the defaults (an index manifest written before ``batch_size``)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in saved.items() if k in names})

    def encoder(self, **overrides: Any):
        """An :class:`~patentlab.embed.encoder.Encoder` with these settings (loads the model)."""
        from patentlab.embed.encoder import Encoder

        options = {"max_length": self.max_length, "dtype": self.dtype, "batch_size": self.batch_size}
        return Encoder(self.model, **{**options, **overrides})

"""One encoder interface for every model: mean pooling, length-sorted batches, bf16, a cache.

The pooling is the card's usage snippet, token for token: the mean of ``last_hidden_state`` over
the attention mask, with no normalisation, so a classifier head trained on these vectors works on
the vectors the card's code computes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from patentlab import console
from patentlab.embed.cache import EmbeddingCache, text_hash
from patentlab.embed.models import ResolvedModel, resolve_encoder
from patentlab.errors import PatentlabError

if TYPE_CHECKING:
    import torch

DTYPES = ("fp32", "bf16")
DEFAULT_MAX_LENGTH = 384


def default_device() -> str:
    """``cuda`` when torch sees a GPU, otherwise ``cpu``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, as float32 (a zero row stays zero): dot products are cosines."""
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def mean_pool(last_hidden_state: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The card's pooling: mean of the token vectors under the attention mask."""
    mask = attention_mask.unsqueeze(-1).expand(last_hidden_state.size()).float()
    return (last_hidden_state.float() * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


def load_transformer(resolved: ResolvedModel, device: str = "cpu") -> tuple[Any, Any]:
    """Load the tokenizer and the bare ``AutoModel`` of a resolved model."""
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # our own progress bars are enough
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(resolved.transformer_path))
        model = AutoModel.from_pretrained(str(resolved.transformer_path))
    except (OSError, ValueError) as exc:
        raise PatentlabError(f"cannot load the model: {exc}", path=resolved.transformer_path) from exc
    return tokenizer, model.to(device)


def _weights_fingerprint(path: Path) -> list:
    """Size and mtime of the weight files, so a retrained model at the same path misses the cache."""
    files = sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin"))
    return [[f.name, f.stat().st_size, f.stat().st_mtime_ns] for f in files]


class Encoder:
    """Turn texts into mean-pooled embeddings with any transformers / sentence-transformers model.

    Args:
        model: ``minilm``, ``mpnet``, a hub id (``AI-Growth-Lab/PatentSBERTa``) or a local folder.
        max_length: tokens per text (the card's 384); longer texts are truncated unless ``chunk``.
        dtype: ``fp32`` or ``bf16`` (bf16 roughly doubles CPU speed at cosine ≥ 0.998 to fp32).
        device: ``cpu``, ``cuda``…; the GPU when torch sees one by default.
        batch_size: texts per forward pass.
        chunk: encode a text longer than ``max_length`` as consecutive windows and pool over all
            of its tokens, instead of truncating it.
        cache: keep vectors in the on-disk embedding cache (``$PATENTLAB_CACHE/embeddings``).

    Example:
        >>> enc = Encoder("minilm")
        >>> enc.encode(["A solar cell comprising…"]).shape
        (1, 384)
    """

    def __init__(
        self,
        model: str = "minilm",
        *,
        max_length: int = DEFAULT_MAX_LENGTH,
        dtype: str = "fp32",
        device: str | None = None,
        batch_size: int = 32,
        chunk: bool = False,
        cache: bool | str | Path = True,
    ) -> None:
        import torch

        if dtype not in DTYPES:
            raise PatentlabError(f"dtype must be one of {', '.join(DTYPES)}, not '{dtype}'")
        if max_length < 8:
            raise PatentlabError(f"max_length must be at least 8, not {max_length}")
        self.resolved = resolve_encoder(model)
        self.device = device or default_device()
        self.tokenizer, self.model = load_transformer(self.resolved, self.device)
        self.model.eval()
        if dtype == "bf16":
            self.model.to(torch.bfloat16)
        self.max_length = min(max_length, self._position_limit())
        self.dtype = dtype
        self.batch_size = batch_size
        self.chunk = chunk
        self._cache_option = cache
        self._cache: EmbeddingCache | None = None

    @classmethod
    def from_modules(
        cls,
        tokenizer: Any,
        model: Any,
        *,
        max_length: int = DEFAULT_MAX_LENGTH,
        batch_size: int = 32,
        chunk: bool = False,
    ) -> Encoder:
        """Wrap an already loaded tokenizer and ``AutoModel`` (e.g. one being fine-tuned); no cache."""
        import torch

        self = cls.__new__(cls)
        self.resolved = None
        self.device = str(next(model.parameters()).device)
        self.tokenizer, self.model = tokenizer, model
        self.max_length = min(max_length, self._position_limit())
        self.dtype = "bf16" if next(model.parameters()).dtype == torch.bfloat16 else "fp32"
        self.batch_size, self.chunk = batch_size, chunk
        self._cache_option, self._cache = False, None
        return self

    @property
    def model_id(self) -> str:
        return self.resolved.model_id if self.resolved else str(self.model.config.name_or_path)

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def _position_limit(self) -> int:
        # RoBERTa/MPNet reserve two position ids for padding, so 514 positions hold 512 tokens.
        limit = getattr(self.model.config, "max_position_embeddings", 512)
        return min(limit, 512) if limit >= 512 else limit

    def settings(self) -> dict:
        """Everything that changes the vectors; the key of the embedding cache."""
        return {
            "model_id": self.model_id,
            "weights": _weights_fingerprint(self.resolved.transformer_path),
            "max_length": self.max_length,
            "dtype": self.dtype,
            "chunk": self.chunk,
            "pooling": "mean",
        }

    @property
    def cache(self) -> EmbeddingCache | None:
        if self._cache is None and self._cache_option is not False:
            root = None if self._cache_option is True else self._cache_option
            self._cache = EmbeddingCache(self.settings(), root=root)
        return self._cache

    # -- tokenising -----------------------------------------------------------------------------

    def _pieces(self, texts: Sequence[str]) -> tuple[list[list[int]], list[int]]:
        """Token-id sequences to run (one per text, or several windows per text) and their owners."""
        if not self.chunk:
            enc = self.tokenizer(list(texts), truncation=True, max_length=self.max_length)
            return enc["input_ids"], list(range(len(texts)))
        # The fast tokenizer cuts each text into consecutive max_length windows, each with its own
        # special tokens, and says which text every window came from.
        enc = self.tokenizer(
            list(texts), truncation=True, max_length=self.max_length, return_overflowing_tokens=True, stride=0
        )
        pieces, owners = enc["input_ids"], list(enc["overflow_to_sample_mapping"])
        return pieces, owners

    # -- encoding -------------------------------------------------------------------------------

    def _forward(self, batch: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        import torch

        padded = self.tokenizer.pad({"input_ids": batch}, return_tensors="pt")
        padded = {k: v.to(self.device) for k, v in padded.items()}
        with torch.inference_mode():
            hidden = self.model(**padded).last_hidden_state
            pooled = mean_pool(hidden, padded["attention_mask"])
        return pooled.cpu().numpy(), padded["attention_mask"].sum(1).cpu().numpy()

    def _encode_uncached(
        self, texts: Sequence[str], on_batch: Callable[[float], None] | None = None
    ) -> np.ndarray:
        pieces, owners = self._pieces(texts)
        # Longest first: batches hold texts of similar length, so little compute goes on padding,
        # and an out-of-memory error (if any) shows up on the first batch, not the last.
        order = sorted(range(len(pieces)), key=lambda i: -len(pieces[i]))
        windows = np.bincount(owners, minlength=len(texts))
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        weights = np.zeros(len(texts), dtype=np.float64)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            pooled, n_tokens = self._forward([pieces[i] for i in idx])
            for row, i in enumerate(idx):
                # A window's mean weighted by its token count: the mean over all the text's tokens.
                w = float(n_tokens[row]) if self.chunk else 1.0
                sums[owners[i]] += w * pooled[row]
                weights[owners[i]] += w
            if on_batch:  # progress in texts: a window of a k-window text counts 1/k
                on_batch(sum(1.0 / windows[owners[i]] for i in idx))
        return (sums / weights[:, None]).astype(np.float32)

    def encode(
        self,
        texts: Sequence[str],
        *,
        show_progress: bool = True,
        description: str = "encode",
        flush_every: int = 1024,
    ) -> np.ndarray:
        """Embed ``texts`` as a ``(len(texts), dim)`` float32 array, reusing cached vectors.

        Uncached texts are encoded in slices of ``flush_every`` and written to the cache as they
        finish, so an interrupted run resumes where it stopped.
        """
        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise PatentlabError(f"text must be a string, not {type(text).__name__}", row=i)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        cache = self.cache
        keys = [text_hash(t) for t in texts]
        todo: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            hit = cache.get(key) if cache is not None else None
            if hit is not None:
                out[i] = hit
            else:
                todo.setdefault(key, []).append(i)
        if not todo:
            return out
        unique = list(todo)
        bar = console.progress(transient=True)
        task = bar.add_task(f"{description} ({Path(self.model_id).name})", total=len(unique))
        with bar if show_progress else contextlib.nullcontext():
            for start in range(0, len(unique), flush_every):
                part = unique[start : start + flush_every]
                vectors = self._encode_uncached(
                    [texts[todo[k][0]] for k in part], on_batch=lambda n: bar.advance(task, n)
                )
                if cache is not None:
                    cache.put(part, vectors)
                for key, vec in zip(part, vectors, strict=True):
                    out[todo[key]] = vec
        return out

"""The fine-tuned classifier: an encoder + ``Linear(dim, 2)`` on the mean-pooled embedding.

Saved in the card's format, so the card's usage snippet loads it unchanged::

    model_dir/
      config.json, model.safetensors, tokenizer files   # AutoModel / AutoTokenizer
      classifier_head.pt                                 # state dict of nn.Linear(dim, 2)
      y02_head.pt                                        # optional: nn.Linear(dim, 8), Y02A…Y02W
      patentlab_classifier.json                          # base model, max length, labels
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from patentlab.classify.family import Prediction
from patentlab.corpus.schema import Y02_CATEGORIES
from patentlab.embed.encoder import DEFAULT_MAX_LENGTH, Encoder, load_transformer, mean_pool
from patentlab.embed.models import resolve_encoder
from patentlab.errors import PatentlabError
from patentlab.storage import atomic_dir, write_json

HEAD_FILE = "classifier_head.pt"
Y02_HEAD_FILE = "y02_head.pt"
CONFIG_FILE = "patentlab_classifier.json"
LABELS = ("Non-Green", "Green")


class GreenClassifier(torch.nn.Module):
    """Encoder + linear head(s) on the card's mean pooling.

    Build one from a base encoder with :meth:`from_base`, or load a trained one with
    :meth:`from_pretrained`. ``predict_proba`` returns ``(n, 2)`` probabilities like scikit-learn.
    """

    def __init__(
        self,
        encoder: Any,
        tokenizer: Any,
        *,
        base_model: str,
        max_length: int = DEFAULT_MAX_LENGTH,
        y02_head: bool = False,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.base_model = base_model
        self.max_length = max_length
        dim = int(encoder.config.hidden_size)
        self.head = torch.nn.Linear(dim, 2)
        self.y02_head = torch.nn.Linear(dim, len(Y02_CATEGORIES)) if y02_head else None
        #: What it was trained on (:func:`patentlab.classify.data.text_summary`); None if unknown.
        self.text: dict | None = None
        #: Texts per forward pass when a call gives none (a run-time choice, not saved).
        self.batch_size = 32

    @classmethod
    def from_base(
        cls,
        model: str = "minilm",
        *,
        max_length: int = DEFAULT_MAX_LENGTH,
        y02_head: bool = False,
        device: str = "cpu",
        seed: int = 42,
    ) -> GreenClassifier:
        """A fresh classifier on a base encoder (``minilm``, ``mpnet``, hub id or path)."""
        resolved = resolve_encoder(model)
        tokenizer, encoder = load_transformer(resolved, device)
        torch.manual_seed(seed)  # the heads' initial weights
        clf = cls(encoder, tokenizer, base_model=resolved.model_id, max_length=max_length, y02_head=y02_head)
        return clf.to(device)

    @property
    def dim(self) -> int:
        return self.head.in_features

    @property
    def device(self) -> torch.device:
        return self.head.weight.device

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits of the binary head and, when present, of the Y02 head."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        pooled = mean_pool(hidden, attention_mask)
        y02 = self.y02_head(pooled) if self.y02_head is not None else None
        return self.head(pooled), y02

    # -- inference ------------------------------------------------------------------------------

    def embed(
        self,
        texts: Sequence[str],
        *,
        batch_size: int | None = None,
        chunk: bool = False,
        show_progress: bool = False,
    ) -> np.ndarray:
        """Mean-pooled embeddings of ``texts`` with the (fine-tuned) encoder, length-sorted batches."""
        was_training = self.training
        self.eval()
        try:
            enc = Encoder.from_modules(
                self.tokenizer,
                self.encoder,
                max_length=self.max_length,
                batch_size=batch_size or self.batch_size,
                chunk=chunk,
            )
            return enc.encode(texts, show_progress=show_progress, description="classify")
        finally:
            self.train(was_training)

    @torch.no_grad()
    def proba_from_embeddings(self, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``(n, 2)`` class probabilities and, with a Y02 head, ``(n, 8)`` Y02 probabilities."""
        x = torch.as_tensor(embeddings, dtype=self.head.weight.dtype, device=self.device)
        probs = torch.softmax(self.head(x), dim=1).float().cpu().numpy()
        y02 = torch.sigmoid(self.y02_head(x)).float().cpu().numpy() if self.y02_head is not None else None
        return probs, y02

    def predict_with_embeddings(self, texts: Sequence[str], *, show_progress: bool = False) -> Prediction:
        """The probabilities, the embeddings they came from and, with a Y02 head, the categories."""
        embeddings = self.embed(texts, show_progress=show_progress)
        proba, y02 = self.proba_from_embeddings(embeddings)
        return Prediction(proba, embeddings, y02)

    def prepare_encoder(self, *, batch_size: int | None = None, cache: bool | None = None) -> None:
        """Set the batch size; the encoder is already loaded and its vectors are never cached
        (the weights are the model's own)."""
        if batch_size is not None:
            self.batch_size = batch_size

    def predict_proba(
        self,
        texts: Sequence[str],
        *,
        batch_size: int | None = None,
        chunk: bool = False,
        show_progress: bool = False,
    ) -> np.ndarray:
        """``(n, 2)`` probabilities of Non-Green and Green, as the card's snippet computes them."""
        return self.proba_from_embeddings(
            self.embed(texts, batch_size=batch_size, chunk=chunk, show_progress=show_progress)
        )[0]

    def predict(self, texts: Sequence[str], **kwargs: Any) -> np.ndarray:
        """0/1 labels (the argmax, as in the card)."""
        return self.predict_proba(texts, **kwargs).argmax(axis=1)

    # -- saving ---------------------------------------------------------------------------------

    def config_dict(self) -> dict:
        return {
            "format": "patentlab-green-classifier/1",
            "base_model": self.base_model,
            "max_length": self.max_length,
            "dim": self.dim,
            "pooling": "mean",
            "labels": list(LABELS),
            "y02_categories": list(Y02_CATEGORIES) if self.y02_head is not None else None,
            "text": self.text,
        }

    def save_pretrained(self, path: str | Path, extra: dict | None = None) -> Path:
        """Write the card's format (encoder dir + ``classifier_head.pt`` + config JSON), atomically."""
        with atomic_dir(path) as staging:
            self.encoder.save_pretrained(staging)
            self.tokenizer.save_pretrained(staging)
            torch.save({k: v.detach().cpu() for k, v in self.head.state_dict().items()}, staging / HEAD_FILE)
            if self.y02_head is not None:
                torch.save(
                    {k: v.detach().cpu() for k, v in self.y02_head.state_dict().items()},
                    staging / Y02_HEAD_FILE,
                )
            write_json(staging / CONFIG_FILE, {**self.config_dict(), **(extra or {})})
        return Path(path)

    @classmethod
    def from_pretrained(cls, path: str | Path, *, device: str | None = None) -> GreenClassifier:
        """Load a model saved by :meth:`save_pretrained` (or any encoder dir + ``classifier_head.pt``)."""
        import json

        from patentlab.embed.encoder import default_device

        path = Path(path)
        if not (path / HEAD_FILE).exists():
            raise PatentlabError(f"not a classifier folder (no {HEAD_FILE})", path=path)
        device = device or default_device()
        config = json.loads((path / CONFIG_FILE).read_text()) if (path / CONFIG_FILE).exists() else {}
        tokenizer, encoder = load_transformer(resolve_encoder(str(path)), device)
        clf = cls(
            encoder,
            tokenizer,
            base_model=config.get("base_model", str(path)),
            max_length=int(config.get("max_length", DEFAULT_MAX_LENGTH)),
            y02_head=(path / Y02_HEAD_FILE).exists(),
        )
        clf.text = config.get("text")
        clf.head.load_state_dict(torch.load(path / HEAD_FILE, map_location="cpu"))
        if clf.y02_head is not None:
            clf.y02_head.load_state_dict(torch.load(path / Y02_HEAD_FILE, map_location="cpu"))
        return clf.to(device).eval()

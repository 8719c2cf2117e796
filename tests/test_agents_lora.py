"""The advocate's training loss on the packaged SmolLM2: reply tokens only, micro-batches exact."""

from __future__ import annotations

import pytest
import torch

from patentlab.agents import lora
from patentlab.data import sample_path


@pytest.fixture(scope="module")
def model_and_rows():
    config = lora.AdvocateTrainingConfig(examples=4, batch_size=4)
    examples = lora.advocate_examples(sample_path("y02_claims_1100.csv"), 4, seed=42)
    model, tokenizer, _ = lora._load_base(config)
    rows = [lora._encode(tokenizer, e, max_length=448) for e in examples]
    return model, rows, tokenizer.pad_token_id


def test_reply_loss_equals_the_models_own_loss(model_and_rows):
    """Logits only where a reply token is predicted, yet the same mean loss transformers computes."""
    model, rows, pad = model_and_rows
    batch = lora._collate(rows, pad, "cpu")
    model.eval()
    with torch.no_grad():
        reference = float(model(**batch).loss)
        total, count = lora._reply_loss(model, batch)
    assert count == int((batch["labels"][:, 1:] != -100).sum()) > 0
    assert float(total) / count == pytest.approx(reference, rel=1e-5)
    assert lora._mean_loss(model, rows, pad, "cpu", micro_batch_size=1) == pytest.approx(reference, rel=1e-5)


def test_micro_batches_give_the_full_batch_gradient(model_and_rows):
    model, rows, pad = model_and_rows
    n_targets = sum(sum(label != -100 for label in labels[1:]) for _, labels in rows)
    weight = model.model.layers[3].mlp.up_proj.weight

    def gradient(micro: int) -> torch.Tensor:
        model.zero_grad()
        for chunk in lora._micro_batches(rows, micro):
            total, _ = lora._reply_loss(model, lora._collate(chunk, pad, "cpu"))
            (total / n_targets).backward()
        return weight.grad.clone()

    full, single = gradient(4), gradient(1)
    assert full.abs().max() > 0
    torch.testing.assert_close(single, full, rtol=1e-4, atol=1e-7)

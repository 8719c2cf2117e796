"""Slower generator checks: full fine-tuning, and the CLI from data to perplexity (``make test-heavy``)."""

from __future__ import annotations

import json

import pytest

from patentlab.cli import main
from patentlab.data import sample_path
from patentlab.generate.data import build_data
from patentlab.generate.sample import PatentGenerator
from patentlab.generate.train import TrainConfig, train

pytestmark = pytest.mark.heavy
FULL_RECORDS = str(sample_path("full_records_334.jsonl"))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen") / "data"
    build_data([FULL_RECORDS], out, seed=1, max_chars=1200)
    return out


def test_full_fine_tuning_lowers_heldout_loss_and_saves_a_plain_model(data_dir, tmp_path):
    config = TrainConfig(method="full", max_steps=3, batch_size=2, max_length=64, max_eval_docs=8,
                         learning_rate=1e-4, warmup_steps=0, save_every=0, device="cpu")  # fmt: skip
    result = train(data_dir, tmp_path, config, progress=False)
    assert result.heldout_loss_after < result.heldout_loss_before
    assert result.model["trainable"] == result.model["parameters"]
    assert (tmp_path / "model" / "model.safetensors").exists()
    assert not (tmp_path / "model" / "adapter_config.json").exists()
    generator = PatentGenerator.from_pretrained(tmp_path / "model", device="cpu")
    assert generator.sample("bottom-up", 1, max_new_tokens=4)[0].text.startswith("# Patent\n\n## Claims\n")


def test_cli_train_with_accumulation_then_perplexity(data_dir, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["generate", "train", str(data_dir), "--out", str(run), "--max-steps", "3", "--batch-size", "2",
            "--grad-accum", "2", "--max-length", "64", "--lr", "1e-3", "--device", "cpu"]  # fmt: skip
    assert main(args) == 0
    report = json.loads((run / "training_report.json").read_text(encoding="utf-8"))
    assert report["steps"] == 3 and report["config"]["grad_accum"] == 2
    assert report["tokens_seen"] > 3 * 2 * 2 * 10
    capsys.readouterr()
    common = ["--max-docs", "8", "--max-length", "64", "--device", "cpu"]
    assert main(["generate", "perplexity", str(data_dir), "--model", str(run / "model"), *common]) == 0
    assert main(["generate", "perplexity", str(data_dir), *common]) == 0
    tuned, base = (json.loads(line) for line in capsys.readouterr().out.strip().splitlines()[-2:])
    assert tuned["docs"] == base["docs"] == 8
    assert tuned["perplexity"] < base["perplexity"]
    # Resuming with different settings is refused in one line, not a traceback.
    assert main([*args[:-2], "--batch-size", "4"]) == 2

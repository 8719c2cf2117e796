"""Training presets and the learning curve: perplexity and a saved model at each point, then hit rate."""

from __future__ import annotations

import json

import pytest

from patentlab.cli import main
from patentlab.data import sample_path
from patentlab.errors import PatentlabError
from patentlab.generate.train import PRESETS, TrainConfig
from patentlab.vet.curve import CURVE_JSON, CURVE_MD, run_points


def test_presets():
    demo = TrainConfig.preset("demo")
    assert (demo.method, demo.max_steps, demo.batch_size, demo.max_length) == ("lora", 16, 4, 256)
    assert demo.eval_every == 8 and demo.max_eval_docs == 16
    full = TrainConfig.preset("full")
    assert full.max_steps > demo.max_steps and full.max_length > demo.max_length
    assert full.max_eval_docs is None and full.eval_every > 0  # every held-out document
    assert TrainConfig.preset("demo", max_steps=3).max_steps == 3
    assert set(PRESETS) == {"demo", "full"}
    with pytest.raises(PatentlabError, match="unknown preset 'huge'"):
        TrainConfig.preset("huge")


def test_cli_bad_preset_and_run_without_curve_are_one_line_errors(tmp_path, capsys):
    assert main(["generate", "train", str(tmp_path), "--out", str(tmp_path / "run"), "--preset", "huge"]) == 2
    assert main(["vet", "curve", str(tmp_path)]) == 2
    (tmp_path / "training_report.json").write_text(json.dumps({"learning_curve": []}))
    with pytest.raises(PatentlabError, match="no learning curve"):
        run_points(tmp_path)
    err = capsys.readouterr().err
    assert "unknown preset" in err and "training_report.json" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


@pytest.mark.heavy
def test_curve_points_are_saved_and_vetted(tmp_path):
    """A 2-step LoRA run of the packaged SmolLM2 with a point every step, then `vet curve` on it."""
    from patentlab.generate.data import build_data
    from patentlab.generate.train import train
    from patentlab.llm.loading import load_causal_lm

    data = tmp_path / "data"
    build_data([str(sample_path("full_records_334.jsonl"))], data, max_chars=500)
    config = TrainConfig.preset("demo", max_steps=2, eval_every=1, save_every=0, max_length=48,
                                max_eval_docs=4, batch_size=2)  # fmt: skip
    result = train(data, tmp_path / "run", config, progress=False)
    curve = result.learning_curve
    assert [p["step"] for p in curve] == [0, 1, 2]
    assert [p["model"] for p in curve] == ["smollm2-135m", "points/step-000001", "model"]
    assert curve[0]["heldout_loss"] == pytest.approx(result.heldout_loss_before, abs=1e-4)
    assert curve[-1]["heldout_loss"] == pytest.approx(result.heldout_loss_after, abs=1e-4)
    report = json.loads((tmp_path / "run" / "training_report.json").read_text())
    assert report["learning_curve"] == curve
    load_causal_lm(tmp_path / "run" / "points" / "step-000001")  # a saved point loads

    out = tmp_path / "curve"
    args = ["--n", "1", "--mode", "top-down", "--step", "0", "--step", "2", "--max-new-tokens", "12"]
    assert main(["vet", "curve", str(tmp_path / "run"), "--out", str(out), *args, "--encoder", "none"]) == 0
    table = json.loads((out / CURVE_JSON).read_text())["points"]
    assert [(p["step"], p["mode"], p["n_generated"]) for p in table] == [
        (0, "top-down", 1),
        (2, "top-down", 1),
    ]
    assert table[0]["perplexity"] == curve[0]["perplexity"]
    assert all(0 <= p["hit_rate"] <= 1 for p in table)
    assert "| step | perplexity |" in (out / CURVE_MD).read_text()

"""Fine-tuning and sampling with the real packaged SmolLM2-135M, kept tiny so it runs on a CPU."""

from __future__ import annotations

import json

import pytest

from patentlab.cli import main
from patentlab.data import sample_path
from patentlab.generate.data import build_data
from patentlab.generate.formats import BOTTOM_UP, TOP_DOWN, prompt
from patentlab.generate.sample import PatentGenerator
from patentlab.generate.train import REPORT_FILE, TrainConfig, train
from patentlab.llm.loading import load_causal_lm

FULL_RECORDS = str(sample_path("full_records_334.jsonl"))


@pytest.fixture(scope="module", autouse=True)
def _threads():
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def generator() -> PatentGenerator:
    model, tokenizer = load_causal_lm(device="cpu")
    return PatentGenerator(model, tokenizer)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen") / "data"
    build_data([FULL_RECORDS], out, seed=0, max_chars=1200)
    return out


def _tiny(**overrides) -> TrainConfig:
    settings = dict(max_steps=4, batch_size=2, max_length=64, max_eval_docs=8, learning_rate=1e-3,
                    warmup_steps=0, lora_dropout=0.0, save_every=2, device="cpu")  # fmt: skip
    return TrainConfig(**{**settings, **overrides})


@pytest.fixture(scope="module")
def trained(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    return out, train(data_dir, out, _tiny(), progress=False)


def test_a_few_training_steps_lower_the_heldout_loss(trained):
    out, result = trained
    assert result.steps == 4 and len(result.train_loss) == 4
    assert result.heldout_loss_after < result.heldout_loss_before - 0.1
    assert result.perplexity_after < result.perplexity_before
    report = json.loads((out / REPORT_FILE).read_text(encoding="utf-8"))
    assert report["perplexity_before"] == pytest.approx(result.perplexity_before)
    assert (out / "loss.png").stat().st_size > 1000
    assert report["model"]["trainable"] < report["model"]["parameters"] / 10  # LoRA


def test_resume_continues_where_the_checkpoint_stopped(trained, data_dir, tmp_path):
    _, straight = trained

    class Interrupted(Exception):
        pass

    def stop_at_step_3(step: int, loss: float) -> None:
        if step == 3:
            raise Interrupted

    with pytest.raises(Interrupted):  # killed after step 3, whose checkpoint (every 2 steps) is lost
        train(data_dir, tmp_path, _tiny(), progress=False, on_step=stop_at_step_3)
    resumed = train(data_dir, tmp_path, _tiny(), progress=False)
    assert resumed.resumed_from == 2 and resumed.steps == 4
    assert [s for s, _ in resumed.train_loss] == [1, 2, 3, 4]
    # The same batches, weights and optimizer state as an uninterrupted run.
    assert [b for _, b in resumed.train_loss] == pytest.approx([b for _, b in straight.train_loss], abs=1e-3)
    assert resumed.heldout_loss_before == pytest.approx(straight.heldout_loss_before, abs=1e-4)


def test_the_trained_adapter_loads_and_samples(trained):
    out, _ = trained
    generator = PatentGenerator.from_pretrained(out / "model", device="cpu")
    [generation] = generator.sample(TOP_DOWN, 1, max_new_tokens=8, seed=0)
    assert generation.text.startswith(prompt(TOP_DOWN))


def test_same_seed_same_patents(generator):
    kwargs = dict(max_new_tokens=12, temperature=0.9, top_p=0.95, top_k=50, batch_size=2)
    first = generator.sample(TOP_DOWN, 3, seed=7, **kwargs)
    again = generator.sample(TOP_DOWN, 3, seed=7, **kwargs)
    other = generator.sample(TOP_DOWN, 3, seed=8, **kwargs)
    assert [g.text for g in first] == [g.text for g in again]
    assert [g.text for g in first] != [g.text for g in other]
    assert len({g.text for g in first}) > 1  # rows of one request differ from each other
    assert generator.last_stats.new_tokens > 0 and generator.last_stats.tokens_per_second > 0


def test_batched_decoding_matches_one_prompt_at_a_time_and_model_generate(generator):
    prompts = [prompt(TOP_DOWN), prompt(BOTTOM_UP, claims=["1. A roof tile comprising a solar cell."])]
    for structure in ("skeleton", "free"):
        kwargs = dict(do_sample=False, max_new_tokens=10, structure=structure)
        batched = generator.generate(prompts, batch_size=2, **kwargs)
        single = [generator.generate([p], **kwargs)[0] for p in prompts]
        assert [g.text for g in batched] == [g.text for g in single]
    # Free decoding is exactly transformers' own greedy decoding.
    tok, model = generator.tokenizer, generator.model
    enc = tok(prompts[1], return_tensors="pt", add_special_tokens=False)
    ids = model.generate(**enc, do_sample=False, max_new_tokens=10, pad_token_id=tok.eos_token_id)
    assert batched[1].text == prompts[1] + tok.decode(
        ids[0, enc["input_ids"].shape[1] :], skip_special_tokens=True
    )


def test_pipeline_style_call_and_conditional_prompts(generator):
    out = generator("# Patent\n\n## Title", temperature=0.5, num_return_sequences=2, max_new_tokens=6)
    assert len(out) == 2 and all(r["generated_text"].startswith("# Patent\n\n## Title") for r in out)
    claims = [
        "1. A solar roof tile comprising a glass cover.",
        "2. The tile of claim 1, wherein the cover is tempered.",
    ]
    [generation] = generator.sample(BOTTOM_UP, claims=[claims], max_new_tokens=4, seed=0)
    parsed = generation.parse()
    assert parsed.claims[:2] == [
        "A solar roof tile comprising a glass cover.",
        "The tile of claim 1, wherein the cover is tempered.",
    ]
    assert generation.new_tokens <= 4
    assert "abstract" in parsed.missing + parsed.truncated or parsed.abstract


def test_cli_sample_writes_parsed_generations(tmp_path, capsys):
    out = tmp_path / "gen.jsonl"
    args = ["generate", "sample", "--mode", "bottom-up", "--n", "2", "--max-new-tokens", "6",
            "--seed", "1", "--device", "cpu", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 2 and all(r["parsed"]["mode"] == "bottom-up" for r in rows)
    assert main(["generate", "parse", str(out)]) == 0
    assert main(["generate", "sample", "--temperature", "-1", "--n", "1"]) == 2
    assert "temperature" in capsys.readouterr().err


def test_dtype_choice_and_bad_values(capsys):
    from pathlib import Path

    import torch

    from patentlab.generate.sample import load_generator
    from patentlab.llm.loading import fast_dtype

    # bfloat16 only where the CPU computes it natively; float32 elsewhere.
    flags = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    native = "avx512_bf16" in flags or "amx_bf16" in flags
    assert fast_dtype("cpu") == (torch.bfloat16 if native else torch.float32)
    generator = load_generator(None, device="cpu", dtype="float32")
    assert next(generator.model.parameters()).dtype == torch.float32
    assert generator.device_name == "cpu"
    assert main(["generate", "sample", "--dtype", "float16", "--n", "1"]) == 2
    assert "dtype" in capsys.readouterr().err
    assert main(["generate", "sample", "--no-repeat-ngram-size", "-1", "--n", "1"]) == 2
    assert "no_repeat_ngram_size" in capsys.readouterr().err

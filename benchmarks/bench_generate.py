"""Generation speed and held-out perplexity of the patent generator (issue 6).

Speed: patentlab's two engines, torch (batched, KV cache, finished rows dropped) and llama.cpp
(the model exported to F16 GGUF), against plain ``model.generate`` called one prompt at a
time, same model, same prompts, same sampling settings, in the same run. Quality: held-out
perplexity of the base model and of a fine-tuned one on the held-out split of the bundled full
records.

    .venv/bin/python benchmarks/bench_generate.py --finetuned runs/demo/generate/run/model

Without ``--finetuned`` (or if that folder is missing) the script fine-tunes with the demo's
settings first, into a temporary folder.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import command_line, load_average, machine, now, update_section


def bench_llama_cpp(model_path: str, n: int, max_new_tokens: int, threads: int) -> dict | None:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return None
    from patentlab.generate.formats import TOP_DOWN, prompt
    from patentlab.generate.sample import load_generator

    generator = load_generator(model_path, engine="llama-cpp", threads=threads)  # exports once, cached
    settings = dict(temperature=0.8, top_p=0.95, top_k=50)
    generator.generate([prompt(TOP_DOWN)], max_new_tokens=4, **settings)  # warm-up
    load_before = load_average()
    generator.generate([prompt(TOP_DOWN)] * n, max_new_tokens=max_new_tokens, seed=0, **settings)
    stats = generator.last_stats
    return {"tokens": stats.new_tokens, "seconds": stats.seconds, "tps": stats.tokens_per_second,
            "load": (load_before + load_average()) / 2, "gguf": generator.gguf_path.name}  # fmt: skip


def bench_speed(model_path: str, n: int, max_new_tokens: int, batch_size: int, baseline_n: int) -> dict:
    import torch

    from patentlab.generate.formats import TOP_DOWN, prompt
    from patentlab.generate.sample import PatentGenerator

    generator = PatentGenerator.from_pretrained(model_path, device="cpu")
    model, tok = generator.model, generator.tokenizer
    prompts = [prompt(TOP_DOWN)] * n
    settings = dict(temperature=0.8, top_p=0.95, top_k=50)
    generator.generate(prompts[:2], max_new_tokens=4, **settings)  # warm-up

    load_before = load_average()
    generator.generate(prompts, max_new_tokens=max_new_tokens, batch_size=batch_size, seed=0, **settings)
    ours = generator.last_stats

    # Baseline: the seed's usage, one prompt per model.generate call.
    enc = tok(prompts[0], return_tensors="pt", add_special_tokens=False)
    tokens, start = 0, time.perf_counter()
    with torch.inference_mode():
        for i in range(baseline_n):
            torch.manual_seed(i)
            out = model.generate(**enc, do_sample=True, max_new_tokens=max_new_tokens,
                                 pad_token_id=tok.eos_token_id, **settings)  # fmt: skip
            tokens += int(out.shape[1] - enc["input_ids"].shape[1])
    seconds = time.perf_counter() - start
    return {
        "ours_tokens": ours.new_tokens, "ours_seconds": ours.seconds, "ours_tps": ours.tokens_per_second,
        "base_tokens": tokens, "base_seconds": seconds, "base_tps": tokens / seconds,
        "load": (load_before + load_average()) / 2,
    }  # fmt: skip


def bench_perplexity(data_dir: Path, base: str, finetuned: str | None, max_length: int) -> dict:
    from patentlab.generate.data import read_texts
    from patentlab.generate.train import heldout_loss
    from patentlab.llm.loading import load_causal_lm

    texts = read_texts(data_dir, "heldout")
    result = {"docs": len(texts)}
    for name, path in (("base", base), ("finetuned", finetuned)):
        if path is None:
            continue
        model, tok = load_causal_lm(path, device="cpu")
        result[name] = math.exp(heldout_loss(model, tok, texts, max_length=max_length))
        del model
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="smollm2-135m")
    parser.add_argument("--finetuned", default="runs/demo/generate/run/model")
    parser.add_argument(
        "--speed-model",
        default=None,
        help="Model for the speed rows (default: the fine-tuned one, else base).",
    )
    parser.add_argument("--n", type=int, default=16, help="Prompts for patentlab's torch sampler.")
    parser.add_argument("--llama-n", type=int, default=8, help="Prompts for the llama.cpp engine.")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for torch and llama.cpp.")
    parser.add_argument("--baseline-n", type=int, default=4, help="Prompts for one-at-a-time model.generate.")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--max-length", type=int, default=256, help="Tokens per held-out document.")
    parser.add_argument(
        "--no-train", action="store_true", help="Without a fine-tuned model, report the base only."
    )
    parser.add_argument("--no-write", action="store_true", help="Print only; leave BENCHMARKS.md alone.")
    args = parser.parse_args()

    import torch

    from patentlab.data import sample_path
    from patentlab.generate.data import build_data
    from patentlab.generate.train import TrainConfig, train
    from patentlab.pipeline.generate import DEMO_MAX_CHARS, DEMO_STEPS

    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="bench_generate_"))
    data_dir = tmp / "data"
    build_data([str(sample_path("full_records_334.jsonl"))], data_dir, max_chars=DEMO_MAX_CHARS)
    finetuned, trained_here = args.finetuned, None
    found = (Path(finetuned) / "adapter_config.json").exists() or (Path(finetuned) / "config.json").exists()
    if not found and args.no_train:
        finetuned = None
    elif not found:
        print(f"{finetuned} not found: fine-tuning with the demo's settings first", file=sys.stderr)
        config = TrainConfig(
            method="lora", max_steps=DEMO_STEPS, batch_size=4, max_length=256, max_eval_docs=32
        )
        trained_here = train(data_dir, tmp / "run", config)
        finetuned = trained_here.model_dir

    speed_model = args.speed_model or finetuned or args.base
    sequences = args.baseline_n + args.n / 4 + args.llama_n / 4  # ~15 tok/s alone, ~60 batched
    minutes = sequences * args.max_new_tokens / 15 / 60
    print(f"about {minutes:.0f} minutes on a quiet 2-core CPU, more on a busy one", file=sys.stderr)
    speed = bench_speed(speed_model, args.n, args.max_new_tokens, args.batch_size, args.baseline_n)
    fast = bench_llama_cpp(speed_model, args.llama_n, args.max_new_tokens, args.threads)
    ppl = bench_perplexity(data_dir, args.base, finetuned, args.max_length)
    ratio = speed["ours_tps"] / speed["base_tps"]
    if fast is None:
        llama = "llama-cpp-python is not installed here; no llama.cpp figure was measured."
        llama_row = ""
    else:
        llama = f"llama.cpp: **{fast['tps'] / speed['base_tps']:.1f}×** over the baseline."
        llama_row = (
            f"| patentlab `--engine llama-cpp` (`{fast['gguf']}`), one sequence at a time | {args.llama_n} "
            f"| {fast['tokens']} | {fast['seconds']:.1f} | {fast['tps']:.1f} |\n"
        )
    cmd = command_line()
    base_row = (
        f"| baseline: `model.generate`, one prompt at a time | {args.baseline_n} | {speed['base_tokens']} "
        f"| {speed['base_seconds']:.1f} | {speed['base_tps']:.1f} |"
    )
    ours_row = (
        f"| patentlab `PatentGenerator`, batch {args.batch_size}, KV cache | {args.n} "
        f"| {speed['ours_tokens']} "
        f"| {speed['ours_seconds']:.1f} | {speed['ours_tps']:.1f} |"
    )
    tuned = "LoRA, demo settings, trained in this run" if trained_here else f"`{args.finetuned}`"
    tuned_row = (
        f"| fine-tuned ({tuned}) | {ppl['finetuned']:.2f} |"
        if "finetuned" in ppl
        else "| fine-tuned | not measured in this run (`--no-train` and no fine-tuned model found) |"
    )
    fast_load = (fast or {}).get("load", float("nan"))
    md = f"""## Patent generator: sampling speed and held-out perplexity (issue 6)

{cmd} on {machine()}, {now()}, CPU (torch threads: {torch.get_num_threads()}).
Model for speed: `{speed_model}` (float32 in torch; F16 GGUF in llama.cpp). Sampling: temperature 0.8,
top-p 0.95, top-k 50, at most {args.max_new_tokens} new tokens, unconditional top-down prompt. Tokens
counted are those generated before the end-of-text token. Mean 1-minute load average during the
runs: {speed["load"]:.1f} (torch rows), {fast_load:.1f} (llama.cpp) on {os.cpu_count()} cores (this benchmark
alone loads them to about 2; above that, other jobs slowed every row); all rows ran back to back.

| sampler | sequences | new tokens | seconds | tokens/s |
|---|---:|---:|---:|---:|
{base_row}
{ours_row}
{llama_row}
Speed-up of the batched torch sampler: **{ratio:.1f}×**. {llama} (Target ≥ 3×: {
        "met" if max(ratio, (fast or {}).get("tps", 0) / speed["base_tps"]) >= 3 else "not met"
    }.)

Held-out perplexity on {ppl["docs"]} documents (both formats) of the held-out records of
`full_records_334.jsonl` (documents cut at {args.max_length} tokens):

| model | held-out perplexity |
|---|---:|
| base SmolLM2-135M-Instruct | {ppl["base"]:.2f} |
{tuned_row}
"""
    print(md)
    if not args.no_write:
        update_section("generate", md)


if __name__ == "__main__":
    main()

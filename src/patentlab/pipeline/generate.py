"""The generate stage of ``patentlab demo``: fine-tune briefly, then sample both ways, parsed.

Budget: about five minutes on a 2-core CPU. The run is the ``demo`` preset, a short LoRA
fine-tune of the packaged SmolLM2-135M on every bundled full record (the JSONL records and the
PatentsView grants); a finished run (or an interrupted one, through its checkpoint) is reused on
the next demo. Samples are structure-constrained (the patent skeleton), as everywhere by default.
"""

from __future__ import annotations

import json

from patentlab import console
from patentlab.pipeline.context import DemoContext

DATA = "data"
RUN = "run"
GENERATIONS = "generations.jsonl"
#: Short documents (trailing claims dropped to ~1,200 characters, cut at 256 tokens) keep a CPU
#: step at a few seconds while every document still shows all three sections.
DEMO_MAX_CHARS = 1200


def run(ctx: DemoContext) -> None:
    from patentlab.generate.cli import print_generations
    from patentlab.generate.data import (
        MANIFEST_FILE,
        build_data,
        bundled_full_record_sources,
        iter_full_records,
        read_texts,
    )
    from patentlab.generate.formats import BOTTOM_UP, TOP_DOWN
    from patentlab.generate.generations import read_generations, write_generations
    from patentlab.generate.sample import load_generator
    from patentlab.generate.train import MODEL_DIR, REPORT_FILE, TrainConfig, train

    stage = ctx.stage_dir("generate")
    data_dir, run_dir = stage / DATA, stage / RUN
    ctx.outputs["generate"] = stage

    if not ctx.done("generate", f"{DATA}/{MANIFEST_FILE}"):
        build_data(bundled_full_record_sources(), data_dir, max_chars=DEMO_MAX_CHARS)
    manifest = json.loads((data_dir / MANIFEST_FILE).read_text(encoding="utf-8"))["report"]
    console.out.print(
        f"training text: {manifest['train_docs']} documents from {manifest['train_records']} records "
        f"(top-down and bottom-up), {manifest['heldout_records']} records held out, "
        f"{manifest['duplicates']} duplicates dropped; licences in {data_dir / MANIFEST_FILE}"
    )

    if ctx.done("generate", f"{RUN}/{REPORT_FILE}", f"{RUN}/{MODEL_DIR}/adapter_config.json"):
        console.out.print(f"reusing the fine-tuned model in {run_dir / MODEL_DIR}")
        report = json.loads((run_dir / REPORT_FILE).read_text(encoding="utf-8"))
    else:
        # tiny: a few short steps, enough for the hand-offs (adapter, report) the vet stage reads.
        config = ctx.pick(
            demo=TrainConfig.preset("demo"),
            tiny=TrainConfig.preset(
                "demo", max_steps=2, max_length=64, eval_every=0, save_every=0, max_eval_docs=4
            ),
        )
        report = train(data_dir, run_dir, config, resume=not ctx.fresh).to_dict()
    console.out.print(console.table(
        f"LoRA fine-tune of SmolLM2-135M, {report['steps']} steps ({report['seconds']:.0f} s)",
        ["", "before", "after"],
        [["held-out loss", f"{report['heldout_loss_before']:.3f}", f"{report['heldout_loss_after']:.3f}"],
         ["held-out perplexity", f"{report['perplexity_before']:.1f}", f"{report['perplexity_after']:.1f}"]],
    ))  # fmt: skip

    gens_path = stage / GENERATIONS
    if ctx.done("generate", GENERATIONS):
        generations = read_generations(gens_path)[0]
    else:
        # The batched torch engine: faster than llama.cpp's one-at-a-time decoding for a batch.
        generator = load_generator(run_dir / MODEL_DIR)
        # Bottom-up is the summarisation direction: give it the claims of held-out patents.
        heldout_ids = {r["id"] for r in json.loads((data_dir / MANIFEST_FILE).read_text())["records"]
                       if r["split"] == "heldout"}  # fmt: skip
        n = ctx.pick(demo=2, tiny=1)
        records = [r for r in iter_full_records(bundled_full_record_sources())
                   if r["id"] in heldout_ids][:n]  # fmt: skip
        kwargs = dict(temperature=0.8, top_p=0.95, top_k=50, max_new_tokens=ctx.pick(demo=160, tiny=32),
                      seed=0, progress=True)  # fmt: skip
        generations = generator.sample(TOP_DOWN, n, **kwargs) + generator.sample(
            BOTTOM_UP, claims=[r["claims"][:2] for r in records], **kwargs
        )
        stats = generator.last_stats
        sampling = {k: v for k, v in kwargs.items() if k != "progress"}
        meta = {"engine": generator.engine, "device": generator.device_name, "sampling": sampling,
                "tokens_per_second": round(stats.tokens_per_second, 2)}  # fmt: skip
        write_generations(gens_path, generations, meta)
        console.out.print(f"sampling: {stats.tokens_per_second:.1f} tokens/s ({generator.engine} engine)")
    print_generations(generations)
    complete = sum(g.parse().is_complete for g in generations)
    console.out.print(f"{complete} of {len(generations)} generations parse as complete patents; "
                      f"held-out documents: {len(read_texts(data_dir, 'heldout'))}")  # fmt: skip

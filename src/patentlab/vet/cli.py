"""``patentlab vet …``: sample a metered batch, vet it, and print the hit rate and cost."""

from __future__ import annotations

from pathlib import Path

import typer

from patentlab import console
from patentlab.generate import options as opt

app = typer.Typer(
    help="Vet generated inventions: structure, novelty, diversity, hit rate, cost, green score.",
    no_args_is_help=True,
)


def print_summary(report: dict, out_dir: Path | None = None) -> None:
    """The hit rate, the funnel and the cost per accepted invention of a vetting summary."""
    rows = [[r["check"], r["removed"], r["failed"], r["remaining"]] for r in report["funnel"]]
    console.out.print(
        console.table(
            f"Funnel: {report['n_accepted']} of {report['n_generated']} accepted "
            f"(hit rate {report['hit_rate']:.1%})",
            ["check", "removed", "failed", "remaining"],
            rows,
        )
    )
    cost = report["cost"]
    acc, gen = cost["per_accepted"], cost["per_generated"]
    prices = cost["prices"]
    per_acc = (
        f"{acc['wall_seconds']:.1f} s wall, {acc['cpu_seconds']:.1f} CPU s, {acc['tokens']:.0f} tokens, "
        f"${acc['usd']:.6f}"
        if acc["usd"] is not None
        else "n/a (nothing accepted)"
    )
    console.out.print(
        f"cost per generated invention: {gen['wall_seconds']:.1f} s wall, {gen['cpu_seconds']:.1f} CPU s, "
        f"${gen['usd']:.6f}\ncost per accepted invention: {per_acc}\n"
        f"(at ${prices['usd_per_cpu_hour']:g}/CPU-hour, ${prices['usd_per_gpu_hour']:g}/GPU-hour"
        f"{'' if cost.get('generation_cost_known') else '; sampling cost unknown, vetting only'})"
    )
    from patentlab.vet.report import realism_line

    console.out.print(f"realism share: {realism_line(report.get('realism') or {})}")
    d = report["diversity"]
    console.out.print(
        f"diversity: distinct-2 {d['distinct_2']}, self-BLEU {d['self_bleu']}, "
        f"mean pairwise distance {d['mean_pairwise_distance']}"
    )
    if report["green"].get("scored"):
        console.out.print(
            f"green: {report['green']['accepted_green']} of {report['n_accepted']} accepted "
            f"with p_green ≥ {report['green']['threshold']}"
        )
    if out_dir is not None:
        console.out.print(f"report: {out_dir / 'report.md'}, funnel: {out_dir / 'funnel.png'}")


@app.command("sample")
def sample_cmd(
    out: Path = typer.Argument(..., help="The generations file to write (.jsonl)."),
    model: opt.Model = None,
    engine: opt.Engine = "torch",
    n: int = typer.Option(16, help="How many patents."),
    mode: opt.Mode = "top-down",
    topic: opt.Topic = None,
    temperature: opt.Temperature = 0.8,
    top_p: opt.TopP = 0.95,
    top_k: opt.TopK = 50,
    max_new_tokens: opt.MaxNewTokens = 384,
    repetition_penalty: opt.RepetitionPenalty = 1.0,
    seed: opt.Seed = 0,
    batch_size: opt.BatchSize = 32,
    device: opt.Device = None,
    dtype: opt.Dtype = "auto",
    threads: opt.Threads = 0,
    structure: opt.Structure = "skeleton",
    no_repeat_ngram_size: opt.NoRepeatNgram = 4,
    distinct_lines: opt.DistinctLines = True,
    strategy: opt.Strategy = None,
    index: opt.IndexDir = None,
    writer: opt.Writer = None,
) -> None:
    """Sample a batch, metering its wall/CPU seconds and tokens, with provenance for publication."""
    from patentlab.vet.sampling import sample_generations

    opt.set_torch_threads(threads)
    path = sample_generations(
        model, out, n=n, mode=mode, engine=engine, device=device, threads=threads or None, dtype=dtype,
        temperature=temperature, top_p=top_p, top_k=top_k, max_new_tokens=max_new_tokens,
        repetition_penalty=repetition_penalty, seed=seed, batch_size=batch_size, topic=topic,
        structure=structure, no_repeat_ngram_size=no_repeat_ngram_size, distinct_lines=distinct_lines,
        strategy=strategy, index=index, writer=writer,
    )  # fmt: skip
    console.out.print(f"wrote {n} generations to {path}")


@app.command("run")
def run_cmd(
    generations: Path = typer.Argument(..., help="A generations file (.jsonl, with its .meta.json)."),
    training: str = typer.Option(
        None,
        help="The generator's training data: a build-data dir, corpus dir or file "
        "(default: the bundled full_records_334.jsonl).",
    ),
    out: Path = typer.Option(None, help="Output folder (default: <generations stem>-vetted beside it)."),
    classifier: Path = typer.Option(None, help="A classifier folder: accepted inventions get p_green."),
    encoder: str = typer.Option("minilm", help="Encoder for the cosine check and diversity; 'none' skips."),
    usd_per_cpu_hour: float = typer.Option(0.05, help="Price of one CPU core for an hour."),
    usd_per_gpu_hour: float = typer.Option(2.50, help="Price of one GPU for an hour."),
    index: Path = typer.Option(
        None, help="A search index of the real corpus: map accepted inventions, reject anticipated ones."
    ),
    coherence: bool = typer.Option(
        True, help="Check that title, abstract and claim 1 agree (MiniLM cosines; loads the encoder)."
    ),
    realism: bool = typer.Option(
        True, help="Report the share of accepted inventions a classifier takes for real."
    ),
) -> None:
    """Check every generation, test its novelty against the training data, and report the hit rate."""
    from patentlab.data import sample_path
    from patentlab.vet.cost import Prices
    from patentlab.vet.novelty import NoveltyConfig
    from patentlab.vet.vetting import vet_generations

    out = out or generations.with_name(generations.name.removesuffix(".jsonl") + "-vetted")
    report = vet_generations(
        generations,
        training or sample_path("full_records_334.jsonl"),
        out,
        novelty=NoveltyConfig(encoder=None if encoder.lower() == "none" else encoder),
        classifier=classifier,
        prices=Prices(usd_per_cpu_hour, usd_per_gpu_hour),
        index=index,
        coherence=coherence,
        realism=realism,
    )
    print_summary(report.to_dict(), out)


@app.command("curve")
def curve_cmd(
    run_dir: Path = typer.Argument(..., help="A `patentlab generate train` run trained with --eval-every."),
    out: Path = typer.Option(None, help="Output folder (default: <run_dir>/curve)."),
    n: int = typer.Option(8, help="Patents per point and mode."),
    mode: list[str] = typer.Option(["top-down", "bottom-up"], help="Modes to sample (repeatable)."),
    step: list[int] = typer.Option(None, help="Only these steps of the curve (repeatable; default: all)."),
    training: str = typer.Option(None, help="Novelty reference (default: the run's build-data dir)."),
    engine: opt.Engine = "torch",
    max_new_tokens: opt.MaxNewTokens = 256,
    seed: opt.Seed = 0,
    batch_size: opt.BatchSize = 8,
    encoder: str = typer.Option("minilm", help="Encoder for the novelty cosine check; 'none' skips."),
    threads: opt.Threads = 0,
) -> None:
    """Sample and vet every saved point of a training run: the table steps → perplexity, hit rate."""
    from patentlab.vet.curve import CURVE_MD, HEADERS, curve_table, learning_curve

    opt.set_torch_threads(threads)
    out = out or run_dir / "curve"
    rows = learning_curve(
        run_dir, out, n=n, modes=mode, training=training, steps=step or None, engine=engine,
        encoder=None if encoder.lower() == "none" else encoder,
        max_new_tokens=max_new_tokens, seed=seed, batch_size=batch_size,
    )  # fmt: skip
    console.out.print(console.table(f"Learning curve of {run_dir}", HEADERS, curve_table(rows)))
    console.out.print(f"table: {out / CURVE_MD}")

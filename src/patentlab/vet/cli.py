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
    temperature: opt.Temperature = 0.8,
    top_p: opt.TopP = 0.95,
    top_k: opt.TopK = 50,
    max_new_tokens: opt.MaxNewTokens = 384,
    repetition_penalty: opt.RepetitionPenalty = 1.0,
    seed: opt.Seed = 0,
    batch_size: opt.BatchSize = 8,
    device: opt.Device = None,
    threads: opt.Threads = 0,
) -> None:
    """Sample a batch, metering its wall/CPU seconds and tokens, with provenance for publication."""
    from patentlab.vet.sampling import sample_generations

    opt.set_torch_threads(threads)
    path = sample_generations(
        model, out, n=n, mode=mode, engine=engine, device=device, threads=threads or None,
        temperature=temperature, top_p=top_p, top_k=top_k, max_new_tokens=max_new_tokens,
        repetition_penalty=repetition_penalty, seed=seed, batch_size=batch_size,
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
    )
    print_summary(report.to_dict(), out)

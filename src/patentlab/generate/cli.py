"""``patentlab generate``: build training text, fine-tune, sample and parse patents."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

from patentlab import console
from patentlab.errors import PatentlabError
from patentlab.generate import options as opt
from patentlab.generate.formats import MODES, TOP_DOWN

app = typer.Typer(
    help="Generate patents: top-down / bottom-up formats, fine-tuning, sampling, parsing.",
    no_args_is_help=True,
)


@app.command("build-data")
def build_data_cmd(
    sources: list[str] = typer.Argument(
        None,
        help="Full-record files (JSONL/CSV/Parquet/XML), folders of them or corpus dirs "
        "(default: every bundled full record, see `bundled_full_record_sources`).",
    ),
    out: Path = typer.Option(..., "--out", help="Data directory to write."),
    heldout_fraction: float = typer.Option(0.1, help="Share of records held out for perplexity."),
    seed: int = typer.Option(0, help="Seed of the held-out choice and document order."),
    mode: list[str] = typer.Option(list(MODES), help="Formats to write (repeatable)."),
    max_chars: int = typer.Option(
        0, help="Drop trailing claims to fit about this many characters (0: keep all)."
    ),
) -> None:
    """Make training text from full records, both formats mixed, with a licence manifest."""
    from patentlab.generate.data import build_data, bundled_full_record_sources

    sources = sources or bundled_full_record_sources()
    report = build_data(sources, out, heldout_fraction=heldout_fraction, seed=seed, modes=mode,
                        max_chars=max_chars or None)  # fmt: skip
    rows = [
        ["records read", report.records_read],
        ["records used", report.records_used],
        ["incomplete (skipped)", report.skipped_incomplete],
        ["duplicates (skipped)", report.duplicates],
        ["train records / docs", f"{report.train_records} / {report.train_docs}"],
        ["held-out records / docs", f"{report.heldout_records} / {report.heldout_docs}"],
    ]
    console.out.print(console.table(f"Training text in {out}", ["", "count"], rows))
    console.out.print(console.table("Licences", ["licence", "records"], list(report.licences.items())))


@app.command("train")
def train_cmd(
    data_dir: Path = typer.Argument(..., help="A directory written by `build-data`."),
    out: Path = typer.Option(..., "--out", help="Run directory (model, checkpoint, report, plot)."),
    preset: str = typer.Option(
        None,
        help="A training budget: demo (minutes on 2 CPU cores, what `make demo` runs) or full "
        "(about an hour on 2 CPU cores, minutes on a GPU). The options below override it.",
    ),
    base_model: str = typer.Option("smollm2-135m", help=opt.MODEL_HELP),
    method: str = typer.Option(None, help="lora or full (default: lora)."),
    max_steps: int = typer.Option(None, help="Optimizer steps (default: 60)."),
    batch_size: int = typer.Option(None, help="Documents per micro-batch (default: 4)."),
    grad_accum: int = typer.Option(None, help="Micro-batches per optimizer step (default: 1)."),
    max_length: int = typer.Option(None, help="Tokens per document, longer ones are cut (default: 256)."),
    lr: float = typer.Option(None, help="Learning rate (default: 2e-4 for LoRA, 5e-5 for full)."),
    lora_r: int = typer.Option(None, help="LoRA rank (default: 16)."),
    save_every: int = typer.Option(None, help="Checkpoint every N steps (default: 20)."),
    eval_every: int = typer.Option(
        None,
        help="Held-out perplexity every N steps, with the model saved there for "
        "`patentlab vet curve` (0: before and after only; default: 0).",
    ),
    max_eval_docs: int = typer.Option(None, help="Held-out documents per evaluation (0: all; default: 64)."),
    seed: int = typer.Option(None, help="Seed of the batch order and initialisation (default: 0)."),
    device: str = typer.Option(None, help="cpu, cuda, … (default: GPU when torch sees one)."),
    resume: bool = typer.Option(True, help="Resume from the run's checkpoint when there is one."),
) -> None:
    """Fine-tune a causal LM (LoRA or full); report held-out perplexity along the run."""
    from patentlab.generate.train import TrainConfig, train

    given = {
        "base_model": base_model, "method": method, "max_steps": max_steps, "batch_size": batch_size,
        "grad_accum": grad_accum, "max_length": max_length, "learning_rate": lr, "lora_r": lora_r,
        "save_every": save_every, "eval_every": eval_every, "seed": seed, "device": device,
    }  # fmt: skip
    overrides = {k: v for k, v in given.items() if v is not None}
    if max_eval_docs is not None:
        overrides["max_eval_docs"] = max_eval_docs or None  # 0: every held-out document
    config = TrainConfig.preset(preset, **overrides) if preset else TrainConfig(**overrides)
    result = train(data_dir, out, config, resume=resume)
    rows = [
        ["steps", result.steps], ["resumed from step", result.resumed_from],
        ["held-out loss", f"{result.heldout_loss_before:.3f} → {result.heldout_loss_after:.3f}"],
        ["held-out perplexity", f"{result.perplexity_before:.2f} → {result.perplexity_after:.2f}"],
        ["last train loss", f"{result.train_loss[-1][1]:.3f}" if result.train_loss else "-"],
        ["seconds", result.seconds], ["model", result.model_dir],
    ]  # fmt: skip
    console.out.print(
        console.table(f"Fine-tuned {base_model} ({config.method}) on {result.device}", ["", ""], rows)
    )
    curve = [[p["step"], f"{p['perplexity']:.2f}", p["model"] or "-"] for p in result.learning_curve]
    console.out.print(console.table("Learning curve (held-out)", ["step", "perplexity", "model"], curve))


@app.command("sample")
def sample_cmd(
    model: opt.Model = "smollm2-135m",
    engine: opt.Engine = "torch",
    mode: opt.Mode = TOP_DOWN,
    n: int = typer.Option(4, "--n", help="How many patents (unconditional or --topic prompts)."),
    topic: opt.Topic = None,
    title: list[str] = typer.Option(None, help="Condition top-down on this title (repeatable)."),
    conditions: Path = typer.Option(
        None, "--from", help="Records to condition on: their titles (top-down) or claims (bottom-up)."
    ),
    limit: int = typer.Option(0, help="Use at most this many records from --from (0: all)."),
    temperature: opt.Temperature = 0.8,
    top_p: opt.TopP = 0.95,
    top_k: opt.TopK = 50,
    max_new_tokens: opt.MaxNewTokens = 256,
    repetition_penalty: opt.RepetitionPenalty = 1.0,
    seed: opt.Seed = 0,
    batch_size: opt.BatchSize = 32,
    device: opt.Device = None,
    dtype: opt.Dtype = "auto",
    threads: opt.Threads = 0,
    structure: opt.Structure = "skeleton",
    no_repeat_ngram_size: opt.NoRepeatNgram = 4,
    distinct_lines: opt.DistinctLines = True,
    out: Path = typer.Option(None, "--out", help="Write generations and their parses as JSONL."),
    strategy: opt.Strategy = None,
    index: opt.IndexDir = None,
    writer: opt.Writer = None,
) -> None:
    """Sample patents (batched with a KV cache, or llama.cpp); the same seed gives the same patents."""
    from patentlab.generate.sample import SamplingConfig, load_generator

    config = SamplingConfig(
        temperature=temperature, top_p=top_p, top_k=top_k, max_new_tokens=max_new_tokens,
        repetition_penalty=repetition_penalty, seed=seed, batch_size=batch_size, structure=structure,
        no_repeat_ngram_size=no_repeat_ngram_size, distinct_lines=distinct_lines,
    )  # fmt: skip
    titles, claims = None, None
    opt.check_topic(topic)
    if topic is not None and (title or conditions is not None):
        raise PatentlabError("--topic starts the patent itself; it cannot be combined with --title or --from")
    if title:
        titles = list(title)
    elif conditions is not None:
        from patentlab.generate.data import iter_full_records

        records = list(iter_full_records([str(conditions)]))[: limit or None]
        if mode == TOP_DOWN:
            titles = [r["title"] for r in records if r.get("title")]
        else:
            claims = [r["claims"] for r in records if r.get("claims")]
    strategy = strategy or ("combine" if index is not None else structure)
    if strategy == "combine" and (index is None or titles or claims):  # checked before the model loads
        raise PatentlabError("--strategy combine needs --index (and takes no --title or --from)")
    if writer is not None and strategy != "combine":
        raise PatentlabError("--writer writes the title and abstract of combinations: use --strategy combine")
    opt.set_torch_threads(threads)
    started = time.perf_counter()
    if strategy == "combine":
        from patentlab.generate.combine import Combiner
        from patentlab.generate.writer import load_writer
        from patentlab.index.hybrid import SearchIndex

        def patent_lm():  # loaded only when the patent LM writes
            return load_generator(model, engine=engine, device=device, threads=threads or None, dtype=dtype)

        generator = load_writer(writer, patent_lm, threads=threads or None)
        with SearchIndex.open(index) as search_index:
            combos = Combiner(search_index, seed=seed).combine(n, topic)
        generations = generator.write(combos, mode, progress=True, **config.to_dict())
    else:
        generator = load_generator(model, engine=engine, device=device, threads=threads or None, dtype=dtype)
        config = SamplingConfig(**{**config.to_dict(), "structure": strategy})
        generations = generator.sample(
            mode, n, titles=titles, claims=claims, topic=topic, progress=True, **config.to_dict()
        )
    seconds = time.perf_counter() - started
    print_generations(generations)
    tokens = sum(g.new_tokens for g in generations)
    console.err.print(
        f"{tokens} tokens in {seconds:.1f} s ({tokens / max(seconds, 1e-9):.1f} tok/s, "
        f"{generator.engine} on {generator.device_name}, model loading included)"
    )
    if out is not None:
        from patentlab.generate.generations import write_generations

        # The same file `patentlab vet sample` writes (rows plus the batch's metadata sidecar), so
        # `patentlab vet run` reads either the same way.
        meta = {
            "model": {
                "name_or_path": str(writer or model or "smollm2-135m"),
                "resolved": getattr(generator, "source", None),
            },
            "writer": getattr(generator, "name", None) if strategy == "combine" else None,
            "engine": generator.engine,
            "sampling": {"mode": mode, "strategy": strategy, **config.to_dict()},
            "seed": seed,
            "device": generator.device_name,
            "cost": {"wall_seconds": round(seconds, 3), "tokens": tokens},
        }
        write_generations(out, [{**g.to_dict(), "parsed": g.parse().to_dict()} for g in generations], meta)
        console.err.print(f"wrote {out} and its metadata")


@app.command("parse")
def parse_cmd(
    path: Path = typer.Argument(..., help="A markdown file, or JSONL with a 'text' field per line."),
) -> None:
    """Parse generated patent markdown into title, abstract and claims, reporting what is missing."""
    from patentlab.generate.parse import parse_patent

    if not path.is_file():
        raise PatentlabError("no such file", path=path)
    if path.suffix in (".jsonl", ".ndjson"):
        from patentlab.jsonl import iter_objects

        items = []
        for row, obj in iter_objects(path):
            if not isinstance(obj.get("text"), str):
                raise PatentlabError("no 'text' field", path=path, row=row, field="text")
            items.append((obj["text"], obj.get("finished")))
    else:
        # Generated markdown: a stray byte should not stop the parse of everything else.
        items = [(path.read_text(encoding="utf-8", errors="replace"), None)]
    for text, finished in items:
        typer.echo(json.dumps(parse_patent(text, finished=finished).to_dict(), ensure_ascii=False))


@app.command("perplexity")
def perplexity_cmd(
    data_dir: Path = typer.Argument(..., help="A directory written by `build-data` (its held-out split)."),
    model: opt.Model = "smollm2-135m",
    max_length: int = typer.Option(256),
    max_docs: int = typer.Option(0, help="Evaluate at most this many held-out documents (0: all)."),
    device: str = typer.Option(None),
) -> None:
    """Held-out perplexity of a model on patent text."""
    import math

    from patentlab.generate.data import read_texts
    from patentlab.generate.train import heldout_loss
    from patentlab.llm.loading import load_causal_lm

    texts = read_texts(data_dir, "heldout")[: max_docs or None]
    lm, tokenizer = load_causal_lm(model, device=device)
    loss = heldout_loss(lm, tokenizer, texts, max_length=max_length)
    typer.echo(json.dumps({"model": model, "docs": len(texts), "loss": loss, "perplexity": math.exp(loss)}))


def print_generations(generations) -> None:
    """Each generation parsed: its fields, then what is missing or cut off."""
    for i, g in enumerate(generations, start=1):
        parsed = g.parse()
        console.out.rule(f"[bold]#{i}[/bold] {parsed.mode or 'unknown format'}: {parsed.status}")
        console.out.print(f"[bold]Title:[/bold] {parsed.title or '-'}", highlight=False)
        console.out.print(f"[bold]Abstract:[/bold] {_short(parsed.abstract)}", highlight=False)
        for number, claim in list(zip(parsed.claim_numbers, parsed.claims, strict=True))[:3]:
            console.out.print(f"[bold]{number}.[/bold] {_short(claim)}", highlight=False)
        if len(parsed.claims) > 3:
            console.out.print(f"[dim]… {len(parsed.claims) - 3} more claims[/dim]")
        if parsed.problems:
            console.out.print(f"[dim]problems: {'; '.join(parsed.problems)}[/dim]", highlight=False)


def _short(text: str | None, limit: int = 300) -> str:
    if not text:
        return "-"
    return text if len(text) <= limit else text[: limit - 1] + "…"

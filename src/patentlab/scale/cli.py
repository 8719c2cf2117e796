"""``patentlab scale``: embed, predict and generate as resumable jobs, locally or on Ray."""

from __future__ import annotations

from pathlib import Path

import typer

from patentlab import console
from patentlab.errors import PatentlabError

app = typer.Typer(
    help="Embed, predict and generate over sharded Parquet, resumable, on one process or a Ray cluster.",
    no_args_is_help=True,
)

_INPUTS = typer.Argument(..., help="Parquet files or folders of them (e.g. runs/demo/splits).")
_OUT = typer.Option(..., "--out", "-o", help="Output folder (part-*.parquet + manifest.json).")
_ENGINE = typer.Option("local", help="local (this process) or ray.")
_ADDRESS = typer.Option(
    None, help="Ray cluster to join: ray://head:10001 or auto (default $RAY_ADDRESS, else a local Ray)."
)
_WORKERS = typer.Option(None, help="Ray actors (default: one per GPU, else one per CPU).")
_SHARD_ROWS = typer.Option(10_000, help="Rows per shard (keep it the same to resume).")
_OVERWRITE = typer.Option(False, help="Replace the output of a different job in --out.")


def _run(job, inputs, out, engine, address, workers, shard_rows, overwrite) -> None:
    from patentlab.scale.engine import run_job

    report = run_job(
        job, inputs, out, engine=engine, shard_rows=shard_rows, workers=workers,
        address=address, overwrite=overwrite,
    )  # fmt: skip
    rows = [
        ["engine", f"{report.engine} ({report.workers} worker{'s' if report.workers != 1 else ''})"],
        ["shards", f"{report.shards} ({report.skipped} already done, skipped)"],
        ["rows computed", f"{report.rows:,}"],
        ["time", f"{report.seconds:.1f} s ({report.rows_per_second:.1f} rows/s)"],
    ]
    console.out.print(console.table(f"{job.kind} → {report.out_dir}", ["", ""], rows))


@app.command("embed")
def embed_cmd(
    inputs: list[Path] = _INPUTS,
    out: Path = _OUT,
    model: str = typer.Option("minilm", help="minilm, mpnet, a hub id or a local encoder folder."),
    text_column: str = typer.Option(None, help="Column with the text (default: text, else claim 1)."),
    max_length: int = typer.Option(384, help="Tokens per claim."),
    bf16: bool = typer.Option(False, help="Encode in bf16 (about 2x faster on CPU)."),
    batch_size: int = typer.Option(32),
    engine: str = _ENGINE,
    address: str = _ADDRESS,
    workers: int = _WORKERS,
    shard_rows: int = _SHARD_ROWS,
    overwrite: bool = _OVERWRITE,
) -> None:
    """Mean-pooled embeddings of every row (columns id, embedding)."""
    from patentlab.scale.jobs import EmbedJob

    job = EmbedJob(model, text_column, max_length, "bf16" if bf16 else "fp32", batch_size)
    _run(job, inputs, out, engine, address, workers, shard_rows, overwrite)


@app.command("predict")
def predict_cmd(
    inputs: list[Path] = _INPUTS,
    out: Path = _OUT,
    model: Path = typer.Option(..., help="A classifier folder (fine-tuned model/ or a baseline)."),
    text_column: str = typer.Option(None, help="Column with the text (default: text, else claim 1)."),
    threshold: float = typer.Option(0.5, help="label = 1 when p_green >= threshold."),
    batch_size: int = typer.Option(32),
    engine: str = _ENGINE,
    address: str = _ADDRESS,
    workers: int = _WORKERS,
    shard_rows: int = _SHARD_ROWS,
    overwrite: bool = _OVERWRITE,
) -> None:
    """p_green and label for every row (columns id, p_green, label)."""
    from patentlab.scale.jobs import PredictJob

    if not model.exists():
        raise PatentlabError("no such classifier folder", path=model)
    job = PredictJob(str(model.resolve()), text_column, threshold, batch_size)
    _run(job, inputs, out, engine, address, workers, shard_rows, overwrite)


@app.command("generate")
def generate_cmd(
    inputs: list[Path] = typer.Argument(None, help="Parquet rows to generate for (id, and title/claims)."),
    out: Path = _OUT,
    count: int = typer.Option(None, help="Generate this many unconditioned inventions (no inputs)."),
    model: str = typer.Option(None, help="Generator: a run's model dir or hub id; default packaged SmolLM2."),
    mode: str = typer.Option("top-down", help="top-down or bottom-up."),
    condition: str = typer.Option("none", help="none, title (top-down) or claims (bottom-up)."),
    seed: int = typer.Option(0, help="Job seed; each shard samples from a seed derived from it."),
    max_new_tokens: int = typer.Option(256),
    temperature: float = typer.Option(0.8),
    top_p: float = typer.Option(0.95),
    top_k: int = typer.Option(50),
    batch_size: int = typer.Option(8, help="Sequences decoded together."),
    vet: bool = typer.Option(True, help="Run the structural checks of `patentlab vet` on each text."),
    engine: str = _ENGINE,
    address: str = _ADDRESS,
    workers: int = _WORKERS,
    shard_rows: int = typer.Option(64, help="Rows per shard (keep it the same to resume)."),
    overwrite: bool = _OVERWRITE,
) -> None:
    """One generated (and structurally vetted) invention per input row, or --count of them."""
    from patentlab.scale.jobs import GenerateJob
    from patentlab.scale.shards import write_count_input

    if bool(inputs) == (count is not None):
        raise PatentlabError("give either input files or --count, not both or neither")
    if count is not None:
        inputs = [write_count_input(out / "input" / "ids.parquet", count)]
    if model and Path(model).exists():
        model = str(Path(model).resolve())
    job = GenerateJob(
        model, mode, condition, seed, max_new_tokens, temperature, top_p, top_k, batch_size, vet
    )  # fmt: skip
    _run(job, inputs, out, engine, address, workers, shard_rows, overwrite)


@app.command("status")
def status_cmd(out: Path = typer.Argument(..., help="A scale job's output folder.")) -> None:
    """What a job computes and how many of its shards are done."""
    from patentlab.scale.shards import Shard, ShardedOutput

    manifest = ShardedOutput.read_manifest(out)
    if manifest is None:
        raise PatentlabError("not a scale job's output (no manifest.json)", path=out)
    shards = [Shard(**s) for s in manifest["shards"]]
    done = [s for s in shards if (out / s.part_name).exists()]
    spec = manifest["spec"]
    rows = [
        ["job", spec.get("kind")],
        ["model", spec.get("model")],
        ["shards done", f"{len(done)} / {len(shards)}"],
        ["rows done", f"{sum(s.rows for s in done):,} / {sum(s.rows for s in shards):,}"],
        ["complete", "yes" if manifest.get("complete") else "no (run the same command again to resume)"],
    ]
    console.out.print(console.table(f"Scale job in {out}", ["", ""], rows))

"""``patentlab agents …``: label a queue with LLM agents; train the LoRA advocate."""

from __future__ import annotations

from pathlib import Path

import typer

from patentlab import console

app = typer.Typer(
    help="LLM agents (advocate, skeptic, judge) that label claims and route hard ones to humans.",
    no_args_is_help=True,
)


def build_panel(
    backend: str, model: str | None, base_url: str, adapter: Path | None, setup: str, threshold: float,
    max_retries: int, threads: int | None, few_shot: int = 0, examples: Path | None = None,
    definitions: int = 0,
):  # fmt: skip
    """The panel the CLI options describe (one backend for every role, optionally a LoRA advocate)."""
    from patentlab.agents.panel import AgentPanel
    from patentlab.agents.routing import RoutingPolicy
    from patentlab.errors import PatentlabError
    from patentlab.llm.chat import make_backend

    options: dict = {}
    if backend == "http":
        options["base_url"] = base_url
    elif backend == "llama-cpp":
        options["n_threads"] = threads
        # Four example claims (600 characters each) next to a long claim need more than 2k tokens.
        options["n_ctx"] = 4096 if few_shot else 2048
    if threads:
        import torch

        torch.set_num_threads(threads)
    if adapter is not None and backend != "transformers" and setup == "three-agent":
        raise PatentlabError("a LoRA advocate (--adapter) runs with the transformers backend")
    shots = None
    if few_shot:  # before any model loads, so a bad gold file fails at once
        from patentlab.agents.fewshot import FewShot, load_gold_examples

        shots = FewShot(load_gold_examples(examples), few_shot)
    judge = make_backend(backend, model, **options)
    advocate = None
    if adapter is not None:
        from patentlab.llm.chat.transformers import TransformersBackend

        advocate = TransformersBackend(model or "smollm2-135m", adapter=adapter)
    policy = RoutingPolicy(threshold=threshold)
    return AgentPanel(judge, advocate_backend=advocate, setup=setup, policy=policy, max_retries=max_retries,
                      few_shot=shots, definitions=definitions)  # fmt: skip


@app.command("label")
def label_command(
    queue: Path = typer.Argument(..., help="A queue from 'patentlab active select' (or any id,text table)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (resumes when rerun)."),
    backend: str = typer.Option("transformers", help="transformers, llama-cpp or http."),
    model: str = typer.Option(None, help="Model: smollm2-135m, qwen2.5-1.5b, a hub id, path or server name."),
    base_url: str = typer.Option("http://127.0.0.1:8080/v1", help="API root of the http backend."),
    adapter: Path = typer.Option(None, help="LoRA advocate from 'train-advocate' (transformers)."),
    setup: str = typer.Option("three-agent", help="three-agent or single (the judge alone)."),
    threshold: float = typer.Option(0.75, help="Judge confidence below which a human decides."),
    limit: int = typer.Option(None, help="Label only the first N claims of the queue."),
    max_retries: int = typer.Option(2, help="Re-asks per invalid output."),
    threads: int = typer.Option(None, help="CPU threads for the model."),
    few_shot: int = typer.Option(0, help="Show N human-labelled claims (never the one being labelled)."),
    examples: Path = typer.Option(None, help="Gold file for --few-shot (default: bundled hitl_gold_100)."),
    definitions: bool = typer.Option(
        True,
        "--definitions/--no-definitions",
        help="Show every agent the 3 Y02 definitions nearest each claim (official CPC titles, MiniLM).",
    ),
) -> None:
    """Label the claims of QUEUE; agreements become agent labels, the rest go to the human queue."""
    from patentlab.active.queue import load_pool
    from patentlab.agents.run import label_queue
    from patentlab.tables import read_table

    frame = load_pool(queue)  # id and claim text, checked
    extra = read_table(queue)
    for column in ("p_green", "u", "round"):  # carried from an active-learning queue
        if column in extra.columns:
            frame[column] = extra[column].to_numpy()
    frame = frame.head(limit) if limit else frame
    panel = build_panel(backend, model, base_url, adapter, setup, threshold, max_retries, threads, few_shot,
                        examples, definitions=3 if definitions else 0)  # fmt: skip
    with console.progress() as bar:
        task = bar.add_task(f"agents ({panel.judge.name})", total=len(frame))
        summary = label_queue(frame, out, panel, on_progress=lambda n, total: bar.update(task, completed=n))
    print_summary(summary, out)


def print_summary(summary: dict, out: Path) -> None:
    """Print a labelling run's summary as a table."""
    rows = [
        ["claims", summary["claims"]],
        ["agent labels (agreement, confident)", f"{summary['to_agents']} "
         f"({summary['agent_green']} green / {summary['agent_not_green']} not, all claims)"],
        ["routed to a human", f"{summary['to_human']} ({summary['share_to_human']:.0%})"],
        ["seconds per claim", f"{summary['seconds_per_claim']:.1f}"],
    ]  # fmt: skip
    rows += [[f"  reason: {reason}", count] for reason, count in summary["reasons"].items()]
    console.out.print(console.table(f"Agent labelling → {out}", ["", "value"], rows))
    console.out.print(
        "[dim]Agent labels are stored as agent_label (label_source=agents); they are not human gold.[/dim]"
    )


@app.command("train-advocate")
def train_advocate_command(
    data: Path = typer.Argument(
        ..., help="Silver training claims (train_silver.parquet or a labelled table)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the LoRA adapter."),
    base: str = typer.Option("smollm2-135m", help="Base model: smollm2-135m, a hub id or a local path."),
    examples: int = typer.Option(1500, help="Silver examples (balanced), as in the card."),
    r: int = typer.Option(16, help="LoRA rank."),
    alpha: int = typer.Option(32, help="LoRA alpha."),
    epochs: int = typer.Option(1, help="Passes over the examples."),
    max_steps: int = typer.Option(None, help="Stop after this many optimizer steps."),
    batch_size: int = typer.Option(8, help="Examples per step."),
    micro_batch_size: int = typer.Option(
        2, help="Examples per forward pass; gradients add up to the step (more: faster, more memory)."
    ),
    learning_rate: float = typer.Option(2e-4, "--lr", help="Peak learning rate (linear decay)."),
    max_length: int = typer.Option(512, help="Tokens per example (the claim is cut to fit)."),
    quantize: str = typer.Option("auto", help="auto (4-bit NF4 on CUDA), 4bit or none."),
    threads: int = typer.Option(None, help="CPU threads."),
) -> None:
    """Fine-tune the advocate with (Q)LoRA on silver claims → label + short rationale."""
    from patentlab.agents.lora import AdvocateTrainingConfig, train_advocate

    if threads:
        import torch

        torch.set_num_threads(threads)
    config = AdvocateTrainingConfig(
        base_model=base, examples=examples, r=r, alpha=alpha, epochs=epochs, max_steps=max_steps,
        batch_size=batch_size, micro_batch_size=micro_batch_size, learning_rate=learning_rate,
        max_length=max_length, quantize=quantize,
    )  # fmt: skip
    with console.progress() as bar:
        task = bar.add_task("train advocate", total=None)

        def on_step(step: int, total: int, loss: float) -> None:
            bar.update(task, completed=step, total=total, description=f"train advocate (loss {loss:.3f})")

        report = train_advocate(data, out, config, on_step=on_step)
    print_training_report(report, out)


def print_training_report(report: dict, out: Path) -> None:
    """The card's QLoRA table for this run."""
    rows = [
        ["base model", report["base_model"]],
        ["quantization", report["quantization"]],
        ["LoRA rank / alpha", f"{report['lora']['r']} / {report['lora']['alpha']}"],
        ["target modules", ", ".join(report["lora"]["target_modules"])],
        ["total parameters", f"{report['total_parameters']:,}"],
        ["trainable parameters", f"{report['trainable_parameters']:,} ({report['trainable_percent']}%)"],
        ["training examples", f"{report['examples']:,} ({report['green_examples']} green)"],
        ["steps × batch", f"{report['steps']} × {report['batch_size']}"],
        ["training time", f"{report['training_seconds']:.0f} s on {report['device']}"],
        ["loss on a fixed batch", f"{report['loss_before']:.3f} → {report['loss_after']:.3f}"],
    ]
    console.out.print(console.table(f"LoRA advocate → {out}", ["", "value"], rows))

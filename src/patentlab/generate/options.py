"""Command-line options shared by ``patentlab generate sample`` and ``patentlab vet sample``.

Each is an ``Annotated`` type, so a command declares ``temperature: Temperature = 0.8`` and the
help text lives in one place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

MODEL_HELP = "A trained run's model dir, a hub id (e.g. gpt2) or a local path; default: packaged SmolLM2."

Model = Annotated[str, typer.Option("--model", help=MODEL_HELP)]
Engine = Annotated[
    str,
    typer.Option(
        help="torch (any model, CPU or GPU, batched) or llama-cpp (SmolLM2 and its fine-tunes, "
        "exported to GGUF once; fastest for one sequence on a CPU)."
    ),
]
Mode = Annotated[str, typer.Option(help="top-down or bottom-up.")]
Temperature = Annotated[float, typer.Option(help="Softmax temperature; 0 decodes greedily.")]
TopP = Annotated[float, typer.Option(help="Nucleus sampling: keep the top tokens covering this mass.")]
TopK = Annotated[int, typer.Option(help="Keep the k most likely tokens (0: off).")]
MaxNewTokens = Annotated[int, typer.Option(help="Stop a patent after this many new tokens.")]
RepetitionPenalty = Annotated[float, typer.Option(help="Penalise tokens already generated (1: off).")]
Seed = Annotated[int, typer.Option(help="The same seed gives the same patents.")]
BatchSize = Annotated[int, typer.Option(help="Sequences decoded together (torch engine).")]
Device = Annotated[str | None, typer.Option(help="cpu, cuda, … (torch engine; default: GPU when seen).")]
Dtype = Annotated[
    str,
    typer.Option(
        help="Torch engine: auto (bfloat16 where the CPU or GPU computes it natively, else "
        "float32), float32 or bfloat16."
    ),
]
NoRepeatNgram = Annotated[
    int,
    typer.Option(
        help="No token n-gram of this size twice within a line: the title, the abstract, a claim (0: off)."
    ),
]
DistinctLines = Annotated[
    bool,
    typer.Option(
        "--distinct-lines/--repeated-lines", help="Forbid a claim (any line) that copies an earlier one."
    ),
]
Threads = Annotated[int, typer.Option(help="CPU threads for torch or llama.cpp (0: their default).")]
Structure = Annotated[
    str,
    typer.Option(
        help="skeleton (the patent's headers and claim numbering forced, free text inside each "
        "section, a token budget per section) or free (unconstrained sampling)."
    ),
]
Strategy = Annotated[
    str | None,
    typer.Option(
        help="combine (claims built from real claim elements of a base patent and its nearest "
        "neighbours in --index, the model writes the abstract and title; the default when --index "
        "is given), skeleton (the model writes everything inside the patent skeleton; the default "
        "without an index) or free (unconstrained sampling)."
    ),
]
Writer = Annotated[
    str | None,
    typer.Option(
        help="Who writes a combination's title and abstract: patent-lm (--model, the default) or "
        "an instruction-tuned chat model in llama.cpp: qwen2.5-1.5b (packaged; 'make llm'), a .gguf "
        "file or owner/repo:file.gguf. See docs/generate.md for the two compared.",
    ),
]
IndexDir = Annotated[
    Path | None,
    typer.Option(
        "--index",
        help="A search index of the real corpus (patentlab search index): where the combine "
        "strategy finds its base and secondary references.",
    ),
]
Topic = Annotated[
    str | None,
    typer.Option(
        help="Generate in one field: free text ('solar panel cleaning robot') or a CPC code "
        "('Y02E 10/50'), whose title gives the words. It starts the title (top-down) or claim 1 "
        "(bottom-up) and is recorded in each generation's provenance."
    ),
]


def check_topic(topic: str | None) -> None:
    """Reject a bad ``--topic`` (empty, or a code not in the CPC scheme) before any model loads."""
    if topic is not None:
        from patentlab.generate.topic import resolve_topic

        resolve_topic(topic)


def set_torch_threads(threads: int) -> None:
    """Apply ``--threads`` to torch (llama.cpp gets it through the generator)."""
    if threads:
        import torch

        torch.set_num_threads(threads)

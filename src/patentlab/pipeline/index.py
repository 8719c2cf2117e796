"""The corpus's retrieval index as the demo stages share it: built once, by whichever stage needs
it first (vet for the obviousness map, else search), with the classify stage's encoder settings.
"""

from __future__ import annotations

from pathlib import Path

from patentlab import console
from patentlab.console import progress_callback
from patentlab.embed.settings import EncoderSettings
from patentlab.index.hybrid import SearchIndex, is_current
from patentlab.pipeline.context import DemoContext
from patentlab.storage import read_json


def demo_encoder(ctx: DemoContext) -> EncoderSettings:
    """The classify stage's encoder settings when it has run, else the index's defaults.

    With the same model, length and dtype, the corpus's claims and abstracts are already in the
    embedding cache from the classify stage, so indexing them costs no second encoding.
    """
    baseline = Path(ctx.outputs.get("classify", ctx.stage_dir("classify"))) / "baseline" / "baseline.json"
    if not baseline.exists():
        return EncoderSettings()
    settings = read_json(baseline, "baseline.json")
    return EncoderSettings(
        model=settings["model"], max_length=settings["max_length"], dtype=settings["dtype"]
    )


def corpus_index(ctx: DemoContext, sources: list[Path] | None = None) -> Path | None:
    """The retrieval index of the corpus (and ``sources``), built where the search stage keeps
    it, or reused and topped up; None without a corpus. The vet stage calls it for the
    obviousness map, the search stage to add the published inventions."""
    corpus = Path(ctx.outputs.get("corpus", ctx.stage_dir("corpus"))) / "corpus.parquet"
    if not corpus.exists():
        console.out.print("[dim]no corpus (corpus stage not run): no index[/dim]")
        return None
    index_dir = ctx.stage_dir("search")
    sources = [corpus, *(sources or [])]
    with console.progress(transient=True) as bar:
        update = progress_callback(bar)
        reuse = "search" in ctx.outputs or not ctx.fresh
        if reuse and is_current(index_dir):
            # Documents the index already holds are skipped; new publications are added.
            with SearchIndex.open(index_dir, read_only=False) as index:
                report = index.add_files(sources, progress=update)
        else:
            encoder = demo_encoder(ctx)
            console.out.print(
                f"indexing the corpus in {index_dir} ({encoder.model}, {encoder.max_length} tokens, "
                f"{encoder.dtype}: the classify stage's settings, so its cached vectors are reused)"
            )
            index, report = SearchIndex.build(index_dir, sources, encoder=encoder, progress=update)
            index.close()
    ctx.outputs["search"] = index_dir
    console.out.print(
        f"index {index_dir}: {report.total:,} documents ({report.added:,} new) from "
        + ", ".join(str(s) for s in sources)
    )
    return index_dir

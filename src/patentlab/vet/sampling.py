"""Sample a batch for vetting, metering what it costs and recording where it came from.

This wraps the generator's sampler (:func:`~patentlab.generate.sample.load_generator`, torch or
llama.cpp) with the two things a cost-per-invention figure and a prior-art publication need:
the wall/CPU/GPU seconds and tokens of sampling, and the provenance of every text (model id and
weights hash, engine, sampling parameters, seed, prompt). The result is a generations file that
``patentlab vet run`` reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from patentlab.errors import PatentlabError
from patentlab.generate.generations import write_generations
from patentlab.generate.writer import PATENT_LM, InventionWriter, load_writer
from patentlab.llm.loading import resolve_causal_lm, weights_sha256
from patentlab.vet.cost import Stopwatch

#: Text checks that judge what a combination's writer wrote (its title and abstract; the claims
#: are real elements and pass or fail as built). A combination that fails only these is written
#: once more, with other seeds, and the rewrite is kept when it passes them; its cost is charged.
WRITER_CHECKS = frozenset(
    {"sections", "length", "title_form", "doubled_words", "degeneration", "phrase_loop", "self_reference"}
)
#: Seed offset of the rewrite (any value unlike the first pass's per-row seeds).
REWRITE_SEED = 1_000_003


def sample_generations(
    model: str | Path | None,
    out_path: str | Path,
    *,
    n: int = 16,
    mode: str = "top-down",
    engine: str = "torch",
    device: str | None = None,
    threads: int | None = None,
    dtype: str = "auto",
    progress: bool = True,
    topic: str | None = None,
    strategy: str | None = None,
    index: str | Path | Any | None = None,
    exclude_ids: Sequence[str] = (),
    writer: str | None = None,
    **sampling: Any,
) -> Path:
    """Sample ``n`` patents from ``model`` and write them, with cost and provenance, to ``out_path``.

    ``model`` is a trained generator run (its ``model`` folder or a LoRA adapter), a hub id such
    as ``alea-institute/kl3m-002-170m-patent``, or None for the packaged SmolLM2. ``sampling``
    holds the fields of :class:`~patentlab.generate.sample.SamplingConfig` (``temperature``,
    ``top_p``, ``top_k``, ``max_new_tokens``, ``repetition_penalty``, ``seed``, ``batch_size``,
    ``structure``, ``no_repeat_ngram_size``, ``distinct_lines``). ``dtype`` is the torch engine's.
    ``topic`` (free text or a CPC code) seeds every prompt and goes into the provenance.

    ``strategy`` is ``"combine"`` (the default when an ``index`` is given: claims built from real
    claim elements of a base patent and its nearest neighbours in ``index``, a built retrieval
    index of the real corpus; the model writes the abstract and title:
    :mod:`patentlab.generate.combine`), ``"skeleton"``
    (the model writes everything inside the patent skeleton; the default without an index) or
    ``"free"`` (no skeleton).
    ``exclude_ids`` are documents the combiner must not build on (the generator's training
    records: a claim copied from them would be a reproduction). ``writer`` names who writes a
    combination's title and abstract (:mod:`patentlab.generate.writer`): ``patent-lm`` (``model``,
    the default) or an instruction-tuned chat model run by llama.cpp (``qwen2.5-1.5b`` or a
    ``.gguf`` file); with a chat writer, ``model`` is not loaded.
    """
    from patentlab.generate.combine import STRATEGIES
    from patentlab.generate.formats import check_mode
    from patentlab.generate.sample import SamplingConfig, load_generator

    if n < 1:
        raise PatentlabError("n must be at least 1", field="n")
    strategy = strategy or ("combine" if index is not None else sampling.get("structure", "skeleton"))
    if strategy not in STRATEGIES:
        raise PatentlabError(
            f"unknown strategy '{strategy}'; choose one of {', '.join(STRATEGIES)}", field="strategy"
        )
    if strategy == "combine" and index is None:
        raise PatentlabError(
            "the combine strategy needs a search index of the real corpus (--index)", field="index"
        )
    if strategy != "combine":
        sampling = {**sampling, "structure": strategy}
    mode = check_mode(mode)
    resolved = None
    if topic is not None:  # checked before the model loads, so bad input costs nothing
        from patentlab.generate.topic import resolve_topic

        resolved = resolve_topic(topic)
    try:
        config = SamplingConfig(**sampling)
    except TypeError as exc:
        raise PatentlabError(f"unknown sampling setting ({exc})") from None
    if writer not in (None, PATENT_LM) and strategy != "combine":
        raise PatentlabError("--writer writes the title and abstract of combinations: use --strategy combine")
    load_time, sample_time = Stopwatch(), Stopwatch()
    with load_time:
        if strategy == "combine":
            generator = load_writer(
                writer,
                lambda: load_generator(model, engine=engine, device=device, threads=threads, dtype=dtype),
                threads=threads,
            )
        else:
            generator = load_generator(model, engine=engine, device=device, threads=threads, dtype=dtype)
    with sample_time:
        if strategy == "combine":
            generations = _sample_combined(generator, index, n, mode, topic, exclude_ids, progress, config)
        else:
            generations = generator.sample(mode, n, topic=topic, progress=progress, **config.to_dict())
    chat = writer not in (None, PATENT_LM)
    source = getattr(generator, "source", None) or resolve_causal_lm(model)
    meta: dict[str, Any] = {
        "writer": generator.name if strategy == "combine" else None,
        "model": {
            "name_or_path": str(writer if chat else model) if (chat or model is not None) else "smollm2-135m",
            "resolved": source,
            "weights_sha256": weights_sha256(source),
        },
        "engine": generator.engine,
        "sampling": {"mode": mode, "strategy": strategy, **config.to_dict()},
        "seed": config.seed,
        "topic": resolved.to_dict() if resolved is not None else None,
        "device": generator.device_name,
        # Loading is a one-off per batch; it is reported but not charged to the inventions.
        "load_seconds": round(load_time.wall, 3),
        "cost": {
            "wall_seconds": round(sample_time.wall, 3),
            "cpu_seconds": round(sample_time.cpu, 3),
            "gpu_seconds": round(sample_time.wall, 3) if generator.on_gpu else 0.0,
            "tokens": sum(g.new_tokens for g in generations),
        },
    }
    return write_generations(out_path, generations, meta)


def _sample_combined(
    writer: InventionWriter,
    index: str | Path | Any,
    n: int,
    mode: str,
    topic: str | None,
    exclude_ids: Sequence[str],
    progress: bool,
    config: Any,
) -> list[Any]:
    """Combinations from ``index`` (a folder or an open index), their abstract and title sampled."""
    from patentlab.generate.combine import Combiner
    from patentlab.index.hybrid import SearchIndex

    opened = not isinstance(index, SearchIndex)
    search_index = SearchIndex.open(index) if opened else index
    try:
        combos = Combiner(search_index, seed=config.seed, exclude_ids=exclude_ids).combine(n, topic)
    finally:
        if opened:
            search_index.close()
    generations = writer.write(combos, mode, progress=progress, **config.to_dict())
    generations = _rewrite_failures(writer, combos, generations, mode, progress, config)
    if topic is not None:
        from patentlab.generate.topic import resolve_topic

        for g in generations:
            g.topic = resolve_topic(topic).to_dict()
    return generations


def _writer_failures(generation: Any) -> set[str]:
    from patentlab.generate.parse import parse_patent
    from patentlab.vet.checks import run_checks

    return set(run_checks(parse_patent(generation.text, finished=generation.finished)).failures)


def _rewrite_failures(
    writer: InventionWriter,
    combos: Sequence[Any],
    generations: list[Any],
    mode: str,
    progress: bool,
    config: Any,
) -> list[Any]:
    """``generations`` with each one whose title or abstract fails a :data:`WRITER_CHECKS` check
    (and nothing else) written once more; the rewrite replaces it when it passes."""
    redo = [
        i for i, g in enumerate(generations) if (failed := _writer_failures(g)) and failed <= WRITER_CHECKS
    ]
    if not redo:
        return generations
    again = writer.write(
        [combos[i] for i in redo],
        mode,
        progress=progress,
        **{**config.to_dict(), "seed": config.seed + REWRITE_SEED},
    )
    out = list(generations)
    for i, rewrite in zip(redo, again, strict=True):
        if not _writer_failures(rewrite):
            out[i] = rewrite
    return out


__all__ = ["REWRITE_SEED", "WRITER_CHECKS", "sample_generations", "weights_sha256"]

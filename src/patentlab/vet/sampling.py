"""Sample a batch for vetting, metering what it costs and recording where it came from.

This wraps the generator's sampler (:func:`~patentlab.generate.sample.load_generator`, torch or
llama.cpp) with the two things a cost-per-invention figure and a prior-art publication need:
the wall/CPU/GPU seconds and tokens of sampling, and the provenance of every text (model id and
weights hash, engine, sampling parameters, seed, prompt). The result is a generations file that
``patentlab vet run`` reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from patentlab.errors import PatentlabError
from patentlab.llm.loading import resolve_model, weights_sha256
from patentlab.vet.cost import Stopwatch
from patentlab.vet.generations import write_generations


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
    **sampling: Any,
) -> Path:
    """Sample ``n`` patents from ``model`` and write them, with cost and provenance, to ``out_path``.

    ``model`` is a trained generator run (its ``model`` folder or a LoRA adapter), a hub id such
    as ``alea-institute/kl3m-002-170m-patent``, or None for the packaged SmolLM2. ``sampling``
    holds the fields of :class:`~patentlab.generate.sample.SamplingConfig` (``temperature``,
    ``top_p``, ``top_k``, ``max_new_tokens``, ``repetition_penalty``, ``seed``, ``batch_size``,
    ``structure``, ``no_repeat_ngram_size``, ``distinct_lines``). ``dtype`` is the torch engine's.
    ``topic`` (free text or a CPC code) seeds every prompt and goes into the provenance.
    """
    from patentlab.generate.formats import check_mode
    from patentlab.generate.sample import SamplingConfig, load_generator

    if n < 1:
        raise PatentlabError("n must be at least 1", field="n")
    mode = check_mode(mode)
    resolved = None
    if topic is not None:  # checked before the model loads, so bad input costs nothing
        from patentlab.generate.topic import resolve_topic

        resolved = resolve_topic(topic)
    try:
        config = SamplingConfig(**sampling)
    except TypeError as exc:
        raise PatentlabError(f"unknown sampling setting ({exc})") from None
    load_time, sample_time = Stopwatch(), Stopwatch()
    with load_time:
        generator = load_generator(model, engine=engine, device=device, threads=threads, dtype=dtype)
    with sample_time:
        generations = generator.sample(mode, n, topic=topic, progress=progress, **config.to_dict())
    source = getattr(generator, "source", None) or resolve_model(model)
    meta: dict[str, Any] = {
        "model": {
            "name_or_path": str(model) if model is not None else "smollm2-135m",
            "resolved": source,
            "weights_sha256": weights_sha256(source),
        },
        "engine": generator.engine,
        "sampling": {"mode": mode, **config.to_dict()},
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
    return write_generations(out_path, [g.to_dict() for g in generations], meta)


__all__ = ["sample_generations", "weights_sha256"]

"""Sample a batch for vetting, metering what it costs and recording where it came from.

This wraps the generator's :class:`~patentlab.generate.sample.PatentGenerator` with the two things
a cost-per-invention figure and a prior-art publication need: the wall/CPU/GPU seconds and tokens
of sampling, and the provenance of every text (model id and weights hash, sampling parameters,
seed, prompt). The result is a generations file that ``patentlab vet run`` reads.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from patentlab.cache import cache_dir
from patentlab.errors import PatentlabError
from patentlab.vet.cost import Stopwatch
from patentlab.vet.generations import write_generations

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt")


def weights_sha256(model_dir: str | Path) -> str | None:
    """SHA-256 over a model folder's weight files (name and bytes, sorted by name); cached.

    The hash is cached under ``$PATENTLAB_CACHE/weights-sha256`` keyed by path, size and mtime,
    so a 500 MB model is read once. None for a hub id that is not a local folder.
    """
    path = Path(model_dir)
    if not path.is_dir():
        return None
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
    if not files:
        return None
    key_src = json.dumps([[str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns] for f in files])
    key = hashlib.sha256(key_src.encode()).hexdigest()[:32]
    cached = cache_dir("weights-sha256") / f"{key}.txt"
    if cached.is_file():
        return cached.read_text().strip()
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.name.encode() + b"\0")
        with open(f, "rb") as fh:
            while chunk := fh.read(1 << 22):
                digest.update(chunk)
    value = digest.hexdigest()
    cached.write_text(value + "\n")
    return value


def sample_generations(
    model: str | Path | None,
    out_path: str | Path,
    *,
    n: int = 16,
    mode: str = "top-down",
    temperature: float = 0.8,
    top_p: float = 0.95,
    top_k: int = 50,
    max_new_tokens: int = 384,
    repetition_penalty: float = 1.0,
    seed: int = 0,
    batch_size: int = 8,
    device: str | None = None,
    progress: bool = True,
) -> Path:
    """Sample ``n`` patents from ``model`` and write them, with cost and provenance, to ``out_path``.

    ``model`` is a trained generator run (its ``model`` folder or a LoRA adapter), a hub id such
    as ``alea-institute/kl3m-002-170m-patent``, or None for the packaged SmolLM2.
    """
    from patentlab.generate.model import resolve_model
    from patentlab.generate.sample import PatentGenerator

    if n < 1:
        raise PatentlabError("n must be at least 1", field="n")
    sampling = {
        "mode": mode,
        "temperature": temperature,
        "top_p": top_p,
        "top_k": top_k,
        "max_new_tokens": max_new_tokens,
        "repetition_penalty": repetition_penalty,
        "batch_size": batch_size,
    }
    load_time, sample_time = Stopwatch(), Stopwatch()
    with load_time:
        generator = PatentGenerator.from_pretrained(model, device=device)
    with sample_time:
        generations = generator.sample(
            mode,
            n,
            temperature=temperature,
            top_p=top_p,
            top_k=top_k,
            max_new_tokens=max_new_tokens,
            repetition_penalty=repetition_penalty,
            seed=seed,
            batch_size=batch_size,
            progress=progress,
        )
    on_gpu = generator.device.type == "cuda"
    source = resolve_model(model)
    tokens = sum(g.new_tokens for g in generations)
    meta: dict[str, Any] = {
        "model": {
            "name_or_path": str(model) if model is not None else "smollm2-135m",
            "resolved": source,
            "weights_sha256": weights_sha256(source),
        },
        "sampling": sampling,
        "seed": seed,
        "device": str(generator.device),
        # Loading is a one-off per batch; it is reported but not charged to the inventions.
        "load_seconds": round(load_time.wall, 3),
        "cost": {
            "wall_seconds": round(sample_time.wall, 3),
            "cpu_seconds": round(sample_time.cpu, 3),
            "gpu_seconds": round(sample_time.wall, 3) if on_gpu else 0.0,
            "tokens": tokens,
        },
    }
    rows = [g.to_dict() for g in generations]
    return write_generations(out_path, rows, meta)


__all__ = ["sample_generations", "weights_sha256"]

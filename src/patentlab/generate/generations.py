"""Reading and writing a batch of generations: a JSONL file plus a metadata sidecar.

Each row is one generated text (the prompt included) with what the sampler knows about it::

    {"text": "# Patent\\n\\n## Title\\n…", "prompt": "# Patent\\n\\n## Title\\n",
     "new_tokens": 412, "finished": true, "seed": 0}

``text`` may also be called ``generated_text`` (the seed's pipeline output). The sidecar
``<name>.meta.json`` holds what the whole batch shares: the model (id and weights hash), the
sampling parameters, and what sampling cost (wall/CPU/GPU seconds, tokens, device). Vetting and
publication read provenance and generation cost from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patentlab.errors import PatentlabError
from patentlab.jsonl import iter_objects, write_objects
from patentlab.storage import atomic_path, read_json, write_json

TEXT_KEYS = ("text", "generated_text", "generation")


@dataclass
class GeneratedText:
    """One row of a generations file."""

    text: str
    prompt: str = ""
    new_tokens: int | None = None
    finished: bool | None = None
    seed: int | None = None
    row: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def meta_path(path: str | Path) -> Path:
    """The sidecar of a generations file: ``gens.jsonl`` -> ``gens.meta.json``."""
    path = Path(path)
    return path.with_name(path.name.removesuffix(".jsonl") + ".meta.json")


def write_generations(path: str | Path, rows: Sequence[dict[str, Any]], meta: dict[str, Any]) -> Path:
    """Write rows (dicts with at least ``text``) and the batch metadata, atomically."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        write_objects(fh, rows)
    write_json(meta_path(path), meta)
    return path


def read_generations(path: str | Path) -> tuple[list[GeneratedText], dict[str, Any]]:
    """The rows of a generations file and its metadata (``{}`` when there is no sidecar)."""
    path = Path(path)
    if not path.is_file():
        raise PatentlabError("no such generations file", path=path)
    rows: list[GeneratedText] = []
    for number, obj in iter_objects(path):
        key = next((k for k in TEXT_KEYS if isinstance(obj.get(k), str)), None)
        if key is None:
            raise PatentlabError(f"no text (one of {', '.join(TEXT_KEYS)})", path=path, row=number)
        known = {key, "prompt", "new_tokens", "finished", "seed"}
        rows.append(
            GeneratedText(
                text=obj[key],
                prompt=str(obj.get("prompt") or ""),
                new_tokens=_int_or_none(obj.get("new_tokens"), path, number, "new_tokens"),
                finished=obj.get("finished") if isinstance(obj.get("finished"), bool) else None,
                seed=_int_or_none(obj.get("seed"), path, number, "seed"),
                row=number,
                extra={k: v for k, v in obj.items() if k not in known},
            )
        )
    if not rows:
        raise PatentlabError("the generations file is empty", path=path)
    meta: dict[str, Any] = {}
    sidecar = meta_path(path)
    if sidecar.is_file():
        meta = read_json(sidecar, "the metadata")
    return rows, meta


def _int_or_none(value: Any, path: Path, row: int, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PatentlabError("must be a number", path=path, row=row, field=name)
    return int(value)

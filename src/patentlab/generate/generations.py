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

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patentlab.errors import PatentlabError
from patentlab.generate.parse import ParsedPatent, parse_patent
from patentlab.jsonl import iter_objects, write_objects
from patentlab.storage import atomic_path, read_json, write_json

TEXT_KEYS = ("text", "generated_text", "generation")


@dataclass
class Generation:
    """One generated patent text: what a sampler or a writer returns, and one row of a
    generations file as read back.

    Attributes:
        prompt: the prompt the text continues ("" when unknown).
        text: the whole text, the prompt included.
        new_tokens: tokens generated (None when the file does not say).
        finished: True when the model ended the text itself, False at the token limit.
        seed: the sampling seed of the row.
        topic: the topic the prompt was seeded with
            (:meth:`patentlab.generate.topic.Topic.to_dict`).
        combination: what a grounded ("combine") text was built from
            (:mod:`patentlab.generate.combine`).
        row: the line number it was read from (0 for a fresh generation; never written).
        extra: the row's other fields as read (``parsed``, ``mode`` …), written back unchanged.
    """

    prompt: str
    text: str
    new_tokens: int | None = None
    finished: bool | None = None
    seed: int | None = None
    topic: dict[str, Any] | None = None
    combination: dict[str, Any] | None = None
    row: int = field(default=0, compare=False)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def parse(self) -> ParsedPatent:
        """The text read back into title, abstract and claims, with what is missing."""
        return parse_patent(self.text, finished=self.finished)

    def to_dict(self) -> dict[str, Any]:
        """The row as written to a generations file (``row`` is where it was read, not data)."""
        written = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in _NOT_WRITTEN
        }
        return {**self.extra, **written}


_NOT_WRITTEN = ("row", "extra")


def meta_path(path: str | Path) -> Path:
    """The sidecar of a generations file: ``gens.jsonl`` -> ``gens.meta.json``."""
    path = Path(path)
    return path.with_name(path.name.removesuffix(".jsonl") + ".meta.json")


def write_generations(
    path: str | Path, rows: Sequence[Generation | dict[str, Any]], meta: dict[str, Any] | None = None
) -> Path:
    """Write rows (:class:`Generation` objects, or dicts with at least ``text``) and the batch
    metadata, atomically; the one writer of generations files."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        write_objects(fh, (r.to_dict() if isinstance(r, Generation) else r for r in rows))
    write_json(meta_path(path), meta or {})
    return path


def read_generations(path: str | Path) -> tuple[list[Generation], dict[str, Any]]:
    """The rows of a generations file and its metadata (``{}`` when there is no sidecar)."""
    path = Path(path)
    if not path.is_file():
        raise PatentlabError("no such generations file", path=path)
    rows: list[Generation] = []
    for number, obj in iter_objects(path):
        key = next((k for k in TEXT_KEYS if isinstance(obj.get(k), str)), None)
        if key is None:
            raise PatentlabError(f"no text (one of {', '.join(TEXT_KEYS)})", path=path, row=number)
        known = {key, "prompt", "new_tokens", "finished", "seed"}
        known |= {k for k in ("topic", "combination") if obj.get(k) is None or isinstance(obj[k], dict)}
        rows.append(
            Generation(
                text=obj[key],
                prompt=str(obj.get("prompt") or ""),
                new_tokens=_int_or_none(obj.get("new_tokens"), path, number, "new_tokens"),
                finished=obj.get("finished") if isinstance(obj.get("finished"), bool) else None,
                seed=_int_or_none(obj.get("seed"), path, number, "seed"),
                topic=obj.get("topic") if isinstance(obj.get("topic"), dict) else None,
                combination=obj.get("combination") if isinstance(obj.get("combination"), dict) else None,
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

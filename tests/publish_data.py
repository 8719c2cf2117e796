"""Shared by the publication tests: real bundled patents as generations, vetted for real.

Records 0-7 are not in the novelty index (they pass as new inventions); 8-39 are (a generation
that copies one is a reproduction). Nothing here is synthetic: every text is a real patent.
"""

from __future__ import annotations

from pathlib import Path

from patentlab.data import sample_path
from patentlab.generate.data import iter_full_records
from patentlab.generate.formats import format_patent, prompt
from patentlab.generate.generations import write_generations
from patentlab.vet.novelty import NoveltyConfig, NoveltyIndex, load_training_documents
from patentlab.vet.vetting import vet_generations

META = {
    "model": {"name_or_path": "runs/generate/model", "weights_sha256": "cd" * 32},
    "sampling": {"mode": "top-down", "temperature": 0.8, "top_p": 0.95},
    "seed": 11,
    "device": "cpu",
}
NEW, KNOWN = range(0, 8), range(8, 40)
#: The section-coherence check loads MiniLM on every vetting call (tens of seconds on a busy
#: machine); the fast publication tests skip it. The heavy web test runs vet in full.
FAST_VET = {"coherence": False}
#: For tests of the log itself, fed real patents: the realism gate turns back about 10% of real
#: patents by design (calibrated so that 90% pass), so with it a batch of real records is never
#: all accepted, and which ones pass depends on the batch.
LOG_VET = {**FAST_VET, "realism": False}


def load_records() -> list[dict]:
    return [
        r
        for r in iter_full_records([str(sample_path("full_records_334.jsonl"))])
        if r.get("title") and r.get("abstract") and len(r.get("claims") or []) > 2
    ][:40]


def novelty_index(records: list[dict]) -> NoveltyIndex:
    docs = {d.id: d for d in load_training_documents(sample_path("full_records_334.jsonl"))}
    return NoveltyIndex(NoveltyConfig(encoder=None)).fit(
        [docs[records[i]["id"]] for i in KNOWN], show_progress=False
    )


def generation_rows(records: list[dict], picks) -> list[dict]:
    return [
        {
            "text": format_patent(records[i]),
            "prompt": prompt(),
            "new_tokens": 300,
            "finished": True,
            "seed": i,
        }
        for i in picks
    ]


def write_gens(path: Path, records: list[dict], picks) -> Path:
    return write_generations(path, generation_rows(records, picks), META)


def vet(tmp: Path, records: list[dict], index: NoveltyIndex, picks, name: str) -> Path:
    gens = write_gens(tmp / f"{name}.jsonl", records, picks)
    vet_generations(gens, index, tmp / name, show_progress=False, **FAST_VET)
    return tmp / name

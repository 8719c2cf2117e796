"""Training text for the generator: full records in both formats, de-duplicated, with a manifest.

Every record with a title, an abstract and claims becomes two documents, one top-down and one
bottom-up, and the two are shuffled together. Records are held out *as records* (both of their
documents go to the held-out split), and duplicates are found on the normalised title and
abstract, because the same invention published as an application and as a grant would otherwise
leak from training into the held-out perplexity. The manifest keeps every record's source and
licence: the seed insists on clean training data, and this is where a reader can check it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from patentlab.errors import PatentlabError
from patentlab.generate.formats import MODES, check_mode, claim_items, clean_field, format_patent
from patentlab.jsonl import iter_objects, write_objects
from patentlab.storage import atomic_dir, write_json

TRAIN_FILE = "train.jsonl"
HELDOUT_FILE = "heldout.jsonl"
MANIFEST_FILE = "manifest.json"
CORPUS_FILE = "corpus.parquet"  # what `patentlab corpus ingest` writes into its directory
UNKNOWN_LICENCE = "unknown (see source)"
#: USPTO bulk XML is the Office's own text, which is in the public domain, whatever tool shipped it.
USPTO_XML_LICENCE = "public domain (USPTO bulk XML)"
#: The bundled full records, in the order they are read: the verbatim USPTO weekly-grant
#: extracts first, so a grant that the JSONL sample also holds keeps its raw-XML source.
BUNDLED_XML_DIR = "uspto_xml/patentsview"
BUNDLED_JSONL = "full_records_334.jsonl"


@dataclass
class BuildReport:
    """What :func:`build_data` read, dropped and wrote."""

    out_dir: str
    records_read: int = 0
    records_used: int = 0
    skipped_incomplete: int = 0
    duplicates: int = 0
    train_records: int = 0
    heldout_records: int = 0
    train_docs: int = 0
    heldout_docs: int = 0
    modes: list[str] = field(default_factory=list)
    licences: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def bundled_full_record_sources() -> list[str]:
    """Every bundled file of full records (title, abstract, claims), for the demo and the tests.

    The nine PatentsView weekly-grant extracts (225 grants, 2005-2013, verbatim USPTO XML) and
    ``full_records_334.jsonl``. The JSONL sample was itself parsed from these extracts among
    other sources, so :func:`build_data` drops the grants it holds twice.
    """
    from patentlab.data import sample_path

    xml_dir = sample_path(BUNDLED_XML_DIR)
    return [*sorted(str(p) for p in xml_dir.glob("*.xml")), str(sample_path(BUNDLED_JSONL))]


def iter_full_records(sources: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Schema records from files (any format ``patentlab corpus ingest`` reads) or directories.

    A directory is a corpus dir (its ``corpus.parquet``) or a folder of files, read in name
    order. Each record gets a ``license`` key: the source row's ``license`` where the file has
    one (the bundled ``full_records_334.jsonl`` does), public domain for USPTO XML, else unknown.
    """
    from patentlab.corpus.readers import expand_sources, read_source

    for given in sources:
        path = Path(given)
        if path.is_dir() and (path / CORPUS_FILE).exists():
            files = [str(path / CORPUS_FILE)]
        else:
            files = expand_sources([str(given)])  # a folder of files, or the file itself
        for source in files:
            yield from _read_with_licences(source, read_source)


def _read_with_licences(source: str, read_source: Callable[[str], Iterator[Any]]) -> Iterator[dict[str, Any]]:
    tables = read_source(source)  # checks the source before anything opens it
    default = UNKNOWN_LICENCE
    if source.lower().endswith((".jsonl", ".ndjson")):
        licences = _jsonl_licences(Path(source))
    else:
        licences = {}
        if source.lower().endswith((".xml", ".sgml")):
            default = USPTO_XML_LICENCE
    for table in tables:
        for record in table.to_pylist():
            record["license"] = licences.get(record["id"], default)
            yield record


def _jsonl_licences(path: Path) -> dict[str, str]:
    """``{id: licence}`` from the raw JSON lines (the corpus schema has no licence column)."""
    from patentlab.corpus.readers.tabular import ALIASES

    licences: dict[str, str] = {}
    # Malformed lines are skipped: the corpus reader reports them with their row number.
    for _, obj in iter_objects(path, skip_invalid=True):
        if "license" not in obj:
            continue
        for alias in ALIASES["id"]:
            if obj.get(alias) is not None:
                licences[str(obj[alias]).strip()] = str(obj["license"])
                break
    return licences


def _dedup_key(record: dict[str, Any]) -> str:
    text = clean_field(record.get("title")).lower() + "\x1f" + clean_field(record.get("abstract")).lower()
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def build_data(
    sources: Sequence[str],
    out_dir: str | Path,
    *,
    heldout_fraction: float = 0.1,
    seed: int = 0,
    modes: Sequence[str] = MODES,
    max_chars: int | None = None,
) -> BuildReport:
    """Write ``train.jsonl``, ``heldout.jsonl`` and ``manifest.json`` into ``out_dir``.

    Args:
        sources: files or corpus directories (see :func:`iter_full_records`).
        out_dir: the data directory to (re)create, atomically.
        heldout_fraction: share of records held out for perplexity (at least one record).
        seed: shuffles the held-out choice and the document order.
        modes: which formats to write; both by default, mixed.
        max_chars: drop trailing claims so a document fits about this many characters
            (see :func:`patentlab.generate.formats.format_patent`); None keeps every claim.
    """
    start = time.perf_counter()
    if not sources:
        raise PatentlabError("no sources given")
    if not 0 < heldout_fraction < 1:
        raise PatentlabError(f"heldout_fraction must be between 0 and 1, not {heldout_fraction}")
    modes = [check_mode(m) for m in dict.fromkeys(modes)]
    report = BuildReport(out_dir=str(out_dir), modes=list(modes))

    records: list[dict[str, Any]] = []
    seen_keys: set[str] = set()
    seen_ids: set[str] = set()
    for record in iter_full_records(sources):
        report.records_read += 1
        if not (clean_field(record.get("title")) and clean_field(record.get("abstract"))
                and claim_items(record.get("claims") or [])):  # fmt: skip
            report.skipped_incomplete += 1
            continue
        key = _dedup_key(record)
        if key in seen_keys or record["id"] in seen_ids:
            report.duplicates += 1
            continue
        seen_keys.add(key)
        seen_ids.add(record["id"])
        records.append(record)
    if len(records) < 2:
        raise PatentlabError(
            f"only {len(records)} usable full record(s) (title, abstract and claims) in "
            f"{', '.join(map(str, sources))}; the generator needs full records, not claim-only rows"
        )
    report.records_used = len(records)

    rng = random.Random(seed)
    order = list(range(len(records)))
    rng.shuffle(order)
    n_heldout = max(1, round(heldout_fraction * len(records)))
    heldout_ids = {records[i]["id"] for i in order[:n_heldout]}

    splits: dict[str, list[dict[str, Any]]] = {"train": [], "heldout": []}
    for record in records:
        split = "heldout" if record["id"] in heldout_ids else "train"
        for mode in modes:
            splits[split].append({
                "id": record["id"], "mode": mode,
                "text": format_patent(record, mode, max_chars=max_chars),
                "source": record.get("source"), "license": record["license"],
            })  # fmt: skip
    for docs in splits.values():
        rng.shuffle(docs)

    report.train_records = len(records) - len(heldout_ids)
    report.heldout_records = len(heldout_ids)
    report.train_docs, report.heldout_docs = len(splits["train"]), len(splits["heldout"])
    report.licences = dict(Counter(r["license"] for r in records).most_common())
    report.seconds = round(time.perf_counter() - start, 3)
    manifest = {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "inputs": [str(s) for s in sources],
        "options": {"heldout_fraction": heldout_fraction, "seed": seed, "modes": list(modes),
                    "max_chars": max_chars},
        "report": report.to_dict(),
        "sources": dict(Counter(r.get("source") for r in records).most_common()),
        "records": [
            {"id": r["id"], "split": "heldout" if r["id"] in heldout_ids else "train",
             "source": r.get("source"), "license": r["license"], "title": clean_field(r.get("title"))}
            for r in records
        ],
    }  # fmt: skip
    with atomic_dir(out_dir) as staging:
        for split, name in (("train", TRAIN_FILE), ("heldout", HELDOUT_FILE)):
            with open(staging / name, "w", encoding="utf-8") as fh:
                write_objects(fh, splits[split])
        write_json(staging / MANIFEST_FILE, manifest)
    return report


def read_texts(data_dir: str | Path, split: str = "train") -> list[str]:
    """The document texts of one split (``"train"`` or ``"heldout"``) of a built data dir."""
    name = {"train": TRAIN_FILE, "heldout": HELDOUT_FILE}.get(split)
    if name is None:
        raise PatentlabError(f"unknown split '{split}'; choose train or heldout")
    path = Path(data_dir) / name
    if not path.exists():
        raise PatentlabError(f"missing {name}; run `patentlab generate build-data` first", path=data_dir)
    texts = []
    for row, obj in iter_objects(path):
        if "text" not in obj:
            raise PatentlabError("not a document row with a 'text' field", path=path, row=row)
        texts.append(obj["text"])
    if not texts:
        raise PatentlabError("no documents", path=path)
    return texts

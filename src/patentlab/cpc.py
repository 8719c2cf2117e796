"""The official CPC titles (2022-08 scheme), bundled: look a code up, or find codes by words.

Three bundled files (see ``data/PROVENANCE.md``): ``cpc/cpc_titles_202208.csv.gz`` (every section,
class, subclass and group, 260k rows), ``cpc/cpc_subclass_titles.csv`` and ``cpc/y02_titles.csv``
(the whole Y02 tree, 340 entries, with each entry's path of parent titles). Codes are accepted
with or without spaces ("Y02E 10/50" and "Y02E10/50" are the same code).
"""

from __future__ import annotations

import csv
import functools
import gzip
import re
from dataclasses import dataclass

from patentlab.errors import PatentlabError

_SPACES = re.compile(r"\s+")
# A CPC symbol: section letter, two-digit class, subclass letter, optionally "main/sub" group.
_CODE = re.compile(r"^[A-HY](\d{2}([A-Z](\d{1,4}/\d{2,6})?)?)?$")
# Cross-references in titles: "(making or covering furrows … A01C5/00; …)" and "{…}".
_REFERENCE = re.compile(r"\s*\([^()]*\)|\s*\{[^{}]*\}")


@dataclass(frozen=True)
class CpcEntry:
    """One CPC entry: its code (no spaces), level, official title and, for Y02, its title path."""

    code: str
    level: str
    title: str
    path_title: str = ""

    @property
    def words(self) -> str:
        """The title as plain words: cross-references dropped, sentence case."""
        return clean_title(self.path_title or self.title)


def normalize_code(code: str) -> str:
    """``"Y02E 10/50"`` -> ``"Y02E10/50"``; upper case, spaces removed."""
    return _SPACES.sub("", str(code)).upper()


def is_cpc_code(text: str) -> bool:
    """True when ``text`` has the shape of a CPC symbol (section, class, subclass or group)."""
    return bool(_CODE.match(normalize_code(text)))


def clean_title(title: str) -> str:
    """A CPC title as words: references in brackets dropped, "; " kept, sentence case."""
    text = title
    while True:  # nested brackets: drop the innermost first
        stripped = _REFERENCE.sub("", text)
        if stripped == text:
            break
        text = stripped
    text = text.replace(" > ", "; ").strip(" ;,")
    return text[:1].upper() + text[1:].lower() if text.isupper() else text


@functools.cache
def cpc_titles() -> dict[str, CpcEntry]:
    """Every CPC entry by code (Y02 entries carry their parent path)."""
    from patentlab.data import sample_path

    entries: dict[str, CpcEntry] = {}
    with gzip.open(sample_path("cpc/cpc_titles_202208.csv.gz"), "rt", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            entries[row["code"]] = CpcEntry(row["code"], row["level"], row["title"])
    for entry in y02_entries():
        entries[entry.code] = entry
    return entries


@functools.cache
def y02_entries() -> tuple[CpcEntry, ...]:
    """The Y02 tree (class, subclasses, groups and subgroups), in the scheme's order."""
    from patentlab.data import sample_path

    with sample_path("cpc/y02_titles.csv").open(encoding="utf-8") as f:
        return tuple(
            CpcEntry(r["code"], r["level"], r["title"], r.get("path_title") or "") for r in csv.DictReader(f)
        )


def lookup(code: str) -> CpcEntry:
    """The entry of ``code``; a one-line error when it is not a CPC code or not in the scheme."""
    key = normalize_code(code)
    if not is_cpc_code(key):
        raise PatentlabError(f"'{code}' is not a CPC code (e.g. 'Y02E 10/50' or 'H01L')", field="topic")
    entry = cpc_titles().get(key)
    if entry is None:
        raise PatentlabError(f"CPC code '{code}' is not in the 2022-08 CPC scheme", field="topic")
    return entry


def entries_at(*levels: str, exclude_section_y: bool = True) -> tuple[CpcEntry, ...]:
    """Every entry at ``levels`` (``"subclass"``, ``"group"`` …) in scheme order, Y section left out.

    The Y section tags cross-cutting themes (Y02 climate, Y04S smart grids, Y10 former USPC
    art collections), so it is no background for "what a claim is about" unless asked for.
    """
    wanted = set(levels)
    # Subclasses alone (the scorer's background) come from their own 674-row file, so asking for
    # them does not read the 260k-row title list.
    source = subclass_entries() if wanted == {"subclass"} else cpc_titles().values()
    return tuple(e for e in source if e.level in wanted and not (exclude_section_y and e.code[0] == "Y"))


@functools.cache
def subclass_entries() -> tuple[CpcEntry, ...]:
    """Every CPC subclass (``"H01L"``) with its official title, in scheme order."""
    from patentlab.data import sample_path

    with sample_path("cpc/cpc_subclass_titles.csv").open(encoding="utf-8") as f:
        return tuple(CpcEntry(r["code"], "subclass", r["title"]) for r in csv.DictReader(f))

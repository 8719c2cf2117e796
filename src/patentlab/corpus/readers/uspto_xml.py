"""USPTO bulk XML (grants and applications, 2001 to today) as tables in the corpus schema.

One reader covers the four layouts the USPTO has published, told apart by the root element:

- ``us-patent-grant`` / ``us-patent-application``: DTD v4.x, 2005 on (weekly ``ipg*.xml`` and
  ``ipa*.xml`` files); CPC codes from ``classifications-cpc`` in the newer versions.
- ``PATDOC``: the ST.32 v2.x grants of 2001–2004, SGML-derived tags (``B110`` number, ``B540``
  title, ``SDOAB`` abstract, ``SDOCL/CL/CLM`` claims).
- ``patent-application-publication``: the PAP v1.5/v1.6 applications of 2001–2004.

Weekly files are many complete XML documents glued together, so the file is read in blocks of
whole lines and split on XML declarations; only one document is held in memory at a time. Each document's
DOCTYPE is removed before parsing (it names DTDs that are never shipped with the data and must not
be fetched) and the SGML/HTML character entities those DTDs would have defined (``&lsqb;``,
``&mgr;`` …) are replaced by the characters they stand for.
"""

from __future__ import annotations

import html.entities
import re
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from lxml import etree

from patentlab.corpus.schema import PatentRecord, make_record, records_to_table
from patentlab.errors import PatentlabError

__all__ = ["XmlReadStats", "read_uspto_xml"]

_BATCH_DOCS = 1_000
_READ_SIZE = 1 << 20  # bytes read at a time

#: Elements whose content is a paragraph or a clause: their text is kept apart from neighbouring
#: text by a space, so ``<claim-text>…:</claim-text><claim-text>a …`` never runs words together.
_BLOCK_TAGS = frozenset(
    {"p", "claim-text", "heading", "li", "entry", "br",  # v4.x and PAP
     "PARA", "PTEXT", "CLMSTEP", "H", "BTEXT", "STEXT"}  # ST.32 v2.x
)  # fmt: skip

#: Cross-references whose content is inline even when the tags inside look like blocks: PAP writes
#: ``<dependent-claim-reference><claim-text>claim 2</claim-text></dependent-claim-reference>,``.
_INLINE_TAGS = frozenset({"dependent-claim-reference", "claim-ref", "CLREF"})

# PAP claims print the number in bold right against the text ("1.A method"); the other layouts
# and the corpus elsewhere write "1. A method".
_GLUED_CLAIM_NUMBER = re.compile(r"^(\d+)\.(?=[^\W\d_])")
# A declaration starts a new document; ``<?xml-stylesheet …?>`` and similar PIs do not.
_XML_DECL = re.compile(rb"<\?xml\s")
_ENTITY_REF = re.compile(rb"&([A-Za-z][A-Za-z0-9._-]*);")
_SUBSET_END = re.compile(rb"\]\s*>")  # end of a DOCTYPE's internal subset
_LINE_REF = re.compile(r"\bline (\d+)")
_PREDEFINED = frozenset({b"amp", b"lt", b"gt", b"quot", b"apos"})
_CPC_PARTS = ("section", "class", "subclass", "main-group", "subgroup")

# ISO 8879 Greek (ISOgrk1) names, used by the ST.32 and PAP DTDs but absent from HTML5:
# "agr" is alpha, "Agr" Alpha, "thgr" theta and so on.
_GREEK_STEMS = ("a", "b", "g", "d", "e", "z", "ee", "th", "i", "k", "l", "m",
                "n", "x", "o", "p", "r", "s", "t", "u", "ph", "kh", "ps", "oh")  # fmt: skip
_ISO_GREEK = {
    **{f"{s}gr": c for s, c in zip(_GREEK_STEMS, "αβγδεζηθικλμνξοπρστυφχψω", strict=True)},
    **{f"{s.upper()}gr": c for s, c in zip(_GREEK_STEMS, "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ", strict=True)},
    "sfgr": "ς",
}


def _entity_table() -> dict[bytes, bytes]:
    """Entity name -> numeric character reference, for every HTML5 and ISO Greek name."""
    table: dict[bytes, bytes] = {}
    for name, chars in {**html.entities.html5, **_ISO_GREEK}.items():
        name = name.rstrip(";")
        # Numeric references are valid in text and attributes alike and keep the bytes ASCII,
        # so the substitution is right whatever encoding the document declares.
        table[name.encode("ascii")] = "".join(f"&#x{ord(c):X};" for c in chars).encode("ascii")
    return table


_ENTITIES = _entity_table()


@dataclass
class XmlReadStats:
    """What :func:`read_uspto_xml` saw in one file; pass one in to inspect it afterwards."""

    documents: int = 0
    #: Documents not read, by reason (e.g. ``"sequence-cwu"`` for a sequence listing).
    skipped: Counter[str] = field(default_factory=Counter)
    #: Entity references with no known character, dropped from the text, by name.
    unknown_entities: Counter[str] = field(default_factory=Counter)


def read_uspto_xml(
    path: str | Path, *, source: str | None = None, stats: XmlReadStats | None = None
) -> Iterator[pa.Table]:
    """Stream the patent documents of a USPTO XML file as tables in the corpus schema.

    Parameters
    ----------
    path:
        A single-document file or a weekly file of concatenated documents (``ipg*.xml``).
    source:
        The ``source`` column value; defaults to ``uspto-xml:<file name>``.
    stats:
        Optional counters, filled in while reading (documents read, skipped, unknown entities).

    Yields
    ------
    Tables of up to 1,000 documents each. Documents of a kind this reader does not know (such
    as the sequence listings inside weekly grant files) are skipped with one warning per file.

    Raises
    ------
    PatentlabError
        For a missing or empty file, a file without patent documents, or malformed XML (the
        message gives the line and, in a weekly file, the document's position).
    """
    path = Path(path)
    if not path.is_file():
        raise PatentlabError("no such file", path=path)
    if path.stat().st_size == 0:
        raise PatentlabError("empty file; expected USPTO patent XML", path=path)
    source = source or f"uspto-xml:{path.name}"
    stats = stats if stats is not None else XmlReadStats()
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        recover=False,
        remove_comments=True,
        remove_pis=True,
        huge_tree=True,  # safe: the DOCTYPE is gone, so no entity can expand
    )
    batch: list[PatentRecord] = []
    read = 0
    skipped: Counter[str] = Counter()  # this file's skips; ``stats`` may span several files
    for index, offset, data in _split_documents(path):
        root = _parse(data, parser, path=path, index=index, offset=offset, stats=stats)
        extract = _EXTRACTORS.get(root.tag) if isinstance(root.tag, str) else None
        fields = extract(root) if extract is not None else None
        if fields is None or not fields["id"]:
            # Not a patent (weekly grant files carry sequence listings as separate documents),
            # or one without a number, which could not be told apart from others downstream.
            reason = "no document number" if fields is not None else str(root.tag)
            skipped[reason] += 1
            stats.skipped[reason] += 1
            continue
        batch.append(make_record(source=source, **fields))
        read += 1
        stats.documents += 1
        if len(batch) >= _BATCH_DOCS:
            yield records_to_table(batch)
            batch = []
    if batch:
        yield records_to_table(batch)
    summary = ", ".join(f"{reason} ×{n}" for reason, n in skipped.items())
    if read == 0:
        found = f"; skipped {skipped.total()} document(s): {summary}" if skipped else ""
        raise PatentlabError(f"no USPTO patent documents found{found}", path=path)
    if skipped:
        warnings.warn(f"{path.name}: skipped document(s) not read as patents: {summary}", stacklevel=2)


# --------------------------------------------------------------------------- splitting, parsing


def _split_documents(path: Path) -> Iterator[tuple[int, int, bytes]]:
    """Yield ``(index, byte offset, bytes)`` for each XML document in the file, index 1-based.

    The file is read about 1 MiB at a time, always up to a line end, and searched for XML
    declarations, each of which starts a new document; only the current document and one block
    are in memory. Line numbers are not tracked here: they are only needed for an error message.
    """
    doc: list[bytes] = []  # pieces of the current document
    start = 0  # file offset of the current document
    index = 0
    offset = 0  # file offset of the current block
    with path.open("rb") as fh:
        while block := fh.read(_READ_SIZE):
            block += fh.readline()
            taken = 0
            for match in _XML_DECL.finditer(block):
                pos = match.start()
                doc.append(block[taken:pos])
                if found := _trim(doc, start):
                    index += 1
                    yield index, *found
                doc, start, taken = [], offset + pos, pos
            doc.append(block[taken:])
            offset += len(block)
    if found := _trim(doc, start):
        yield index + 1, *found


def _trim(doc: list[bytes], start: int) -> tuple[int, bytes] | None:
    """Join a document's pieces without leading blanks or BOM; None if nothing else is left.

    lxml requires the XML declaration to be the very first bytes; the offset moves past what was
    dropped so that error positions still map back to the file.
    """
    data = b"".join(doc)
    body = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    return (start + len(data) - len(body), body) if body else None


def _line_at(path: Path, offset: int) -> int:
    """The 1-based line of ``path`` on which byte ``offset`` lies (for error messages only)."""
    newlines = 0
    with path.open("rb") as fh:
        while offset > 0 and (block := fh.read(min(offset, _READ_SIZE))):
            newlines += block.count(b"\n")
            offset -= len(block)
    return newlines + 1


def _parse(
    data: bytes, parser: etree.XMLParser, *, path: Path, index: int, offset: int, stats: XmlReadStats
) -> etree._Element:
    """Parse one document, turning any lxml error into a :class:`PatentlabError`."""
    data = _replace_entities(_strip_doctype(data), stats)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (1, 0)
        start_line = _line_at(path, offset)
        shift = start_line - 1
        # lxml numbers lines from the start of the document; report lines of the file.
        reason = re.sub(r",? line \d+, column \d+$", "", str(exc.msg or exc))
        reason = _LINE_REF.sub(lambda m: f"line {int(m.group(1)) + shift}", reason)
        where = f"at line {line + shift}, column {column}"
        if index > 1 or start_line > 1:
            where += f" (document {index} in the file, starting at line {start_line})"
        raise PatentlabError(f"malformed XML {where}: {reason}", path=path, row=index) from None


def _strip_doctype(data: bytes) -> bytes:
    """Blank out the DOCTYPE (and its internal subset), keeping the line count unchanged."""
    pos = 0
    while True:
        lt = data.find(b"<", pos)
        if lt < 0:
            return data
        if data.startswith(b"<?", lt):
            end = data.find(b"?>", lt)
            pos = len(data) if end < 0 else end + 2
        elif data.startswith(b"<!--", lt):
            end = data.find(b"-->", lt)
            pos = len(data) if end < 0 else end + 3
        elif data.startswith(b"<!DOCTYPE", lt):
            bracket, close = data.find(b"[", lt), data.find(b">", lt)
            if close < 0:
                return data  # let lxml report the broken prolog
            if 0 <= bracket < close:
                subset_end = _SUBSET_END.search(data, bracket)
                if subset_end is None:
                    return data
                close = subset_end.end() - 1
            doctype = data[lt : close + 1]
            return data[:lt] + b"\n" * doctype.count(b"\n") + data[close + 1 :]
        else:
            return data  # the root element: no DOCTYPE in the prolog


def _replace_entities(data: bytes, stats: XmlReadStats) -> bytes:
    """Replace named entities the (removed) DTD would have defined; drop unknown ones."""
    if b"&" not in data:
        return data

    def replace(match: re.Match[bytes]) -> bytes:
        name = match.group(1)
        if name in _PREDEFINED:
            return match.group(0)
        chars = _ENTITIES.get(name)
        if chars is None:
            stats.unknown_entities[name.decode("ascii")] += 1
            return b""
        return chars

    return _ENTITY_REF.sub(replace, data)


# --------------------------------------------------------------------------- field extraction


def _text(el: etree._Element | None) -> str | None:
    """All text under ``el`` on one line, with block elements separated by a space."""
    if el is None:
        return None
    parts: list[str] = []
    _collect(el, parts)
    return " ".join("".join(parts).split()) or None


def _collect(el: etree._Element, parts: list[str], inline: bool = False) -> None:
    block = not inline and el.tag in _BLOCK_TAGS
    inline = inline or el.tag in _INLINE_TAGS
    if block:
        parts.append(" ")
    if el.text:
        parts.append(el.text)
    for child in el:
        _collect(child, parts, inline)
        if child.tail:
            parts.append(child.tail)
    if block:
        parts.append(" ")


def _claims(elements: Iterable[etree._Element]) -> list[str]:
    """One text per claim element, claim numbers written as ``1. …``."""
    claims = []
    for el in elements:
        text = _text(el)
        if text:
            claims.append(_GLUED_CLAIM_NUMBER.sub(r"\1. ", text))
    return claims


def _find_text(el: etree._Element | None, path: str) -> str | None:
    return _text(el.find(path)) if el is not None else None


def _cpc_code(el: etree._Element) -> str | None:
    """``<classification-cpc>`` parts -> ``Y02E10/50``; None when a part is missing."""
    parts = [(el.findtext(tag) or "").strip() for tag in _CPC_PARTS]
    if not all(parts):
        return None
    section, cls, subclass, group, subgroup = parts
    return f"{section}{cls}{subclass}{group}/{subgroup}"


def _extract_v4(root: etree._Element) -> dict[str, Any]:
    """``us-patent-grant`` / ``us-patent-application``, DTD v4.0 to v4.7."""
    biblio = next((c for c in root if str(c.tag).startswith("us-bibliographic-data")), None)
    pub = biblio.find("publication-reference/document-id") if biblio is not None else None
    cpc: list[str] | None = None
    # Only the document's own classification: citations and the field of search carry CPC
    # symbols too, which say nothing about this invention.
    block = biblio.find("classifications-cpc") if biblio is not None else None
    if block is not None:
        cpc = [c for c in map(_cpc_code, block.iter("classification-cpc")) if c]
    claims = root.find("claims")
    return {
        "id": _find_text(pub, "doc-number"),
        "date": _find_text(pub, "date"),
        "title": _find_text(biblio, "invention-title"),
        "abstract": " ".join(filter(None, map(_text, root.iterfind("abstract")))) or None,
        "claims": _claims(claims.iterfind("claim")) if claims is not None else [],
        "cpc": cpc,
        "doc_type": "granted" if root.tag == "us-patent-grant" else "application",
    }


def _extract_st32(root: etree._Element) -> dict[str, Any]:
    """``PATDOC``: ST.32 v2.x grants (2001–2004), including design, plant and reissue kinds."""
    bib = root.find("SDOBI")
    return {
        "id": _find_text(bib, "B100/B110/DNUM"),
        "date": _find_text(bib, "B100/B140/DATE"),
        "title": _find_text(bib, "B500/B540"),
        "abstract": _text(root.find("SDOAB")),
        "claims": _claims(root.iterfind("SDOCL/CL/CLM")),
        "cpc": None,  # v2.x predates CPC
        "doc_type": "granted",
    }


def _extract_pap(root: etree._Element) -> dict[str, Any]:
    """``patent-application-publication``: PAP v1.5/v1.6 applications (2001–2004)."""
    bib = root.find("subdoc-bibliographic-information")
    title = _find_text(bib, "technical-information/title-of-invention") or _find_text(
        bib, ".//title-of-invention"
    )
    claims = root.find("subdoc-claims")
    return {
        "id": _find_text(bib, "document-id/doc-number"),
        "date": _find_text(bib, "document-id/document-date"),
        "title": title,
        "abstract": _text(root.find("subdoc-abstract")),
        "claims": _claims(claims.iterfind("claim")) if claims is not None else [],
        "cpc": None,  # PAP predates CPC
        "doc_type": "application",
    }


_EXTRACTORS: dict[str, Callable[[etree._Element], dict[str, Any]]] = {
    "us-patent-grant": _extract_v4,
    "us-patent-application": _extract_v4,
    "PATDOC": _extract_st32,
    "patent-application-publication": _extract_pap,
}

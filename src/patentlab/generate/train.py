"""Fine-tune a causal LM on built patent text: full or LoRA, with checkpoints and resume.

The loop is deliberately small and explicit (no ``Trainer``): it pads each batch only to its
longest document, masks padding out of the loss, accumulates gradients, evaluates held-out
loss and perplexity before and after, and writes a checkpoint that a later call resumes from at
the exact batch where it stopped (the batch order is a pure function of the seed and step).

With ``eval_every`` it also records a learning curve: the held-out perplexity every k steps,
with the model saved at each of those points (``points/step-000k``), so that a later step
(``patentlab vet curve``) can sample and vet each point and pair perplexity with a hit rate.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from patentlab.errors import PatentlabError
from patentlab.generate.data import MANIFEST_FILE, read_texts
from patentlab.llm.loading import PACKAGED_SMOLLM2, fast_dtype, load_causal_lm, model_summary
from patentlab.storage import atomic_dir, write_json

if TYPE_CHECKING:
    import torch

CHECKPOINT_DIR = "checkpoint"
MODEL_DIR = "model"
REPORT_FILE = "training_report.json"
PLOT_FILE = "loss.png"
POINTS_DIR = "points"
METHODS = ("lora", "full")


@dataclass
class TrainConfig:
    """Fine-tuning settings. Defaults give a real, minutes-long LoRA run on a 2-core CPU.

    ``learning_rate=None`` picks 2e-4 for LoRA and 5e-5 for full fine-tuning. ``max_steps``
    counts optimizer steps, each ``batch_size * grad_accum`` documents of at most
    ``max_length`` tokens. ``bf16=None`` uses bfloat16 autocast where the hardware supports it.
    """

    base_model: str = PACKAGED_SMOLLM2
    method: Literal["lora", "full"] = "lora"
    max_steps: int = 60
    batch_size: int = 4
    grad_accum: int = 1
    max_length: int = 256
    learning_rate: float | None = None
    warmup_steps: int = 5
    weight_decay: float = 0.0
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    eval_every: int = 0  # 0: evaluate only before and after
    save_every: int = 20
    max_eval_docs: int | None = 64
    seed: int = 0
    device: str | None = None
    bf16: bool | None = None
    save_points: bool = True  # save the model at every eval_every point (the learning curve)

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> TrainConfig:
        """A named budget (:data:`PRESETS`), with any field overridden.

        ``demo`` is what ``make demo`` runs (minutes on 2 CPU cores); ``full`` is about an
        hour on a 2-core CPU, a few minutes on a GPU, and evaluates every held-out document.
        """
        if name not in PRESETS:
            raise PatentlabError(
                f"unknown preset '{name}'; choose one of {', '.join(PRESETS)}", field="preset"
            )
        return cls(**{**PRESETS[name], **overrides})

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise PatentlabError(f"unknown method '{self.method}'; choose one of {', '.join(METHODS)}")
        for name in ("max_steps", "batch_size", "grad_accum", "max_length"):
            if getattr(self, name) < 1:
                raise PatentlabError(f"{name} must be at least 1", field=name)
        if self.eval_every < 0 or self.save_every < 0:
            raise PatentlabError("eval_every and save_every must be >= 0 (0: off)")

    @property
    def lr(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return 2e-4 if self.method == "lora" else 5e-5


#: Training budgets. The demo's documents are built with ``max_chars=1200`` (every section fits
#: 256 tokens); ``full`` is meant for documents built whole (``build-data`` without ``--max-chars``).
PRESETS: dict[str, dict[str, Any]] = {
    # 16 steps and 16 held-out documents: the demo's fine-tune fits its share of the 15-minute
    # budget on a 2-core AVX2 CPU (24 steps and 32 documents took 272 s there).
    "demo": {"method": "lora", "max_steps": 16, "batch_size": 4, "max_length": 256,
             "eval_every": 8, "save_every": 8, "max_eval_docs": 16},
    # 200 x 4 documents of up to 512 tokens: about 1.3 passes over the bundled training text.
    "full": {"method": "lora", "max_steps": 200, "batch_size": 4, "max_length": 512,
             "eval_every": 50, "save_every": 50, "max_eval_docs": None, "warmup_steps": 10},
}  # fmt: skip


@dataclass
class TrainResult:
    """Losses and perplexities of one run (also written to ``training_report.json``)."""

    out_dir: str
    model_dir: str
    steps: int
    heldout_loss_before: float
    heldout_loss_after: float
    train_loss: list[tuple[int, float]] = field(default_factory=list)
    heldout_loss: list[tuple[int, float]] = field(default_factory=list)
    tokens_seen: int = 0
    seconds: float = 0.0
    resumed_from: int | None = None
    device: str = "cpu"
    model: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    #: One point per evaluation: step, held-out loss and perplexity, and the model saved there
    #: (relative to the run dir; the base model's name at step 0), for ``patentlab vet curve``.
    learning_curve: list[dict[str, Any]] = field(default_factory=list)

    @property
    def perplexity_before(self) -> float:
        return math.exp(self.heldout_loss_before)

    @property
    def perplexity_after(self) -> float:
        return math.exp(self.heldout_loss_after)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "perplexity_before": self.perplexity_before,
                "perplexity_after": self.perplexity_after}  # fmt: skip


def tokenize_docs(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids of each document, cut at ``max_length``.

    A document that fits ends in the end-of-text token, so the model learns to stop after the
    last section; a cut one does not, so it never learns to stop in mid-document.
    """
    eos = tokenizer.eos_token_id
    ids = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    return [[*row, eos] if len(row) < max_length else row[:max_length] for row in ids]


def collate(docs: Sequence[Sequence[int]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a batch to its longest document; padding gets label -100 (no loss)."""
    import torch

    width = max(len(d) for d in docs)
    input_ids = torch.full((len(docs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(docs), width), dtype=torch.long)
    for i, doc in enumerate(docs):
        input_ids[i, : len(doc)] = torch.tensor(doc)
        mask[i, : len(doc)] = 1
    labels = input_ids.masked_fill(mask == 0, -100)
    return {"input_ids": input_ids, "attention_mask": mask, "labels": labels}


def _autocast(device: str, enabled: bool):
    import torch

    return torch.autocast(device_type="cuda" if device.startswith("cuda") else "cpu",
                          dtype=torch.bfloat16, enabled=enabled)  # fmt: skip


def heldout_loss(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    *,
    max_length: int = 256,
    batch_size: int = 4,
    bf16: bool = False,
) -> float:
    """Mean next-token loss (nats per token) over ``texts``; ``exp`` of it is the perplexity."""
    import torch
    import torch.nn.functional as F

    device = str(next(model.parameters()).device)
    docs = sorted(tokenize_docs(tokenizer, texts, max_length), key=len)
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(docs), batch_size):
            batch = {k: v.to(device) for k, v in collate(docs[start : start + batch_size], 0).items()}
            with _autocast(device, bf16):
                logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            labels = batch["labels"][:, 1:]
            loss = F.cross_entropy(
                logits[:, :-1].float().reshape(-1, logits.shape[-1]), labels.reshape(-1),
                ignore_index=-100, reduction="sum",
            )  # fmt: skip
            total += loss.item()
            count += int((labels != -100).sum())
    model.train(was_training)
    return total / max(count, 1)


def _batch_indices(n_docs: int, batch_size: int, micro_step: int, seed: int) -> list[int]:
    """The documents of one micro-batch: epochs of seeded permutations, laid end to end."""
    start = micro_step * batch_size
    indices = []
    for position in range(start, start + batch_size):
        epoch, offset = divmod(position, n_docs)
        order = list(range(n_docs))
        random.Random(seed * 100_003 + epoch).shuffle(order)
        indices.append(order[offset])
    return indices


def train(
    data_dir: str | Path,
    out_dir: str | Path,
    config: TrainConfig | None = None,
    *,
    resume: bool = True,
    progress: bool = True,
    on_step: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Fine-tune ``config.base_model`` on ``data_dir`` (from :func:`build_data`) into ``out_dir``.

    Writes ``out_dir/model`` (a LoRA adapter, or the full model, plus the tokenizer; load either
    with :func:`patentlab.llm.loading.load_causal_lm`), ``training_report.json`` and
    ``loss.png``. A checkpoint in ``out_dir/checkpoint`` is written every ``save_every`` steps
    and resumed from when ``resume`` is true.
    """
    import torch

    config = config or TrainConfig()
    out_dir = Path(out_dir)
    train_texts = read_texts(data_dir, "train")
    eval_texts = read_texts(data_dir, "heldout")[: config.max_eval_docs]
    start_time = time.perf_counter()

    random.seed(config.seed)
    torch.manual_seed(config.seed)
    model, tokenizer = load_causal_lm(config.base_model, device=config.device)
    device = str(next(model.parameters()).device)
    # On CPUs with AMX or AVX512-BF16 (and bf16 GPUs), bfloat16 matmuls are markedly faster.
    bf16 = fast_dtype(device) == torch.bfloat16 if config.bf16 is None else config.bf16
    if config.method == "lora":
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(
            r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
            target_modules="all-linear", task_type="CAUSAL_LM",
        ))  # fmt: skip
        # Record the portable name, not this machine's cache path, so the adapter loads anywhere.
        model.peft_config["default"].base_model_name_or_path = config.base_model
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _linear_warmup_decay(config))

    docs = tokenize_docs(tokenizer, train_texts, config.max_length)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    evaluate = lambda: heldout_loss(  # noqa: E731
        model, tokenizer, eval_texts, max_length=config.max_length, batch_size=config.batch_size, bf16=bf16
    )

    checkpoint = out_dir / CHECKPOINT_DIR
    state = _load_checkpoint(checkpoint, model, optimizer, scheduler, config) if resume else None
    resumed_from = state["step"] if state else None
    if state is None:
        state = {"step": 0, "train_loss": [], "heldout_loss": [], "tokens_seen": 0,
                 "heldout_loss_before": evaluate(), "learning_curve": []}  # fmt: skip
        state["heldout_loss"].append((0, state["heldout_loss_before"]))
        state["learning_curve"].append(_curve_point(0, state["heldout_loss_before"], config.base_model))
    state.setdefault("learning_curve", [])

    model.train()
    from patentlab import console

    with console.progress(transient=not progress) as bar:
        task = bar.add_task("fine-tune", total=config.max_steps, completed=state["step"])
        while state["step"] < config.max_steps:
            step_loss, step_tokens = 0.0, 0
            for micro in range(config.grad_accum):
                indices = _batch_indices(
                    len(docs), config.batch_size, state["step"] * config.grad_accum + micro, config.seed
                )
                batch = {k: v.to(device) for k, v in collate([docs[i] for i in indices], pad_id).items()}
                with _autocast(device, bf16):
                    loss = model(**batch).loss / config.grad_accum
                loss.backward()
                step_loss += loss.item()
                step_tokens += int(batch["attention_mask"].sum())
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            state["step"] += 1
            state["tokens_seen"] += step_tokens
            state["train_loss"].append((state["step"], round(step_loss, 5)))
            bar.update(task, advance=1, description=f"fine-tune (loss {step_loss:.3f})")
            if on_step is not None:
                on_step(state["step"], step_loss)
            if (
                config.eval_every
                and state["step"] % config.eval_every == 0
                and state["step"] < config.max_steps
            ):
                loss_now = evaluate()
                state["heldout_loss"].append((state["step"], loss_now))
                point = None
                if config.save_points:
                    point = f"{POINTS_DIR}/step-{state['step']:06d}"
                    _save_model(out_dir / point, model, tokenizer, config)
                state["learning_curve"].append(_curve_point(state["step"], loss_now, point))
            if config.save_every and state["step"] % config.save_every == 0:
                _save_checkpoint(checkpoint, model, optimizer, scheduler, state, config)

    after = evaluate()
    if not state["heldout_loss"] or state["heldout_loss"][-1][0] != state["step"]:
        state["heldout_loss"].append((state["step"], after))
    model_dir = out_dir / MODEL_DIR
    _save_model(model_dir, model, tokenizer, config)
    if not any(p["step"] == state["step"] for p in state["learning_curve"]):
        state["learning_curve"].append(_curve_point(state["step"], after, MODEL_DIR))
    result = TrainResult(
        out_dir=str(out_dir), model_dir=str(model_dir), steps=state["step"],
        heldout_loss_before=state["heldout_loss_before"], heldout_loss_after=after,
        train_loss=[tuple(x) for x in state["train_loss"]],
        heldout_loss=[tuple(x) for x in state["heldout_loss"]],
        tokens_seen=state["tokens_seen"], seconds=round(time.perf_counter() - start_time, 2),
        resumed_from=resumed_from, device=device, model=model_summary(model),
        learning_curve=list(state["learning_curve"]),
        config={**asdict(config), "lr": config.lr, "bf16": bf16, "train_docs": len(docs),
                "eval_docs": len(eval_texts), "data_dir": str(data_dir),
                "data_manifest": str(Path(data_dir) / MANIFEST_FILE)},
    )  # fmt: skip
    write_json(out_dir / REPORT_FILE, result.to_dict())
    plot_losses(result, out_dir / PLOT_FILE)
    _save_checkpoint(checkpoint, model, optimizer, scheduler, state, config)
    return result


def _save_model(target: Path, model: Any, tokenizer: Any, config: TrainConfig) -> None:
    # LoRA trains no embeddings; saying so keeps peft from looking the base name up on the hub.
    save_options = {"save_embedding_layers": False} if config.method == "lora" else {}
    with atomic_dir(target) as staging:
        model.save_pretrained(staging, **save_options)
        tokenizer.save_pretrained(staging)


def _curve_point(step: int, loss: float, model: str | None) -> dict[str, Any]:
    return {
        "step": step,
        "heldout_loss": round(loss, 5),
        "perplexity": round(math.exp(loss), 3),
        "model": model,
    }


def _linear_warmup_decay(config: TrainConfig) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < config.warmup_steps:
            return (step + 1) / (config.warmup_steps + 1)
        remaining = config.max_steps - config.warmup_steps
        return max(0.0, (config.max_steps - step) / max(remaining, 1))

    return factor


def _trainable_state(model: Any) -> dict[str, torch.Tensor]:
    return {n: p.detach().contiguous() for n, p in model.named_parameters() if p.requires_grad}


def _save_checkpoint(
    path: Path, model: Any, optimizer: Any, scheduler: Any, state: dict, config: TrainConfig
):
    import torch
    from safetensors.torch import save_file

    with atomic_dir(path) as staging:
        save_file(
            {k: v.cpu() for k, v in _trainable_state(model).items()}, str(staging / "trainable.safetensors")
        )
        torch.save(
            {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, staging / "optim.pt"
        )
        write_json(staging / "state.json", {**state, "config": asdict(config)})


def _load_checkpoint(path: Path, model: Any, optimizer: Any, scheduler: Any, config: TrainConfig):
    """Restore weights, optimizer and step from ``path``; None when there is nothing to resume."""
    import torch
    from safetensors.torch import load_file

    state_file = path / "state.json"
    if not state_file.exists():
        return None
    state = json.loads(state_file.read_text(encoding="utf-8"))
    saved = state.pop("config", {})
    for key in ("base_model", "method", "batch_size", "grad_accum", "max_length", "seed", "lora_r"):
        if saved.get(key) != getattr(config, key):
            raise PatentlabError(
                f"the checkpoint was trained with {key}={saved.get(key)!r}, not {getattr(config, key)!r}; "
                "use the same settings, or --no-resume to start over",
                path=path,
            )
    device = str(next(model.parameters()).device)
    weights = load_file(str(path / "trainable.safetensors"), device=device)
    missing = set(_trainable_state(model)) - set(weights)
    if missing:
        raise PatentlabError(f"checkpoint lacks {len(missing)} trained tensors", path=path)
    model.load_state_dict(weights, strict=False)
    optim = torch.load(path / "optim.pt", map_location=device, weights_only=True)
    optimizer.load_state_dict(optim["optimizer"])
    scheduler.load_state_dict(optim["scheduler"])
    return state


def plot_losses(result: TrainResult, target: str | Path) -> Path:
    """Train loss per step and held-out loss at each evaluation, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from patentlab.storage import atomic_path

    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=120)
    if result.train_loss:
        steps, losses = zip(*result.train_loss, strict=True)
        ax.plot(steps, losses, lw=1, alpha=0.8, label="train loss")
    steps, losses = zip(*result.heldout_loss, strict=True)
    ax.plot(steps, losses, "o-", label="held-out loss")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (nats/token)")
    ax.set_title(f"perplexity {result.perplexity_before:.1f} → {result.perplexity_after:.1f}")
    ax.legend()
    fig.tight_layout()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return Path(target)

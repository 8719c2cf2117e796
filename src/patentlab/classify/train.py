"""Fine-tuning: encoder + linear head, a per-example weighted loss, checkpoints and resume.

The defaults are the card's: AdamW, lr 2e-5, batch 16, 3 epochs, 100 warmup steps, weight decay
0.01, a linear schedule, gradient clipping at 1.0 and max_length 384. Gold examples carry a
larger weight (the card's ×5) in the loss. After every epoch the model is evaluated; the best epoch
(by green F1 on the eval set) is the one saved. A checkpoint every ``checkpoint_every`` steps
and at every epoch end lets an interrupted run resume exactly where it stopped.
"""

from __future__ import annotations

import contextlib
import math
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from patentlab import console
from patentlab.classify.data import LabeledTexts, text_summary
from patentlab.classify.metrics import binary_metrics, multilabel_metrics
from patentlab.corpus.schema import Y02_CATEGORIES
from patentlab.errors import PatentlabError
from patentlab.storage import atomic_path, write_json

MODEL_DIR = "model"
CHECKPOINT_DIR = "checkpoint"
HISTORY_FILE = "history.json"
#: The columns of the card's "Training Progress" table.
EPOCH_COLUMNS = ("epoch", "train_loss", "eval_loss", "accuracy", "precision", "recall", "f1")


@dataclass
class TrainConfig:
    """Fine-tuning settings; the defaults are the card's."""

    base_model: str = "minilm"
    epochs: int = 3
    batch_size: int = 16
    lr: float = 2e-5
    warmup_steps: int = 100
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    max_length: int = 384
    y02_head: bool = False
    y02_loss_weight: float = 0.5
    bf16: bool = False
    seed: int = 42
    checkpoint_every: int = 50
    device: str | None = None

    def identity(self) -> dict:
        """The settings a checkpoint must share to be resumed (not where or how often it saves)."""
        d = asdict(self)
        for key in ("checkpoint_every", "device"):
            d.pop(key)
        return d


@dataclass
class TrainResult:
    model_dir: Path
    history: list[dict]
    best_epoch: int
    resumed_from_step: int = 0
    reused: bool = False
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)


def _weighted_losses(model, batch, device, config: TrainConfig):
    import torch
    import torch.nn.functional as F

    ids, mask, labels, weights, y02 = (t.to(device) for t in batch)
    with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=config.bf16):
        logits, y02_logits = model(ids, mask)
    per_example = F.cross_entropy(logits.float(), labels, reduction="none")
    loss = (per_example * weights).sum() / weights.sum()
    if y02_logits is not None:
        known = (y02 >= 0).all(dim=1)
        if known.any():
            bce = F.binary_cross_entropy_with_logits(y02_logits.float()[known], y02[known].float())
            loss = loss + config.y02_loss_weight * bce
    return loss


def _collate(tokenizer, input_ids: list[list[int]], data: LabeledTexts, idx: np.ndarray):
    import torch

    padded = tokenizer.pad({"input_ids": [input_ids[i] for i in idx]}, return_tensors="pt")
    y02 = data.y02[idx] if data.y02 is not None else np.full((len(idx), len(Y02_CATEGORIES)), -1)
    return (
        padded["input_ids"],
        padded["attention_mask"],
        torch.as_tensor(data.labels[idx], dtype=torch.long),
        torch.as_tensor(data.weights[idx], dtype=torch.float32),
        torch.as_tensor(y02, dtype=torch.long),
    )


def evaluate_model(model, data: LabeledTexts, batch_size: int = 32) -> tuple[dict, np.ndarray]:
    """Metrics of a :class:`GreenClassifier` on ``data``, plus its ``p_green`` per example."""
    probs, y02 = model.proba_from_embeddings(model.embed(data.texts, batch_size=batch_size))
    metrics = binary_metrics(data.labels, probs[:, 1])
    if y02 is not None and data.y02 is not None:
        metrics["y02"] = multilabel_metrics(data.y02, y02, Y02_CATEGORIES)
    return metrics, probs[:, 1]


def train(
    data: LabeledTexts,
    out_dir: str | Path,
    config: TrainConfig | None = None,
    *,
    eval_data: LabeledTexts | None = None,
    on_epoch: Callable[[dict], None] | None = None,
    on_step: Callable[[int, float], None] | None = None,
    show_progress: bool = True,
) -> TrainResult:
    """Fine-tune ``config.base_model`` + a linear head on ``data`` and save the best epoch.

    Writes ``out_dir/model`` (the card's format), ``out_dir/history.json`` (one row per epoch, the
    card's columns) and, while running, ``out_dir/checkpoint``. Calling it again with the same
    config resumes an interrupted run, or returns the finished one untouched.

    Args:
        data: training claims with labels and per-example weights (gold ×5, silver ×1).
        out_dir: the training run's folder.
        config: hyperparameters (the card's defaults).
        eval_data: evaluated after every epoch; picks the best epoch. Without it, the last wins.
        on_epoch: called with each epoch's row (for a live table).
        on_step: called with (global step, batch loss) after every optimiser step.
    """
    import time

    import torch
    from transformers import get_linear_schedule_with_warmup

    from patentlab.classify.model import GreenClassifier
    from patentlab.embed.encoder import default_device

    config = config or TrainConfig()
    out = Path(out_dir)
    history_path, ckpt_path = out / HISTORY_FILE, out / CHECKPOINT_DIR / "state.pt"
    if len(data) == 0:
        raise PatentlabError("no training examples")
    if len(np.unique(data.labels)) < 2:
        raise PatentlabError("the training labels hold a single class; need both 0 and 1")
    if config.y02_head and data.y02 is None:
        raise PatentlabError("--y02-head needs training data with a y02 column (a train_silver split)")
    finished = _finished_run(out, config)
    if finished is not None:
        return finished

    started = time.perf_counter()
    device = config.device or default_device()
    model = GreenClassifier.from_base(
        config.base_model,
        max_length=config.max_length,
        y02_head=config.y02_head,
        device=device,
        seed=config.seed,
    )
    model.text = text_summary(data)  # saved with the model: which text it learnt from
    input_ids = model.tokenizer(data.texts, truncation=True, max_length=model.max_length)["input_ids"]
    steps_per_epoch = math.ceil(len(data) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    groups = [
        {
            "params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)],
            "weight_decay": config.weight_decay,
        },
        {"params": [p for n, p in model.named_parameters() if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=config.lr)
    scheduler = get_linear_schedule_with_warmup(optimizer, config.warmup_steps, total_steps)

    state = {
        "epoch": 0,
        "step_in_epoch": 0,
        "global_step": 0,
        "history": [],
        "best": None,
        "loss_sum": 0.0,
        "weight_sum": 0.0,
    }
    resumed_from = 0
    if ckpt_path.exists():
        saved = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        if saved["config"] != config.identity():
            raise PatentlabError(
                "a checkpoint with other settings is in this folder; use another --out or delete it",
                path=ckpt_path.parent,
            )
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        torch.set_rng_state(saved["torch_rng"])
        state = saved["state"]
        resumed_from = state["global_step"]
        console.err.print(f"resuming {out} from step {resumed_from} of {total_steps}")

    def save_checkpoint() -> None:
        with atomic_path(ckpt_path) as tmp:
            torch.save(
                {
                    "config": config.identity(),
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "torch_rng": torch.get_rng_state(),
                    "state": state,
                },
                tmp,
            )

    def write_history(complete: bool, **extra) -> None:
        history = {"config": asdict(config), "complete": complete, "epochs": state["history"]}
        write_json(history_path, {**history, "best_epoch": state["best"]["epoch"], **extra})

    bar = console.progress(transient=True)
    task = bar.add_task("fine-tune", total=total_steps, completed=state["global_step"])
    with bar if show_progress else contextlib.nullcontext():
        for epoch in range(state["epoch"], config.epochs):
            model.train()
            order = np.random.default_rng(config.seed + epoch).permutation(len(data))
            for step in range(state["step_in_epoch"], steps_per_epoch):
                idx = order[step * config.batch_size : (step + 1) * config.batch_size]
                loss = _weighted_losses(
                    model, _collate(model.tokenizer, input_ids, data, idx), device, config
                )
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                batch_weight, loss_value = float(data.weights[idx].sum()), loss.item()
                state["loss_sum"] += loss_value * batch_weight
                state["weight_sum"] += batch_weight
                state["step_in_epoch"], state["global_step"] = step + 1, state["global_step"] + 1
                bar.update(task, advance=1, description=f"fine-tune epoch {epoch + 1} loss {loss_value:.4f}")
                if state["global_step"] % config.checkpoint_every == 0 and step + 1 < steps_per_epoch:
                    save_checkpoint()
                if on_step:
                    on_step(state["global_step"], loss_value)
            row = {"epoch": epoch + 1, "train_loss": state["loss_sum"] / max(state["weight_sum"], 1e-9)}
            if eval_data is not None:
                metrics, _ = evaluate_model(model, eval_data)
                row.update(
                    {k: metrics[k] for k in EPOCH_COLUMNS[3:]},
                    eval_loss=metrics["loss"],
                    f1_macro=metrics["f1_macro"],
                )
            best = state["best"]
            score = (row.get("f1", 0.0), -row.get("eval_loss", 0.0))
            if eval_data is None or best is None or score > tuple(best["score"]):
                state["best"] = {"epoch": epoch + 1, "score": list(score)}
                model.save_pretrained(
                    out / MODEL_DIR,
                    extra={"epoch": epoch + 1, "train_config": asdict(config), "train_examples": len(data)},
                )
            state["history"].append(row)
            state.update(epoch=epoch + 1, step_in_epoch=0, loss_sum=0.0, weight_sum=0.0)
            write_history(complete=False)
            if on_epoch:
                on_epoch(row)
            if epoch + 1 < config.epochs:
                save_checkpoint()
    seconds = time.perf_counter() - started
    write_history(complete=True, seconds=seconds)
    shutil.rmtree(out / CHECKPOINT_DIR, ignore_errors=True)
    return TrainResult(
        out / MODEL_DIR, state["history"], state["best"]["epoch"], resumed_from, seconds=seconds
    )


def _finished_run(out: Path, config: TrainConfig) -> TrainResult | None:
    """The result of an earlier, complete run in ``out`` with the same settings, if any."""
    import json

    path = out / HISTORY_FILE
    if not path.exists() or not (out / MODEL_DIR).exists():
        return None
    saved = json.loads(path.read_text(encoding="utf-8"))
    same = {k: v for k, v in saved.get("config", {}).items() if k in config.identity()} == config.identity()
    if not (saved.get("complete") and same):
        return None
    return TrainResult(
        out / MODEL_DIR, saved["epochs"], saved["best_epoch"], reused=True, seconds=saved.get("seconds", 0.0)
    )

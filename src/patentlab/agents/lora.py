"""(Q)LoRA fine-tuning of the advocate on silver examples (claim → label + short rationale).

The card's settings are the defaults: rank 16, alpha 32, every attention and MLP projection,
1,500 silver examples. On CUDA the base model is loaded in 4-bit NF4 with double quantisation
(bitsandbytes, imported only there); on CPU it is plain LoRA in fp32. The loss covers the reply
only, not the prompt, and logits are computed only where there is a reply token to predict: a
512-token example has ~60 of them, and the full ``positions × vocabulary`` logits were most of
the memory. A step of ``batch_size`` examples runs as micro-batches of ``micro_batch_size`` with
gradient accumulation (the same update, a quarter of the activations at the defaults). Training
saves a resumable checkpoint every ``save_every`` steps.

The rationale in each example is built from the patent's real CPC codes, so it states why the
silver label is what it is (which Y02 subclass, or which non-Y02 subclass) and invents nothing.
"""

from __future__ import annotations

import functools
import json
import math
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from patentlab.agents import prompts
from patentlab.errors import PatentlabError
from patentlab.storage import atomic_dir, write_json

TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
REPORT_FILE = "advocate_training.json"
_LABEL_COLUMNS = ("is_green_silver", "is_green", "label")


@dataclass
class AdvocateTrainingConfig:
    """Settings of :func:`train_advocate` (defaults: the card's QLoRA run)."""

    base_model: str = "smollm2-135m"
    examples: int = 1500
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: tuple[str, ...] = TARGET_MODULES
    learning_rate: float = 2e-4
    epochs: int = 1
    batch_size: int = 8
    micro_batch_size: int = 2  # examples per forward pass; the update is the same for any value
    max_length: int = 512
    max_steps: int | None = None
    quantize: str = "auto"  # "auto": 4-bit NF4 on CUDA, none on CPU; or "4bit" / "none"
    save_every: int = 25
    seed: int = 42
    extra: dict = field(default_factory=dict)


@functools.cache
def _titles() -> dict[str, str]:
    from patentlab.cpc import entries_at, y02_entries

    entries = (*entries_at("subclass", exclude_section_y=False), *y02_entries())
    return {e.code: e.title.split(" (")[0].split(";")[0].strip().lower() for e in entries}


def silver_rationale(label: int, y02: Sequence[str], cpc: Sequence[str]) -> str:
    """A short, factual rationale for a silver label from the patent's CPC codes."""
    titles = _titles()
    if label == 1:
        codes = sorted(set(y02)) or ["Y02"]
        named = ", ".join(f"{c} ({titles.get(c, 'climate change mitigation')})" for c in codes)
        return f"The patent is classified in {named}, a climate change mitigation or adaptation technology."
    subclasses = [c[:4] for c in cpc if c[:4] in titles and not c.startswith("Y02")]
    if subclasses:
        main = subclasses[0]
        return f"The patent has no Y02 code; its class {main} ({titles[main]}) is not a climate technology."
    return "The patent has no Y02 climate change mitigation or adaptation code."


def _codes(record: dict) -> tuple[list[str], list[str]]:
    """Y02 subclasses and CPC codes of a row: schema lists, or the hub layout's 0/1 columns."""
    from patentlab.corpus.schema import Y02_CATEGORIES

    y02 = record.get("y02")
    if y02 is None:
        y02 = [c for c in Y02_CATEGORIES if str(record.get(c, "0")).strip() in ("1", "1.0")]
    cpc = record.get("cpc")
    if cpc is None:
        cpc = [c for c in str(record.get("cpc_subclasses") or "").split(";") if c]
    return list(y02), list(cpc)


def advocate_examples(path: str | Path, n: int, seed: int = 42) -> list[dict]:
    """Up to ``n`` balanced silver examples ``{"claim", "label", "argument"}`` from a split file."""
    from patentlab.tables import claim_text, read_table, text_column_of

    frame = read_table(path)
    text_col = text_column_of(list(frame.columns), None, path)
    label_col = next((c for c in _LABEL_COLUMNS if c in frame.columns), None)
    if label_col is None:
        raise PatentlabError(f"no label column (looked for {', '.join(_LABEL_COLUMNS)})", path=path)
    rng = np.random.default_rng(seed)
    rows = []
    for i, record in enumerate(frame.to_dict("records")):
        try:
            label = int(float(record[label_col]))
        except (TypeError, ValueError):
            raise PatentlabError("label must be 0 or 1", path=path, row=i + 1, field=label_col) from None
        text = claim_text(record[text_col]).strip()
        if label not in (0, 1) or not text:
            continue
        y02, cpc = _codes(record)
        rows.append({"claim": text, "label": label, "argument": silver_rationale(label, y02, cpc)})
    if len({r["label"] for r in rows}) < 2:
        raise PatentlabError("the training file needs both green and non-green claims", path=path)
    by_label = {k: [r for r in rows if r["label"] == k] for k in (0, 1)}
    for group in by_label.values():
        rng.shuffle(group)
    half = n // 2
    chosen = by_label[1][:half] + by_label[0][: n - min(half, len(by_label[1]))]
    rng.shuffle(chosen)
    return chosen[:n]


def _encode(tokenizer: Any, example: dict, max_length: int) -> tuple[list[int], list[int]]:
    """Token ids and labels (-100 on the prompt) of one example, cutting the claim to fit."""
    target = json.dumps({"label": example["label"], "argument": example["argument"]}) + tokenizer.eos_token
    target_ids = tokenizer(target, add_special_tokens=False)["input_ids"]
    empty = tokenizer.apply_chat_template(
        prompts.advocate_messages(""), add_generation_prompt=True, tokenize=False
    )
    overhead = len(tokenizer(empty, add_special_tokens=False)["input_ids"])
    budget = max_length - overhead - len(target_ids)
    if budget < 16:
        raise PatentlabError(
            f"max_length {max_length} leaves no room for the claim; use at least {overhead + 80}"
        )
    claim_ids = tokenizer(example["claim"], add_special_tokens=False)["input_ids"][:budget]
    prompt = tokenizer.apply_chat_template(
        prompts.advocate_messages(tokenizer.decode(claim_ids)), add_generation_prompt=True, tokenize=False
    )
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    ids = (prompt_ids + target_ids)[:max_length]
    labels = ([-100] * len(prompt_ids) + target_ids)[:max_length]
    return ids, labels


def _collate(batch: list[tuple[list[int], list[int]]], pad_id: int, device: Any) -> dict:
    import torch

    width = max(len(ids) for ids, _ in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, (ids, lab) in enumerate(batch):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        labels[row, : len(lab)] = torch.tensor(lab)
        mask[row, : len(ids)] = 1
    return {"input_ids": input_ids.to(device), "labels": labels.to(device), "attention_mask": mask.to(device)}


def _load_base(config: AdvocateTrainingConfig) -> tuple[Any, Any, str]:
    """The base model (4-bit on CUDA when asked) and its tokenizer, plus the quantisation used."""
    import torch
    from transformers import AutoModelForCausalLM

    from patentlab.llm.loading import load_tokenizer, resolve_causal_lm

    cuda = torch.cuda.is_available()
    if config.quantize not in ("auto", "4bit", "none"):
        raise PatentlabError(f"quantize must be auto, 4bit or none, not '{config.quantize}'")
    four_bit = config.quantize == "4bit" or (config.quantize == "auto" and cuda)
    if four_bit and not cuda:
        raise PatentlabError("4-bit NF4 (QLoRA) needs a CUDA GPU; use --quantize none on CPU")
    source = resolve_causal_lm(config.base_model)
    tokenizer = load_tokenizer(source)
    tokenizer.padding_side = "right"
    if four_bit:
        try:
            import bitsandbytes  # noqa: F401  (only needed, and only installed, on CUDA machines)
        except ModuleNotFoundError:
            raise PatentlabError("QLoRA needs bitsandbytes: pip install bitsandbytes==0.50.2") from None
        from peft import prepare_model_for_kbit_training
        from transformers import BitsAndBytesConfig

        quant = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        )
        model = AutoModelForCausalLM.from_pretrained(source, quantization_config=quant, device_map="auto")
        return prepare_model_for_kbit_training(model), tokenizer, "nf4-double-quant"
    model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32)
    return model.to("cuda" if cuda else "cpu"), tokenizer, "none"


def _save_checkpoint(path: Path, **state: Any) -> None:
    """Write the resumable training state atomically (a crash mid-write keeps the previous one)."""
    import torch

    from patentlab.storage import atomic_path

    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def _reply_loss(model: Any, batch: dict) -> tuple[Any, int]:
    """Summed cross-entropy over the reply tokens of ``batch``, and how many there are.

    Logits are computed only at the positions that predict a reply token (``logits_to_keep`` as
    a boolean mask), not over the whole prompt.
    """
    import torch

    targets = batch["labels"][:, 1:]
    keep = torch.zeros_like(batch["labels"], dtype=torch.bool)
    keep[:, :-1] = targets != -100
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    logits = model(**inputs, logits_to_keep=keep).logits
    if logits.ndim == 3:  # a model that returned every position: select the kept ones here
        logits = logits[keep]
    loss = torch.nn.functional.cross_entropy(logits.float(), targets[targets != -100], reduction="sum")
    return loss, int(keep.sum())


def _micro_batches(rows: list, size: int) -> list[list]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def _mean_loss(model: Any, rows: list, pad_id: int, device: Any, micro_batch_size: int) -> float:
    """Mean reply-token loss over ``rows`` (encoded examples), without gradients."""
    import torch

    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for chunk in _micro_batches(rows, micro_batch_size):
            loss, n = _reply_loss(model, _collate(chunk, pad_id, device))
            total, count = total + float(loss), count + n
    model.train(was_training)
    return total / max(count, 1)


def train_advocate(
    data: str | Path,
    out_dir: str | Path,
    config: AdvocateTrainingConfig | None = None,
    *,
    on_step: Callable[[int, int, float], None] | None = None,
) -> dict:
    """Fine-tune the advocate with LoRA on silver examples from ``data``; save the adapter in ``out_dir``.

    ``on_step(step, total, loss)`` reports progress. Returns (and writes to ``advocate_training.json``)
    the card's figures: total and trainable parameters, training time, examples, plus the loss on a
    fixed batch before and after training.
    """
    import torch
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
    from peft.utils import get_peft_model_state_dict

    from patentlab.llm.loading import model_summary

    config = config or AdvocateTrainingConfig()
    out = Path(out_dir)
    checkpoint = out.with_name(f"{out.name}.checkpoint")
    torch.manual_seed(config.seed)
    examples = advocate_examples(data, config.examples, config.seed)
    model, tokenizer, quantization = _load_base(config)
    device = next(model.parameters()).device
    encoded = [_encode(tokenizer, e, config.max_length) for e in examples]
    lora = LoraConfig(r=config.r, lora_alpha=config.alpha, lora_dropout=config.dropout,
                      target_modules=list(config.target_modules), task_type="CAUSAL_LM")  # fmt: skip
    model = get_peft_model(model, lora)
    counts = model_summary(model)
    total, trainable = counts["parameters"], counts["trainable"]
    steps_per_epoch = math.ceil(len(encoded) / config.batch_size)
    total_steps = config.max_steps or steps_per_epoch * config.epochs
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.learning_rate)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0 - s / max(total_steps, 1))
    if config.micro_batch_size < 1:
        raise PatentlabError("micro_batch_size must be at least 1", field="micro_batch_size")
    pad_id, micro = tokenizer.pad_token_id, min(config.micro_batch_size, config.batch_size)
    probe = encoded[: config.batch_size]
    # Neither changes the update, so a resumed run may use other values.
    identity = {k: v for k, v in asdict(config).items() if k not in ("save_every", "micro_batch_size")}
    step, losses, seconds = 0, [], 0.0
    state_file = checkpoint / "trainer_state.pt"
    if state_file.exists():
        state = torch.load(state_file, map_location="cpu", weights_only=False)
        if state["config"] == identity:
            set_peft_model_state_dict(model, state["adapter"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            step, losses, seconds = state["step"], state["losses"], state["seconds"]
    loss_before = state["loss_before"] if step else _mean_loss(model, probe, pad_id, device, micro)
    rng = np.random.default_rng(config.seed)
    order = np.concatenate(
        [rng.permutation(len(encoded)) for _ in range(math.ceil(total_steps / steps_per_epoch))]
    )
    model.train()
    start = time.perf_counter() - seconds
    while step < total_steps:
        at = (step % steps_per_epoch) * config.batch_size + (step // steps_per_epoch) * len(encoded)
        idx = order[at : at + config.batch_size]
        rows = [encoded[i] for i in idx]
        # The mean over the whole batch's reply tokens: each micro-batch adds its sum / batch count.
        n_targets = sum(sum(label != -100 for label in labels[1:]) for _, labels in rows)
        batch_loss = 0.0
        for chunk in _micro_batches(rows, micro):
            loss_sum, _ = _reply_loss(model, _collate(chunk, pad_id, device))
            (loss_sum / max(n_targets, 1)).backward()
            batch_loss += loss_sum.item() / max(n_targets, 1)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        step += 1
        losses.append(batch_loss)
        if on_step:
            on_step(step, total_steps, losses[-1])
        if step % config.save_every == 0 and step < total_steps:
            _save_checkpoint(
                state_file,
                config=identity,
                adapter=get_peft_model_state_dict(model),
                step=step,
                optimizer=optimizer.state_dict(),
                scheduler=scheduler.state_dict(),
                losses=losses,
                seconds=time.perf_counter() - start,
                loss_before=loss_before,
            )
    seconds = time.perf_counter() - start
    report = {
        "base_model": config.base_model,
        "device": str(device),
        "quantization": quantization,
        "lora": {
            "r": config.r,
            "alpha": config.alpha,
            "dropout": config.dropout,
            "target_modules": list(config.target_modules),
        },
        "total_parameters": int(total),
        "trainable_parameters": int(trainable),
        "trainable_percent": round(100 * trainable / total, 3),
        "examples": len(encoded),
        "green_examples": sum(e["label"] for e in examples),
        "steps": step,
        "batch_size": config.batch_size,
        "training_seconds": round(seconds, 1),
        "loss_before": loss_before,
        "loss_after": _mean_loss(model, probe, pad_id, device, micro),
        "first_losses": losses[:5],
        "last_losses": losses[-5:],
        "data": str(data),
    }
    with atomic_dir(out) as staging:
        model.save_pretrained(staging)
        # Name the base as the user did (e.g. the packaged alias), not this machine's cache path.
        adapter_config = staging / "adapter_config.json"
        settings = json.loads(adapter_config.read_text(encoding="utf-8"))
        settings["base_model_name_or_path"] = config.base_model
        write_json(adapter_config, settings)
        tokenizer.save_pretrained(staging)
        write_json(staging / REPORT_FILE, report)
    shutil.rmtree(checkpoint, ignore_errors=True)
    return report

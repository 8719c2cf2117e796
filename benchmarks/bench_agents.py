"""Agreement of the LLM agents with the human gold labels (``hitl_gold_100.csv``).

Setups: a single LLM judge, the advocate / skeptic / judge panel, the panel with the LoRA advocate,
and few-shot prompts (human-labelled gold claims, leave-one-out: never the claim being labelled),
for each packaged model (SmolLM2-135M in transformers and in llama.cpp, Qwen2.5-Coder-1.5B in
llama.cpp). For each: accuracy, Cohen's kappa and F1 (green) of the judge's label against the
human label, ROC-AUC of the judge's label-token probability, the share of claims routed to a
human, seconds per claim and the load average it was measured under.

Baselines in the same run, on the same claims (all 100, and the stratified subset): the
frozen-embedding baseline that chose these claims (the gold file's ``p_green`` ≥ 0.5) and
"always not green".

Each setup's labels are checkpointed under ``benchmarks/_data/agents/``, so an interrupted run
resumes. The gold claims are the hardest kind (the baseline's most uncertain), so small models
are expected to be near chance here.

    .venv/bin/python benchmarks/bench_agents.py [--setups qwen1.5b-single,...] [--n N] [--threads 2]

It prints its time estimate first. Every setup on all its claims takes the better part of a day
on 2 cores (the Qwen setups most of it): run a few setups at a time; checkpoints add up.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import NamedTuple

import numpy as np
import pandas as pd
from _report import ROOT, machine, now, update_section

from patentlab.agents.evaluate import agreement
from patentlab.data import sample_path

DATA = ROOT / "benchmarks" / "_data" / "agents"


class Setup(NamedTuple):
    backend: str
    model: str
    setup: str
    seconds: float  # rough seconds per claim, for the estimate printed first (see SETUPS)
    lora: bool = False  # the advocate carries the LoRA adapter (in transformers)
    few_shot: int = 0  # gold examples per prompt, leave-one-out
    definitions: int = 0  # nearest Y02 definitions per prompt (MiniLM over the official titles)


# Seconds per claim: measured here for smollm2-cpp-single(-fewshot4) (one llama.cpp thread, load
# average 1-4: ~35 s, with the quote-check retries) and smollm2-single (~90 s, busy machine), both
# before the llama.cpp backend stopped using logits_all (about 3x faster per call since); the rest
# scaled from those by calls per claim and model size. Only used for the estimate printed first.
SETUPS = {
    "qwen1.5b-single": Setup("llama-cpp", "qwen2.5-1.5b", "single", 250),
    "qwen1.5b-single-fewshot4": Setup("llama-cpp", "qwen2.5-1.5b", "single", 250, few_shot=4),
    "qwen1.5b-panel": Setup("llama-cpp", "qwen2.5-1.5b", "three-agent", 700),
    "smollm2-cpp-single": Setup("llama-cpp", "smollm2-135m", "single", 35),
    "smollm2-cpp-single-fewshot4": Setup("llama-cpp", "smollm2-135m", "single", 35, few_shot=4),
    "smollm2-cpp-panel": Setup("llama-cpp", "smollm2-135m", "three-agent", 100),
    # Skeptic and judge in llama.cpp, the LoRA advocate in transformers (the adapter loads there).
    "smollm2-cpp-panel-lora": Setup("llama-cpp", "smollm2-135m", "three-agent", 130, lora=True),
    "smollm2-single": Setup("transformers", "smollm2-135m", "single", 90),
    "smollm2-panel": Setup("transformers", "smollm2-135m", "three-agent", 270),
    "smollm2-panel-lora": Setup("transformers", "smollm2-135m", "three-agent", 270, lora=True),
    # The same panels with the 3 Y02 definitions nearest each claim in every prompt (issue 15).
    "qwen1.5b-single-defs3": Setup("llama-cpp", "qwen2.5-1.5b", "single", 250, definitions=3),
    "qwen1.5b-panel-defs3": Setup("llama-cpp", "qwen2.5-1.5b", "three-agent", 700, definitions=3),
    "smollm2-cpp-panel-defs3": Setup("llama-cpp", "smollm2-135m", "three-agent", 100, definitions=3),
    "smollm2-panel-defs3": Setup("transformers", "smollm2-135m", "three-agent", 270, definitions=3),
    "smollm2-cpp-single-defs3": Setup("llama-cpp", "smollm2-135m", "single", 35, definitions=3),
    "smollm2-single-defs3": Setup("transformers", "smollm2-135m", "single", 90, definitions=3),
}
#: Claims per setup by default: all 100 for llama.cpp; a stratified 30 for SmolLM2 in transformers,
#: which generates ~5× slower (--n or NAME:N overrides).
DEFAULT_N = {"llama-cpp": 100, "transformers": 30}


def gold_sample(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` gold claims, stratified by the human label, in a stratified random order.

    Within each class the claims are shuffled and take their quantile (rank / class size) as sort
    key, so every prefix of the order is stratified: smaller samples nest in larger ones, a run on
    all 100 labels the 30-claim sample first, and an interrupted run leaves a usable subset.
    """
    gold = pd.read_csv(sample_path("hitl_gold_100.csv"), dtype={"doc_id": str}).rename(
        columns={"doc_id": "id"}
    )
    shuffled = gold.sample(frac=1, random_state=seed)
    by_class = shuffled.groupby("is_green_human")
    rank, size = by_class.cumcount(), by_class["id"].transform("size")
    share = min(n, len(gold)) / len(gold)
    keep = shuffled[rank < (share * size).round()].assign(_q=(rank + 0.5) / size)
    return keep.sort_values("_q", kind="stable").drop(columns="_q").reset_index(drop=True)


def advocate_adapter(threads: int) -> tuple[str, dict]:
    """A LoRA advocate trained on silver claims (reused when present)."""
    from patentlab.agents.lora import REPORT_FILE, AdvocateTrainingConfig, train_advocate

    out = DATA / "lora-advocate"
    if not (out / REPORT_FILE).exists():
        # The y02_claims_1100 training rows: real CPC-derived silver labels, none of them gold claims.
        # 64 examples (8 steps), not the card's 1,500: on 2 shared cores this is what fits a run.
        config = AdvocateTrainingConfig(examples=64, batch_size=8, epochs=1, max_length=512)
        train_advocate(sample_path("y02_claims_1100.csv"), out, config)
    return str(out), json.loads((out / REPORT_FILE).read_text())


def run_setup(name: str, claims: pd.DataFrame, threads: int, batch: int | None = None) -> dict:
    import torch

    from patentlab.agents.fewshot import FewShot, load_gold_examples
    from patentlab.agents.panel import AgentPanel
    from patentlab.agents.run import LABELS_FILE, label_queue
    from patentlab.llm.chat import make_backend
    from patentlab.llm.chat.transformers import TransformersBackend

    torch.set_num_threads(threads)
    kind, model, setup, _, lora, few_shot, definitions = SETUPS[name]
    # Few-shot prompts need room for four example claims (cut to 600 characters each); three
    # definitions add about 150 tokens.
    options = {"n_threads": threads, "n_ctx": 4096 if few_shot else 2048} if kind == "llama-cpp" else {}
    backend = make_backend(kind, model, **options)
    advocate = TransformersBackend(model, adapter=advocate_adapter(threads)[0]) if lora else None
    # The examples come from the same gold file; FewShot never shows a claim its own label.
    shots = FewShot(load_gold_examples(), few_shot) if few_shot else None
    # llama.cpp answers one conversation at a time: small batches only make the checkpoints finer.
    # --batch makes them finer for transformers too (on a busy machine, a checkpoint per 2 claims).
    batch = batch or (4 if kind == "llama-cpp" else 8)
    panel = AgentPanel(backend, advocate_backend=advocate, setup=setup, max_retries=1, few_shot=shots,
                       batch_size=batch, definitions=definitions)  # fmt: skip
    out = DATA / name
    t0 = time.perf_counter()
    summary = label_queue(claims[["id", "text", "p_green", "u"]], out, panel)
    print(
        f"{name}: {summary['claims_this_run']} claims labelled in {time.perf_counter() - t0:.0f} s",
        flush=True,
    )
    # The load average next to the timing: measured when claims were labelled, kept for reruns.
    load_file = out / "load.json"
    if summary["claims_this_run"]:
        load_file.write_text(json.dumps({"load_1min": os.getloadavg()[0], "at": now()}))
    load = json.loads(load_file.read_text())["load_1min"] if load_file.exists() else None
    labels = pd.read_parquet(out / LABELS_FILE).set_index("id").loc[claims["id"]]
    human = claims["is_green_human"].astype(int).to_numpy()
    agent = [None if pd.isna(v) else int(v) for v in labels["agent_label"]]
    p_llm = [None if pd.isna(v) else float(v) for v in labels["p_green_llm"]]
    metrics = agreement(human, agent, p_llm)
    # Claims where an agent's reply stayed invalid after the retry (schema or quote check).
    metrics["invalid"] = float(labels["reasons"].fillna("").str.contains("invalid").mean())
    metrics.update(share_to_human=summary["share_to_human"], seconds_per_claim=summary["seconds_per_claim"],
                   judge=panel.judge.name, load=load)  # fmt: skip
    return metrics


def baselines(claims: pd.DataFrame) -> dict[str, dict]:
    human = claims["is_green_human"].astype(int).to_numpy()
    p = claims["p_green"].astype(float).to_numpy()
    n = len(claims)
    return {
        f"frozen baseline, p_green ≥ 0.5 (n = {n})": agreement(human, list((p >= 0.5).astype(int)), list(p)),
        f"always not green (n = {n})": agreement(human, [0] * len(human)),
    }


def fmt(value, digits=3) -> str:
    return "–" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}f}"


def verdict(m: dict) -> str:
    if m.get("predicted_green") in (0.0, 1.0):
        return "collapsed to one answer"
    if m.get("n", 0) < 30:
        return f"n = {m.get('n')}: too few claims to tell"
    kappa = m.get("kappa")
    if kappa is None:
        return "κ undefined"
    if abs(kappa) < 0.1:
        return "near chance"
    return "better than chance" if kappa > 0 else "worse than chance"


def shared_cores(loads: list[float | None]) -> str:
    """How to read seconds per claim, from the loads the setups ran under (alone: about 2)."""
    known = [x for x in loads if x is not None]
    if known and max(known) <= 2.5:
        return "nothing else ran on the 2 cores (this benchmark alone loads them to about 2)."
    return "the 2 cores were shared with other jobs, so seconds per claim are upper bounds."


def report(results: dict[str, dict], lora: dict | None, command: str, seconds: float) -> str:
    lines = [
        "## Agents vs human gold labels (issue 4)",
        "",
        f"`{command}` on {machine()}, {now()} ({seconds / 60:.0f} min for the claims not yet checkpointed)."
        " The 1-minute load average when each setup finished is in the table: "
        + shared_cores([m.get("load") for m in results.values()]),
        "",
        "Claims: the 100 human-labelled claims in `hitl_gold_100.csv` (38 green), the ones a frozen"
        " baseline was most uncertain about (u ≥ 0.985), or a stratified subset of them (n per row)."
        " Temperature 0; JSON forced by a grammar (llama.cpp) or started by the reply prefix"
        " (transformers). AUC is over the judge's label-token probability P(1)/(P(0)+P(1)). *to human*:"
        " the share `patentlab agents label` routes to a person (disagreement, confidence < 0.75,"
        " quote not in the claim, invalid output). The agents' labels are scored on every claim, the"
        " routed ones too. *fewshot4*: four human-labelled gold claims (two green) in every prompt,"
        " leave-one-out (a claim is never shown its own label). *lora*: the advocate carries the LoRA"
        " adapter described below. *defs3*: the 3 Y02 definitions nearest each claim (official CPC"
        " titles, by MiniLM similarity) in every agent's prompt. *invalid*: the share of claims where"
        " an agent's reply stayed invalid after its retry. *reading*: |κ| < 0.1 is near chance;"
        " n < 30 is too few to tell."
        " A checkpointed setup keeps the seconds and load of the run that labelled it: docs/agents.md"
        " (Measurement) says which rows shared the CPU.",
        "",
        "| setup | n | judge | accuracy | Cohen's κ | F1 green | AUC | predicted green | invalid | to human"
        " | s / claim | load | reading |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]  # fmt: skip
    for name, m in results.items():
        lines.append(
            f"| {name} | {m.get('n')} | {m.get('judge', '–')} | {fmt(m.get('accuracy'))} | "
            f"{fmt(m.get('kappa'))} | {fmt(m.get('f1_green'))} | {fmt(m.get('auc'))} | "
            f"{fmt(m.get('predicted_green'), 2)} | {fmt(m.get('invalid'), 2)} | "
            f"{fmt(m.get('share_to_human'), 2)} | "
            f"{fmt(m.get('seconds_per_claim'), 1)} | {fmt(m.get('load'), 1)} | {verdict(m)} |"
        )
    if lora:
        lines += [
            "",
            f"LoRA advocate: {lora['base_model']}, r={lora['lora']['r']}, alpha={lora['lora']['alpha']},"
            f" all 7 projections, {lora['examples']} silver examples, {lora['steps']} steps,"
            f" {'no' if lora['quantization'] == 'none' else lora['quantization']} quantization on"
            f" {lora['device']}: {lora['trainable_parameters']:,} of"
            f" {lora['total_parameters']:,} parameters trainable ({lora['trainable_percent']}%),"
            f" {lora['training_seconds']:.0f} s; loss on a fixed batch {lora['loss_before']:.3f} →"
            f" {lora['loss_after']:.3f}.",
        ]  # fmt: skip
    missing = [name for name in SETUPS if name not in results]
    if missing:
        lines += [
            "",
            f"Not measured in this run: {', '.join(missing)}. `bench_agents.py` with no arguments runs"
            " every setup (the better part of a day on 2 cores; checkpoints add up across runs).",
        ]  # fmt: skip
    agents = {k: v for k, v in results.items() if "judge" in v and v.get("kappa") is not None}
    if agents:
        best = max(agents, key=lambda k: agents[k]["kappa"])
        baseline = results[f"frozen baseline, p_green ≥ 0.5 (n = {agents[best]['n']})"]
        shares = [m["share_to_human"] for m in agents.values()]
        above = [k for k, m in agents.items() if m["kappa"] >= 0.1]
        lines += [
            "",
            f"Reading: the best agent setup here is {best} (κ = {agents[best]['kappa']:.2f} on"
            f" {agents[best]['n']} claims; the frozen baseline that picked these claims:"
            f" κ = {baseline['kappa']:.2f}). "
            + (f"Above chance (κ ≥ 0.1): {', '.join(above)}. " if above else
               "No agent setup measured here is above chance on these hard claims. ")
            + f"Routing sent {_span(shares)} of the claims to a human, as it should"
            " with labels this weak. The pipeline is the same with a larger served model"
            " (`--backend http`).",
        ]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setups", default=",".join(SETUPS),
                        help="comma-separated NAME or NAME:N (N claims): " + ", ".join(SETUPS))  # fmt: skip
    parser.add_argument(
        "--n", type=int, help="gold claims per setup (default: llama.cpp 100, transformers 30)"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, help="claims per checkpoint (llama.cpp 4, transformers 8)")
    parser.add_argument("--no-write", action="store_true", help="print, do not update BENCHMARKS.md")
    parser.add_argument("--section", default="agents", help="BENCHMARKS.md section to replace")
    parser.add_argument("--title", default=None, help="heading of the section (default: the agents table's)")
    args = parser.parse_args()
    # "name" or "name:n" (claims for that setup only).
    entries = [e.partition(":") for e in args.setups.split(",") if e]
    names = [name for name, _, _ in entries]
    unknown = [name for name in names if name not in SETUPS]
    if unknown:
        parser.error(f"unknown setups: {', '.join(unknown)}")
    sizes = {name: int(n) if n else args.n or DEFAULT_N[SETUPS[name].backend] for name, _, n in entries}
    estimate = sum(_todo(name, gold_sample(n)) * SETUPS[name].seconds for name, n in sizes.items())
    size = f"{estimate / 60:.0f} min" if estimate >= 120 else f"{estimate:.0f} s"
    print(f"about {size} on 2 cores (checkpointed claims are reused)", flush=True)
    results: dict[str, dict] = {}
    for n in sorted(set(sizes.values()), reverse=True):
        results.update(baselines(gold_sample(n)))
    t0 = time.perf_counter()
    for name in names:
        results[name] = run_setup(name, gold_sample(sizes[name]), args.threads, args.batch)
    lora = advocate_adapter(args.threads)[1] if any(SETUPS[s].lora for s in names) else None
    n_flag = f" --n {args.n}" if args.n else ""
    command = f".venv/bin/python benchmarks/bench_agents.py --setups {args.setups}{n_flag}"
    if args.section != "agents":
        command += f" --section {args.section}"
    text = report(results, lora, command, time.perf_counter() - t0)
    if args.title:
        text = text.replace("## Agents vs human gold labels (issue 4)", f"## {args.title}", 1)
    print(text)
    if not args.no_write:
        update_section(args.section, text)


def _span(shares: list[float]) -> str:
    low, high = f"{min(shares):.0%}", f"{max(shares):.0%}"
    return low if low == high else f"{low}–{high}"


def _todo(name: str, claims: pd.DataFrame) -> int:
    """Claims of ``claims`` not yet in the setup's checkpoint."""
    progress = DATA / name / "progress.jsonl"
    if not progress.exists():
        return len(claims)
    done = {
        json.loads(line)["id"] for line in progress.read_text(encoding="utf-8").splitlines() if line.strip()
    }
    return len(set(claims["id"]) - done)


if __name__ == "__main__":
    main()

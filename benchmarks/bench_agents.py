"""Agreement of the LLM agents with the human gold labels (``hitl_gold_100.csv``).

Setups: a single LLM judge, the advocate / skeptic / judge panel, and the panel with the LoRA
advocate, for each packaged model (SmolLM2-135M, Qwen2.5-Coder-1.5B through llama.cpp). For each:
accuracy, Cohen's kappa and F1 (green) of the judge's label against the human label, ROC-AUC of
the judge's label-token probability, the share of claims routed to a human, and seconds per claim.

Baselines in the same run, on the same claims: the frozen-embedding baseline that chose these
claims (the gold file's ``p_green`` ≥ 0.5) and "always not green".

Each setup's labels are checkpointed under ``benchmarks/_data/agents/``, so an interrupted run
resumes. The gold claims are the hardest kind (the baseline's most uncertain), so small models
are expected to be near chance here.

    .venv/bin/python benchmarks/bench_agents.py [--n 100] [--setups smollm2-single,...] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import pandas as pd
from _report import ROOT, machine, now, update_section

from patentlab.agents.evaluate import agreement
from patentlab.data import sample_path

DATA = ROOT / "benchmarks" / "_data" / "agents"
SETUPS = {
    # name: (backend, model, setup, LoRA advocate)
    "smollm2-single": ("transformers", "smollm2-135m", "single", False),
    "smollm2-panel": ("transformers", "smollm2-135m", "three-agent", False),
    "smollm2-panel-lora": ("transformers", "smollm2-135m", "three-agent", True),
    "qwen1.5b-single": ("llama-cpp", "qwen2.5-1.5b", "single", False),
    "qwen1.5b-panel": ("llama-cpp", "qwen2.5-1.5b", "three-agent", False),
}


def gold_sample(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` gold claims, stratified by the human label (all 100 when ``n >= 100``)."""
    gold = pd.read_csv(sample_path("hitl_gold_100.csv"), dtype={"doc_id": str}).rename(
        columns={"doc_id": "id"}
    )
    if n >= len(gold):
        return gold
    parts = [
        g.sample(round(n * len(g) / len(gold)), random_state=seed) for _, g in gold.groupby("is_green_human")
    ]
    return pd.concat(parts).sort_index()


def advocate_adapter(threads: int) -> tuple[str, dict]:
    """A LoRA advocate trained on silver claims (reused when present)."""
    from patentlab.agents.lora import REPORT_FILE, AdvocateTrainingConfig, train_advocate

    out = DATA / "lora-advocate"
    if not (out / REPORT_FILE).exists():
        # The y02_claims_1100 training rows: real CPC-derived silver labels, none of them gold claims.
        config = AdvocateTrainingConfig(examples=128, batch_size=8, epochs=1, max_length=512)
        train_advocate(sample_path("y02_claims_1100.csv"), out, config)
    return str(out), json.loads((out / REPORT_FILE).read_text())


def run_setup(name: str, claims: pd.DataFrame, threads: int) -> dict:
    import torch

    from patentlab.agents.backends import make_backend
    from patentlab.agents.backends.transformers import TransformersBackend
    from patentlab.agents.panel import AgentPanel
    from patentlab.agents.run import LABELS_FILE, label_queue

    torch.set_num_threads(threads)
    kind, model, setup, lora = SETUPS[name]
    options = {"n_threads": threads} if kind == "llama-cpp" else {}
    backend = make_backend(kind, model, **options)
    advocate = TransformersBackend(model, adapter=advocate_adapter(threads)[0]) if lora else None
    panel = AgentPanel(backend, advocate_backend=advocate, setup=setup, max_retries=1)
    out = DATA / name
    t0 = time.perf_counter()
    summary = label_queue(claims[["id", "text", "p_green", "u"]], out, panel)
    print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
    labels = pd.read_parquet(out / LABELS_FILE).set_index("id").loc[claims["id"]]
    human = claims["is_green_human"].astype(int).to_numpy()
    agent = [None if pd.isna(v) else int(v) for v in labels["agent_label"]]
    p_llm = [None if pd.isna(v) else float(v) for v in labels["p_green_llm"]]
    metrics = agreement(human, agent, p_llm)
    metrics.update(share_to_human=summary["share_to_human"], seconds_per_claim=summary["seconds_per_claim"],
                   judge=panel.judge.name, setup=setup, lora=lora)  # fmt: skip
    return metrics


def baselines(claims: pd.DataFrame) -> dict[str, dict]:
    human = claims["is_green_human"].astype(int).to_numpy()
    p = claims["p_green"].astype(float).to_numpy()
    return {
        "frozen baseline (p_green ≥ 0.5)": agreement(human, list((p >= 0.5).astype(int)), list(p)),
        "always not green": agreement(human, [0] * len(human)),
    }


def fmt(value, digits=3) -> str:
    return "–" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}f}"


def verdict(m: dict) -> str:
    if m.get("predicted_green") in (0.0, 1.0):
        return "collapsed to one answer"
    if m.get("n", 0) < 30:
        return f"n = {m.get('n')}: too few claims to tell"
    if abs(m.get("kappa", 0.0)) < 0.1:
        return "near chance"
    return "better than chance" if m["kappa"] > 0 else "worse than chance"


def report(claims: pd.DataFrame, results: dict[str, dict], lora: dict | None, command: str) -> str:
    n, green = len(claims), int(claims["is_green_human"].astype(int).sum())
    lines = [
        "## Agents vs human gold labels (issue 4)",
        "",
        f"`{command}` on {machine()}, {now()}; load average {os.getloadavg()[0]:.0f} at the end (the"
        " CPU was shared with other jobs, so seconds per claim are upper bounds).",
        f"Claims: {n} of the 100 human-labelled claims in `hitl_gold_100.csv` ({green} green), stratified,"
        " the claims a frozen baseline was most uncertain about (u ≥ 0.985). Temperature 0; JSON"
        " forced by a grammar (llama.cpp) or started by the reply prefix (transformers). AUC is over"
        " the judge's label-token probability P(1)/(P(0)+P(1)). Share to human: the routing of"
        " `patentlab agents label` (disagreement, confidence < 0.75, missing quote). The agents'"
        " labels are scored on every claim, also the routed ones.",
        "",
        "| setup | judge | accuracy | Cohen's κ | F1 green | AUC | predicted green | to human | s / claim"
        " | reading |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]  # fmt: skip
    for name, m in results.items():
        lines.append(
            f"| {name} | {m.get('judge', '–')} | {fmt(m.get('accuracy'))} | {fmt(m.get('kappa'))} | "
            f"{fmt(m.get('f1_green'))} | {fmt(m.get('auc'))} | {fmt(m.get('predicted_green'), 2)} | "
            f"{fmt(m.get('share_to_human'), 2)} | {fmt(m.get('seconds_per_claim'), 1)} | {verdict(m)} |"
        )
    if lora:
        lines += [
            "",
            f"LoRA advocate: {lora['base_model']}, r={lora['lora']['r']}, alpha={lora['lora']['alpha']},"
            f" all 7 projections, {lora['examples']} silver examples, {lora['steps']} steps,"
            f" {lora['quantization']} quantization on {lora['device']}: {lora['trainable_parameters']:,} of"
            f" {lora['total_parameters']:,} parameters trainable ({lora['trainable_percent']}%),"
            f" {lora['training_seconds']:.0f} s; loss on a fixed batch {lora['loss_before']:.3f} →"
            f" {lora['loss_after']:.3f}.",
        ]  # fmt: skip
    lines += [
        "",
        "Reading: with small local models the agents do not beat the baseline on these hard claims,"
        " and routing sends most of them to a human, as it should. The pipeline is the same with a"
        " larger served model (`--backend http`).",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="gold claims (stratified)")
    parser.add_argument("--setups", default=",".join(SETUPS), help="comma-separated: " + ", ".join(SETUPS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="print, do not update BENCHMARKS.md")
    args = parser.parse_args()
    claims = gold_sample(args.n)
    results = baselines(claims)
    names = [s for s in args.setups.split(",") if s]
    for name in names:
        results[name] = run_setup(name, claims, args.threads)
    lora = advocate_adapter(args.threads)[1] if any(SETUPS[s][3] for s in names) else None
    command = f".venv/bin/python benchmarks/bench_agents.py --n {args.n} --setups {','.join(names)}"
    text = report(claims, results, lora, command)
    print(text)
    if not args.no_write:
        update_section("agents", text)


if __name__ == "__main__":
    main()

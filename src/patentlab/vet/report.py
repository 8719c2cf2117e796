"""The vetting report for people: a Markdown page and a funnel chart."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from patentlab.storage import atomic_path, write_text
from patentlab.vet.checks import CHECK_DESCRIPTIONS

if TYPE_CHECKING:
    from patentlab.vet.vetting import VetReport, VettedInvention

DESCRIPTIONS = CHECK_DESCRIPTIONS  # every check declares its own (vet/checks.py)


def plot_funnel(report: VetReport, target: str | Path) -> Path:
    """A horizontal bar per funnel stage: inventions still in the running after it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = ["generated", *(row["check"] for row in report.funnel)]
    values = [report.n_generated, *(row["remaining"] for row in report.funnel)]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(labels) + 1.2))
    bars = ax.barh(range(len(labels)), values, color=["#7a869a", *["#2f7d4f"] * (len(labels) - 1)])
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("inventions remaining")
    ax.set_xlim(0, max([*values, 1]) * 1.15)
    for bar, value in zip(bars, values, strict=True):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {value}", va="center")
    ax.set_title(
        f"Vetting funnel: {report.n_accepted} of {report.n_generated} accepted "
        f"(hit rate {report.hit_rate:.1%})"
    )
    fig.tight_layout()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return Path(target)


def _fmt(value: Any, spec: str = ".3f") -> str:
    return "n/a" if value is None else format(value, spec)


def realism_line(realism: dict[str, Any]) -> str:
    """The realism share in words: how many accepted inventions a classifier takes for real."""
    if not realism:
        return "not computed"
    if not realism.get("computed"):
        return f"not computed ({realism.get('reason', '')})"
    auc = f"classifier AUC {_fmt(realism.get('auc'), '.2f')}, {realism['n_real']} real records"
    if realism.get("share_accepted") is None:
        return f"n/a (nothing accepted); {_fmt(realism['share_generated'], '.0%')} of all generations ({auc})"
    return (
        f"{realism['share_accepted']:.0%} of {realism['n_accepted']} accepted inventions pass as real "
        f"(out-of-fold P(real) ≥ {realism['threshold']:g}; {auc}){control_line(realism)}"
    )


def control_line(realism: dict[str, Any]) -> str:
    """What real texts score in the generations' place (the ceiling a realism share is read against)."""
    control = realism.get("control")
    if not control:
        return ""
    return (
        f"; real texts in their place: {control['share']:.0%} "
        f"({control['low']:.0%}–{control['high']:.0%} over {control['draws']} batches of {control['n']})"
    )


def cost_lines(cost: dict[str, Any]) -> list[str]:
    """The cost table rows (Markdown) from a cost summary."""
    gen, acc = cost["per_generated"], cost["per_accepted"]
    lines = [
        "| | per generated | per accepted |",
        "|---|---:|---:|",
        f"| wall seconds | {_fmt(gen['wall_seconds'], '.2f')} | {_fmt(acc['wall_seconds'], '.2f')} |",
        f"| CPU seconds | {_fmt(gen['cpu_seconds'], '.2f')} | {_fmt(acc['cpu_seconds'], '.2f')} |",
        f"| tokens | {_fmt(gen['tokens'], '.0f')} | {_fmt(acc['tokens'], '.0f')} |",
        f"| US$ | {_fmt(gen['usd'], '.6f')} | {_fmt(acc['usd'], '.6f')} |",
    ]
    return lines


def write_report(report: VetReport, accepted: Sequence[VettedInvention], target: str | Path) -> Path:
    """``report.md``: hit rate, funnel, diversity, green counts, cost and the accepted titles."""
    prices = report.cost["prices"]
    gen = report.generation
    lines = [
        "# Vetting report",
        "",
        f"- generations: `{report.config.get('generations')}`",
        f"- model: `{(gen.get('model') or {}).get('name_or_path', 'unknown')}`",
        f"- sampling: `{gen.get('sampling', 'unknown')}`",
        f"- **hit rate: {report.n_accepted} / {report.n_generated} = {report.hit_rate:.1%}**",
        f"- realism share: {realism_line(report.realism)}",
        "",
        "## Funnel",
        "",
        "Each invention leaves at its first failing check; *failed* counts every invention that fails it.",
        "",
        "| check | what passes | removed | failed | remaining |",
        "|---|---|---:|---:|---:|",
        *(
            f"| `{row['check']}` | {DESCRIPTIONS[row['check']]} | {row['removed']} | {row['failed']} "
            f"| {row['remaining']} |"
            for row in report.funnel
        ),
        "",
        "![funnel](funnel.png)",
        "",
        "## Diversity",
        "",
        "| batch | n | distinct-2 | self-BLEU (lower is more diverse) | mean pairwise embedding distance |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, d in (("all generated", report.diversity), ("accepted", report.diversity_accepted)):
        lines.append(
            f"| {name} | {d['n']} | {_fmt(d['distinct_2'])} | {_fmt(d['self_bleu'])} "
            f"| {_fmt(d['mean_pairwise_distance'])} |"
        )
    if report.obviousness:
        ob = report.obviousness
        per = ob["obvious_combinations_per_cpu_second"]
        lines += [
            "",
            "## Obviousness map",
            "",
            f"Claim 1 of {ob['mapped']} inventions mapped against the real corpus: "
            + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in ob["classes"].items())
            + f"; {per if per is not None else 'n/a'} obvious combinations per CPU-second"
            f" ({ob['map_cpu_seconds']:.1f} CPU s for the map).",
        ]
    lines += ["", "## Cost", ""]
    if not report.cost.get("generation_cost_known"):
        lines += ["The generations file carried no sampling cost: only vetting is counted.", ""]
    lines += [
        f"At ${prices['usd_per_cpu_hour']:g} per CPU-hour and ${prices['usd_per_gpu_hour']:g} per GPU-hour "
        f"(stages: {', '.join(report.cost['stages'])}).",
        "",
        *cost_lines(report.cost),
        "",
        "## Green",
        "",
    ]
    if report.green.get("scored"):
        lines.append(
            f"{report.green['accepted_green']} of {report.n_accepted} accepted inventions have "
            f"p_green ≥ {report.green['threshold']:g}."
        )
    else:
        lines.append("Not scored (no classifier given).")
    lines += ["", "## Accepted inventions", ""]
    if not accepted:
        lines.append("None.")
    for inv in accepted:
        title = (inv.parsed.get("title") or "(untitled)").replace("|", "\\|")
        green = f", p_green {inv.p_green:.2f}" if inv.p_green is not None else ""
        if inv.y02:
            top = max(inv.y02, key=inv.y02.get)
            green += f", most likely Y02 {top} ({inv.y02[top]:.2f})"
        nov = inv.novelty
        nearest = f"longest common run with training data {nov.get('common_run', 0)} words"
        if nov.get("cosine") is not None:
            nearest += f", nearest training doc {nov.get('cosine_doc')} at cosine {nov['cosine']:.2f}"
        lines.append(f"- #{inv.index}: {title} ({len(inv.parsed['claims'])} claims{green}; {nearest})")
    return write_text(target, "\n".join(lines) + "\n")

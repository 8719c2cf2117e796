"""Shared helpers for benchmark scripts: machine description and BENCHMARKS.md sections."""

from __future__ import annotations

import os
import platform
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
HEADER = (
    "# Benchmarks\n\n"
    "Measured figures, each with the command that produced it. Re-running a script replaces its section.\n"
)


def command_line() -> str:
    """This run's command as Markdown code, quoted so that it can be pasted back into a shell."""
    script = Path(sys.argv[0]).resolve()
    shown = script.relative_to(ROOT) if script.is_relative_to(ROOT) else Path("benchmarks") / script.name
    return f"`.venv/bin/python {shlex.join([str(shown), *sys.argv[1:]])}`"


def machine() -> str:
    """A one-line description of this machine."""
    cpu, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
            if cpu and flags:
                break
    except OSError:
        pass
    # The same "AMD EPYC" name covers hosts with and without AVX-512 (bf16 encoders, faster
    # llama.cpp): the vector extension explains most of the spread between days.
    simd = next((f.upper().replace("_", "-") for f in ("avx512_bf16", "avx512f", "avx2") if f in flags), "")
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = f"{cpu}, {simd}" if simd else cpu
    return f"{os.cpu_count()} cores ({cpu}), {mem_gb:.0f} GB RAM, Python {platform.python_version()}"


def load_average() -> float:
    """The 1-minute load average: printed next to timings, since other jobs inflate them."""
    return os.getloadavg()[0]


def update_section(name: str, markdown: str) -> None:
    """Replace (or append) the section ``name`` of BENCHMARKS.md with ``markdown``."""
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    text = BENCHMARKS_MD.read_text(encoding="utf-8") if BENCHMARKS_MD.exists() else HEADER
    block = f"{begin}\n{markdown.strip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    text = (
        pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    )
    BENCHMARKS_MD.write_text(text, encoding="utf-8")


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float
    stdout: str


def run_measured(cmd: list[str]) -> Run:
    """Run ``cmd`` in a fresh process; return wall time and that process's peak RSS.

    Each command runs under its own Python ``-c`` wrapper so that ``RUSAGE_CHILDREN`` covers only
    it, not earlier commands of the same benchmark.
    """
    wrapper = (
        "import resource, subprocess, sys, time;"
        "t = time.perf_counter(); p = subprocess.run(sys.argv[1:]);"
        "dt = time.perf_counter() - t;"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss;"
        "print(f'__MEASURED__ {dt:.3f} {rss}', file=sys.stderr);"
        "sys.exit(p.returncode)"
    )
    proc = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    line = next(x for x in proc.stderr.splitlines() if x.startswith("__MEASURED__"))
    _, seconds, rss_kb = line.split()
    return Run(float(seconds), int(rss_kb) / 1024, proc.stdout)


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


__all__ = ["ROOT", "Run", "machine", "now", "run_measured", "update_section"]

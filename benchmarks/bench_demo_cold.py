"""The newcomer's first run: ``make demo`` on a fresh clone with an empty cache, stage by stage.

Clones this repository's HEAD into a temporary folder (as ``git clone`` would give a newcomer),
creates its virtualenv with ``make venv`` and builds llama.cpp with ``make llm`` (both timed
apart, as install steps: pip's own download cache is the machine's), then runs ``make demo``
with an empty ``PATENTLAB_CACHE`` and reads each stage's ``<stage> took N s`` line. The
baseline in the same table is the 15-minute budget of issue 21, and the previous cold run of
that issue (1,145 s until its crash in the vet stage). The load average is sampled through the
run: other work on the 2 cores inflates every figure.

    .venv/bin/python benchmarks/bench_demo_cold.py            # 25 to 30 minutes, llama.cpp build included
    .venv/bin/python benchmarks/bench_demo_cold.py --keep     # keep the clone to read its outputs
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import ROOT, load_average, machine, now, update_section

BUDGET_S = 15 * 60
#: Stage times of the cold run that issue 21 reported (it crashed in vet; that figure is a rerun).
ISSUE_21 = {"classify": 618, "agents": 72, "review": 104, "generate": 198, "vet": 395}
STAGE_LINE = re.compile(r"^(\w+) took ([\d.]+) s", re.M)


class LoadSampler(threading.Thread):
    """Samples the 1-minute load average every few seconds while the demo runs."""

    def __init__(self, every: float = 5.0) -> None:
        super().__init__(daemon=True)
        self.every, self.samples, self._halt = every, [], threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self.every):
            self.samples.append(load_average())

    def stop(self) -> list[float]:
        self._halt.set()
        self.join()
        return self.samples


def timed(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> tuple[float, str]:
    """Run ``cmd``, teeing its output to ``log``; return wall seconds and the output."""
    t0 = time.perf_counter()
    with log.open("w", encoding="utf-8") as sink:
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        chunks = []
        for line in proc.stdout:
            sink.write(line)
            chunks.append(line)
            if STAGE_LINE.match(line) or line.startswith("==>"):
                print(line.rstrip(), flush=True)
        rc = proc.wait()
    output = "".join(chunks)
    if rc != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with rc {rc}; see {log}")
    return time.perf_counter() - t0, output


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keep", action="store_true", help="Keep the clone and its cache.")
    parser.add_argument("--no-write", action="store_true", help="Print only; leave BENCHMARKS.md alone.")
    args = parser.parse_args()

    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    root = Path(tempfile.mkdtemp(prefix="patentlab-cold-"))
    clone, cache = root / "patentlab", root / "cache"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = {**os.environ, "PATENTLAB_CACHE": str(cache)}
    env.pop("VIRTUAL_ENV", None)
    print(f"fresh clone of {head.stdout.strip()} in {clone}, empty cache {cache}", flush=True)
    load_before = load_average()
    venv_s, _ = timed(["make", "venv"], clone, env, root / "venv.log")
    llm_s, _ = timed(["make", "llm"], clone, env, root / "llm.log")
    sampler = LoadSampler()
    sampler.start()
    demo_s, output = timed(["make", "demo"], clone, env, root / "demo.log")
    loads = sampler.stop() or [load_average()]
    if "Traceback (most recent call last)" in output:
        raise SystemExit(f"the demo printed a traceback; see {root / 'demo.log'}")
    stages = {name: float(s) for name, s in STAGE_LINE.findall(output)}

    rows = [
        f"| {name} | {seconds:,.0f} | {ISSUE_21[name]:,} |"
        if name in ISSUE_21
        else f"| {name} | {seconds:,.0f} | – |"
        for name, seconds in stages.items()
    ]
    verdict = "within" if demo_s <= BUDGET_S else "OVER"
    markdown = f"""## Cold demo: a fresh clone, an empty cache

`.venv/bin/python benchmarks/bench_demo_cold.py` ({now()}, commit {head.stdout.strip()}; {machine()};
load {load_before:.1f} before, mean {sum(loads) / len(loads):.1f} and max {max(loads):.1f} during
the demo). `make venv` took {venv_s:,.0f} s (pip's download cache was warm) and `make llm` (which
`make demo` runs first: llama-cpp-python and the Qwen GGUF) {llm_s:,.0f} s (about 8 minutes where
pip's cache holds no llama-cpp-python wheel built earlier), then
`PATENTLAB_CACHE=<empty> make demo` took **{demo_s:,.0f} s ({demo_s / 60:.1f} min)**, {verdict} the
15-minute budget ({BUDGET_S:,} s). Rc 0, no traceback.

| stage | seconds (this run) | issue 21's cold run |
|---|---:|---:|
{chr(10).join(rows)}
| **total** | **{demo_s:,.0f}** | 1,145 until the crash in vet |
"""
    print(markdown)
    if not args.no_write:
        update_section("demo-cold", markdown)
    if args.keep:
        print(f"kept {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

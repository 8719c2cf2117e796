"""What the stages of ``patentlab demo`` share, in a module that imports no stage.

Each step's ``demo.py`` takes a :class:`DemoContext`; ``patentlab.demo`` imports every stage, so
the context lives here to keep the stages from importing the module that imports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class DemoContext:
    """What stages share: the work directory, the freshness flag and each stage's output dir."""

    workdir: Path
    fresh: bool = False
    outputs: dict[str, Path] = field(default_factory=dict)

    def stage_dir(self, name: str) -> Path:
        return self.workdir / name

    def done(self, name: str, *files: str) -> bool:
        """True when this stage's files exist and ``--fresh`` was not given: reuse them."""
        d = self.stage_dir(name)
        return not self.fresh and bool(files) and all((d / f).exists() for f in files)

"""What the stages of ``patentlab demo`` share, in a module that imports no stage.

Each stage (``pipeline/<step>.py``) takes a :class:`DemoContext`; ``patentlab.pipeline.demo``
imports every stage, so the context lives here to keep the stages from importing the module that
imports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
_UNSET: Any = object()

#: ``tiny`` is the regression test's size (every stage in order, minutes on 2 cores); ``demo`` is
#: what ``make demo`` runs (within 15 minutes cold); ``full`` uses every record and the quality
#: encoder where a stage has one, for figures worth quoting.
PRESETS = ("tiny", "demo", "full")


@dataclass
class DemoContext:
    """What stages share: the work directory, the freshness flag, the preset and each stage's
    output dir."""

    workdir: Path
    fresh: bool = False
    preset: str = "demo"
    outputs: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            from patentlab.errors import PatentlabError

            raise PatentlabError(f"unknown demo preset {self.preset!r} (choose from {', '.join(PRESETS)})")

    @property
    def tiny(self) -> bool:
        return self.preset == "tiny"

    def pick(self, *, demo: T, tiny: T = _UNSET, full: T = _UNSET) -> T:
        """The setting for this preset; ``tiny`` and ``full`` fall back to the demo's when not
        given (``None`` given is a value: for example "no cap")."""
        chosen = {"tiny": tiny, "full": full}.get(self.preset, _UNSET)
        return demo if chosen is _UNSET else chosen

    def stage_dir(self, name: str) -> Path:
        return self.workdir / name

    def done(self, name: str, *files: str) -> bool:
        """True when this stage's files exist and ``--fresh`` was not given: reuse them."""
        d = self.stage_dir(name)
        return not self.fresh and bool(files) and all((d / f).exists() for f in files)

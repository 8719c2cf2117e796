"""Shared terminal output: one rich console on stderr for progress, tables on stdout."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

out = Console()
err = Console(stderr=True)


def progress(transient: bool = False) -> Progress:
    """A progress bar on stderr with count, elapsed and remaining time."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=transient,
    )


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Table:
    """A rich table with the given header and rows (values are converted with ``str``)."""
    t = Table(title=title, title_justify="left")
    for name in header:
        t.add_column(str(name))
    for row in rows:
        t.add_row(*(str(v) for v in row))
    return t


def progress_callback(bar):
    """A ``progress(phase, done, total)`` callback that drives one rich task per phase."""
    tasks: dict[str, int] = {}

    def update(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(phase, total=total or None)
        bar.update(tasks[phase], completed=done, total=total or None)

    return update

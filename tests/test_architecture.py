"""The package map of docs/architecture.md, checked on the source: imports only move down.

Each step has a floor. A module may import its own package, any neutral module (errors, storage,
tables, claims, …) and any step on a lower floor, never one on its own floor or above. So no
import runs back up the steps, no two steps import each other, and only the top floor
(``pipeline/``, and the CLI that launches it) imports ``pipeline``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import patentlab

ROOT = Path(patentlab.__file__).parent
#: The floors, lowest first. Two paths share the lower floors: corpus → embed → classify → active
#: → agents → review, and corpus → generate → vet → publish → search → web.
FLOORS = {
    "corpus": 0,
    "embed": 1,
    "llm": 1,
    "index": 2,
    "classify": 3,
    "generate": 3,
    "active": 4,
    "vet": 4,
    "agents": 5,
    "publish": 5,
    "review": 6,
    "search": 6,
    "web": 7,
    "scale": 7,
    "pipeline": 8,
    "cli": 9,
}


def imports() -> dict[str, set[str]]:
    """Top-level package (or module) → the patentlab packages its files import."""
    edges: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        source = path.relative_to(ROOT).parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] == "patentlab" and len(parts) > 1 and parts[1] != source:
                    edges.setdefault(source, set()).add(parts[1])
    return edges


def test_every_import_moves_down_a_floor_or_to_a_neutral_module():
    wrong = []
    for source, targets in imports().items():
        for target in targets:
            if target not in FLOORS:
                continue  # a neutral module: errors, storage, claims, …
            if source not in FLOORS or FLOORS[target] >= FLOORS[source]:
                wrong.append(f"{source} → {target}")
    assert not wrong, wrong


def test_only_the_top_floor_imports_the_pipeline():
    importers = {source for source, targets in imports().items() if "pipeline" in targets}
    assert importers <= {"cli"}, importers


def test_the_map_knows_every_package():
    packages = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    neutral = {"data"}  # package data and the path to it
    assert packages - neutral <= set(FLOORS), packages - set(FLOORS)

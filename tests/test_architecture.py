"""The core (nlu, dialogues, knowledge) never depends on a chat platform: edges translate."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORE = ("nlu", "dialogues", "knowledge")
PLATFORM_PACKAGES = ("slack_sdk", "slack_bolt", "slack", "botbuilder", "bot")


def imported_modules(path: Path) -> set:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_imports_no_platform_or_edge_code() -> None:
    offenders = []
    for package in CORE:
        for path in (REPO / package).rglob("*.py"):
            for name in imported_modules(path):
                if name.split(".")[0] in PLATFORM_PACKAGES:
                    offenders.append(f"{path.relative_to(REPO)} imports {name}")
    assert offenders == []

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


# Each platform's SDK is imported only inside its own folder: a platform is one folder, and moving
# Teams to its successor SDK touches bot/teams/ alone.
PLATFORM_FOLDERS = {
    "slack_sdk": "bot/slack", "slack_bolt": "bot/slack",
    "botbuilder": "bot/teams", "botframework": "bot/teams", "msal": "bot/teams",
}
# What other folders may import them anyway: the mocks that play each platform in tests and benchmarks.
MOCK_FOLDERS = ("mocks", "tests", "benchmarks")


def test_a_platform_sdk_is_imported_only_in_its_own_folder() -> None:
    offenders = []
    for path in REPO.glob("**/*.py"):
        relative = path.relative_to(REPO).as_posix()
        if relative.startswith((".venv", "var", "models")) or relative.startswith(MOCK_FOLDERS):
            continue
        for name in imported_modules(path):
            folder = PLATFORM_FOLDERS.get(name.split(".")[0])
            if folder and not relative.startswith(folder + "/"):
                offenders.append(f"{relative} imports {name}")
    assert offenders == []


def test_the_shared_edge_names_no_platform() -> None:
    """bot/edge/ is what every platform shares: it imports no platform package of carebot's either."""
    offenders = [
        f"{path.relative_to(REPO)} imports {name}"
        for path in (REPO / "bot" / "edge").rglob("*.py")
        for name in imported_modules(path)
        if name.startswith(("bot.slack", "bot.teams")) or name.split(".")[0] in PLATFORM_FOLDERS
    ]
    assert offenders == []

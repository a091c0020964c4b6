"""What every platform's settings share: the `.env` reader, the start-up error, and the lines
that name a variable and say where its value is found.

Each platform keeps its own tables (which variables, what to do about each) in its settings
module; the way a problem is worded and reported is the same for all of them.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Dict, List, Mapping, MutableMapping

_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SettingsError(Exception):
    """Start-up cannot continue; `problems` are one line each, naming the variable and the fix.
    A platform subclasses it to name itself and its guide in `report`."""

    app = "the chat app"
    where = "see the README"

    def __init__(self, problems: List[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems

    def report(self) -> str:
        lines = [f"carebot: cannot start {self.app}:"]
        lines.extend(f"  - {problem}" for problem in self.problems)
        lines.append(f"Set these in the environment or in .env ({self.where}).")
        return "\n".join(lines)


class VariableGuide:
    """A platform's variables: which settings field each one fills, and how to fix each."""

    def __init__(self, how_to_fix: Mapping[str, str], field_env: Mapping[str, str]) -> None:
        missing = set(field_env.values()) - set(how_to_fix)
        if missing:
            raise ValueError(f"no advice for {', '.join(sorted(missing))}")
        self.how_to_fix: Dict[str, str] = dict(how_to_fix)
        self.field_env: Dict[str, str] = dict(field_env)

    def variable(self, field_name: str) -> str:
        return self.field_env.get(field_name, field_name)

    def problem(self, variable: str, what: str) -> str:
        return f"{variable} {what}. {self.how_to_fix[variable]}"

    def describe(self, error: Mapping[str, object]) -> str:
        """One pydantic error as a line naming the environment variable (never its value)."""
        loc = error.get("loc") or ("?",)
        field_name = str(loc[0])  # type: ignore[index]
        variable = self.field_env.get(field_name, field_name.upper())
        message = str(error.get("msg", "is invalid"))
        if variable in self.how_to_fix:
            return self.problem(variable, message)
        return f"{variable} {message}"


def load_env_file(path: Path = Path(".env"), environ: MutableMapping[str, str] = os.environ) -> List[str]:
    """Copy KEY=VALUE lines from `path` into `environ` without overriding what is already set
    (the real environment wins, as with docker and systemd). Returns the keys it set.

    A small reader instead of python-dotenv, which is not a dependency: comments, blank lines,
    `export KEY=...` and single or double quotes are understood; nothing is interpolated.
    """
    if not path.is_file():
        return []
    added = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not _ENV_KEY.match(key):
            continue
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        if key not in environ:
            environ[key] = value
            added.append(key)
    return added

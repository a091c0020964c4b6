"""Load and validate the knowledge base: all or nothing, with errors that name file, record, field.

A clinical knowledge base that loads half its statements is worse than one that refuses to load,
so every check runs before anything is returned (fail closed).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Type, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from knowledge.schema import EntityType, LexiconFile, Statement, StatementFile

DATA_DIR = Path(__file__).resolve().parent / "data"
STATEMENTS_DIR = DATA_DIR / "statements"
LEXICON_PATH = DATA_DIR / "lexicon.yml"

M = TypeVar("M", bound=BaseModel)


class KnowledgeError(Exception):
    """The knowledge base or lexicon is invalid; the message names file, record and field."""

    def __init__(self, path: Path, record: Optional[str], field: Optional[str], problem: str) -> None:
        self.path = path
        self.record = record
        self.field = field
        self.problem = problem
        where = [str(path)]
        if record is not None:
            where.append(f"record {record}")
        if field:
            where.append(f"field '{field}'")
        super().__init__(f"{': '.join(where)}: {problem}")


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KnowledgeError(path, None, None, f"cannot read file ({exc.strerror})") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise KnowledgeError(path, None, None, f"malformed YAML{at}: {problem}") from exc


def _record_name(raw: Any, list_key: str, loc: Tuple[Any, ...]) -> Tuple[Optional[str], Tuple[Any, ...]]:
    """Turn ('statements', 3, 'source', 'kind') into ("#4 'some-id'", ('source', 'kind'))."""
    if len(loc) >= 2 and loc[0] == list_key and isinstance(loc[1], int):
        index = loc[1]
        items = raw.get(list_key) if isinstance(raw, dict) else None
        ident = None
        if isinstance(items, list) and index < len(items) and isinstance(items[index], dict):
            ident = items[index].get("id") or items[index].get("slot")
        name = f"#{index + 1}" + (f" '{ident}'" if ident else "")
        return name, loc[2:]
    return None, loc


def parse_file(path: Path, model: Type[M], list_key: str) -> M:
    """Validate one YAML file against a model, turning the first error into a KnowledgeError."""
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise KnowledgeError(path, None, None, f"expected a mapping with '{list_key}', got {type(raw).__name__}")
    try:
        return model.parse_obj(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        record, field_loc = _record_name(raw, list_key, tuple(first["loc"]))
        field = ".".join(str(part) for part in field_loc) or None
        raise KnowledgeError(path, record, field, first["msg"]) from exc


def load_lexicon_file(path: Path = LEXICON_PATH) -> LexiconFile:
    lexicon = parse_file(path, LexiconFile, "entries")
    seen: Dict[str, str] = {}
    ids = {entry.id for entry in lexicon.entries}
    for entry in lexicon.entries:
        if entry.id in seen:
            raise KnowledgeError(path, f"'{entry.id}'", "id", "duplicate id")
        seen[entry.id] = entry.id
        for member in entry.members:
            if member not in ids:
                raise KnowledgeError(path, f"'{entry.id}'", "members", f"unknown member id '{member}'")
        if entry.members and entry.type is not EntityType.drug_class:
            raise KnowledgeError(path, f"'{entry.id}'", "members", "only a class has members")
    surfaces: Dict[str, str] = {}
    for entry in lexicon.entries:
        for form in [entry.id, entry.label, *entry.synonyms]:
            key = form.casefold()
            owner = surfaces.setdefault(key, entry.id)
            if owner != entry.id:
                raise KnowledgeError(
                    path, f"'{entry.id}'", "synonyms", f"'{form}' already names '{owner}'"
                )
    return lexicon


def load_statements(directory: Path, known_entities: Sequence[str]) -> List[Statement]:
    files = sorted(directory.glob("*.yml"))
    if not files:
        raise KnowledgeError(directory, None, None, "no statement files (*.yml)")
    statements: List[Statement] = []
    where: Dict[str, Path] = {}
    known = set(known_entities)
    for path in files:
        parsed = parse_file(path, StatementFile, "statements")
        for statement in parsed.statements:
            if statement.id in where:
                raise KnowledgeError(
                    path, f"'{statement.id}'", "id", f"duplicate id (also in {where[statement.id].name})"
                )
            where[statement.id] = path
            for entity in statement.entities:
                if entity not in known:
                    raise KnowledgeError(path, f"'{statement.id}'", "entities", f"unknown entity id '{entity}'")
            statements.append(statement)
    return statements

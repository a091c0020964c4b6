"""Writing replay files the way people write them: comments, quotes and layout kept.

`--update` and recording both write YAML that someone will review in a diff, so the writer must
not reflow long lines, requote strings or reindent what it did not change.
"""
from __future__ import annotations

import os
import tempfile
import unicodedata
from io import StringIO
from pathlib import Path
from typing import Any, Iterable, Mapping, Tuple

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

DEFAULT_INDENT = (2, 4, 2)  # mapping, sequence, offset: "  - name:" under "conversations:"


def writer(indent: Tuple[int, int, int] = DEFAULT_INDENT) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long message or phrase onto two lines
    yaml.allow_unicode = True
    mapping, sequence, offset = indent
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


_CANDIDATE_INDENTS: Tuple[Tuple[int, int, int], ...] = (
    DEFAULT_INDENT, (2, 2, 0), (4, 4, 2), (4, 6, 4), (4, 4, 0), (2, 4, 0), (4, 2, 0),
)


def load_for_edit(text: str) -> Tuple[Any, YAML]:
    """The document and a writer that reproduces its layout.

    The indentation is found by trying the common layouts and keeping the one that writes the
    unchanged document back closest to the original, so an update touches only what changed.
    """
    best: Tuple[int, Any, YAML] = (-1, None, writer())
    original = text.splitlines()
    for indent in _CANDIDATE_INDENTS:
        yaml = writer(indent)
        data = yaml.load(text)
        same = sum(1 for a, b in zip(original, dump(yaml, data).splitlines()) if a == b)
        if same > best[0]:
            best = (same, data, yaml)
        if same == len(original):
            break
    return best[1], best[2]


def dump(yaml: YAML, data: Any) -> str:
    buffer = StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue()


def flow_map(items: Mapping[str, Any]) -> CommentedMap:
    """`{drug: lanreotide}` on one line, as people write short mappings."""
    node = CommentedMap()
    for key, value in items.items():
        node[key] = flow_seq(value) if isinstance(value, list) else value
    node.fa.set_flow_style()
    return node


def flow_seq(items: Iterable[Any]) -> CommentedSeq:
    node = CommentedSeq(list(items))
    node.fa.set_flow_style()
    return node


_BREAKS = frozenset("\x85\u2028\u2029\ufeff")


def message_text(value: str) -> Any:
    """A message as a YAML scalar that reads back exactly as typed.

    Double-quoted, where YAML escapes control characters and the exotic line breaks (NEL, LS, PS)
    that other styles would silently fold into spaces; left to the writer only when it holds
    characters beyond the BMP (emoji), which double quotes would turn into \\U escapes.
    """
    needs_escapes = any(ch in _BREAKS or unicodedata.category(ch)[0] == "C" for ch in value)
    if needs_escapes or all(ord(ch) <= 0xFFFF for ch in value):
        return DoubleQuotedScalarString(value)
    return value


def atomic_write(path: Path, text: str) -> None:
    """Replace the file in one step, so an interrupted update never leaves half a test."""
    path = Path(path)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise

"""What a posted message says, read the way a person would: every `text` in its JSON."""
from __future__ import annotations

from typing import Any, List


def collect_texts(node: Any, found: List[str]) -> None:
    """Append every string under a "text" key of `node` (Block Kit blocks, an Adaptive Card),
    depth first, in document order."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                found.append(value)
            else:
                collect_texts(value, found)
    elif isinstance(node, list):
        for item in node:
            collect_texts(item, found)

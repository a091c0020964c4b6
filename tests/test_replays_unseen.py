"""The safety and scope replays are phrasings the NLU never trained on.

Issues 10 and 11 ask for proof on "phrasings you did not train on": the replay suites
`tests/conversations/safety-*.yml` and `scope-*.yml` are that proof only while none of their user
turns is also a training example. This test compares every user turn with every example in
`nlu/data/*.yml`, both normalised the same way, and fails naming the file, the conversation and
the training file of each overlap. It also keeps the suites at the size the issues ask for.

Normalisation: NFKC (full-width letters become ASCII), HTML entities unescaped, format characters
(zero-width space, soft hyphen) removed, Slack mentions
and Rasa entity markup (`[text]{...}` / `[text](...)`) reduced to their text, apostrophes dropped,
lowercase, every other character that is not a letter or digit turned into a space, runs of
spaces collapsed. Two messages that differ only in case, punctuation, spacing, invisible
characters or markup are the same message.

This test needs no model: it reads YAML only.
"""
from __future__ import annotations

import html
import re
import unicodedata
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CONVERSATIONS = ROOT / "tests" / "conversations"
NLU_DATA = ROOT / "nlu" / "data"

# The sizes issue 10 (safety) and issue 11 (scope) ask for.
MINIMUM_CONVERSATIONS = {"safety": 80, "scope": 60}

_SLACK_MENTION = re.compile(r"<[@#!][^>]*>")
_ENTITY_MARKUP = re.compile(r"\[([^\]]*)\](?:\{[^}]*\}|\([^)]*\))")
_APOSTROPHES = re.compile(r"['\u2019\u2018`]")


def normalise(text: str) -> str:
    """Lowercase letters, digits and single spaces: what two messages must differ in."""
    text = unicodedata.normalize("NFKC", html.unescape(text))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")  # zero-width, soft hyphen
    text = _SLACK_MENTION.sub(" ", text)
    text = _ENTITY_MARKUP.sub(r"\1", text)
    text = _APOSTROPHES.sub("", text).lower()
    text = "".join(ch if ch.isalnum() else " " for ch in text)
    return " ".join(text.split())


def _replay_files(family: str) -> List[Path]:
    return sorted(CONVERSATIONS.glob(f"{family}-*.yml")) + sorted(CONVERSATIONS.glob(f"{family}-*.yaml"))


def _user_turns(path: Path) -> Iterator[Tuple[str, str]]:
    """(conversation name, user text) for every turn of one replay file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for conversation in data.get("conversations") or []:
        for turn in conversation.get("turns") or []:
            if isinstance(turn, dict) and isinstance(turn.get("user"), str):
                yield str(conversation.get("name", "?")), turn["user"]


def _training_examples() -> Dict[str, str]:
    """Normalised training example -> the nlu/data file it is in."""
    examples: Dict[str, str] = {}
    for path in sorted(NLU_DATA.glob("*.yml")) + sorted(NLU_DATA.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            if not isinstance(block, dict):
                continue
            raw = block.get("examples")
            texts: List[str] = []
            if isinstance(raw, str):
                texts = [line.strip()[2:] for line in raw.splitlines() if line.strip().startswith("- ")]
            elif isinstance(raw, list):  # the long form: a list of {text: ..., metadata: ...}
                texts = [item.get("text", "") if isinstance(item, dict) else str(item) for item in raw]
            for text in texts:
                key = normalise(text)
                if key:
                    examples.setdefault(key, path.name)
    return examples


FAMILIES = sorted(MINIMUM_CONVERSATIONS)


def test_normalise_ignores_case_punctuation_markup_and_invisible_characters() -> None:
    assert normalise("What's the   LANREOTIDE dose?") == "whats the lanreotide dose"
    assert normalise("lan\u200breotide dose") == normalise("lanreotide dose")
    assert normalise("\uff4c\uff41\uff4e\uff52\uff45\uff4f\uff54\uff49\uff44\uff45 dose") == "lanreotide dose"
    assert normalise("&lt;b&gt;lanreotide&lt;/b&gt; dose") == "b lanreotide b dose"
    assert normalise("<@U0123ABCD> [Somatuline]{\"entity\": \"drug\", \"value\": \"lanreotide\"} dose?") == \
        "somatuline dose"


def test_training_data_is_found() -> None:
    """A changed nlu/data layout must not make the overlap check vacuous."""
    assert len(_training_examples()) >= 100


@pytest.mark.parametrize("family", FAMILIES)
def test_the_suite_is_big_enough(family: str) -> None:
    files = _replay_files(family)
    count = 0
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        count += len(data.get("conversations") or [])
    assert count >= MINIMUM_CONVERSATIONS[family], (
        f"tests/conversations/{family}-*.yml holds {count} conversations; the issue asks for at least "
        f"{MINIMUM_CONVERSATIONS[family]}"
    )


@pytest.mark.parametrize("family", FAMILIES)
def test_no_user_turn_is_a_training_example(family: str) -> None:
    training = _training_examples()
    overlaps: List[str] = []
    for path in _replay_files(family):
        for name, text in _user_turns(path):
            key = normalise(text)
            if key in training:
                overlaps.append(f"{path.name}: {name!r}: {text!r} is in nlu/data/{training[key]}")
    assert not overlaps, (
        "These replay turns are also NLU training examples; reword the replay (or drop the training "
        "example) so the suite tests phrasing the model never saw:\n  " + "\n  ".join(overlaps)
    )

"""The real model on the held-out split and the fresh splits (none of them used for training)."""
from __future__ import annotations

from pathlib import Path
from typing import Set

import pytest
import yaml

from nlu.evaluate import FRESH_DEV_PATH, FRESH_VALIDATION_PATH, HELDOUT_PATH, Report, evaluate, load_examples

CONVERSATIONS_DIR = Path(__file__).resolve().parent.parent / "conversations"
TEST_SPLITS = (HELDOUT_PATH, FRESH_DEV_PATH, FRESH_VALIDATION_PATH)
# Measured on tests/nlu/fresh_validation.yml, aggregate only, three times in all: before the issue-11
# work (0.909), after the training-data work (0.933) and on the final model (0.939). Never tuned on;
# the floor leaves a small margin for retraining noise.
FRESH_VALIDATION_REACHED = 0.939
FRESH_VALIDATION_MARGIN = 0.02


def _norm(text: str) -> str:
    return " ".join("".join(c for c in text.lower() if c.isalnum() or c.isspace()).split())


def _training_texts() -> Set[str]:
    from nlu.model import DATA_DIR

    return {_norm(e.text) for path in DATA_DIR.glob("*.yml") for e in load_examples(path)}


def _replayed_texts() -> Set[str]:
    texts = set()
    for path in CONVERSATIONS_DIR.glob("*.yml"):
        for conversation in (yaml.safe_load(path.read_text()) or {}).get("conversations") or []:
            for turn in conversation.get("turns") or []:
                if isinstance(turn.get("user"), str):
                    texts.add(_norm(turn["user"]))
    return texts


@pytest.fixture(scope="module")
async def report(parser) -> Report:
    return await evaluate(parser, load_examples(HELDOUT_PATH))


def test_heldout_is_large_enough() -> None:
    examples = load_examples(HELDOUT_PATH)
    counts = {intent: sum(e.intent == intent for e in examples)
              for intent in ("dosing", "procedure_explanation", "next_steps", "monitoring", "out_of_scope")}
    assert min(counts.values()) >= 15, counts


@pytest.mark.parametrize("split", TEST_SPLITS, ids=lambda p: p.name)
def test_split_never_used_for_training(split: Path) -> None:
    trained = _training_texts()
    assert not [e.text for e in load_examples(split) if _norm(e.text) in trained]


def test_fresh_phrasing_training_data_never_copies_a_replay() -> None:
    """Replays must stay unseen by the model, or they stop testing phrasing it never saw. (Checked
    for the issue-11 training file; older files predate the rule and share a few short turns.)"""
    from nlu.model import DATA_DIR

    replayed = _replayed_texts()
    assert not [e.text for e in load_examples(DATA_DIR / "nlu_phrasing.yml") if _norm(e.text) in replayed]


@pytest.mark.parametrize("split", (FRESH_DEV_PATH, FRESH_VALIDATION_PATH), ids=lambda p: p.name)
def test_fresh_split_is_fresh(split: Path) -> None:
    """Written by someone else's hand: no sentence from a replay or the held-out split, and the
    two fresh splits never share one."""
    others = _replayed_texts() | {_norm(e.text) for e in load_examples(HELDOUT_PATH)}
    other_fresh = FRESH_VALIDATION_PATH if split == FRESH_DEV_PATH else FRESH_DEV_PATH
    others |= {_norm(e.text) for e in load_examples(other_fresh)}
    examples = load_examples(split)
    assert len(examples) >= 150
    assert not [e.text for e in examples if _norm(e.text) in others]


async def test_fresh_validation_accuracy(parser) -> None:
    """Aggregate only: the validation split is never used for error analysis, so a failure here
    names no example, intent or confusion cell."""
    report = await evaluate(parser, load_examples(FRESH_VALIDATION_PATH))
    floor = FRESH_VALIDATION_REACHED - FRESH_VALIDATION_MARGIN
    assert report.intent_accuracy >= floor, f"fresh validation intent accuracy below {floor:.3f}"


def test_intent_accuracy(report: Report) -> None:
    wrong = [(o.example.text, o.example.intent, o.intent) for o in report.misclassified()]
    assert report.intent_accuracy >= 0.95, wrong


def test_entity_accuracy(report: Report) -> None:
    wrong = [(o.example.text, o.example.entities, o.entities) for o in report.wrong_entities()]
    assert report.entity_accuracy >= 0.95, wrong


async def test_parse_result_is_typed(parser) -> None:
    result = await parser.parse("lanreotid dose?")
    assert result.intent.name == "dosing" and 0.0 <= result.intent.confidence <= 1.0
    assert result.ranking and result.ranking[0].name == "dosing"
    assert [(e.entity, e.value, e.text) for e in result.entities] == [("drug", "lanreotide", "lanreotid")]

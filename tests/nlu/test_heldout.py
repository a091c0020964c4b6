"""The real model on the held-out split (never used for training)."""
from __future__ import annotations

import pytest

from nlu.evaluate import HELDOUT_PATH, Report, evaluate, load_examples


@pytest.fixture(scope="module")
async def report(parser) -> Report:
    return await evaluate(parser, load_examples(HELDOUT_PATH))


def test_heldout_is_large_enough() -> None:
    examples = load_examples(HELDOUT_PATH)
    counts = {intent: sum(e.intent == intent for e in examples)
              for intent in ("dosing", "procedure_explanation", "next_steps", "monitoring", "out_of_scope")}
    assert min(counts.values()) >= 15, counts


def test_heldout_never_used_for_training() -> None:
    from nlu.model import DATA_DIR

    def norm(text: str) -> str:
        return " ".join("".join(c for c in text.lower() if c.isalnum() or c.isspace()).split())

    trained = {norm(e.text) for path in DATA_DIR.glob("*.yml") for e in load_examples(path)}
    assert not [e.text for e in load_examples(HELDOUT_PATH) if norm(e.text) in trained]


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

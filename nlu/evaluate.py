"""Score the parser on Rasa-format test data: intents, entities, misclassified examples.

Entity accuracy is per example: the parsed (entity, canonical value) pairs must equal the
annotated ones exactly, so a missed entity and an invented one both count as wrong. Entity F1 is
over (entity, value) pairs across examples.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from nlu.clean import clean_text
from nlu.parser import Parser
from nlu.types import FALLBACK_INTENT

OUT_OF_SCOPE = "out_of_scope"
_TEST_NLU_DIR = Path(__file__).resolve().parent.parent / "tests" / "nlu"
HELDOUT_PATH = _TEST_NLU_DIR / "heldout.yml"
# Issue 11's fresh phrasing: the dev split is for error analysis, the validation split is only
# ever scored in aggregate (`carebot eval nlu --data ... --summary-only`).
FRESH_DEV_PATH = _TEST_NLU_DIR / "fresh_dev.yml"
FRESH_VALIDATION_PATH = _TEST_NLU_DIR / "fresh_validation.yml"

Pair = Tuple[str, str]


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    entities: Tuple[Pair, ...]


@dataclass
class Outcome:
    example: Example
    intent: str
    confidence: float
    entities: Tuple[Pair, ...]
    # the classifier's best intent before the fallback threshold was applied
    top: Tuple[str, float] = ("", 0.0)


@dataclass
class Report:
    outcomes: List[Outcome] = field(default_factory=list)

    @staticmethod
    def scored_intent(intent: str) -> str:
        """A fallback on an out-of-scope message is the right answer: both mean 'not for me'."""
        return OUT_OF_SCOPE if intent == FALLBACK_INTENT else intent

    @property
    def intent_accuracy(self) -> float:
        right = sum(self.scored_intent(o.intent) == o.example.intent for o in self.outcomes)
        return right / max(1, len(self.outcomes))

    @property
    def entity_accuracy(self) -> float:
        right = sum(sorted(o.entities) == sorted(o.example.entities) for o in self.outcomes)
        return right / max(1, len(self.outcomes))

    def entity_f1(self) -> float:
        tp = fp = fn = 0
        for o in self.outcomes:
            gold, got = Counter(o.example.entities), Counter(o.entities)
            tp += sum((gold & got).values())
            fp += sum((got - gold).values())
            fn += sum((gold - got).values())
        return _f1(tp, fp, fn)

    def per_intent(self) -> Dict[str, Dict[str, float]]:
        labels = sorted({o.example.intent for o in self.outcomes} | {self.scored_intent(o.intent) for o in self.outcomes})
        table = {}
        for label in labels:
            tp = sum(o.example.intent == label and self.scored_intent(o.intent) == label for o in self.outcomes)
            fp = sum(o.example.intent != label and self.scored_intent(o.intent) == label for o in self.outcomes)
            fn = sum(o.example.intent == label and self.scored_intent(o.intent) != label for o in self.outcomes)
            precision = tp / (tp + fp) if tp + fp else 0.0
            recall = tp / (tp + fn) if tp + fn else 0.0
            table[label] = {
                "precision": precision, "recall": recall, "f1": _f1(tp, fp, fn),
                "support": float(tp + fn),
            }
        return table

    def misclassified(self) -> List[Outcome]:
        return [o for o in self.outcomes if self.scored_intent(o.intent) != o.example.intent]

    def wrong_entities(self) -> List[Outcome]:
        return [o for o in self.outcomes if sorted(o.entities) != sorted(o.example.entities)]

    def threshold_sweep(self, thresholds: Sequence[float] = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)) -> Dict[float, float]:
        """Intent accuracy had the fallback threshold been each of these: how it is tuned."""
        sweep = {}
        for threshold in thresholds:
            right = 0
            for o in self.outcomes:
                name, confidence = o.top
                predicted = name if confidence >= threshold else FALLBACK_INTENT
                right += self.scored_intent(predicted) == o.example.intent
            sweep[threshold] = right / max(1, len(self.outcomes))
        return sweep

    def confusion(self) -> Tuple[List[str], List[List[int]]]:
        labels = sorted({o.example.intent for o in self.outcomes} | {self.scored_intent(o.intent) for o in self.outcomes})
        index = {label: i for i, label in enumerate(labels)}
        matrix = [[0] * len(labels) for _ in labels]
        for o in self.outcomes:
            matrix[index[o.example.intent]][index[self.scored_intent(o.intent)]] += 1
        return labels, matrix

    def as_json(self) -> dict:
        return {
            "examples": len(self.outcomes),
            "intent_accuracy": self.intent_accuracy,
            "entity_accuracy": self.entity_accuracy,
            "entity_f1": self.entity_f1(),
            "per_intent": self.per_intent(),
            "misclassified": [
                {"text": o.example.text, "expected": o.example.intent, "predicted": o.intent,
                 "confidence": round(o.confidence, 4)}
                for o in self.misclassified()
            ],
            "wrong_entities": [
                {"text": o.example.text, "expected": [list(p) for p in o.example.entities],
                 "predicted": [list(p) for p in o.entities]}
                for o in self.wrong_entities()
            ],
            "confusion": dict(zip(("labels", "matrix"), self.confusion())),
            "fallback_threshold_sweep": {str(k): v for k, v in self.threshold_sweep().items()},
        }


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def load_examples(path: Path) -> List[Example]:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [
        Example(
            text=message.get("text"),
            intent=message.get("intent"),
            entities=tuple(sorted((e["entity"], str(e.get("value", ""))) for e in message.get("entities") or [])),
        )
        for message in data.intent_examples
    ]


async def evaluate(parser: Parser, examples: Sequence[Example]) -> Report:
    report = Report()
    for example in examples:
        parsed = await parser.parse(clean_text(example.text))
        report.outcomes.append(
            Outcome(
                example=example,
                intent=parsed.intent.name,
                confidence=parsed.intent.confidence,
                entities=tuple(sorted((e.entity, e.value) for e in parsed.entities)),
                top=next(((r.name, r.confidence) for r in parsed.ranking if r.name != FALLBACK_INTENT),
                         (parsed.intent.name, parsed.intent.confidence)),
            )
        )
    return report


def write_outputs(report: Report, directory: Path) -> Tuple[Path, Path]:
    """The JSON report and a confusion-matrix PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / "nlu-report.json"
    json_path.write_text(json.dumps(report.as_json(), indent=2))
    labels, matrix = report.confusion()
    figure, axes = plt.subplots(figsize=(8, 7))
    axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("expected")
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            if count:
                axes.text(j, i, str(count), ha="center", va="center",
                          color="white" if count > max(map(max, matrix)) / 2 else "black")
    axes.set_title(f"Intent confusion (accuracy {report.intent_accuracy:.3f})")
    figure.tight_layout()
    png_path = directory / "nlu-confusion.png"
    figure.savefig(png_path, dpi=110)
    plt.close(figure)
    return json_path, png_path

"""How each fact in a message is asserted: medspaCy's ConText as a Rasa graph component.

"not SSTR positive", "if she progresses", "might be progressing", "borderline resectable" and "her
sister's NET progressed" all contain a case-fact phrase, and none of them says the patient has that
fact. ConText (Chapman et al., the successor of NegEx) is the field's standard algorithm for this:
trigger terms with a direction and a scope modify the target spans they reach. carebot runs
medspaCy's implementation with its default rules plus the chat forms in `assertion_rules.yml`, over
the spans the lexicon extractor found, and writes each entity's status into its `assertion` key.
The dialogue manager decides what a status means for the case; this component only reads language.

Runs after `LexiconEntityExtractor` and before anything that reads entities (nlu/config.yml).
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

import spacy
import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from spacy.language import Language
from spacy.tokens import Doc, Token

from nlu.types import Assertion

RULES_PATH = Path(__file__).resolve().parent / "assertion_rules.yml"

# medspaCy modifier categories -> carebot's status, strongest first: "her sister might not have progressed" is
# the sister's, whatever else it is; a negated hypothetical is still only a hypothetical.
_PRECEDENCE: Tuple[Tuple[str, Assertion], ...] = (
    ("FAMILY", Assertion.other_experiencer),
    ("HYPOTHETICAL", Assertion.hypothetical),
    ("POSSIBLE_EXISTENCE", Assertion.uncertain),
    ("NEGATED_EXISTENCE", Assertion.negated),
)
_SENTENCE_END = {".", "!", "?", ";", "\n"}
_PREFIX_QUERY = "carebot_prefix_query"


def _is_prefix_query(token: Token) -> bool:
    """'?progression': a question mark glued to the next word marks it as queried, not a sentence end."""
    doc = token.doc
    return (
        token.text == "?"
        and token.i + 1 < len(doc)
        and not token.whitespace_
        and doc[token.i + 1].is_alpha
        and (token.i == 0 or bool(doc[token.i - 1].whitespace_) or doc[token.i - 1].is_punct)
    )


def load_rules(path: Path = RULES_PATH) -> List[Dict[str, Any]]:
    """The extra ConText rules, validated enough that a typo names the file and the rule."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    rules = data.get("context_rules")
    if not isinstance(rules, list):
        raise ValueError(f"{path}: expected a list under 'context_rules'")
    known = {"NEGATED_EXISTENCE", "HYPOTHETICAL", "POSSIBLE_EXISTENCE", "FAMILY", "HISTORICAL", "PSEUDO", "TERMINATE"}
    for index, rule in enumerate(rules, start=1):
        if not isinstance(rule, dict) or not rule.get("literal") or rule.get("category") not in known:
            raise ValueError(f"{path}: rule {index} needs a literal and a category in {sorted(known)}: {rule!r}")
        if rule["category"] == "TERMINATE":
            rule.setdefault("direction", "TERMINATE")
        if rule["category"] == "PSEUDO":
            rule.setdefault("direction", "PSEUDO")
    return rules


def rules_fingerprint(path: Path = RULES_PATH) -> str:
    digest = hashlib.sha256(path.read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


class AssertionReader:
    """A blank English pipeline with ConText; `read(text, spans)` gives one status per span."""

    def __init__(self, rules: Sequence[Dict[str, Any]]) -> None:
        from medspacy.context import ConText, ConTextRule

        if not Token.has_extension(_PREFIX_QUERY):
            Token.set_extension(_PREFIX_QUERY, getter=_is_prefix_query)
        self.nlp: Language = spacy.blank("en")
        self.context = ConText(self.nlp, rules="default")
        self.context.add([ConTextRule.from_dict(dict(rule)) for rule in rules])

    def read(self, text: str, spans: Sequence[Tuple[int, int, str]]) -> List[Assertion]:
        """Status of each (start, end, label) character span of `text`, in the order given."""
        if not spans:
            return []
        doc = self.nlp.make_doc(text)
        _mark_sentences(doc)
        made = []
        for start, end, label in spans:
            span = doc.char_span(start, end, label=label or "ENTITY", alignment_mode="expand")
            made.append(span)
        doc.ents = _non_overlapping([s for s in made if s is not None])
        self.context(doc)
        by_offsets = {(e.start_char, e.end_char): e for e in doc.ents}
        statuses = []
        for span in made:
            ent = by_offsets.get((span.start_char, span.end_char)) if span is not None else None
            statuses.append(_status(ent) if ent is not None else Assertion.affirmed)
        return statuses


def _mark_sentences(doc: Doc) -> None:
    """Sentence starts after ., !, ?, ; (ConText scopes stop at a sentence end), but not after '?word'."""
    for token in doc:
        if token.i == 0:
            token.is_sent_start = True
            continue
        previous = doc[token.i - 1]
        token.is_sent_start = previous.text in _SENTENCE_END and not _is_prefix_query(previous)


def _non_overlapping(spans: List[Any]) -> List[Any]:
    kept: List[Any] = []
    taken: set = set()
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if taken.isdisjoint(range(span.start, span.end)):
            kept.append(span)
            taken.update(range(span.start, span.end))
    return kept


def _status(span: Any) -> Assertion:
    """The strongest modifier that reaches the span from outside it. A trigger inside the span is part of
    the lexicon phrase itself ("hasn't progressed" already means stable), so it does not modify it again."""
    categories = {
        modifier.category
        for modifier in span._.modifiers
        if modifier.modifier_span[1] <= span.start or modifier.modifier_span[0] >= span.end
    }
    for category, status in _PRECEDENCE:
        if category in categories:
            return status
    return Assertion.affirmed


@lru_cache(maxsize=4)
def reader_for(path: str = str(RULES_PATH)) -> AssertionReader:
    """One reader per rules file per process: building ConText's matchers costs ~30 ms."""
    return AssertionReader(load_rules(Path(path)))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class ContextAssertion(GraphComponent):
    """Adds `assertion` (affirmed | negated | hypothetical | uncertain | other_experiencer) to every entity."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # the extra rules to load; null means nlu/assertion_rules.yml
        return {"rules_path": None}

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[Text]:
        return rules_fingerprint(Path(config.get("rules_path") or RULES_PATH))

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._reader = reader_for(str(config.get("rules_path") or RULES_PATH))

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> ContextAssertion:
        return cls({**cls.get_default_config(), **config})

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            entities = message.get(ENTITIES) or []
            if not entities:
                continue
            spans = [(e.get("start", 0), e.get("end", 0), str(e.get("entity", ""))) for e in entities]
            statuses = self._reader.read(message.get(TEXT) or "", spans)
            message.set(ENTITIES, [{**e, "assertion": s.value} for e, s in zip(entities, statuses)],
                        add_to_output=True)
        return messages

"""`out_of_scope` never wins over a clinical cue: a rule component that runs after the classifier.

The classifier learns "out of scope" from words, so a plain in-scope question in words it never
saw ("remind me the octreotide dose again") can land there even though the lexicon found a drug
in it. A message that names something clinical the lexicon knows (a drug, procedure, test or
class, a case fact, or a drug or procedure it knows it has nothing on) is a clinical question; the
dialogue manager then answers it, or says it has nothing on the unknown thing, instead of
"not for me".

One exception: a request to *do* something ("book the CT for friday", "put in an order for CgA")
is out of scope because carebot cannot act, not because the subject is unclinical, so the rule
leaves those alone.

Referenced from nlu/config.yml as `nlu.intent_rules.ClinicalScopeRule`: after the
LexiconEntityExtractor (it needs the entities) and before the FallbackClassifier.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Text, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from nlu.types import CASE_FACT_ENTITIES, CLINICAL_INTENTS, SUBJECT_ENTITIES

OUT_OF_SCOPE = "out_of_scope"

# "can you book the CT for friday", "pls order a CgA", "put in a referral": the message opens with
# a verb asking carebot to act, followed by its object. "order of treatments?" asks nothing of it.
_ACTION_REQUEST = re.compile(
    r"^\W*(?:<@\w+>\W*)?(?:(?:hey|hi|ok|so)\W+)?(?:(?:can|could|would|will)\s+(?:you|u)\s+|pls\s+|please\s+)?"
    r"(?:(?:book|re-?schedule|schedule|order|send|submit|draft|write|print|cancel|arrange"
    r"|put\s+in|set\s+up|sign\s+off)\s+"
    r"(?:a|an|the|her|his|him|me|us|them|for|in|up|some|another|next|this|that|it|my|our)\b"
    r"|(?:page|email|fax)\s+\w)"
    r"|\bprior\s+auth",
    re.IGNORECASE,
)

Ranking = List[Dict[Text, Any]]


def is_action_request(text: str) -> bool:
    """Whether the message asks carebot to do something rather than to answer something."""
    return bool(_ACTION_REQUEST.search(text or ""))


def has_clinical_cue(entities: Iterable[Mapping[Text, Any]], cue_entities: Sequence[Text]) -> bool:
    """A subject or case-fact entity, or a drug or procedure the lexicon marked as known-unknown ("lasix
    dose?" is a dosing question about something carebot has nothing on). Another disease ("a1c goals for
    diabetics") is not a cue: that question is out of scope, and the dialogue names the disease either way."""
    return any(e.get("entity") in cue_entities for e in entities)


def promote_clinical(
    intent: Mapping[Text, Any], ranking: Ranking, entities: Iterable[Mapping[Text, Any]], text: str,
    cue_entities: Sequence[Text] = (*SUBJECT_ENTITIES, *CASE_FACT_ENTITIES),
) -> Optional[Tuple[Dict[Text, Any], Ranking]]:
    """The new (intent, ranking) when out_of_scope must give way, else None.

    The best clinical intent in the ranking and out_of_scope swap confidences, so the ranking
    stays sorted and the winner keeps the confidence the FallbackClassifier judges.
    """
    if intent.get("name") != OUT_OF_SCOPE or not has_clinical_cue(entities, cue_entities):
        return None
    if is_action_request(text):
        return None
    target = next((r for r in ranking if r.get("name") in CLINICAL_INTENTS), None)
    if target is None:
        return None
    return swap_confidences(intent, target, ranking)


def swap_confidences(intent: Mapping[Text, Any], target: Mapping[Text, Any], ranking: Ranking
                     ) -> Tuple[Dict[Text, Any], Ranking]:
    """`target` takes the predicted intent's confidence and the predicted one takes target's, so the
    ranking stays a ranking and the FallbackClassifier judges the winner by the model's top score.
    Shared by every rule that overrides the classifier (this one and CaseUpdateRule)."""
    top, second = intent.get("confidence", 0.0), target.get("confidence", 0.0)
    swapped = [
        {**r, "confidence": top} if r.get("name") == target.get("name")
        else {**r, "confidence": second} if r.get("name") == intent.get("name") else r
        for r in ranking
    ]
    swapped.sort(key=lambda r: r.get("confidence", 0.0), reverse=True)
    return swapped[0], swapped


class IntentOverrideRule(GraphComponent):
    """A rule that may override the classifier's intent after it ran: each message's intent and ranking go to
    `override`, and what it returns (the new intent and ranking, from `swap_confidences`) replaces them.
    CaseUpdateRule and ClinicalScopeRule differ only in `override`."""

    def override(self, intent: Dict[Text, Any], ranking: Ranking, message: Message
                 ) -> Optional[Tuple[Dict[Text, Any], Ranking]]:
        raise NotImplementedError

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            ranking = message.get(INTENT_RANKING_KEY) or []
            if not intent or not ranking:
                continue
            changed = self.override(intent, ranking, message)
            if changed is not None:
                message.set(INTENT, changed[0], add_to_output=True)
                message.set(INTENT_RANKING_KEY, changed[1], add_to_output=True)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class ClinicalScopeRule(IntentOverrideRule):
    """Replaces an out_of_scope prediction by the best clinical intent when the message names a
    clinical entity (see the module docstring)."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # entity types that make a message clinical; any entity whose value is "unknown" does too
            "cue_entities": [*SUBJECT_ENTITIES, *CASE_FACT_ENTITIES],
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._cue_entities = tuple(config.get("cue_entities") or self.get_default_config()["cue_entities"])

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "ClinicalScopeRule":
        return cls({**cls.get_default_config(), **config})

    def override(self, intent: Dict[Text, Any], ranking: Ranking, message: Message
                 ) -> Optional[Tuple[Dict[Text, Any], Ranking]]:
        return promote_clinical(intent, ranking, message.get(ENTITIES) or [], message.get(TEXT) or "",
                                self._cue_entities)

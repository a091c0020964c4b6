"""The lexicon term matcher as a Rasa 3.6 graph component (an entity extractor).

Trainable the Rasa way: `train` compiles the lexicon into the model (so a model carries the
lexicon it was trained with, and the fingerprint retrains it when the lexicon changes), `persist`
writes it to the model storage, `load` reads it back, `process` extracts entities.

Referenced from nlu/config.yml as `nlu.components.LexiconEntityExtractor`.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.featurizers.sparse_featurizer.regex_featurizer import RegexFeaturizer
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
import rasa.shared.utils.io

from knowledge.loader import LEXICON_PATH, load_lexicon_file
from knowledge.schema import LexiconFile
from nlu.drugs import DrugVocabulary, compile_vocabulary, vocabulary_fingerprint
from nlu.intent_rules import IntentOverrideRule, Ranking, swap_confidences
from nlu.matcher import TermMatcher, lexicon_patterns
from nlu.types import CASE_FACT_ENTITIES, CLINICAL_INTENTS

_LEXICON_FILE = "lexicon.json"
_DRUGS_FILE = "drugs.json"


def _lexicon_path(config: Dict[Text, Any]) -> Path:
    return Path(config["lexicon_path"]) if config.get("lexicon_path") else LEXICON_PATH


def configured_lexicon(config: Dict[Text, Any]) -> LexiconFile:
    """The lexicon a component's `lexicon_path` names, or the shipped one when it is null."""
    return load_lexicon_file(_lexicon_path(config))


def lexicon_fingerprint(config: Dict[Text, Any]) -> Text:
    """Rasa's training cache keys a node on its class source, config and inputs; the lexicon and
    the matcher code are none of these, so without this a lexicon change would be served from
    .rasa/cache with the previous lexicon."""
    digest = hashlib.sha256(_lexicon_path(config).read_bytes())
    digest.update((Path(__file__).resolve().parent / "matcher.py").read_bytes())
    return digest.hexdigest()


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class LexiconEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Drugs, procedures, tests, case facts and qualifiers from the knowledge base's lexicon, and
    drugs it does not know from the drug vocabulary (nlu.drugs).

    `train` compiles the vocabulary (seconds: it reads the drug-named-entity-recognition package)
    into a table stored beside the lexicon, so `load` reads it back in milliseconds and the
    package is never imported when serving.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # the lexicon to compile; null means the one shipped in knowledge/data/
            "lexicon_path": None,
            # difflib ratio a misspelt word needs to resolve to a known drug ("lanreotid")
            "fuzzy_cutoff": 0.85,
            # shorter words are never fuzzy-matched to a known drug
            "fuzzy_min_length": 6,
            # recognise drugs the lexicon does not know from the compiled drug vocabulary
            "drug_vocabulary": True,
        }

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[Text]:
        # the compiled vocabulary also depends on the package version and nlu/drugs.py
        digest = hashlib.sha256(lexicon_fingerprint(config).encode())
        if config.get("drug_vocabulary", True):
            digest.update(vocabulary_fingerprint().encode())
        return digest.hexdigest()

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        lexicon: Optional[LexiconFile] = None,
        vocabulary: Optional[DrugVocabulary] = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._lexicon = lexicon
        self._vocabulary = vocabulary
        self._matcher: Optional[TermMatcher] = None
        if lexicon is not None:
            self._build(lexicon, vocabulary)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "LexiconEntityExtractor":
        return cls(config, model_storage, resource)

    def _build(self, lexicon: LexiconFile, vocabulary: Optional[DrugVocabulary]) -> None:
        self._lexicon = lexicon
        self._vocabulary = vocabulary
        self._matcher = TermMatcher.from_lexicon(
            lexicon,
            vocabulary,
            fuzzy_cutoff=float(self._config["fuzzy_cutoff"]),
            fuzzy_min_length=int(self._config["fuzzy_min_length"]),
        )

    def train(self, training_data: TrainingData) -> Resource:
        lexicon = configured_lexicon(self._config)
        vocabulary = None
        if self._config["drug_vocabulary"]:
            from spacy.lang.en.stop_words import STOP_WORDS

            vocabulary = compile_vocabulary(lexicon, STOP_WORDS)
        self._build(lexicon, vocabulary)
        self.persist()
        return self._resource

    def persist(self) -> None:
        if self._lexicon is None:
            return
        with self._model_storage.write_to(self._resource) as directory:
            rasa.shared.utils.io.write_text_file(self._lexicon.json(), directory / _LEXICON_FILE)
            if self._vocabulary is not None:
                rasa.shared.utils.io.write_text_file(self._vocabulary.to_json(), directory / _DRUGS_FILE)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "LexiconEntityExtractor":
        with model_storage.read_from(resource) as directory:
            lexicon = LexiconFile.parse_file(directory / _LEXICON_FILE)
            drugs = directory / _DRUGS_FILE
            vocabulary = DrugVocabulary.from_json(drugs.read_text(encoding="utf-8")) if drugs.is_file() else None
        return cls(config, model_storage, resource, lexicon, vocabulary)

    def process(self, messages: List[Message]) -> List[Message]:
        if self._matcher is None:
            raise RuntimeError("LexiconEntityExtractor used before training; retrain the model")
        for message in messages:
            text = message.get(TEXT) or ""
            found = []
            for f in self._matcher.find(text):
                entity = {
                    "entity": f.entity,
                    "value": f.value,
                    "start": f.start,
                    "end": f.end,
                    "confidence_entity": 1.0,
                    "literal": f.text,
                }
                if f.name is not None:  # only a vocabulary or curated name, never the user's word
                    entity["name"] = f.name
                found.append(entity)
            entities = self.add_extractor_name(found)
            message.set(ENTITIES, message.get(ENTITIES, []) + entities, add_to_output=True)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class LexiconFeaturizer(RegexFeaturizer):
    """Tells the intent classifier which words the lexicon knows: a drug, a procedure, a case fact.

    Rasa's RegexFeaturizer, with its patterns compiled from the lexicon instead of lookup tables
    copied into the training data, so the lexicon stays the one source of truth. "restaging CT
    stable" then carries a case-fact feature even though the classifier never saw "stable" there.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            **RegexFeaturizer.get_default_config(),
            # lexicon forms are matched case-insensitively, like the entity extractor does
            "case_sensitive": False,
            # the lexicon to compile; null means the one shipped in knowledge/data/
            "lexicon_path": None,
        }

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[Text]:
        return lexicon_fingerprint(config)

    def train(self, training_data: TrainingData) -> Resource:
        self.known_patterns = lexicon_patterns(configured_lexicon(self._config))
        self._persist()
        return self._resource


# A message asks something when it has a question mark, a wh-word or a request word anywhere, or
# opens with an auxiliary ("is she ...", "do we ..."); "lesions are unresectable" asks nothing.
_QUESTION = re.compile(
    r"\?|\b(?:what|how|which|when|why|options?|next|plan|dose|dosing)\b"
    r"|(?:^|[,;:.\-\u2013\u2014]\s*)(?:is|are|do|does|did|should|shall|can|could|would|will|any)\b"
    r"|\b(?:should|shall|can|could|would|do) (?:we|i|you|she|he)\b",
    re.IGNORECASE,
)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class CaseUpdateRule(IntentOverrideRule):
    """`case_update` means stating a case fact, so settle that by rule after the classifier:

    - a message that states a case fact (the lexicon found one) and asks nothing is a case update
      ("restaging CT stable"), whatever the classifier thought;
    - a message the classifier called a case update but that asks something is the best clinical
      intent in the ranking instead ("unresectable mets, what's the best strategy").

    Runs after the entity extractor (it needs the case-fact entities) and before the
    FallbackClassifier.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "CaseUpdateRule":
        return cls()

    def override(self, intent: Dict[Text, Any], ranking: Ranking, message: Message
                 ) -> Optional[Tuple[Dict[Text, Any], Ranking]]:
        text = message.get(TEXT) or ""
        asks = bool(_QUESTION.search(text))
        states_fact = any(e.get("entity") in CASE_FACT_ENTITIES for e in message.get(ENTITIES) or [])
        if intent.get("name") == "case_update" and asks:
            target = next((r for r in ranking if r.get("name") in CLINICAL_INTENTS), None)
        elif intent.get("name") != "case_update" and states_fact and not asks:
            target = next((r for r in ranking if r.get("name") == "case_update"), None)
        else:
            target = None
        if target is None or target.get("name") == intent.get("name"):
            return None
        return swap_confidences(intent, target, ranking)

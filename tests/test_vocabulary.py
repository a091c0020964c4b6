"""One vocabulary: the intents, slots and topics declared in knowledge.schema are the ones every
layer uses. nlu/data trains exactly the declared intents; the routes, the catalogue's labels and
suggestions cover exactly the clinical ones; the conversation state holds exactly the declared slots."""
from __future__ import annotations

import yaml

from dialogues import catalogue
from dialogues.handlers import CLINICAL
from dialogues.manager import ROUTES
from dialogues.state import ALL_SLOTS
from knowledge.schema import CASE_SLOT_OPPOSITES, CASE_SLOT_VALUES, CLINICAL_INTENTS, CaseSlot, Intent, SubjectSlot, Topic
from nlu.model import DATA_DIR
from nlu.types import CASE_FACT_ENTITIES
from nlu.types import CLINICAL_INTENTS as NLU_CLINICAL


def trained_intents() -> set:
    found = set()
    for path in DATA_DIR.glob("*.yml"):
        for block in (yaml.safe_load(path.read_text()) or {}).get("nlu", []) or []:
            if "intent" in block:
                found.add(block["intent"])
    return found


def test_nlu_data_trains_exactly_the_declared_intents() -> None:
    assert trained_intents() == {i.value for i in Intent}


def test_routes_cover_every_intent_and_handlers_the_clinical_ones() -> None:
    assert set(ROUTES) == {i.value for i in Intent}
    assert set(CLINICAL) == {i.value for i in CLINICAL_INTENTS} == set(NLU_CLINICAL)


def test_clinical_intents_are_the_topics() -> None:
    assert {i.value for i in CLINICAL_INTENTS} == {t.value for t in Topic}


def test_catalogue_labels_and_suggestions_cover_the_vocabulary() -> None:
    assert set(catalogue.TOPIC_LABELS) == set(catalogue.SUGGESTIONS) == {t.value for t in Topic}
    for slot, values in CASE_SLOT_VALUES.items():
        assert set(catalogue.FACT_LABELS[slot]) == set(values)


def test_slots_are_declared_once() -> None:
    assert ALL_SLOTS == tuple(s.value for s in SubjectSlot) + tuple(s.value for s in CaseSlot)
    assert CASE_FACT_ENTITIES == tuple(s.value for s in CaseSlot)
    assert set(CASE_SLOT_OPPOSITES) == set(CASE_SLOT_VALUES)
    for slot, pairs in CASE_SLOT_OPPOSITES.items():
        for value, opposite in pairs.items():
            assert {value, opposite} <= set(CASE_SLOT_VALUES[slot]) and pairs[opposite] == value

"""The lexicon extractor as a Rasa graph component: train -> persist -> load -> parse."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path

import yaml

TINY_DATA = """
version: "3.1"
nlu:
- intent: dosing
  examples: |
    - lanreotide dose?
    - how much octreotide
    - everolimus mg
- intent: greet
  examples: |
    - hi
    - hello there
    - good morning
"""


def test_train_persist_load_parse(tmp_path: Path) -> None:
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu

    config = {
        "recipe": "default.v1",
        "language": "en",
        "assistant_id": "carebot-test",
        "pipeline": [
            {"name": "WhitespaceTokenizer"},
            {"name": "CountVectorsFeaturizer"},
            {"name": "LogisticRegressionClassifier"},
            {"name": "nlu.components.LexiconEntityExtractor", "fuzzy_cutoff": 0.85},
        ],
        "policies": [],
    }
    (tmp_path / "config.yml").write_text(yaml.safe_dump(config))
    (tmp_path / "nlu.yml").write_text(TINY_DATA)
    model = train_nlu(str(tmp_path / "config.yml"), str(tmp_path / "nlu.yml"), str(tmp_path / "models"),
                      fixed_model_name="tiny")
    assert model and Path(model).is_file()

    agent = Agent.load(model)  # a fresh load: the lexicon comes from the model storage
    parsed = asyncio.run(agent.parse_message("Somatuline or everolimous for this SSTR+ pt?"))
    entities = [(e["entity"], e["value"], e["extractor"]) for e in parsed["entities"]]
    assert entities == [
        ("drug", "lanreotide", "LexiconEntityExtractor"),
        ("drug", "everolimus", "LexiconEntityExtractor"),
        ("sstr_status", "positive", "LexiconEntityExtractor"),
    ]


def test_unknown_drugs_and_qualifiers_survive_the_model(tmp_path: Path) -> None:
    """train -> persist -> load -> process with the compiled drug vocabulary: the model carries
    it, a fresh load reads it back, and entities carry their `name` and exact offsets."""
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.constants import ENTITIES, TEXT
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from nlu.components import LexiconEntityExtractor

    storage = LocalModelStorage(tmp_path)
    resource = Resource("lexicon_entity_extractor")
    trained = LexiconEntityExtractor.create({}, storage, resource, None)  # type: ignore[arg-type]
    trained.train(TrainingData())

    started = time.perf_counter()
    loaded = LexiconEntityExtractor.load({}, storage, resource, None)  # type: ignore[arg-type]
    load_seconds = time.perf_counter() - started
    text = "cabozantinib after everolimus? pt Abdulsalam is a 12 yo, can we double it"
    (message,) = loaded.process([Message({TEXT: text})])
    entities = message.get(ENTITIES)
    got = [(e["entity"], e["value"], e.get("name")) for e in entities]
    assert got == [
        ("drug", "unknown", "cabozantinib"),
        ("drug", "everolimus", None),
        ("population", "child", "a child"),
        ("dose_change", "increase", "a higher dose"),
    ]
    assert all(text[e["start"]:e["end"]] == e["literal"] for e in entities)
    assert load_seconds < 2.0  # lexicon + vocabulary: tens of ms; the package is never imported


def test_fingerprint_follows_the_vocabulary(monkeypatch) -> None:
    from nlu import components

    before = components.LexiconEntityExtractor.fingerprint_addon({})
    monkeypatch.setattr(components, "vocabulary_fingerprint", lambda: "another package version")
    assert components.LexiconEntityExtractor.fingerprint_addon({}) != before

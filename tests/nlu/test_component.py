"""The lexicon extractor as a Rasa graph component: train -> persist -> load -> parse."""
from __future__ import annotations

import asyncio
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

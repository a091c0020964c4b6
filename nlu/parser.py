"""Parse one message into a typed ParseResult, using the trained Rasa model.

The model is loaded once per process (loading costs seconds; parsing, milliseconds). Parsing goes
through Rasa's public `Agent.parse_message`, the same call a bare Rasa deployment makes.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Dict, List

from nlu.types import Assertion, Entity, IntentScore, ParseResult

log = logging.getLogger(__name__)


class Parser:
    def __init__(self, agent: Any, model: Path) -> None:
        self._agent = agent
        self.model = model

    @classmethod
    def load(cls, model: Path) -> "Parser":
        from rasa.core.agent import Agent

        started = time.perf_counter()
        agent = Agent.load(str(model))
        log.info("loaded model=%s seconds=%.2f", model.name, time.perf_counter() - started)
        return cls(agent, model)

    async def parse(self, text: str) -> ParseResult:
        """Intent, ranking and lexicon entities of already-cleaned text."""
        raw = await self._agent.parse_message(text)
        return to_parse_result(raw)


def to_parse_result(raw: Dict[str, Any]) -> ParseResult:
    """Rasa's dict as typed models. Every value is converted here (str(), a clamped float), so the
    models are built with construct(): re-validating them cost a tenth of carebot's turn."""
    intent = raw.get("intent") or {}
    ranking: List[IntentScore] = [
        IntentScore.construct(name=str(r["name"]), confidence=_unit(r.get("confidence")))
        for r in raw.get("intent_ranking") or []
    ]
    entities = [
        Entity.construct(
            entity=str(e["entity"]),
            value=str(e.get("value", "")),
            text=str(e.get("literal") or raw.get("text", "")[e.get("start", 0): e.get("end", 0)]),
            start=e.get("start"),
            end=e.get("end"),
            extractor=e.get("extractor"),
            assertion=Assertion(e.get("assertion") or "affirmed"),
            name=str(e["name"]) if e.get("name") else None,
        )
        for e in raw.get("entities") or []
    ]
    return ParseResult.construct(
        intent=IntentScore.construct(name=str(intent.get("name") or "nlu_fallback"),
                                     confidence=_unit(intent.get("confidence"))),
        ranking=ranking,
        entities=entities,
    )


def _unit(value: Any) -> float:
    try:
        return min(1.0, max(0.0, float(value)))
    except (TypeError, ValueError):
        return 0.0

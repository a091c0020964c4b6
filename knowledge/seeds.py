"""The seed documents the statements are quoted from, and how a seed splits into sentences.

Kept in code (not only in tests) so `carebot kb check` can prove, on any machine, that every
statement is still word for word in its seed and every clinical sentence has a statement.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

SEEDS_DIR = Path(__file__).resolve().parent / "seeds"

# Headings, lead-ins and label section titles: text in the seeds that says nothing clinical.
NOT_CLINICAL = frozenset(
    {
        "From the Guidelines",
        "Key Considerations",
        "Treatment Options",
        "Monitoring and Follow-up",
        "Recent Guidelines",
        "From the FDA Drug Label",
        "Key points:",
        "From the Research",
        "Treatment Approaches for Metastatic Neuroendocrine Tumors (NETs) in the Pancreas with Liver Metastasis",
        "Liver-Directed Therapies",
        "Systemic Therapies",
        "Prognostic Factors",
        "Some key points to consider for the patient include:",
        "Treatment Plan for Neuroendocrine Tumor with Liver Metastasis",
        "Somatostatin Analogs in Neuroendocrine Tumor Treatment",
        "Efficacy of Somatostatin Analogs in Advanced NETs",
        # FDA label section numbers and titles that run into the first sentence of the section
        "2 Gastroenteropancreatic Neuroendocrine Tumors",
        "1 Recommended Dosage Gastroenteropancreatic Neuroendocrine Tumors (GEP-NETs)",
    }
)
_LABEL_SECTION_PREFIXES = tuple(
    heading + " " for heading in NOT_CLINICAL if heading[:1].isdigit()
)

# The headings under which a seed gives its sources: a sentence's source is the one it sits under.
SOURCE_SECTIONS = ("From the Guidelines", "From the FDA Drug Label", "From the Research")

# A bare reference marker before a sentence's full stop: "guidelines 1." / "NELMs 4, 5."
_REFERENCE_MARKER = re.compile(r"(?<=[\w%)])\s+\d+(?:,\s*\d+)*(?=\.(?:\s|$))")
_SENTENCE_BREAK = re.compile(r"(?<=[.:])\s+(?=[A-Z])")


@dataclass(frozen=True)
class SeedSentence:
    """A sentence as a statement quotes it, with what the seed gives as its source."""

    text: str  # reference markers removed
    section: str  # the SOURCE_SECTIONS heading it sits under ("" before any)
    refs: Tuple[int, ...]  # the reference markers it carries, in order


@dataclass(frozen=True)
class Seed:
    name: str
    raw: str  # the document as shipped, reference markers included

    @property
    def text(self) -> str:
        """The document with reference markers removed."""
        return strip_reference_markers(self.raw)

    @property
    def brief(self) -> int:
        """Its evidence brief number as citations give it: seed 000_... is evidence brief 1."""
        prefix = self.name.split("_", 1)[0]
        return int(prefix) + 1 if prefix.isdigit() else 0

    def located_sentences(self) -> List[SeedSentence]:
        """Every sentence or bullet fragment, headings included, in document order."""
        found: List[SeedSentence] = []
        section = ""
        for line in self.raw.splitlines():
            line = line.strip()
            if line.startswith("- "):
                line = line[2:].strip()
            if not line:
                continue
            if line in SOURCE_SECTIONS:
                section = line
            for raw_sentence in _SENTENCE_BREAK.split(line):
                refs = tuple(
                    int(number)
                    for marker in _REFERENCE_MARKER.findall(raw_sentence)
                    for number in re.findall(r"\d+", marker)
                )
                sentence = strip_reference_markers(raw_sentence)
                for prefix in _LABEL_SECTION_PREFIXES:
                    if sentence.startswith(prefix):
                        found.append(SeedSentence(prefix.strip(), section, ()))
                        sentence = sentence[len(prefix):]
                found.append(SeedSentence(sentence, section, refs))
        return found

    def sentences(self) -> List[str]:
        """Every sentence or bullet fragment, headings included, in document order."""
        return [s.text for s in self.located_sentences()]

    def clinical_sentences(self) -> List[str]:
        return [s for s in self.sentences() if s not in NOT_CLINICAL]

    def locate(self, text: str) -> Optional[SeedSentence]:
        """The first clinical sentence quoted word for word by a statement's text, if any."""
        for sentence in self.located_sentences():
            if sentence.text == text and text not in NOT_CLINICAL:
                return sentence
        return None


def strip_reference_markers(text: str) -> str:
    return _REFERENCE_MARKER.sub("", text)


def load_seeds(directory: Path = SEEDS_DIR) -> Dict[str, Seed]:
    return {path.stem: Seed(path.stem, path.read_text(encoding="utf-8")) for path in sorted(directory.glob("*.txt"))}


def coverage_problems(seeds: Dict[str, Seed], statements: Iterable[object]) -> List[str]:
    """What breaks 'every clinical sentence, word for word': missing or non-verbatim statements."""
    problems: List[str] = []
    by_seed: Dict[str, set] = {name: set() for name in seeds}
    for statement in statements:
        seed_name = statement.source.seed  # type: ignore[attr-defined]
        text = statement.text  # type: ignore[attr-defined]
        if seed_name not in seeds:
            problems.append(f"{statement.id}: unknown seed '{seed_name}'")  # type: ignore[attr-defined]
            continue
        if text not in seeds[seed_name].clinical_sentences():
            problems.append(f"{statement.id}: text is not a sentence of seed {seed_name}, word for word")  # type: ignore[attr-defined]
        by_seed[seed_name].add(text)
    for name, seed in seeds.items():
        for sentence in seed.clinical_sentences():
            if sentence not in by_seed[name]:
                problems.append(f"seed {name}: no statement quotes: {sentence[:80]}...")
    return problems

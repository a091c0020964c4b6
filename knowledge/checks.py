"""Checks `carebot kb check` runs beyond loading: honest citations and inherited prerequisites.

Loading proves the data is well formed; these prove it says no more than the seeds do. Each
returns a list of problems (empty when clean), one line per problem, naming the statement.

Honest citations, defined mechanically. A statement's source title and citation may contain only:
- words that describe, never name, a document (CITATION_WORDS: "evidence brief", "cited as
  reference", "summary", ...);
- the words of the seed heading the sentence sits under ("From the Guidelines" gives
  "guideline(s)", "From the FDA Drug Label" gives "FDA", "drug", "label");
- the seed's evidence brief number, as "evidence brief N" (seed 000_... is brief 1);
- reference numbers, which must be exactly the markers the sentence carries in the seed.
Anything else (a guideline body, a drug's product name, a year) names a document the seed does
not give as this sentence's source and is a problem. A document the sentence names in its own
text belongs in `mentions`, whose every word must be in the text; a year in the text must be in
some mention, so nothing the sentence names is lost.
"""
from __future__ import annotations

import re
from typing import Dict, Iterable, List, Set

from knowledge.query import KnowledgeBase, _mention_pattern
from knowledge.schema import SourceKind, Statement
from knowledge.seeds import Seed

# Singular, case-folded: "references" and "refs" count as "reference" and "ref".
CITATION_WORDS = frozenset(
    {"evidence", "brief", "ref", "reference", "cited", "as", "of", "and", "summary", "section", "recent"}
)

# Which seed heading each source kind must sit under.
KIND_SECTIONS: Dict[SourceKind, str] = {
    SourceKind.guideline: "From the Guidelines",
    SourceKind.drug_label: "From the FDA Drug Label",
    SourceKind.research: "From the Research",
}

_TOKEN = re.compile(r"[^\W\d_]+|\d+")
_BRIEF = re.compile(r"\bevidence brief (\d+)\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_HEADING_FILLER = frozenset({"from", "the"})


def _singular(word: str) -> str:
    word = word.casefold()
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def _words(text: str) -> List[str]:
    return _TOKEN.findall(text)


def citation_problems(seeds: Dict[str, Seed], statements: Iterable[Statement]) -> List[str]:
    """Source titles, citations and mentions that claim more than the seed gives (module doc)."""
    problems: List[str] = []
    for statement in statements:
        seed = seeds.get(statement.source.seed)
        located = seed.locate(statement.text) if seed else None
        if seed is None or located is None:
            continue  # coverage_problems reports unknown seeds and non-verbatim text
        expected_section = KIND_SECTIONS[statement.source.kind]
        if located.section != expected_section:
            problems.append(
                f"{statement.id}: source.kind is {statement.source.kind.value} but seed {seed.name} gives "
                f"the sentence under '{located.section or 'no heading'}'"
            )
        allowed = CITATION_WORDS | {
            _singular(w) for w in _words(located.section) if w.casefold() not in _HEADING_FILLER
        }
        for field, value in (("source.title", statement.source.title), ("citation", statement.citation)):
            problems.extend(_field_problems(statement.id, field, value, seed, located.refs, allowed, located.section))
        problems.extend(_mention_problems(statement))
    return problems


def _field_problems(
    statement_id: str, field: str, value: str, seed: Seed, refs: Iterable[int], allowed: Set[str], section: str
) -> List[str]:
    problems: List[str] = []
    briefs = _BRIEF.findall(value)
    if [int(b) for b in briefs] != [seed.brief]:
        problems.append(f"{statement_id}: {field} '{value}' must name 'evidence brief {seed.brief}' once (seed {seed.name})")
    rest = _BRIEF.sub(" ", value)
    unknown = [w for w in _words(rest) if not w.isdigit() and _singular(w) not in allowed]
    if unknown:
        problems.append(
            f"{statement_id}: {field} '{value}' names {', '.join(repr(w) for w in unknown)}, which seed "
            f"{seed.name} does not give as the source of this sentence (it sits under '{section}'); "
            f"put a document the sentence names into 'mentions'"
        )
    cited = sorted({int(w) for w in _words(rest) if w.isdigit()})
    carried = sorted(set(refs))
    if cited != carried:
        marks = ", ".join(map(str, carried)) or "none"
        problems.append(
            f"{statement_id}: {field} '{value}' cites reference(s) {', '.join(map(str, cited)) or 'none'}; "
            f"the sentence carries reference marker(s) {marks} in seed {seed.name}"
        )
    return problems


def _mention_problems(statement: Statement) -> List[str]:
    problems: List[str] = []
    in_text = {w.casefold() for w in _words(statement.text)}
    for mention in statement.mentions:
        missing = [w for w in _words(mention) if w.casefold() not in in_text]
        if missing:
            problems.append(
                f"{statement.id}: mentions '{mention}' but the text does not contain "
                f"{', '.join(repr(w) for w in missing)}"
            )
    mentioned_years = {y for mention in statement.mentions for y in _YEAR.findall(mention)}
    for year in _YEAR.findall(statement.text):
        if year not in mentioned_years:
            problems.append(f"{statement.id}: the text names a {year} document that no entry of 'mentions' gives")
    return problems


def untagged_treatment_problems(kb: KnowledgeBase) -> List[str]:
    """Statements whose text names a treatment with prerequisites but whose entities lack its id.

    A statement inherits a treatment's prerequisites only through its entity tags, so naming
    one untagged would let the statement be quoted for a case the treatment is ruled out for.
    Matching is KnowledgeBase.search's: any surface form, case-insensitive, on word boundaries.
    """
    problems: List[str] = []
    lexicon = kb.lexicon
    for entity_id in lexicon.entries:
        needs = lexicon.requires(entity_id)
        if not needs:
            continue
        pattern = _mention_pattern(tuple(sorted(form.casefold() for form in lexicon.forms(entity_id))))
        shown = "; ".join(f"{slot} {'/'.join(values)}" for slot, values in needs.items())
        for statement in kb.statements:
            found = pattern.search(statement.text)
            if found and entity_id not in statement.entities:
                problems.append(
                    f"{statement.id}: text names '{found.group(0)}' but entities lack '{entity_id}' "
                    f"(which requires {shown})"
                )
    return problems


def prerequisite_conflicts(kb: KnowledgeBase) -> List[str]:
    """Statements whose own conditions exclude every value a tagged treatment requires.

    Not an error (a sentence may name a treatment to say when it is not used: "TACE is generally
    used when surgical removal isn't possible"), but whoever judges applicability must not let the
    entity's prerequisite hide such a statement; `kb check` lists them as notes.
    """
    notes: List[str] = []
    for statement in kb.statements:
        conditions = {slot.value: set(values) for slot, values in statement.conditions.items()}
        for entity_id in statement.entities:
            for slot, values in kb.lexicon.requires(entity_id).items():
                if slot in conditions and not conditions[slot] & set(values):
                    notes.append(
                        f"{statement.id}: needs {slot} {'/'.join(sorted(conditions[slot]))}; "
                        f"tagged '{entity_id}', which requires {slot} {'/'.join(values)}"
                    )
    return notes

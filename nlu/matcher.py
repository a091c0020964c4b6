"""Find drugs, procedures, tests and case facts in a message using the lexicon.

A blank spaCy English pipeline (no model download) tokenises; a case-insensitive PhraseMatcher
built from knowledge/data/lexicon.yml finds every surface form, with hyphen/space and plural
variants generated here so the lexicon lists each form once. The longest match wins. A misspelt
drug close to a known one still resolves; a drug-like word the lexicon does not know comes back
as value `unknown`, so the dialogue can say it has nothing on it instead of guessing.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import spacy
from spacy.matcher import PhraseMatcher
from spacy.util import filter_spans

from knowledge.schema import LexiconFile
from nlu.types import UNKNOWN

# lexicon entity type -> NLU entity name
_ENTITY_NAME = {"drug": "drug", "procedure": "procedure", "test": "test", "class": "class"}
FUZZY_TYPES = ("drug",)


@dataclass(frozen=True)
class Term:
    entity: str
    value: str


IGNORED = Term("", "")  # matched so its words are covered, then dropped


@dataclass(frozen=True)
class Found:
    entity: str
    value: str
    text: str
    start: int
    end: int


def variants(form: str) -> List[str]:
    """Hyphen/space/joined spellings and a plural, so 'well-differentiated' also finds 'well differentiated'."""
    forms = {form}
    if re.search(r"\w-\w", form):  # inner hyphens only: "SSTR-" must not become "SSTR"
        forms |= {re.sub(r"(?<=\w)-(?=\w)", " ", form), re.sub(r"(?<=\w)-(?=\w)", "", form)}
    if " " in form:
        forms.add(form.replace(" ", "-"))
    for f in list(forms):
        last = f.split(" ")[-1]
        if last.isalpha() and len(last) >= 3 and not f.lower().endswith(("s", "y")):
            forms.add(f + "s")
    return sorted(forms)


def compile_terms(lexicon: LexiconFile) -> List[Tuple[str, Term]]:
    """Every (surface form, term) pair the matcher looks for, in a JSON-friendly order."""
    pairs: List[Tuple[str, Term]] = []
    for entry in lexicon.entries:
        term = Term(_ENTITY_NAME[entry.type.value], entry.id)
        for form in (entry.id, entry.label, *entry.synonyms):
            pairs.extend((v, term) for v in variants(form))
    for fact in lexicon.case_facts:
        term = Term(fact.slot.value, fact.value)
        for phrase in fact.phrases:
            pairs.extend((v, term) for v in variants(phrase))
    for word in lexicon.unknown_drugs:
        pairs.extend((v, Term("drug", UNKNOWN)) for v in variants(word))
    for phrase in lexicon.ignore_phrases:
        pairs.extend((v, IGNORED) for v in variants(phrase))
    return pairs


class TermMatcher:
    def __init__(
        self,
        terms: Sequence[Tuple[str, Term]],
        unknown_suffixes: Iterable[str] = (),
        not_drugs: Iterable[str] = (),
        fuzzy_cutoff: float = 0.85,
        fuzzy_min_length: int = 6,
    ) -> None:
        self.nlp = spacy.blank("en")
        self.matcher = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        self.terms: Dict[str, Term] = {}
        by_key: Dict[str, List[str]] = {}
        for form, term in terms:
            key = f"{term.entity}\x1f{term.value}"
            self.terms[key] = term
            by_key.setdefault(key, []).append(form)
        for key, forms in by_key.items():
            self.matcher.add(key, list(self.nlp.tokenizer.pipe(sorted(set(forms)))))
        # one-word forms for fuzzy matching of misspellings
        self._fuzzy: Dict[str, Term] = {
            form.lower(): term
            for form, term in terms
            if term.entity in FUZZY_TYPES and term.value != UNKNOWN and form.isalpha() and len(form) >= fuzzy_min_length
        }
        self._fuzzy_words = sorted(self._fuzzy)
        # every word of every known form: 'somatostatin' (from 'somatostatin analog') is no unknown drug
        self._known_words = {word.lower() for form, _ in terms for word in re.split(r"[\s/-]+", form)}
        suffixes = sorted({s.lower() for s in unknown_suffixes}, key=len, reverse=True)
        self._unknown_suffix = re.compile(rf"^[a-z][a-z-]{{3,}}(?:{'|'.join(map(re.escape, suffixes))})$") if suffixes else None
        self._not_drugs = {w.lower() for w in not_drugs}
        self.fuzzy_cutoff = fuzzy_cutoff
        self.fuzzy_min_length = fuzzy_min_length

    @classmethod
    def from_lexicon(cls, lexicon: LexiconFile, **options: float) -> "TermMatcher":
        return cls(compile_terms(lexicon), lexicon.unknown_drug_suffixes, lexicon.not_drugs, **options)  # type: ignore[arg-type]

    def find(self, text: str) -> List[Found]:
        doc = self.nlp.make_doc(text)
        spans = []
        for match_id, start, end in self.matcher(doc):
            span = doc[start:end]
            span.label_ = self.nlp.vocab.strings[match_id]
            spans.append(span)
        kept = filter_spans(spans)  # longest first, no overlaps
        found = [
            Found(self.terms[s.label_].entity, self.terms[s.label_].value, s.text, s.start_char, s.end_char)
            for s in kept
            if self.terms[s.label_] != IGNORED
        ]
        covered = {i for s in kept for i in range(s.start, s.end)}
        for token in doc:
            if token.i in covered or not token.is_alpha:
                continue
            guess = self._guess(token.lower_)
            if guess is not None:
                found.append(Found(guess.entity, guess.value, token.text, token.idx, token.idx + len(token.text)))
        found.sort(key=lambda f: f.start)
        return _merge_adjacent(found, text)

    def _guess(self, word: str) -> Optional[Term]:
        """A misspelt known drug, or a drug-like word the knowledge base does not know."""
        if len(word) < self.fuzzy_min_length or word in self._known_words or word in self._not_drugs:
            return None
        close = difflib.get_close_matches(word, self._fuzzy_words, n=1, cutoff=self.fuzzy_cutoff)
        if close and close[0][0] == word[0]:
            return self._fuzzy[close[0]]
        if self._unknown_suffix is not None and self._unknown_suffix.match(word):
            return Term("drug", UNKNOWN)
        return None


def _merge_adjacent(found: List[Found], text: str) -> List[Found]:
    """'sandostatn lar' is one mention of octreotide, not two."""
    merged: List[Found] = []
    for item in found:
        last = merged[-1] if merged else None
        if last and (last.entity, last.value) == (item.entity, item.value) and not text[last.end:item.start].strip(" -"):
            merged[-1] = Found(last.entity, last.value, text[last.start:item.end], last.start, item.end)
        else:
            merged.append(item)
    return merged


def lexicon_patterns(lexicon: LexiconFile) -> List[Dict[str, str]]:
    """One regex per kind of thing the lexicon knows, for RegexFeaturizer-style features."""
    groups: Dict[str, List[str]] = {}
    for form, term in compile_terms(lexicon):
        if term == IGNORED:
            continue
        name = "unknown_drug" if term.value == UNKNOWN else (
            "case_fact" if term.entity not in _ENTITY_NAME.values() else term.entity)
        groups.setdefault(name, []).append(form)
    return [
        {
            "name": f"lexicon_{name}",
            "pattern": r"(?<![\w-])(?:" + "|".join(re.escape(f) for f in sorted(set(forms), key=len, reverse=True)) + r")(?![\w])",
        }
        for name, forms in sorted(groups.items())
    ]

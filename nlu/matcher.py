"""Find drugs, procedures, tests, case facts and qualifiers in a message using the lexicon.

A blank spaCy English pipeline (no model download) tokenises; a case-insensitive PhraseMatcher
built from knowledge/data/lexicon.yml finds every surface form, with hyphen/space and plural
variants generated here so the lexicon lists each form once. The longest match wins, so
"microwave ablation" (an unknown procedure) beats the RFA entry's "ablation".

What the lexicon does not know is never guessed from the word itself (a word ending in "-lam"
may be a patient's name): a drug is recognised only from the real drug vocabulary compiled
into the model (nlu.drugs), and comes back as value `unknown` with its generic name; unknown
procedures and conditions come from the lexicon's curated `unknown_terms`, named by their
label. A misspelt drug close to a known one still resolves.

Qualifiers (a child or an age under 18, pregnancy, another indication, a dose change) are found
by a second matcher that may overlap entities: "double the lanreotide dose" is both.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Set, Tuple, Union

import spacy
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc
from spacy.util import filter_spans

from knowledge.schema import LexiconFile
from nlu.drugs import DrugVocabulary, heads
from nlu.types import UNKNOWN

# lexicon entity type -> NLU entity name
_ENTITY_NAME = {"drug": "drug", "procedure": "procedure", "test": "test", "class": "class"}
FUZZY_TYPES = ("drug",)
QUALIFIER_ENTITIES = ("population", "indication", "dose_change")
_SUBJECTS_FOR_COMBINING = ("drug", "class")
MAX_VOCABULARY_TOKENS = 5  # "nab - paclitaxel", "insulin glargine": 3 words, hyphens are tokens


@dataclass(frozen=True)
class Term:
    entity: str
    value: str
    name: Optional[str] = None  # what carebot may say back (unknown terms, qualifiers)
    needs_two_drugs: bool = False  # a qualifier that counts only beside two known drugs

    @property
    def key(self) -> str:
        return "\x1f".join((self.entity, self.value, self.name or "", "2" if self.needs_two_drugs else ""))


IGNORED = Term("", "")  # matched so its words are covered, then dropped


@dataclass(frozen=True)
class Found:
    entity: str
    value: str
    text: str
    start: int
    end: int
    name: Optional[str] = None


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
    """Every (surface form, term) pair the entity matcher looks for, in a JSON-friendly order."""
    pairs: List[Tuple[str, Term]] = []
    for entry in lexicon.entries:
        term = Term(_ENTITY_NAME[entry.type.value], entry.id)
        for form in (entry.id, entry.label, *entry.synonyms):
            pairs.extend((v, term) for v in variants(form))
    for fact in lexicon.case_facts:
        term = Term(fact.slot.value, fact.value)
        for phrase in fact.phrases:
            pairs.extend((v, term) for v in variants(phrase))
    for unknown in lexicon.unknown_terms:
        term = Term(unknown.type.value, UNKNOWN, unknown.name)
        for phrase in unknown.phrases:
            pairs.extend((v, term) for v in variants(phrase))
    for phrase in lexicon.ignore_phrases:
        pairs.extend((v, IGNORED) for v in variants(phrase))
    return pairs


def compile_qualifiers(lexicon: LexiconFile) -> List[Tuple[str, Term]]:
    """Every (surface form, term) pair the qualifier matcher looks for; ignore phrases cover
    their words here too ("double-check" asks for no higher dose)."""
    pairs: List[Tuple[str, Term]] = []
    for qualifier in lexicon.qualifiers:
        term = Term(qualifier.kind.value, qualifier.value, qualifier.name, qualifier.needs_two_drugs)
        for phrase in qualifier.phrases:
            pairs.extend((v, term) for v in variants(phrase))
    for phrase in lexicon.ignore_phrases:
        pairs.extend((v, IGNORED) for v in variants(phrase))
    return pairs


# An age in years: "12 yo", "12-year-old", "12 y/o", "age 15", "aged 9", "15F", "15 M".
_AGE = re.compile(
    r"(?<![\w.])(?:(\d{1,3})\s?-?\s?(?:yo|y/o|y\.o\.?|yr?s?\s?-?\s?old|years?\s?-?\s?old|yoa)"
    r"|(?:age|aged)\s?(\d{1,3})|(\d{1,2})\s?(?-i:[FM]))(?![\w/])",
    re.IGNORECASE,
)
CHILD = Term("population", "child", "a child")


class TermMatcher:
    def __init__(
        self,
        terms: Sequence[Tuple[str, Term]],
        qualifiers: Sequence[Tuple[str, Term]] = (),
        vocabulary: Union[DrugVocabulary, Mapping[str, str], None] = None,
        adult_age: int = 18,
        fuzzy_cutoff: float = 0.85,
        fuzzy_min_length: int = 6,
    ) -> None:
        """`vocabulary` maps a normalised surface form of one to three words to the generic name
        of a drug the lexicon does not know (nlu.drugs.DrugVocabulary); without it no unknown
        drug is found beyond the lexicon's curated terms."""
        self.nlp = spacy.blank("en")
        self.matcher = self._phrase_matcher(terms)
        self.qualifier_matcher = self._phrase_matcher(qualifiers)
        self.terms: Dict[str, Term] = {term.key: term for _, term in (*terms, *qualifiers)}
        # one-word forms for fuzzy matching of misspellings
        self._fuzzy: Dict[str, Term] = {
            form.lower(): term
            for form, term in terms
            if term.entity in FUZZY_TYPES and term.value != UNKNOWN and form.isalpha() and len(form) >= fuzzy_min_length
        }
        self._fuzzy_words = sorted(self._fuzzy)
        # every word of every known form: 'somatostatin' (from 'somatostatin analog') is no misspelling
        self._known_words = {word.lower() for form, _ in terms for word in re.split(r"[\s/-]+", form)}
        self.vocabulary: Union[DrugVocabulary, Mapping[str, str]] = vocabulary if vocabulary is not None else {}
        # first tokens of the vocabulary's longer forms ("insulin" of "insulin glargine", "5" of "5-fu")
        self._vocabulary_heads = vocabulary.heads if isinstance(vocabulary, DrugVocabulary) else heads(self.vocabulary)
        self.adult_age = adult_age
        self.fuzzy_cutoff = fuzzy_cutoff
        self.fuzzy_min_length = fuzzy_min_length

    def _phrase_matcher(self, terms: Sequence[Tuple[str, Term]]) -> PhraseMatcher:
        matcher = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        by_key: Dict[str, List[str]] = {}
        for form, term in terms:
            by_key.setdefault(term.key, []).append(form)
        for key, forms in by_key.items():
            matcher.add(key, list(self.nlp.tokenizer.pipe(sorted(set(forms)))))
        return matcher

    @classmethod
    def from_lexicon(cls, lexicon: LexiconFile, vocabulary: Union[DrugVocabulary, Mapping[str, str], None] = None,
                     **options: float) -> "TermMatcher":
        return cls(compile_terms(lexicon), compile_qualifiers(lexicon), vocabulary,
                   adult_age=lexicon.adult_age, **options)  # type: ignore[arg-type]

    def find(self, text: str) -> List[Found]:
        """Entities, then qualifiers, in order of where they start."""
        doc = self.nlp.make_doc(text)
        found = self._entities(doc)
        found.extend(self._qualifiers(doc, found))
        found.sort(key=lambda f: (f.start, f.end))
        return found

    def _spans(self, matcher: PhraseMatcher, doc: Doc) -> list:
        spans = []
        for match_id, start, end in matcher(doc):
            span = doc[start:end]
            span.label_ = self.nlp.vocab.strings[match_id]
            spans.append(span)
        return filter_spans(spans)  # longest first, no overlaps

    def _entities(self, doc: Doc) -> List[Found]:
        kept = self._spans(self.matcher, doc)
        found = [
            Found(self.terms[s.label_].entity, self.terms[s.label_].value, s.text, s.start_char, s.end_char,
                  self.terms[s.label_].name)
            for s in kept
            if self.terms[s.label_] != IGNORED
        ]
        covered = {i for s in kept for i in range(s.start, s.end)}
        found.extend(self._vocabulary_drugs(doc, covered))
        for token in doc:
            if token.i in covered or not token.is_alpha:
                continue
            guess = self._misspelt(token.lower_)
            if guess is not None:
                found.append(Found(guess.entity, guess.value, token.text, token.idx, token.idx + len(token.text)))
        found.sort(key=lambda f: f.start)
        return _merge_adjacent(found, doc.text)

    def _vocabulary_drugs(self, doc: Doc, covered: Set[int]) -> List[Found]:
        """Drugs the lexicon does not know, longest window of uncovered tokens first. Marks the
        tokens it uses as covered. A window longer than one token is tried only when its first
        token starts some longer form, so a message costs about one dict lookup per token."""
        if not self.vocabulary:
            return []
        text, found, i, n = doc.text, [], 0, len(doc)
        while i < n:
            token = doc[i]
            if i in covered or token.is_punct or token.is_space:
                i += 1
                continue
            lower = token.lower_
            longest = min(n, i + MAX_VOCABULARY_TOKENS) if lower in self._vocabulary_heads else i + 1
            for j in range(longest, i, -1):
                last = doc[j - 1]
                if j > i + 1 and (last.is_punct or any(k in covered for k in range(i + 1, j))):
                    continue
                if j == i + 1:
                    literal, key = token.text, lower
                else:
                    literal = text[token.idx:last.idx + len(last.text)]
                    key = " ".join(literal.lower().split())
                name = self.vocabulary.get(key)
                if name is not None:
                    found.append(Found("drug", UNKNOWN, literal, token.idx, token.idx + len(literal), name))
                    covered.update(range(i, j))
                    i = j
                    break
            else:
                i += 1
        return found

    def _misspelt(self, word: str) -> Optional[Term]:
        """A misspelt known drug ("lanreotid"); an unknown word is never guessed to be a drug."""
        if len(word) < self.fuzzy_min_length or word in self._known_words:
            return None
        close = difflib.get_close_matches(word, self._fuzzy_words, n=1, cutoff=self.fuzzy_cutoff)
        if close and close[0][0] == word[0]:
            return self._fuzzy[close[0]]
        return None

    def _qualifiers(self, doc: Doc, entities: List[Found]) -> List[Found]:
        known_drugs = {(f.entity, f.value) for f in entities
                       if f.entity in _SUBJECTS_FOR_COMBINING and f.value != UNKNOWN}
        found: List[Found] = []
        for span in self._spans(self.qualifier_matcher, doc):
            term = self.terms[span.label_]
            if term == IGNORED or (term.needs_two_drugs and len(known_drugs) < 2):
                continue
            found.append(Found(term.entity, term.value, span.text, span.start_char, span.end_char, term.name))
        for match in _AGE.finditer(doc.text):
            age = int(next(g for g in match.groups() if g is not None))
            start, end = match.span()
            if age >= self.adult_age or any(f.start < end and start < f.end for f in found):
                continue
            found.append(Found(CHILD.entity, CHILD.value, match.group(0), start, end, CHILD.name))
        return found


def _merge_adjacent(found: List[Found], text: str) -> List[Found]:
    """'sandostatn lar' is one mention of octreotide, not two."""
    merged: List[Found] = []
    for item in found:
        last = merged[-1] if merged else None
        if (last and (last.entity, last.value, last.name) == (item.entity, item.value, item.name)
                and not text[last.end:item.start].strip(" -")):
            merged[-1] = Found(last.entity, last.value, text[last.start:item.end], last.start, item.end, last.name)
        else:
            merged.append(item)
    return merged


def lexicon_patterns(lexicon: LexiconFile) -> List[Dict[str, str]]:
    """One regex per kind of thing the lexicon knows, for RegexFeaturizer-style features."""
    groups: Dict[str, List[str]] = {}
    for form, term in compile_terms(lexicon):
        if term == IGNORED:
            continue
        if term.value == UNKNOWN:
            name = "unknown_drug" if term.entity == "drug" else "unknown_topic"
        else:
            name = "case_fact" if term.entity not in _ENTITY_NAME.values() else term.entity
        groups.setdefault(name, []).append(form)
    for form, term in compile_qualifiers(lexicon):
        if term != IGNORED:
            groups.setdefault("qualifier", []).append(form)
    return [
        {
            "name": f"lexicon_{name}",
            "pattern": r"(?<![\w-])(?:" + "|".join(re.escape(f) for f in sorted(set(forms), key=len, reverse=True)) + r")(?![\w])",
        }
        for name, forms in sorted(groups.items())
    ]

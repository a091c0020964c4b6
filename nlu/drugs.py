"""The drug vocabulary: real drug names carebot may name back when the knowledge base has none.

A word carebot does not know may be a patient's name, so it is never echoed. A drug the knowledge
base does not cover must still be recognised ("and lasix dose?" must not inherit lanreotide), and
the reply may name it, but only by a name from a real vocabulary: the generic name that
`drug-named-entity-recognition` (about 20,000 drugs and 100,000 brand, generic and code names from
DrugBank, MedlinePlus, the NHS, MeSH and Wikipedia) resolves it to ("lasix" -> "furosemide").

Loading that package takes seconds, so it is read only at train time: `compile_vocabulary` keeps
the part a message can use (surface forms of one to three words -> generic name), minus what the
lexicon knows and words that are no drug here, and the model stores that table
(nlu.components.LexiconEntityExtractor). `DrugVocabulary.from_json` reads it back in milliseconds.
"""
from __future__ import annotations

import array
import base64
import bz2
import hashlib
import json
import pickle
import re
import sys
from dataclasses import dataclass
from importlib import metadata, util
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Set, Tuple

from knowledge.schema import LexiconFile

PACKAGE = "drug-named-entity-recognition"
_MODULE = "drug_named_entity_recognition"
_DATA_FILE = "drug_ner_dictionary.pkl.bz2"

# A drug is one a care team could prescribe when a drug database or patient leaflet lists it;
# MeSH-only and Wikipedia-only concepts are mostly classes, proteins and tests ("Ferritins",
# "Cytochrome P-450 CYP3A", "Octreotide scan").
_DRUG_SOURCES = ("drugbank_id", "medline_plus_id", "nhs_url")
MAX_WORDS = 3  # longest surface form kept, in words
MIN_CHARS = 4  # shorter forms are mostly ambiguous codes ("ddi", "ace")
# What a care team types: words of letters (a digit or two, "+", "-", "'"), not systematic
# chemical names ("1,1,1-trichloromethane") or research codes ("bms-986205").
_TYPABLE = re.compile(r"^[a-z0-9][a-z0-9'+-]*(?: [a-z0-9][a-z0-9'+-]*)*$")
_MAX_DIGITS = 2


def package_version() -> str:
    """`drug-named-entity-recognition==X`, or a marker when it is not installed (cheap: no import)."""
    try:
        return f"{PACKAGE}=={metadata.version(PACKAGE)}"
    except metadata.PackageNotFoundError:
        return f"{PACKAGE} not installed"


def vocabulary_fingerprint() -> str:
    """What the compiled table depends on besides the lexicon: the package version and this code."""
    digest = hashlib.sha256(package_version().encode())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


_HEAD = re.compile(r"[\s'+-]")  # where spaCy may end the first token of a form


def heads(keys: Iterable[str]) -> FrozenSet[str]:
    """The first tokens of the forms that may be more than one token long."""
    return frozenset(_HEAD.split(key, 1)[0] for key in keys if _HEAD.search(key))


def normalise(text: str) -> str:
    """The table's key for a surface form: lower case, single spaces."""
    return " ".join(text.lower().split())


@dataclass(frozen=True)
class DrugVocabulary:
    """Surface form (normalised, 1 to 3 words) -> generic name, as stored in the model."""

    source: str
    names: Tuple[str, ...]  # at most 65,535 (uint16 indexes)
    table: Mapping[str, int]  # key -> index into names (the JSON stays small)
    # first tokens of the forms longer than one token, so a matcher tries a longer window only
    # where one can match ("insulin" of "insulin glargine", "5" of "5-fu")
    heads: FrozenSet[str] = frozenset()

    def get(self, key: str) -> Optional[str]:
        index = self.table.get(key)
        return None if index is None else self.names[index]

    def __len__(self) -> int:
        return len(self.table)

    def to_json(self) -> str:
        """Keys as one newline-joined string and indexes as little-endian uint16 (base64): read
        back with str.split and array.frombytes, three times faster than a JSON object of 40,000
        keys, which keeps loading the model cheap."""
        keys = list(self.table)
        index = array.array("H", (self.table[k] for k in keys))
        if sys.byteorder == "big":  # pragma: no cover
            index.byteswap()
        return json.dumps({"source": self.source, "names": list(self.names), "keys": "\n".join(keys),
                           "index": base64.b64encode(index.tobytes()).decode("ascii"),
                           "heads": "\n".join(sorted(self.heads))},
                          separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "DrugVocabulary":
        raw = json.loads(text)
        index = array.array("H")
        index.frombytes(base64.b64decode(raw["index"]))
        if sys.byteorder == "big":  # pragma: no cover
            index.byteswap()
        keys = raw["keys"].split("\n") if raw["keys"] else []
        if len(keys) != len(index):
            raise ValueError(f"drug vocabulary: {len(keys)} keys but {len(index)} indexes; retrain the model")
        return cls(source=raw["source"], names=tuple(raw["names"]), table=dict(zip(keys, index)),
                   heads=frozenset(raw["heads"].split("\n")) if raw["heads"] else frozenset())


def _raw_dictionary() -> Tuple[Dict[str, List[str]], Dict[str, Dict[str, Any]]]:
    """The package's variant -> canonical and canonical -> data maps, read from its data file
    without importing the package (its import also builds fuzzy-match indexes we do not use)."""
    spec = util.find_spec(_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{PACKAGE} is not installed; the drug vocabulary is compiled from it "
                           f"at train time (see pyproject.toml)")
    path = Path(list(spec.submodule_search_locations)[0]) / _DATA_FILE
    try:
        with bz2.open(path, "rb") as handle:
            data = pickle.load(handle)  # the package's own data file, as the package itself loads it
        return data["drug_variant_to_canonical"], data["drug_canonical_to_data"]
    except (OSError, KeyError, pickle.UnpicklingError) as exc:
        raise RuntimeError(f"{path}: cannot read the drug dictionary of {package_version()} ({exc})") from exc


def _generic_name(canonical: str, data: Mapping[str, Any]) -> str:
    """'Furosemide' -> 'furosemide', 'Insulin Glargine' -> 'insulin glargine'; a word with inner
    capitals or digits ('(177Lu)', 'DNase') stays as written."""
    words = str(data.get("name") or canonical).strip().split(" ")
    return " ".join(w.lower() if w[1:] == w[1:].lower() and not any(c.isdigit() for c in w) else w
                    for w in words)


def lexicon_forms(lexicon: LexiconFile) -> Set[str]:
    """Every normalised surface form of what the knowledge base knows (entries and case facts),
    with its hyphen/space variants."""
    from nlu.matcher import variants  # the matcher's own variant rules, so both agree

    forms: Set[str] = set()
    for entry in lexicon.entries:
        for form in (entry.id, entry.label, *entry.synonyms):
            forms.update(normalise(v) for v in variants(form))
    for fact in lexicon.case_facts:
        for phrase in fact.phrases:
            forms.update(normalise(v) for v in variants(phrase))
    return forms


def _drug_forms(lexicon: LexiconFile) -> Set[str]:
    """The lexicon's drug and class forms as plain words ("lutetium-177 dotatate" -> "lutetium 177 dotatate")."""
    return {_plain(form) for entry in lexicon.entries if entry.type.value in ("drug", "class")
            for form in (entry.label, *entry.synonyms)}


def _plain(text: str) -> str:
    return " ".join(re.split(r"[\s/()-]+", text.lower())).strip()


def _words(forms: Iterable[str]) -> Set[str]:
    return {word for form in forms for word in re.split(r"[\s/()-]+", form) if word}


def compile_vocabulary(lexicon: LexiconFile, stopwords: Iterable[str] = ()) -> DrugVocabulary:
    """The part of the package's dictionary a message can use, without what the lexicon knows.

    Left out: drugs the lexicon knows under any of their names (so "Afinitor" stays everolimus and
    no name from here is a lexicon drug); forms that are lexicon forms or words of them
    ("somatostatin", "dotatate"); `not_drugs` and stop words; forms of three letters or fewer or
    of more than three words; and a longer form whose first word already finds the same drug
    ("furosemide injection").
    """
    variant_to_canonical, canonical_to_data = _raw_dictionary()
    known = lexicon_forms(lexicon)
    known_words = _words(known)
    known_drug_forms = [f" {form} " for form in _drug_forms(lexicon) if len(form) >= MIN_CHARS]
    excluded_words = {normalise(w) for w in lexicon.not_drugs} | {normalise(w) for w in stopwords}

    synonyms: Dict[str, List[str]] = {}
    for variant, canonicals in variant_to_canonical.items():
        for canonical in canonicals:
            synonyms.setdefault(canonical, []).append(variant)
    known_drugs = set()
    for canonical, data in canonical_to_data.items():
        generic = _generic_name(canonical, data)
        plain = f" {_plain(generic)} "
        if (normalise(generic) in known or normalise(canonical) in known
                or any(normalise(v) in known for v in synonyms.get(canonical, ()))
                # "Lutetium Lu 177 dotatate" is the lexicon's lutetium-177 dotatate spelt otherwise
                or any(form in plain for form in known_drug_forms)):
            known_drugs.add(canonical)

    candidates: Dict[str, str] = {}
    for variant, canonicals in variant_to_canonical.items():
        if len(canonicals) != 1:
            continue  # ambiguous: naming one of them back could be wrong
        canonical = canonicals[0]
        data = canonical_to_data.get(canonical)
        if data is None or canonical in known_drugs or not any(data.get(k) for k in _DRUG_SOURCES):
            continue
        key = normalise(variant)
        words = key.split(" ")
        if len(key) < MIN_CHARS or len(words) > MAX_WORDS or key in known or key in excluded_words:
            continue
        if not _TYPABLE.match(key) or sum(ch.isdigit() for ch in key) > _MAX_DIGITS:
            continue
        if len(words) == 1 and key in known_words:
            continue
        if all(w in excluded_words or w in known_words for w in words):
            continue
        candidates[key] = _generic_name(canonical, data)

    # a longer form adds nothing when its first word finds the same drug ("furosemide injection")
    table_names = {
        key: name for key, name in candidates.items()
        if " " not in key or candidates.get(key.split(" ", 1)[0]) != name
    }
    names = sorted(set(table_names.values()))
    index = {name: i for i, name in enumerate(names)}
    return DrugVocabulary(source=package_version(), names=tuple(names),
                          table={key: index[name] for key, name in sorted(table_names.items())},
                          heads=heads(table_names))

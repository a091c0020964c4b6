"""The curated, cited knowledge base: statements, lexicon, schema and query API."""
from knowledge.loader import KnowledgeError
from knowledge.query import Applicability, KnowledgeBase, Lexicon, Match, default_knowledge, load_knowledge
from knowledge.schema import EntityType, SourceKind, Statement, Topic

__all__ = [
    "Applicability",
    "EntityType",
    "KnowledgeBase",
    "KnowledgeError",
    "Lexicon",
    "Match",
    "SourceKind",
    "Statement",
    "Topic",
    "default_knowledge",
    "load_knowledge",
]

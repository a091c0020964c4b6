"""The audit trail: one tamper-evident record per turn, and the reports built on it.

What a record holds and never holds: audit.record. The chain: audit.chain and audit.verify.
Where records live: audit.sqlite_store and audit.redis_store. See docs/audit.md.
"""
from audit.settings import AuditConfigError, AuditKey, AuditSettings, load_key
from audit.store import AuditStore, Head, Stored
from audit.trail import AuditTrail, carebot_version, fingerprint_of, open_audit, open_store
from audit.verify import Verdict, verify_store

__all__ = [
    "AuditConfigError",
    "AuditKey",
    "AuditSettings",
    "AuditStore",
    "AuditTrail",
    "Head",
    "Stored",
    "Verdict",
    "carebot_version",
    "fingerprint_of",
    "load_key",
    "open_audit",
    "open_store",
    "verify_store",
]

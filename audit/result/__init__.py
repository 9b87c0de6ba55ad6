"""The typed result of an audit (:class:`AuditResult`), its sections and its provenance."""

from audit.result.audit_result import SCHEMA_VERSION, AuditResult
from audit.result.provenance import provenance

__all__ = ["SCHEMA_VERSION", "AuditResult", "provenance"]

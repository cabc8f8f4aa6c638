"""Shared pieces of the API's schemas (defined in `upwatch.schema`, used by every slice)."""

from upwatch.schema import EmailAddress, Strict, Timestamp

__all__ = ["EmailAddress", "Strict", "Timestamp"]

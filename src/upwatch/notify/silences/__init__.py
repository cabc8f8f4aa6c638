"""Silences: time-bounded rules; matching alerts are recorded as silenced, not sent."""

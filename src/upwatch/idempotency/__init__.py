"""Stored first responses for Idempotency-Key retries."""

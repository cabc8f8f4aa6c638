"""Websites: a domain whose monitors are grouped, and whose ownership can be proved."""

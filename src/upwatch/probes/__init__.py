"""Probes: one module per check kind, listed in `registry`. Typed config in, ProbeResult out."""

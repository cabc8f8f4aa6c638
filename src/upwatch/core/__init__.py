"""Domain primitives with no dependency beyond the standard library."""

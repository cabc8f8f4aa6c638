"""Active monitors: their configuration, state machine, results and statistics."""
